//! Type representations: value, function, global, table, memory and
//! extern types, and import and export types (spec: "Type
//! Representations" in wasm.h; the types themselves are the core spec's
//! [Types](https://webassembly.github.io/spec/core/syntax/types.html)).
//!
//! A `wasm_functype_t`, `wasm_globaltype_t`, `wasm_tabletype_t` or
//! `wasm_memorytype_t` *is* a `wasm_externtype_t` (the same object), so
//! the `as_externtype` conversions are pointer casts, as the standard's
//! non-owning conversions require.

use crate::prelude::*;

use crate::vec::declare_vec;
use crate::wasm_byte_vec_t;
use keel_rt::{
    FuncType, GlobalType, HeapType, MemoryType, Mutability, RefType, TableType, ValType,
};

/// `wasm_valkind_t`: `WASM_I32` (0), `WASM_I64`, `WASM_F32`, `WASM_F64`,
/// `WASM_EXTERNREF` (128), `WASM_FUNCREF` (129); keel adds `KEEL_V128`
/// (4) and `KEEL_ANYREF` (130) for the types wasm.h predates.
pub type wasm_valkind_t = u8;
/// `WASM_I32`.
pub const WASM_I32: wasm_valkind_t = 0;
/// `WASM_I64`.
pub const WASM_I64: wasm_valkind_t = 1;
/// `WASM_F32`.
pub const WASM_F32: wasm_valkind_t = 2;
/// `WASM_F64`.
pub const WASM_F64: wasm_valkind_t = 3;
/// `KEEL_V128`: a 128-bit vector.
pub const KEEL_V128: wasm_valkind_t = 4;
/// `WASM_EXTERNREF`: a nullable reference to a host object.
pub const WASM_EXTERNREF: wasm_valkind_t = 128;
/// `WASM_FUNCREF`: a nullable function reference.
pub const WASM_FUNCREF: wasm_valkind_t = 129;
/// `KEEL_ANYREF`: any other reference type (GC, exceptions).
pub const KEEL_ANYREF: wasm_valkind_t = 130;

/// `wasm_mutability_t`: `WASM_CONST` (0) or `WASM_VAR` (1).
pub type wasm_mutability_t = u8;

/// `wasm_limits_t`: minimum and maximum (`0xffffffff`: none), in pages
/// for memories and elements for tables.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct wasm_limits_t {
    /// The minimum.
    pub min: u32,
    /// The maximum, or `0xffffffff` for none.
    pub max: u32,
}

/// `wasm_limits_max_default`: no maximum.
const NO_MAX: u32 = u32::MAX;

/// A value type.
#[derive(Clone, Debug)]
pub struct wasm_valtype_t {
    pub(crate) ty: ValType,
}

/// The `wasm_valkind_t` of `ty`.
pub(crate) fn valkind(ty: ValType) -> wasm_valkind_t {
    match ty {
        ValType::I32 => WASM_I32,
        ValType::I64 => WASM_I64,
        ValType::F32 => WASM_F32,
        ValType::F64 => WASM_F64,
        ValType::V128 => KEEL_V128,
        ValType::ExternRef => WASM_EXTERNREF,
        ValType::FuncRef => WASM_FUNCREF,
        ValType::Ref(_) => KEEL_ANYREF,
    }
}

/// The value type of `kind`, if it names one.
pub(crate) fn valtype_of_kind(kind: wasm_valkind_t) -> Option<ValType> {
    Some(match kind {
        WASM_I32 => ValType::I32,
        WASM_I64 => ValType::I64,
        WASM_F32 => ValType::F32,
        WASM_F64 => ValType::F64,
        KEEL_V128 => ValType::V128,
        WASM_EXTERNREF => ValType::ExternRef,
        WASM_FUNCREF => ValType::FuncRef,
        KEEL_ANYREF => ValType::Ref(RefType {
            nullable: true,
            heap: HeapType::Any,
        }),
        _ => return None,
    })
}

