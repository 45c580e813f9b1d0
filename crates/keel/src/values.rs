//! [`Val`]: a WebAssembly value as the host sees it (spec:
//! [Values](https://webassembly.github.io/spec/core/exec/runtime.html#values)).

use crate::store::StoreOpaque;
use crate::{AnyRef, ExnRef, ExternRef, Func, Result, Rooted, ValType};
use keel_translate::WasmHeapType;
use keel_vm::ValRaw;

/// A WebAssembly value.
///
/// Floats are kept as their bits so NaN payloads survive a round trip.
#[derive(Clone, Copy, Debug)]
pub enum Val {
    /// An `i32`.
    I32(i32),
    /// An `i64`.
    I64(i64),
    /// An `f32`, as its IEEE 754 bits.
    F32(u32),
    /// An `f64`, as its IEEE 754 bits.
    F64(u64),
    /// A `v128`.
    V128(u128),
    /// A `funcref`: a function or null.
    FuncRef(Option<Func>),
    /// A reference into the `extern` hierarchy: a host value, an `any`
    /// value made external, or null.
    ExternRef(Option<Rooted<ExternRef>>),
    /// A reference into the `any` hierarchy (GC): a struct, an array, an
    /// `i31`, a host value made internal, or null.
    AnyRef(Option<Rooted<AnyRef>>),
    /// An `exnref`: an exception or null.
    ExnRef(Option<ExnRef>),
}

impl Val {
    /// The value's type.
    pub fn ty(&self) -> ValType {
        match self {
            Val::I32(_) => ValType::I32,
            Val::I64(_) => ValType::I64,
            Val::F32(_) => ValType::F32,
            Val::F64(_) => ValType::F64,
            Val::V128(_) => ValType::V128,
            Val::FuncRef(_) => ValType::FuncRef,
            Val::ExternRef(_) => ValType::ExternRef,
            Val::AnyRef(_) => ValType::reference(true, WasmHeapType::Any),
            Val::ExnRef(_) => ValType::EXNREF,
        }
    }

    /// The `i32`, if it is one.
    pub fn i32(&self) -> Option<i32> {
        if let Val::I32(v) = self {
            Some(*v)
        } else {
            None
        }
    }

    /// The `i64`, if it is one.
    pub fn i64(&self) -> Option<i64> {
        if let Val::I64(v) = self {
            Some(*v)
        } else {
            None
        }
    }

    /// The `f32`, if it is one.
    pub fn f32(&self) -> Option<f32> {
        if let Val::F32(v) = self {
            Some(f32::from_bits(*v))
        } else {
            None
        }
    }

    /// The `f64`, if it is one.
    pub fn f64(&self) -> Option<f64> {
        if let Val::F64(v) = self {
            Some(f64::from_bits(*v))
        } else {
            None
        }
    }

    /// The `v128`, if it is one.
    pub fn v128(&self) -> Option<u128> {
        if let Val::V128(v) = self {
            Some(*v)
        } else {
            None
        }
    }

    /// The funcref, if it is one (`Some(None)` is a null funcref).
    pub fn funcref(&self) -> Option<Option<Func>> {
        if let Val::FuncRef(v) = self {
            Some(*v)
        } else {
            None
        }
    }

    /// The externref, if it is one (`Some(None)` is a null externref).
    pub fn externref(&self) -> Option<Option<Rooted<ExternRef>>> {
        if let Val::ExternRef(v) = self {
            Some(*v)
        } else {
            None
        }
    }

    /// The externref (`None` for null).
    ///
    /// # Panics
    ///
    /// If the value is not an externref.
    pub fn unwrap_externref(&self) -> Option<&Rooted<ExternRef>> {
        match self {
            Val::ExternRef(r) => r.as_ref(),
            other => panic!("expected an externref, found {other:?}"),
        }
    }

    /// The anyref, if it is one (`Some(None)` is a null anyref).
    pub fn anyref(&self) -> Option<Option<Rooted<AnyRef>>> {
        if let Val::AnyRef(v) = self {
            Some(*v)
        } else {
            None
        }
    }

