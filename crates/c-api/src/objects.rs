//! Global, table and memory instances (`wasm_global_t`, `wasm_table_t`,
//! `wasm_memory_t`): spec "Global Instances", "Table Instances" and
//! "Memory Instances" in wasm.h; the core spec's
//! [globals](https://webassembly.github.io/spec/core/exec/runtime.html#global-instances),
//! [tables](https://webassembly.github.io/spec/core/exec/runtime.html#table-instances)
//! and [memories](https://webassembly.github.io/spec/core/exec/runtime.html#memory-instances).
//!
//! Each *is* a `wasm_extern_t` of its kind (see `externs`).

use crate::prelude::*;

use crate::engine::wasm_store_t;
use crate::externs::{extern_conversions, ref_conversions, wasm_extern_t};
use crate::types::{wasm_externtype_t, wasm_globaltype_t, wasm_memorytype_t, wasm_tabletype_t};
use crate::val::{null_of, wasm_ref_t, wasm_val_t};
use crate::vec::ValueElem;
use crate::{guard, report};
use keel_rt::{Extern, Global, Memory, Ref, Table};

/// Defines a `wasm_X_t` that is a `wasm_extern_t` of one kind, with its
/// delete, copy and extern conversions.
macro_rules! extern_object {
    (
        $(#[$meta:meta])*
        $ty:ident, $variant:ident, $keel:ty, $delete:ident, $copy:ident, $same:ident,
        $as_ext:ident, $as_ext_const:ident, $ext_as:ident, $ext_as_const:ident,
        $as_ref:ident, $as_ref_const:ident, $ref_as:ident, $ref_as_const:ident
    ) => {
        $(#[$meta])*
        #[repr(transparent)]
        #[derive(Clone, Debug)]
        pub struct $ty {
            ext: wasm_extern_t,
        }

        impl $ty {
            /// The extern this is.
            pub(crate) fn as_extern(&self) -> &wasm_extern_t {
                &self.ext
            }

            /// The object.
            fn get(&self) -> $keel {
                match self.ext.which() {
                    Extern::$variant(x) => *x,
                    _ => unreachable!(concat!("a ", stringify!($ty), " of another kind")),
                }
            }

            /// An owned handle to `x`, of `store`.
            fn boxed(store: *mut wasm_store_t, x: $keel) -> *mut Self {
                Box::into_raw(Box::new(Self {
                    ext: wasm_extern_t::new(store, Extern::$variant(x)),
                }))
            }
        }

        #[doc = concat!("Delete `x` (null is ignored); the object lives on in its store.")]
        ///
        /// # Safety
        ///
        /// `x` is null or owned, made by keel, and not used afterwards.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn $delete(x: *mut $ty) {
            if !x.is_null() {
                // SAFETY: per the contract.
                drop(unsafe { Box::from_raw(x) });
            }
        }

        #[doc = concat!("A new handle to the object `x`, owned by the caller.")]
        ///
        /// # Safety
        ///
        /// `x` is valid.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn $copy(x: *const $ty) -> *mut $ty {
            // SAFETY: per the contract.
            Box::into_raw(Box::new(unsafe { (*x).clone() }))
        }

        #[doc = concat!("Whether `a` and `b` are handles to the same object.")]
        ///
        /// # Safety
        ///
        /// `a` and `b` are valid.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn $same(a: *const $ty, b: *const $ty) -> bool {
            // SAFETY: per the contract.
            unsafe { (*a).get() == (*b).get() }
        }

        extern_conversions!($ty, $variant, $as_ext, $as_ext_const, $ext_as, $ext_as_const);
        ref_conversions!(
            $ty,
            |obj| matches!(obj, $crate::val::Object::Extern(Extern::$variant(_))),
            $as_ref, $as_ref_const, $ref_as, $ref_as_const
        );
    };
}