/// A new value type of kind `kind`; null for an unknown kind.
#[unsafe(no_mangle)]
pub extern "C" fn wasm_valtype_new(kind: wasm_valkind_t) -> *mut wasm_valtype_t {
    match valtype_of_kind(kind) {
        Some(ty) => Box::into_raw(Box::new(wasm_valtype_t { ty })),
        None => core::ptr::null_mut(),
    }
}

/// The kind of value type `t`.
///
/// # Safety
///
/// `t` is a valid value type.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_valtype_kind(t: *const wasm_valtype_t) -> wasm_valkind_t {
    // SAFETY: per the contract.
    valkind(unsafe { (*t).ty })
}

/// Defines `wasm_X_delete` and `wasm_X_copy` for a boxed, cloneable
/// `wasm_X_t`.
macro_rules! own_and_copy {
    ($ty:ident, $delete:ident, $copy:ident) => {
        #[doc = concat!("Delete `p`, a `", stringify!($ty), "` (null is ignored).")]
        ///
        /// # Safety
        ///
        /// `p` is null or owned, made by keel, and not used afterwards.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn $delete(p: *mut $ty) {
            if !p.is_null() {
                // SAFETY: per the contract.
                drop(unsafe { Box::from_raw(p) });
            }
        }

        #[doc = concat!("A copy of `p`, a `", stringify!($ty), "`, owned by the caller.")]
        ///
        /// # Safety
        ///
        /// `p` is valid.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn $copy(p: *const $ty) -> *mut $ty {
            // SAFETY: per the contract.
            Box::into_raw(Box::new(unsafe { (*p).clone() }))
        }
    };
}

own_and_copy!(wasm_valtype_t, wasm_valtype_delete, wasm_valtype_copy);
declare_vec!(
    /// `wasm_valtype_vec_t`: owned value types.
    wasm_valtype_vec_t of owned wasm_valtype_t,
    wasm_valtype_vec_new_empty,
    wasm_valtype_vec_new_uninitialized,
    wasm_valtype_vec_new,
    wasm_valtype_vec_copy,
    wasm_valtype_vec_delete
);

/// The value types of `types`, as an owned vector.
fn valtype_vec(types: impl Iterator<Item = ValType>) -> wasm_valtype_vec_t {
    wasm_valtype_vec_t::from_boxes(types.map(|ty| Box::new(wasm_valtype_t { ty })).collect())
}

/// An extern type: what `wasm_functype_t` and the other three are.
#[derive(Clone, Debug)]
pub struct wasm_externtype_t {
    pub(crate) which: ExternTypeKind,
}

/// The four kinds of extern type, with the views wasm.h hands out
/// pointers into.
#[derive(Clone, Debug)]
pub(crate) enum ExternTypeKind {
    Func(FuncTypeView),
    Global(GlobalTypeView),
    Table(TableTypeView),
    Memory(MemoryTypeView),
}

/// A function type and its parameter and result vectors.
#[derive(Clone, Debug)]
pub(crate) struct FuncTypeView {
    pub(crate) ty: FuncType,
    params: wasm_valtype_vec_t,
    results: wasm_valtype_vec_t,
}

/// A global type and its content type.
#[derive(Clone, Debug)]
pub(crate) struct GlobalTypeView {
    pub(crate) ty: GlobalType,
    content: wasm_valtype_t,
}

/// A table type, its element type and limits.
#[derive(Clone, Debug)]
pub(crate) struct TableTypeView {
    pub(crate) ty: TableType,
    element: wasm_valtype_t,
    limits: wasm_limits_t,
}

/// A memory type and its limits.
#[derive(Clone, Debug)]
pub(crate) struct MemoryTypeView {
    pub(crate) ty: MemoryType,
    limits: wasm_limits_t,
}

/// Limits from 64-bit bounds, saturated to wasm.h's 32 bits.
fn limits(min: u64, max: Option<u64>) -> wasm_limits_t {
    wasm_limits_t {
        min: u32::try_from(min).unwrap_or(u32::MAX),
        max: max.map_or(NO_MAX, |m| u32::try_from(m).unwrap_or(NO_MAX)),
    }
}