    /// The anyref (`None` for null).
    ///
    /// # Panics
    ///
    /// If the value is not an anyref.
    pub fn unwrap_anyref(&self) -> Option<&Rooted<AnyRef>> {
        match self {
            Val::AnyRef(r) => r.as_ref(),
            other => panic!("expected an anyref, found {other:?}"),
        }
    }

    /// The reference, if this is one.
    pub fn ref_(self) -> Option<Ref> {
        Some(match self {
            Val::FuncRef(f) => Ref::Func(f),
            Val::ExternRef(e) => Ref::Extern(e),
            Val::AnyRef(a) => Ref::Any(a),
            Val::ExnRef(e) => Ref::Exn(e),
            _ => return None,
        })
    }

    /// The exnref, if it is one (`Some(None)` is a null exnref).
    pub fn exnref(&self) -> Option<Option<ExnRef>> {
        if let Val::ExnRef(v) = self {
            Some(*v)
        } else {
            None
        }
    }

    /// Whether this is a null reference.
    pub fn is_null(&self) -> bool {
        matches!(
            self,
            Val::FuncRef(None) | Val::ExternRef(None) | Val::AnyRef(None) | Val::ExnRef(None)
        )
    }

    /// The `i32`.
    ///
    /// # Panics
    ///
    /// If the value is not an `i32`.
    pub fn unwrap_i32(&self) -> i32 {
        self.i32().expect("expected an i32 value")
    }

    /// The `i64`.
    ///
    /// # Panics
    ///
    /// If the value is not an `i64`.
    pub fn unwrap_i64(&self) -> i64 {
        self.i64().expect("expected an i64 value")
    }

    /// The `f32`.
    ///
    /// # Panics
    ///
    /// If the value is not an `f32`.
    pub fn unwrap_f32(&self) -> f32 {
        self.f32().expect("expected an f32 value")
    }

    /// The `f64`.
    ///
    /// # Panics
    ///
    /// If the value is not an `f64`.
    pub fn unwrap_f64(&self) -> f64 {
        self.f64().expect("expected an f64 value")
    }

    /// The zero (or null) value of `ty` (null too for a non-nullable
    /// reference type, which has no default: it does not match `ty`).
    pub fn default_for(ty: ValType) -> Val {
        match ty {
            ValType::I32 => Val::I32(0),
            ValType::I64 => Val::I64(0),
            ValType::F32 => Val::F32(0),
            ValType::F64 => Val::F64(0),
            ValType::V128 => Val::V128(0),
            ty if ty.is_func_ref() => Val::FuncRef(None),
            ty if ty.is_exn_ref() => Val::ExnRef(None),
            ty if ty.is_any_ref() => Val::AnyRef(None),
            _ => Val::ExternRef(None),
        }
    }

    /// Whether this value is of type `ty` (or a subtype of it): numbers
    /// and vectors of their own type, null of every nullable reference
    /// type of its hierarchy, a function of `funcref`, `(ref func)` and
    /// the concrete type it has, a host value of `externref` and
    /// `(ref extern)`. Concrete types in `ty` must be the engine's (as in
    /// the types keel hands out).
    ///
    /// # Panics
    ///
    /// If a function reference belongs to another store than `store`.
    pub fn matches_ty(&self, store: impl crate::AsContext, ty: ValType) -> bool {
        self.matches(&store.as_context().0.opaque, ty)
    }

    pub(crate) fn matches(&self, store: &StoreOpaque, ty: ValType) -> bool {
        use keel_translate::TypeRef;
        let Some(r) = ty.ref_type() else {
            return self.ty() == ty;
        };
        match self {
            Val::FuncRef(None) => r.nullable && ty.is_func_ref(),
            Val::ExternRef(None) => r.nullable && r.heap.top() == WasmHeapType::Extern,
            Val::ExternRef(Some(e)) => r.heap == WasmHeapType::Extern && e.raw(store).is_ok(),
            Val::AnyRef(None) => r.nullable && r.heap.top() == WasmHeapType::Any,
            Val::AnyRef(Some(a)) => a
                .raw(store)
                .is_ok_and(|raw| crate::gc_refs::any_matches(store, raw, r.heap)),
            Val::ExnRef(None) => r.nullable && ty.is_exn_ref(),
            Val::ExnRef(Some(e)) => r.heap == WasmHeapType::Exn && e.store == store.id,
            Val::FuncRef(Some(f)) => match r.heap {
                WasmHeapType::Func => true,
                WasmHeapType::ConcreteFunc(TypeRef::Engine(id)) => {
                    f.store == store.id && store.engine.is_subtype(f.type_index(store), id)
                }
                _ => false,
            },
            _ => false,
        }
    }