extern_object!(
    /// A global of a store.
    wasm_global_t, Global, Global, wasm_global_delete, wasm_global_copy, wasm_global_same,
    wasm_global_as_extern, wasm_global_as_extern_const,
    wasm_extern_as_global, wasm_extern_as_global_const,
    wasm_global_as_ref, wasm_global_as_ref_const, wasm_ref_as_global, wasm_ref_as_global_const
);
extern_object!(
    /// A table of a store.
    wasm_table_t, Table, Table, wasm_table_delete, wasm_table_copy, wasm_table_same,
    wasm_table_as_extern, wasm_table_as_extern_const,
    wasm_extern_as_table, wasm_extern_as_table_const,
    wasm_table_as_ref, wasm_table_as_ref_const, wasm_ref_as_table, wasm_ref_as_table_const
);
extern_object!(
    /// A linear memory of a store.
    wasm_memory_t, Memory, Memory, wasm_memory_delete, wasm_memory_copy, wasm_memory_same,
    wasm_memory_as_extern, wasm_memory_as_extern_const,
    wasm_extern_as_memory, wasm_extern_as_memory_const,
    wasm_memory_as_ref, wasm_memory_as_ref_const, wasm_ref_as_memory, wasm_ref_as_memory_const
);

/// A new global of type `ty` in `store`, holding `val`; null if `val`
/// does not match the type (reported on standard error).
///
/// # Safety
///
/// `store`, `ty` and `val` are valid.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_global_new(
    store: *mut wasm_store_t,
    ty: *const wasm_globaltype_t,
    val: *const wasm_val_t,
) -> *mut wasm_global_t {
    if store.is_null() || ty.is_null() || val.is_null() {
        return core::ptr::null_mut();
    }
    // SAFETY: per the contract.
    let ty = unsafe { &*ty }.view().ty;
    // SAFETY: per the contract.
    let val = match unsafe { (*val).to_keel(ty.content()) } {
        Ok(v) => v,
        Err(e) => {
            report(&format!("wasm_global_new: {e}"));
            return core::ptr::null_mut();
        }
    };
    // SAFETY: per the contract.
    let keel_store = unsafe { &mut (*store).store };
    match guard(|| Global::new(&mut *keel_store, ty, val)) {
        Some(Ok(g)) => wasm_global_t::boxed(store, g),
        Some(Err(e)) => {
            report(&format!("wasm_global_new: {e:#}"));
            core::ptr::null_mut()
        }
        None => core::ptr::null_mut(),
    }
}

/// The type of `g`, owned by the caller.
///
/// # Safety
///
/// `g` is valid and its store alive.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_global_type(g: *const wasm_global_t) -> *mut wasm_globaltype_t {
    // SAFETY: per the contract.
    let g = unsafe { &*g };
    // SAFETY: per the contract.
    let ty = g.get().ty(unsafe { &*g.ext.store_mut() });
    wasm_globaltype_t::boxed(wasm_externtype_t::global(ty))
}

/// Make `*out` the value of `g`, owned by the caller (a `v128` global
/// reads as a zero `i32`, reported on standard error: `wasm_val_t`
/// cannot hold it).
///
/// # Safety
///
/// `g` is valid and its store alive; `out` points at writable memory for
/// a value.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_global_get(g: *const wasm_global_t, out: *mut wasm_val_t) {
    // SAFETY: per the contract.
    let g = unsafe { &*g };
    // SAFETY: per the contract.
    let val = g.get().get(unsafe { g.ext.store_mut() });
    let c = wasm_val_t::from_keel(g.ext.store, &val).unwrap_or_else(|e| {
        report(&format!("wasm_global_get: {e}"));
        wasm_val_t::zeroed()
    });
    // SAFETY: per the contract.
    unsafe { out.write(c) };
}

/// Set `g` to `val` (copied); reported on standard error and ignored if
/// `g` is immutable or `val` of another type.
///
/// # Safety
///
/// `g` is valid and its store alive; `val` is valid.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_global_set(g: *mut wasm_global_t, val: *const wasm_val_t) {
    // SAFETY: per the contract.
    let g = unsafe { &*g };
    // SAFETY: per the contract.
    let store = unsafe { g.ext.store_mut() };
    let global = g.get();
    let ty = global.ty(&*store).content();
    // SAFETY: per the contract.
    let result = match unsafe { (*val).to_keel(ty) } {
        Ok(v) => global.set(&mut *store, v).map_err(|e| format!("{e:#}")),
        Err(e) => Err(e),
    };
    if let Err(e) = result {
        report(&format!("wasm_global_set: {e}"));
    }
}