impl wasm_externtype_t {
    /// The extern type of a function of type `ty`.
    pub(crate) fn func(ty: FuncType) -> Self {
        let params = valtype_vec(ty.params());
        let results = valtype_vec(ty.results());
        Self {
            which: ExternTypeKind::Func(FuncTypeView {
                ty,
                params,
                results,
            }),
        }
    }

    /// The extern type of a global of type `ty`.
    pub(crate) fn global(ty: GlobalType) -> Self {
        Self {
            which: ExternTypeKind::Global(GlobalTypeView {
                content: wasm_valtype_t { ty: ty.content() },
                ty,
            }),
        }
    }

    /// The extern type of a table of type `ty`.
    pub(crate) fn table(ty: TableType) -> Self {
        Self {
            which: ExternTypeKind::Table(TableTypeView {
                element: wasm_valtype_t { ty: ty.element() },
                limits: limits(ty.minimum(), ty.maximum()),
                ty,
            }),
        }
    }

    /// The extern type of a memory of type `ty`.
    pub(crate) fn memory(ty: MemoryType) -> Self {
        Self {
            which: ExternTypeKind::Memory(MemoryTypeView {
                limits: limits(ty.minimum(), ty.maximum()),
                ty,
            }),
        }
    }

    /// The C view of keel's `ty`; `None` for kinds wasm.h has no type for
    /// (tags).
    pub(crate) fn from_keel(ty: keel_rt::ExternType) -> Option<Self> {
        Some(match ty {
            keel_rt::ExternType::Func(f) => Self::func(f),
            keel_rt::ExternType::Global(g) => Self::global(g),
            keel_rt::ExternType::Table(t) => Self::table(t),
            keel_rt::ExternType::Memory(m) => Self::memory(m),
            _ => return None,
        })
    }
}

/// `wasm_externkind_t`: `WASM_EXTERN_FUNC` (0), `WASM_EXTERN_GLOBAL`,
/// `WASM_EXTERN_TABLE`, `WASM_EXTERN_MEMORY`.
pub type wasm_externkind_t = u8;

own_and_copy!(
    wasm_externtype_t,
    wasm_externtype_delete,
    wasm_externtype_copy
);
declare_vec!(
    /// `wasm_externtype_vec_t`: owned extern types.
    wasm_externtype_vec_t of owned wasm_externtype_t,
    wasm_externtype_vec_new_empty,
    wasm_externtype_vec_new_uninitialized,
    wasm_externtype_vec_new,
    wasm_externtype_vec_copy,
    wasm_externtype_vec_delete
);

/// The kind of extern type `t`.
///
/// # Safety
///
/// `t` is valid.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_externtype_kind(t: *const wasm_externtype_t) -> wasm_externkind_t {
    // SAFETY: per the contract.
    match unsafe { &(*t).which } {
        ExternTypeKind::Func(_) => 0,
        ExternTypeKind::Global(_) => 1,
        ExternTypeKind::Table(_) => 2,
        ExternTypeKind::Memory(_) => 3,
    }
}

