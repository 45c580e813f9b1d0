//! Values (`wasm_val_t`) and references (`wasm_ref_t`): spec "Values" and
//! "References" in wasm.h; the values are the core spec's
//! [values](https://webassembly.github.io/spec/core/exec/runtime.html#values).

use crate::prelude::*;

use crate::engine::wasm_store_t;
use crate::types::{
    KEEL_ANYREF, KEEL_V128, WASM_EXTERNREF, WASM_F32, WASM_F64, WASM_FUNCREF, WASM_I32, WASM_I64,
    wasm_valkind_t,
};
use crate::vec::{ValueElem, declare_vec};
use keel_rt::{Ref, Val, ValType};

/// A reference to an object of a store, owned by the C side: as in
/// wasm.h's design, every object is a reference, and an extern, a
/// function, a global, a table, a memory and a foreign object *are*
/// `wasm_ref_t`s (their types wrap this one), so the standard's
/// `wasm_xxx_as_ref` and `wasm_ref_as_xxx` are pointer casts and deleting
/// through either pointer frees the one object. It keeps its object
/// alive while it exists (and at least as long as the store: references
/// the C API hands out are rooted for the store's lifetime).
#[derive(Clone, Debug)]
pub struct wasm_ref_t {
    /// The store the object lives in.
    pub(crate) store: *mut wasm_store_t,
    /// The object.
    pub(crate) obj: Object,
}

/// What a [`wasm_ref_t`] refers to.
#[derive(Clone, Debug)]
pub(crate) enum Object {
    /// A function, global, table, memory or tag (a function reference is
    /// always this, never `Ref(Ref::Func)`).
    Extern(keel_rt::Extern),
    /// An instance.
    Instance(keel_rt::Instance),
    /// A trap (not of a store: the handles share it; used by one thread).
    Trap(alloc::rc::Rc<crate::trap::TrapData>),
    /// A module (not of a store: the handles share it).
    Module(alloc::sync::Arc<crate::module::ModuleData>),
    /// Any other non-null reference value: an `externref` (a foreign
    /// object is one), an `anyref`, an exception.
    Ref(Ref),
}

impl wasm_ref_t {
    /// A reference to the non-null `r`, of `store`.
    pub(crate) fn new(store: *mut wasm_store_t, r: Ref) -> Self {
        let obj = match r {
            Ref::Func(Some(f)) => Object::Extern(keel_rt::Extern::Func(f)),
            r => Object::Ref(r),
        };
        Self { store, obj }
    }

    /// The reference value this is, for wasm (a table element, a global,
    /// an argument); `None` for a global, table, memory, tag or instance,
    /// which are not values.
    pub(crate) fn value(&self) -> Option<Ref> {
        match &self.obj {
            Object::Extern(keel_rt::Extern::Func(f)) => Some(Ref::Func(Some(*f))),
            Object::Extern(_) | Object::Instance(_) | Object::Trap(_) | Object::Module(_) => None,
            Object::Ref(r) => Some(*r),
        }
    }
}

/// Delete `r` (null is ignored), whatever object type it was made as
/// (`wasm_func_as_ref`'s result deletes the function handle); the object
/// lives on while something else refers to it.
///
/// # Safety
///
/// `r` is null or owned, made by keel, and not used afterwards.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_ref_delete(r: *mut wasm_ref_t) {
    if !r.is_null() {
        // SAFETY: per the contract.
        drop(unsafe { Box::from_raw(r) });
    }
}

/// A new reference to the object `r` refers to, owned by the caller;
/// null for null.
///
/// # Safety
///
/// `r` is null or valid.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_ref_copy(r: *const wasm_ref_t) -> *mut wasm_ref_t {
    // SAFETY: per the contract.
    match unsafe { r.as_ref() } {
        Some(r) => Box::into_raw(Box::new(r.clone())),
        None => core::ptr::null_mut(),
    }
}

/// The payload of a `wasm_val_t`, selected by its `kind`.
#[repr(C)]
#[derive(Clone, Copy)]
pub union wasm_val_union {
    /// `WASM_I32`.
    pub i32: i32,
    /// `WASM_I64`.
    pub i64: i64,
    /// `WASM_F32`.
    pub f32: f32,
    /// `WASM_F64`.
    pub f64: f64,
    /// `WASM_EXTERNREF`, `WASM_FUNCREF` (and `KEEL_ANYREF`): an owned
    /// reference, or null.
    pub r#ref: *mut wasm_ref_t,
}