/// keel's reference of `r` for a table of element type `element`: a
/// null reference for a null pointer, `None` for a reference to a
/// global, table or memory (not a reference value).
///
/// # Safety
///
/// `r` is null or valid.
unsafe fn table_ref(r: *const wasm_ref_t, element: keel_rt::ValType) -> Option<Ref> {
    // SAFETY: per the contract.
    match unsafe { r.as_ref() } {
        // A global, table or memory is not an element: `None`.
        Some(r) => r.value(),
        None => Some(null_of(
            element
                .ref_type()
                .map_or(keel_rt::HeapType::Func, |t| t.heap.top()),
        )),
    }
}

/// A new table of type `ty` in `store`, its elements `init` (null: null
/// references); null if `init` does not match the element type.
///
/// # Safety
///
/// `store` and `ty` are valid; `init` is null or valid.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_table_new(
    store: *mut wasm_store_t,
    ty: *const wasm_tabletype_t,
    init: *mut wasm_ref_t,
) -> *mut wasm_table_t {
    if store.is_null() || ty.is_null() {
        return core::ptr::null_mut();
    }
    // SAFETY: per the contract.
    let ty = unsafe { &*ty }.view().ty;
    // SAFETY: per the contract.
    let Some(init) = (unsafe { table_ref(init, ty.element()) }) else {
        report("wasm_table_new: the initial element is not a reference value");
        return core::ptr::null_mut();
    };
    // SAFETY: per the contract.
    let keel_store = unsafe { &mut (*store).store };
    match guard(|| Table::new(&mut *keel_store, ty, init)) {
        Some(Ok(t)) => wasm_table_t::boxed(store, t),
        Some(Err(e)) => {
            report(&format!("wasm_table_new: {e:#}"));
            core::ptr::null_mut()
        }
        None => core::ptr::null_mut(),
    }
}

/// The type of `t`, owned by the caller.
///
/// # Safety
///
/// `t` is valid and its store alive.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_table_type(t: *const wasm_table_t) -> *mut wasm_tabletype_t {
    // SAFETY: per the contract.
    let t = unsafe { &*t };
    // SAFETY: per the contract.
    let ty = t.get().ty(unsafe { &*t.ext.store_mut() });
    wasm_tabletype_t::boxed(wasm_externtype_t::table(ty))
}

/// Element `index` of `t`, owned by the caller; null for a null
/// reference or an index out of bounds.
///
/// # Safety
///
/// `t` is valid and its store alive.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_table_get(t: *const wasm_table_t, index: u32) -> *mut wasm_ref_t {
    // SAFETY: per the contract.
    let t = unsafe { &*t };
    // SAFETY: per the contract.
    match t.get().get(unsafe { t.ext.store_mut() }, u64::from(index)) {
        Some(r) if !r.is_null() => Box::into_raw(Box::new(wasm_ref_t::new(t.ext.store, r))),
        _ => core::ptr::null_mut(),
    }
}

/// Set element `index` of `t` to `r` (null: a null reference); false if
/// the index is out of bounds or `r` does not match the element type.
///
/// # Safety
///
/// `t` is valid and its store alive; `r` is null or valid.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_table_set(
    t: *mut wasm_table_t,
    index: u32,
    r: *mut wasm_ref_t,
) -> bool {
    // SAFETY: per the contract.
    let t = unsafe { &*t };
    // SAFETY: per the contract.
    let store = unsafe { t.ext.store_mut() };
    let table = t.get();
    // SAFETY: per the contract.
    let Some(r) = (unsafe { table_ref(r, table.ty(&*store).element()) }) else {
        return false;
    };
    table.set(&mut *store, u64::from(index), r).is_ok()
}

/// The number of elements of `t` (saturated to `u32::MAX`).
///
/// # Safety
///
/// `t` is valid and its store alive.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_table_size(t: *const wasm_table_t) -> u32 {
    // SAFETY: per the contract.
    let t = unsafe { &*t };
    // SAFETY: per the contract.
    u32::try_from(t.get().size(unsafe { &*t.ext.store_mut() })).unwrap_or(u32::MAX)
}