/// Defines a `wasm_X_t` that is a `wasm_externtype_t` of one kind, with
/// its delete, copy and vector, and the four conversions to and from
/// `wasm_externtype_t`.
macro_rules! extern_subtype {
    (
        $(#[$meta:meta])*
        $ty:ident, $variant:ident, $view:ident,
        $delete:ident, $copy:ident,
        $vec:ident, $vnew_empty:ident, $vnew_uninit:ident, $vnew:ident, $vcopy:ident, $vdelete:ident,
        $as_ext:ident, $as_ext_const:ident, $ext_as:ident, $ext_as_const:ident
    ) => {
        $(#[$meta])*
        #[repr(transparent)]
        #[derive(Clone, Debug)]
        pub struct $ty {
            ext: wasm_externtype_t,
        }

        impl $ty {
            /// The view inside; a keel bug if the kind is wrong (every
            /// value of this type is made with that kind).
            pub(crate) fn view(&self) -> &$view {
                match &self.ext.which {
                    ExternTypeKind::$variant(v) => v,
                    _ => unreachable!(concat!("a ", stringify!($ty), " of another kind")),
                }
            }

            /// An owned pointer to `ext`, which must be of this kind.
            pub(crate) fn boxed(ext: wasm_externtype_t) -> *mut Self {
                debug_assert!(matches!(ext.which, ExternTypeKind::$variant(_)));
                Box::into_raw(Box::new(Self { ext }))
            }
        }

        own_and_copy!($ty, $delete, $copy);
        declare_vec!(
            #[doc = concat!("Owned `", stringify!($ty), "` values.")]
            $vec of owned $ty, $vnew_empty, $vnew_uninit, $vnew, $vcopy, $vdelete
        );

        #[doc = concat!("`t` viewed as an extern type (the same object, not a copy).")]
        ///
        /// # Safety
        ///
        /// `t` is valid; the result lives as long as it.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn $as_ext(t: *mut $ty) -> *mut wasm_externtype_t {
            t.cast()
        }

        #[doc = concat!("`t` viewed as a const extern type (the same object).")]
        ///
        /// # Safety
        ///
        /// `t` is valid; the result lives as long as it.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn $as_ext_const(t: *const $ty) -> *const wasm_externtype_t {
            t.cast()
        }

        #[doc = concat!("`t` viewed as a `", stringify!($ty), "` (the same object), or null if it is of another kind.")]
        ///
        /// # Safety
        ///
        /// `t` is valid; the result lives as long as it.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn $ext_as(t: *mut wasm_externtype_t) -> *mut $ty {
            // SAFETY: per the contract.
            match unsafe { &(*t).which } {
                ExternTypeKind::$variant(_) => t.cast(),
                _ => core::ptr::null_mut(),
            }
        }

        #[doc = concat!("`t` viewed as a const `", stringify!($ty), "`, or null if it is of another kind.")]
        ///
        /// # Safety
        ///
        /// `t` is valid; the result lives as long as it.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn $ext_as_const(t: *const wasm_externtype_t) -> *const $ty {
            // SAFETY: per the contract.
            match unsafe { &(*t).which } {
                ExternTypeKind::$variant(_) => t.cast(),
                _ => core::ptr::null(),
            }
        }
    };
}

extern_subtype!(
    /// A function type (spec: [Function Types](https://webassembly.github.io/spec/core/syntax/types.html#function-types)).
    wasm_functype_t, Func, FuncTypeView,
    wasm_functype_delete, wasm_functype_copy,
    wasm_functype_vec_t, wasm_functype_vec_new_empty, wasm_functype_vec_new_uninitialized,
    wasm_functype_vec_new, wasm_functype_vec_copy, wasm_functype_vec_delete,
    wasm_functype_as_externtype, wasm_functype_as_externtype_const,
    wasm_externtype_as_functype, wasm_externtype_as_functype_const
);
extern_subtype!(
    /// A global type (spec: [Global Types](https://webassembly.github.io/spec/core/syntax/types.html#global-types)).
    wasm_globaltype_t, Global, GlobalTypeView,
    wasm_globaltype_delete, wasm_globaltype_copy,
    wasm_globaltype_vec_t, wasm_globaltype_vec_new_empty, wasm_globaltype_vec_new_uninitialized,
    wasm_globaltype_vec_new, wasm_globaltype_vec_copy, wasm_globaltype_vec_delete,
    wasm_globaltype_as_externtype, wasm_globaltype_as_externtype_const,
    wasm_externtype_as_globaltype, wasm_externtype_as_globaltype_const
);
extern_subtype!(
    /// A table type (spec: [Table Types](https://webassembly.github.io/spec/core/syntax/types.html#table-types)).
    wasm_tabletype_t, Table, TableTypeView,
    wasm_tabletype_delete, wasm_tabletype_copy,
    wasm_tabletype_vec_t, wasm_tabletype_vec_new_empty, wasm_tabletype_vec_new_uninitialized,
    wasm_tabletype_vec_new, wasm_tabletype_vec_copy, wasm_tabletype_vec_delete,
    wasm_tabletype_as_externtype, wasm_tabletype_as_externtype_const,
    wasm_externtype_as_tabletype, wasm_externtype_as_tabletype_const
);
extern_subtype!(
    /// A memory type (spec: [Memory Types](https://webassembly.github.io/spec/core/syntax/types.html#memory-types)).
    wasm_memorytype_t, Memory, MemoryTypeView,
    wasm_memorytype_delete, wasm_memorytype_copy,
    wasm_memorytype_vec_t, wasm_memorytype_vec_new_empty, wasm_memorytype_vec_new_uninitialized,
    wasm_memorytype_vec_new, wasm_memorytype_vec_copy, wasm_memorytype_vec_delete,
    wasm_memorytype_as_externtype, wasm_memorytype_as_externtype_const,
    wasm_externtype_as_memorytype, wasm_externtype_as_memorytype_const
);