    /// The raw form of this value for `store`.
    pub(crate) fn to_raw(self, store: &StoreOpaque) -> Result<ValRaw> {
        Ok(match self {
            Val::I32(v) => ValRaw::i32(v),
            Val::I64(v) => ValRaw::i64(v),
            Val::F32(v) => ValRaw::f32(v),
            Val::F64(v) => ValRaw::f64(v),
            Val::V128(v) => ValRaw::v128(v),
            Val::FuncRef(None) => ValRaw::ptr(0),
            Val::FuncRef(Some(f)) => {
                if f.store != store.id {
                    anyhow::bail!("function reference belongs to another store");
                }
                ValRaw::ptr(store.funcs.func_ref(f.index) as usize)
            }
            Val::ExternRef(None) => ValRaw::ptr(0),
            Val::ExternRef(Some(r)) => ValRaw::ptr(r.raw(store)?),
            Val::AnyRef(None) => ValRaw::ptr(0),
            Val::AnyRef(Some(r)) => ValRaw::ptr(r.raw(store)?),
            Val::ExnRef(None) => ValRaw::ptr(0),
            Val::ExnRef(Some(e)) => ValRaw::ptr(e.to_raw(store)?),
        })
    }

    /// The value of type `ty` held in `raw`.
    pub(crate) fn from_raw(store: &mut StoreOpaque, raw: ValRaw, ty: ValType) -> Result<Val> {
        Ok(match ty {
            ValType::I32 => Val::I32(raw.get_i32()),
            ValType::I64 => Val::I64(raw.get_i64()),
            ValType::F32 => Val::F32(raw.get_f32()),
            ValType::F64 => Val::F64(raw.get_f64()),
            ValType::V128 => Val::V128(raw.get_v128()),
            ty if ty.is_func_ref() => match raw.get_ptr() {
                0 => Val::FuncRef(None),
                p => Val::FuncRef(Some(Func::from_func_ref(
                    store,
                    p as *const keel_vm::VMFuncRef,
                ))),
            },
            ty if ty.is_exn_ref() => match raw.get_ptr() {
                0 => Val::ExnRef(None),
                p => Val::ExnRef(Some(ExnRef::from_raw(store, p))),
            },
            ty if ty.is_any_ref() => match raw.get_ptr() {
                0 => Val::AnyRef(None),
                p => Val::AnyRef(Some(Rooted::new(store, p))),
            },
            _ => match raw.get_ptr() {
                0 => Val::ExternRef(None),
                p => Val::ExternRef(Some(Rooted::new(store, p))),
            },
        })
    }
}

impl From<i32> for Val {
    fn from(v: i32) -> Val {
        Val::I32(v)
    }
}

impl From<i64> for Val {
    fn from(v: i64) -> Val {
        Val::I64(v)
    }
}

impl From<f32> for Val {
    fn from(v: f32) -> Val {
        Val::F32(v.to_bits())
    }
}

impl From<f64> for Val {
    fn from(v: f64) -> Val {
        Val::F64(v.to_bits())
    }
}

impl From<Rooted<ExternRef>> for Val {
    fn from(r: Rooted<ExternRef>) -> Val {
        Val::ExternRef(Some(r))
    }
}

impl From<Option<Rooted<ExternRef>>> for Val {
    fn from(r: Option<Rooted<ExternRef>>) -> Val {
        Val::ExternRef(r)
    }
}

impl From<Rooted<AnyRef>> for Val {
    fn from(r: Rooted<AnyRef>) -> Val {
        Val::AnyRef(Some(r))
    }
}

impl From<Option<Rooted<AnyRef>>> for Val {
    fn from(r: Option<Rooted<AnyRef>>) -> Val {
        Val::AnyRef(r)
    }
}