/// Grow `t` by `delta` elements set to `init` (null: null references);
/// false if that would pass its maximum or `init` does not match.
///
/// # Safety
///
/// `t` is valid and its store alive; `init` is null or valid.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_table_grow(
    t: *mut wasm_table_t,
    delta: u32,
    init: *mut wasm_ref_t,
) -> bool {
    // SAFETY: per the contract.
    let t = unsafe { &*t };
    // SAFETY: per the contract.
    let store = unsafe { t.ext.store_mut() };
    let table = t.get();
    // SAFETY: per the contract.
    let Some(init) = (unsafe { table_ref(init, table.ty(&*store).element()) }) else {
        return false;
    };
    matches!(
        guard(|| table.grow(&mut *store, u64::from(delta), init)),
        Some(Ok(_))
    )
}

/// A new memory of type `ty` in `store`; null if it cannot be made
/// (reported on standard error).
///
/// # Safety
///
/// `store` and `ty` are valid.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_memory_new(
    store: *mut wasm_store_t,
    ty: *const wasm_memorytype_t,
) -> *mut wasm_memory_t {
    if store.is_null() || ty.is_null() {
        return core::ptr::null_mut();
    }
    // SAFETY: per the contract.
    let ty = unsafe { &*ty }.view().ty;
    // SAFETY: per the contract.
    let keel_store = unsafe { &mut (*store).store };
    match guard(|| Memory::new(&mut *keel_store, ty)) {
        Some(Ok(m)) => wasm_memory_t::boxed(store, m),
        Some(Err(e)) => {
            report(&format!("wasm_memory_new: {e:#}"));
            core::ptr::null_mut()
        }
        None => core::ptr::null_mut(),
    }
}

/// The type of `m`, owned by the caller.
///
/// # Safety
///
/// `m` is valid and its store alive.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_memory_type(m: *const wasm_memory_t) -> *mut wasm_memorytype_t {
    // SAFETY: per the contract.
    let m = unsafe { &*m };
    // SAFETY: per the contract.
    let ty = m.get().ty(unsafe { &*m.ext.store_mut() });
    wasm_memorytype_t::boxed(wasm_externtype_t::memory(ty))
}

/// The first byte of `m`'s data, valid until the memory grows.
///
/// # Safety
///
/// `m` is valid and its store alive.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_memory_data(m: *mut wasm_memory_t) -> *mut u8 {
    // SAFETY: per the contract.
    let m = unsafe { &*m };
    // SAFETY: per the contract.
    m.get().data_mut(unsafe { m.ext.store_mut() }).as_mut_ptr()
}

/// The size of `m`'s data in bytes.
///
/// # Safety
///
/// `m` is valid and its store alive.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_memory_data_size(m: *const wasm_memory_t) -> usize {
    // SAFETY: per the contract.
    let m = unsafe { &*m };
    // SAFETY: per the contract.
    m.get().data_size(unsafe { &*m.ext.store_mut() })
}

/// The size of `m` in pages (saturated to `u32::MAX`).
///
/// # Safety
///
/// `m` is valid and its store alive.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_memory_size(m: *const wasm_memory_t) -> u32 {
    // SAFETY: per the contract.
    let m = unsafe { &*m };
    // SAFETY: per the contract.
    u32::try_from(m.get().size(unsafe { &*m.ext.store_mut() })).unwrap_or(u32::MAX)
}

/// Grow `m` by `delta` pages; false if that would pass its maximum or
/// the memory cannot be had.
///
/// # Safety
///
/// `m` is valid and its store alive.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_memory_grow(m: *mut wasm_memory_t, delta: u32) -> bool {
    // SAFETY: per the contract.
    let m = unsafe { &*m };
    // SAFETY: per the contract.
    let store = unsafe { m.ext.store_mut() };
    let memory = m.get();
    matches!(
        guard(|| memory.grow(&mut *store, u64::from(delta))),
        Some(Ok(_))
    )
}