/// A function type with `params` and `results`, whose vectors (and their
/// elements) it takes; null if an element is null.
///
/// # Safety
///
/// `params` and `results` are owned vectors made by keel; they are empty
/// afterwards.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_functype_new(
    params: *mut wasm_valtype_vec_t,
    results: *mut wasm_valtype_vec_t,
) -> *mut wasm_functype_t {
    let take = |v: *mut wasm_valtype_vec_t| -> Option<Vec<ValType>> {
        // SAFETY: per the contract: an owned vector, taken whole.
        let ptrs = unsafe { (*v).take() };
        let tys = ptrs
            .iter()
            // SAFETY: elements are null or owned value types.
            .map(|&p| unsafe { p.as_ref() }.map(|t| t.ty))
            .collect();
        for p in ptrs {
            if !p.is_null() {
                // SAFETY: owned elements made by keel.
                drop(unsafe { Box::from_raw(p) });
            }
        }
        tys
    };
    let (Some(params), Some(results)) = (take(params), take(results)) else {
        return core::ptr::null_mut();
    };
    wasm_functype_t::boxed(wasm_externtype_t::func(FuncType::new(params, results)))
}

/// The parameter types of `t`, owned by `t`.
///
/// # Safety
///
/// `t` is valid; the result lives as long as it.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_functype_params(
    t: *const wasm_functype_t,
) -> *const wasm_valtype_vec_t {
    // SAFETY: per the contract.
    &unsafe { &*t }.view().params
}

/// The result types of `t`, owned by `t`.
///
/// # Safety
///
/// `t` is valid; the result lives as long as it.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_functype_results(
    t: *const wasm_functype_t,
) -> *const wasm_valtype_vec_t {
    // SAFETY: per the contract.
    &unsafe { &*t }.view().results
}

/// A global type of content `content` (taken) and mutability
/// `mutability` (`WASM_CONST` or `WASM_VAR`); null if either is invalid.
///
/// # Safety
///
/// `content` is null or an owned value type made by keel.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_globaltype_new(
    content: *mut wasm_valtype_t,
    mutability: wasm_mutability_t,
) -> *mut wasm_globaltype_t {
    if content.is_null() {
        return core::ptr::null_mut();
    }
    // SAFETY: per the contract.
    let content = unsafe { Box::from_raw(content) };
    let mutability = match mutability {
        0 => Mutability::Const,
        1 => Mutability::Var,
        _ => return core::ptr::null_mut(),
    };
    wasm_globaltype_t::boxed(wasm_externtype_t::global(GlobalType::new(
        content.ty, mutability,
    )))
}

/// The content type of `t`, owned by `t`.
///
/// # Safety
///
/// `t` is valid; the result lives as long as it.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_globaltype_content(
    t: *const wasm_globaltype_t,
) -> *const wasm_valtype_t {
    // SAFETY: per the contract.
    &unsafe { &*t }.view().content
}