/// A value: a kind (`wasm_valkind_t`) and its payload. A reference value
/// owns its `wasm_ref_t`.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct wasm_val_t {
    /// Which member of `of` holds the value.
    pub kind: wasm_valkind_t,
    /// The value.
    pub of: wasm_val_union,
}

impl core::fmt::Debug for wasm_val_t {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("wasm_val_t")
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

impl wasm_val_t {
    /// Whether the kind is one of the reference kinds.
    fn is_ref(&self) -> bool {
        matches!(self.kind, WASM_EXTERNREF | WASM_FUNCREF | KEEL_ANYREF)
    }

    /// The reference a reference value holds (null for null).
    fn ref_ptr(&self) -> *mut wasm_ref_t {
        if self.is_ref() {
            // SAFETY: reference kinds hold the `ref` member.
            unsafe { self.of.r#ref }
        } else {
            core::ptr::null_mut()
        }
    }

    /// The C value of `val`, made in `store`; `Err` for a value wasm.h
    /// cannot hold (`v128`).
    pub(crate) fn from_keel(store: *mut wasm_store_t, val: &Val) -> Result<Self, String> {
        let of_ref = |kind: wasm_valkind_t, r: Option<Ref>| wasm_val_t {
            kind,
            of: wasm_val_union {
                r#ref: match r {
                    Some(r) => Box::into_raw(Box::new(wasm_ref_t::new(store, r))),
                    None => core::ptr::null_mut(),
                },
            },
        };
        Ok(match *val {
            Val::I32(i) => wasm_val_t {
                kind: WASM_I32,
                of: wasm_val_union { i32: i },
            },
            Val::I64(i) => wasm_val_t {
                kind: WASM_I64,
                of: wasm_val_union { i64: i },
            },
            Val::F32(bits) => wasm_val_t {
                kind: WASM_F32,
                of: wasm_val_union {
                    f32: f32::from_bits(bits),
                },
            },
            Val::F64(bits) => wasm_val_t {
                kind: WASM_F64,
                of: wasm_val_union {
                    f64: f64::from_bits(bits),
                },
            },
            Val::V128(_) => {
                return Err("a v128 value cannot be passed through wasm.h's wasm_val_t".into());
            }
            Val::FuncRef(f) => of_ref(WASM_FUNCREF, f.map(|f| Ref::Func(Some(f)))),
            Val::ExternRef(e) => of_ref(WASM_EXTERNREF, e.map(|e| Ref::Extern(Some(e)))),
            Val::AnyRef(a) => of_ref(KEEL_ANYREF, a.map(|a| Ref::Any(Some(a)))),
            Val::ExnRef(x) => of_ref(KEEL_ANYREF, x.map(|x| Ref::Exn(Some(x)))),
        })
    }

    /// keel's value of this one, for a place of type `expected` (which
    /// decides the type of a null reference); `Err` says what is wrong.
    ///
    /// # Safety
    ///
    /// A reference value's `ref` is null or valid.
    pub(crate) unsafe fn to_keel(self, expected: ValType) -> Result<Val, String> {
        // SAFETY: the member matching `kind` is the one written.
        let val = unsafe {
            match self.kind {
                WASM_I32 => Val::I32(self.of.i32),
                WASM_I64 => Val::I64(self.of.i64),
                WASM_F32 => Val::F32(self.of.f32.to_bits()),
                WASM_F64 => Val::F64(self.of.f64.to_bits()),
                WASM_EXTERNREF | WASM_FUNCREF | KEEL_ANYREF => match self.of.r#ref.as_ref() {
                    Some(r) => match r.value() {
                        Some(r) => Val::from(r),
                        None => {
                            return Err("a global, table or memory is not a reference value".into());
                        }
                    },
                    None => match expected.ref_type() {
                        Some(rt) => Val::from(null_of(rt.heap.top())),
                        None => {
                            return Err(format!(
                                "expected a value of type {expected}, got a null reference"
                            ));
                        }
                    },
                },
                KEEL_V128 => {
                    return Err("v128 values cannot be passed through wasm.h's wasm_val_t".into());
                }
                kind => return Err(format!("unknown value kind {kind}")),
            }
        };
        Ok(val)
    }
}