impl From<Ref> for Val {
    fn from(r: Ref) -> Val {
        match r {
            Ref::Func(f) => Val::FuncRef(f),
            Ref::Extern(e) => Val::ExternRef(e),
            Ref::Any(a) => Val::AnyRef(a),
            Ref::Exn(e) => Val::ExnRef(e),
        }
    }
}

/// A reference value: a table's element (spec:
/// [Reference Types](https://webassembly.github.io/spec/core/syntax/types.html#reference-types)).
#[derive(Clone, Copy, Debug)]
pub enum Ref {
    /// A function reference or null.
    Func(Option<Func>),
    /// A reference into the `extern` hierarchy or null.
    Extern(Option<Rooted<ExternRef>>),
    /// A reference into the `any` hierarchy or null.
    Any(Option<Rooted<AnyRef>>),
    /// An exception reference or null.
    Exn(Option<ExnRef>),
}

impl Ref {
    /// The function reference, if this is one (`Some(None)` is null).
    pub fn funcref(&self) -> Option<Option<Func>> {
        match self {
            Ref::Func(f) => Some(*f),
            _ => None,
        }
    }

    /// The `extern` reference, if this is one (`Some(None)` is null).
    pub fn externref(&self) -> Option<Option<Rooted<ExternRef>>> {
        match self {
            Ref::Extern(e) => Some(*e),
            _ => None,
        }
    }

    /// The `any` reference, if this is one (`Some(None)` is null).
    pub fn anyref(&self) -> Option<Option<Rooted<AnyRef>>> {
        match self {
            Ref::Any(a) => Some(*a),
            _ => None,
        }
    }

    /// The exception reference, if this is one (`Some(None)` is null).
    pub fn exnref(&self) -> Option<Option<ExnRef>> {
        match self {
            Ref::Exn(e) => Some(*e),
            _ => None,
        }
    }

    /// Whether this is null.
    pub fn is_null(&self) -> bool {
        matches!(
            self,
            Ref::Func(None) | Ref::Extern(None) | Ref::Any(None) | Ref::Exn(None)
        )
    }

    /// The function (`None` for null).
    ///
    /// # Panics
    ///
    /// If this is not a function reference.
    pub fn unwrap_func(&self) -> Option<&Func> {
        match self {
            Ref::Func(f) => f.as_ref(),
            other => panic!("expected a function reference, found {other:?}"),
        }
    }

    /// The `extern` reference (`None` for null).
    ///
    /// # Panics
    ///
    /// If this is not an `extern` reference.
    pub fn unwrap_extern(&self) -> Option<&Rooted<ExternRef>> {
        match self {
            Ref::Extern(e) => e.as_ref(),
            other => panic!("expected an extern reference, found {other:?}"),
        }
    }

    /// The `any` reference (`None` for null).
    ///
    /// # Panics
    ///
    /// If this is not an `any` reference.
    pub fn unwrap_any(&self) -> Option<&Rooted<AnyRef>> {
        match self {
            Ref::Any(a) => a.as_ref(),
            other => panic!("expected an any reference, found {other:?}"),
        }
    }
}

impl From<Option<Func>> for Ref {
    fn from(f: Option<Func>) -> Ref {
        Ref::Func(f)
    }
}

impl From<Func> for Ref {
    fn from(f: Func) -> Ref {
        Ref::Func(Some(f))
    }
}

impl From<Option<Rooted<ExternRef>>> for Ref {
    fn from(e: Option<Rooted<ExternRef>>) -> Ref {
        Ref::Extern(e)
    }
}

impl From<Rooted<ExternRef>> for Ref {
    fn from(e: Rooted<ExternRef>) -> Ref {
        Ref::Extern(Some(e))
    }
}

impl From<Option<Rooted<AnyRef>>> for Ref {
    fn from(a: Option<Rooted<AnyRef>>) -> Ref {
        Ref::Any(a)
    }
}

impl From<Rooted<AnyRef>> for Ref {
    fn from(a: Rooted<AnyRef>) -> Ref {
        Ref::Any(Some(a))
    }
}

impl From<Func> for Val {
    fn from(f: Func) -> Val {
        Val::FuncRef(Some(f))
    }
}