/// The mutability of `t`: `WASM_CONST` (0) or `WASM_VAR` (1).
///
/// # Safety
///
/// `t` is valid.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_globaltype_mutability(
    t: *const wasm_globaltype_t,
) -> wasm_mutability_t {
    // SAFETY: per the contract.
    match unsafe { &*t }.view().ty.mutability() {
        Mutability::Const => 0,
        Mutability::Var => 1,
    }
}

/// A table type of reference type `element` (taken) and `limits`
/// (elements; max `0xffffffff`: none); null if `element` is not a
/// reference type or the limits are invalid.
///
/// # Safety
///
/// `element` is null or an owned value type made by keel; `limits` is
/// valid.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_tabletype_new(
    element: *mut wasm_valtype_t,
    limits: *const wasm_limits_t,
) -> *mut wasm_tabletype_t {
    if element.is_null() || limits.is_null() {
        return core::ptr::null_mut();
    }
    // SAFETY: per the contract.
    let (element, limits) = (unsafe { Box::from_raw(element) }, unsafe { *limits });
    if !element.ty.is_ref() || (limits.max != NO_MAX && limits.max < limits.min) {
        return core::ptr::null_mut();
    }
    let max = (limits.max != NO_MAX).then_some(limits.max);
    wasm_tabletype_t::boxed(wasm_externtype_t::table(TableType::new(
        element.ty, limits.min, max,
    )))
}

/// The element type of `t`, owned by `t`.
///
/// # Safety
///
/// `t` is valid; the result lives as long as it.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_tabletype_element(
    t: *const wasm_tabletype_t,
) -> *const wasm_valtype_t {
    // SAFETY: per the contract.
    &unsafe { &*t }.view().element
}

/// The limits of `t` (elements), owned by `t`.
///
/// # Safety
///
/// `t` is valid; the result lives as long as it.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_tabletype_limits(t: *const wasm_tabletype_t) -> *const wasm_limits_t {
    // SAFETY: per the contract.
    &unsafe { &*t }.view().limits
}

/// A 32-bit memory type of `limits` (64 KiB pages; max `0xffffffff`:
/// none); null if the limits are invalid (min above max, or above 65536).
///
/// # Safety
///
/// `limits` is valid.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_memorytype_new(
    limits: *const wasm_limits_t,
) -> *mut wasm_memorytype_t {
    if limits.is_null() {
        return core::ptr::null_mut();
    }
    // SAFETY: per the contract.
    let limits = unsafe { *limits };
    let max = (limits.max != NO_MAX).then_some(limits.max);
    if limits.min > 65536 || max.is_some_and(|m| m < limits.min || m > 65536) {
        return core::ptr::null_mut();
    }
    wasm_memorytype_t::boxed(wasm_externtype_t::memory(MemoryType::new(limits.min, max)))
}

/// The limits of `t` (pages), owned by `t`.
///
/// # Safety
///
/// `t` is valid; the result lives as long as it.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_memorytype_limits(
    t: *const wasm_memorytype_t,
) -> *const wasm_limits_t {
    // SAFETY: per the contract.
    &unsafe { &*t }.view().limits
}

/// An import's module name, name and type.
#[derive(Clone, Debug)]
pub struct wasm_importtype_t {
    module: wasm_byte_vec_t,
    name: wasm_byte_vec_t,
    ty: wasm_externtype_t,
}

impl wasm_importtype_t {
    /// The import `module`.`name` of type `ty`.
    pub(crate) fn new(module: &str, name: &str, ty: wasm_externtype_t) -> Self {
        Self {
            module: wasm_byte_vec_t::from_bytes(module.as_bytes()),
            name: wasm_byte_vec_t::from_bytes(name.as_bytes()),
            ty,
        }
    }
}

own_and_copy!(
    wasm_importtype_t,
    wasm_importtype_delete,
    wasm_importtype_copy
);
declare_vec!(
    /// `wasm_importtype_vec_t`: owned import types.
    wasm_importtype_vec_t of owned wasm_importtype_t,
    wasm_importtype_vec_new_empty,
    wasm_importtype_vec_new_uninitialized,
    wasm_importtype_vec_new,
    wasm_importtype_vec_copy,
    wasm_importtype_vec_delete
);