/// The null reference of the hierarchy whose top type is `top`.
pub(crate) fn null_of(top: keel_rt::HeapType) -> Ref {
    match top {
        keel_rt::HeapType::Func => Ref::Func(None),
        keel_rt::HeapType::Extern => Ref::Extern(None),
        keel_rt::HeapType::Exn => Ref::Exn(None),
        _ => Ref::Any(None),
    }
}

impl ValueElem for wasm_val_t {
    fn zeroed() -> Self {
        wasm_val_t {
            kind: WASM_I32,
            of: wasm_val_union { i64: 0 },
        }
    }

    fn copy(&self) -> Self {
        let mut out = *self;
        if self.is_ref() {
            // SAFETY: a reference value's `ref` is null or valid.
            out.of.r#ref = unsafe { wasm_ref_copy(self.ref_ptr()) };
        }
        out
    }

    unsafe fn release(&mut self) {
        // SAFETY: per the contract, the reference is owned.
        unsafe { wasm_ref_delete(self.ref_ptr()) };
        self.of.r#ref = core::ptr::null_mut();
    }
}

/// Release what `v` owns (its reference, for a reference value).
///
/// # Safety
///
/// `v` is null or a valid value that owns its reference.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_val_delete(v: *mut wasm_val_t) {
    // SAFETY: per the contract.
    if let Some(v) = unsafe { v.as_mut() } {
        // SAFETY: per the contract.
        unsafe { v.release() };
    }
}

/// Make `*out` a copy of `v` (a reference value gets a reference of its
/// own).
///
/// # Safety
///
/// `out` points at writable memory for a value; `v` is valid.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_val_copy(out: *mut wasm_val_t, v: *const wasm_val_t) {
    // SAFETY: per the contract.
    unsafe { out.write((*v).copy()) };
}

declare_vec!(
    /// `wasm_val_vec_t`: values, owning their references.
    wasm_val_vec_t of value wasm_val_t,
    wasm_val_vec_new_empty,
    wasm_val_vec_new_uninitialized,
    wasm_val_vec_new,
    wasm_val_vec_copy,
    wasm_val_vec_delete
);

/// Whether `a` and `b` refer to the same object (two null pointers are
/// the same; a reference is never the same as null).
///
/// # Safety
///
/// `a` and `b` are null or valid, and their store alive.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_ref_same(a: *const wasm_ref_t, b: *const wasm_ref_t) -> bool {
    // SAFETY: per the contract.
    let (a, b) = match unsafe { (a.as_ref(), b.as_ref()) } {
        (None, None) => return true,
        (Some(a), Some(b)) => (a, b),
        _ => return false,
    };
    let a_store = a.store;
    // Traps and modules are not of a store: their handles share them.
    match (&a.obj, &b.obj) {
        (Object::Trap(x), Object::Trap(y)) => return alloc::rc::Rc::ptr_eq(x, y),
        (Object::Module(x), Object::Module(y)) => return alloc::sync::Arc::ptr_eq(x, y),
        (Object::Trap(_) | Object::Module(_), _) | (_, Object::Trap(_) | Object::Module(_)) => {
            return false;
        }
        _ => {}
    }
    if a.store != b.store {
        return false;
    }
    let (a, b) = match (&a.obj, &b.obj) {
        (Object::Extern(x), Object::Extern(y)) => return crate::externs::extern_same(x, y),
        (Object::Instance(x), Object::Instance(y)) => return x == y,
        _ => match (a.value(), b.value()) {
            (Some(a), Some(b)) => (a, b),
            _ => return false,
        },
    };
    // SAFETY: per the contract, the store of a store object is alive.
    let store = unsafe { &(*a_store).store };
    match (a, b) {
        (Ref::Func(x), Ref::Func(y)) => x == y,
        (Ref::Extern(Some(x)), Ref::Extern(Some(y))) => {
            keel_rt::Rooted::ref_eq(store, &x, &y).unwrap_or(false)
        }
        (Ref::Any(Some(x)), Ref::Any(Some(y))) => {
            keel_rt::Rooted::ref_eq(store, &x, &y).unwrap_or(false)
        }
        (Ref::Exn(Some(x)), Ref::Exn(Some(y))) => x == y,
        _ => false,
    }
}