/// An import type of `module`, `name` and `ty`, all three taken; null if
/// one is null.
///
/// # Safety
///
/// Each argument is null or owned and made by keel.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_importtype_new(
    module: *mut wasm_byte_vec_t,
    name: *mut wasm_byte_vec_t,
    ty: *mut wasm_externtype_t,
) -> *mut wasm_importtype_t {
    if module.is_null() || name.is_null() || ty.is_null() {
        return core::ptr::null_mut();
    }
    // SAFETY: per the contract: owned, moved out.
    let (module, name, ty) = unsafe {
        (
            core::ptr::read(module),
            core::ptr::read(name),
            Box::from_raw(ty),
        )
    };
    Box::into_raw(Box::new(wasm_importtype_t {
        module,
        name,
        ty: *ty,
    }))
}

/// The module name of `t`, owned by `t`.
///
/// # Safety
///
/// `t` is valid; the result lives as long as it.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_importtype_module(
    t: *const wasm_importtype_t,
) -> *const wasm_byte_vec_t {
    // SAFETY: per the contract.
    &unsafe { &*t }.module
}

/// The name of `t`, owned by `t`.
///
/// # Safety
///
/// `t` is valid; the result lives as long as it.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_importtype_name(
    t: *const wasm_importtype_t,
) -> *const wasm_byte_vec_t {
    // SAFETY: per the contract.
    &unsafe { &*t }.name
}

/// The type of `t`, owned by `t`.
///
/// # Safety
///
/// `t` is valid; the result lives as long as it.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_importtype_type(
    t: *const wasm_importtype_t,
) -> *const wasm_externtype_t {
    // SAFETY: per the contract.
    &unsafe { &*t }.ty
}

/// An export's name and type.
#[derive(Clone, Debug)]
pub struct wasm_exporttype_t {
    name: wasm_byte_vec_t,
    ty: wasm_externtype_t,
}

impl wasm_exporttype_t {
    /// The export `name` of type `ty`.
    pub(crate) fn new(name: &str, ty: wasm_externtype_t) -> Self {
        Self {
            name: wasm_byte_vec_t::from_bytes(name.as_bytes()),
            ty,
        }
    }
}

own_and_copy!(
    wasm_exporttype_t,
    wasm_exporttype_delete,
    wasm_exporttype_copy
);
declare_vec!(
    /// `wasm_exporttype_vec_t`: owned export types.
    wasm_exporttype_vec_t of owned wasm_exporttype_t,
    wasm_exporttype_vec_new_empty,
    wasm_exporttype_vec_new_uninitialized,
    wasm_exporttype_vec_new,
    wasm_exporttype_vec_copy,
    wasm_exporttype_vec_delete
);

/// An export type of `name` and `ty`, both taken; null if one is null.
///
/// # Safety
///
/// Each argument is null or owned and made by keel.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_exporttype_new(
    name: *mut wasm_byte_vec_t,
    ty: *mut wasm_externtype_t,
) -> *mut wasm_exporttype_t {
    if name.is_null() || ty.is_null() {
        return core::ptr::null_mut();
    }
    // SAFETY: per the contract: owned, moved out.
    let (name, ty) = unsafe { (core::ptr::read(name), Box::from_raw(ty)) };
    Box::into_raw(Box::new(wasm_exporttype_t { name, ty: *ty }))
}

/// The name of `t`, owned by `t`.
///
/// # Safety
///
/// `t` is valid; the result lives as long as it.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_exporttype_name(
    t: *const wasm_exporttype_t,
) -> *const wasm_byte_vec_t {
    // SAFETY: per the contract.
    &unsafe { &*t }.name
}

/// The type of `t`, owned by `t`.
///
/// # Safety
///
/// `t` is valid; the result lives as long as it.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_exporttype_type(
    t: *const wasm_exporttype_t,
) -> *const wasm_externtype_t {
    // SAFETY: per the contract.
    &unsafe { &*t }.ty
}
