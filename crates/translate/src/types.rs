//! WebAssembly types as keel records them (spec:
//! [Types](https://webassembly.github.io/spec/core/syntax/types.html)).

use crate::prelude::*;
use crate::{SharedTypeIndex, TypeIndex};

use core::fmt;

/// A [value type](https://webassembly.github.io/spec/core/syntax/types.html#value-types):
/// number, vector or reference type.
///
/// The two nullable abstract reference types have variants of their own
/// (`funcref`, `externref`); every other reference type is
/// [`WasmValType::Ref`]. Build reference types with
/// [`WasmValType::reference`], which keeps that form canonical, so that
/// equal types compare equal.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum WasmValType {
    /// 32-bit integer.
    I32,
    /// 64-bit integer.
    I64,
    /// 32-bit IEEE 754 float.
    F32,
    /// 64-bit IEEE 754 float.
    F64,
    /// 128-bit vector.
    V128,
    /// Nullable reference to any function: `(ref null func)`.
    FuncRef,
    /// Nullable reference to a host value: `(ref null extern)`.
    ExternRef,
    /// Any other reference type (typed function references): non-null
    /// abstract references, references to a function type, and the
    /// bottom types `nofunc` and `noextern`.
    Ref(WasmRefType),
}

/// A [reference type](https://webassembly.github.io/spec/core/syntax/types.html#reference-types):
/// a heap type and whether null is a value of it.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct WasmRefType {
    /// Whether the type includes null (`ref null`).
    pub nullable: bool,
    /// What the reference points to.
    pub heap: WasmHeapType,
}

/// A [heap type](https://webassembly.github.io/spec/core/syntax/types.html#heap-types)
/// keel implements: the function and extern hierarchies (the GC
/// proposal's `any`, `eq`, `i31`, `struct`, `array` and `none` and the
/// exception proposal's `exn` are not).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum WasmHeapType {
    /// Any function.
    Func,
    /// Any host value.
    Extern,
    /// The bottom of the function hierarchy: only null.
    NoFunc,
    /// The bottom of the extern hierarchy: only null.
    NoExtern,
    /// Functions of one function type.
    ConcreteFunc(TypeRef),
    /// Exception references (`exnref` is `(ref null exn)`; spec:
    /// [Heap Types](https://webassembly.github.io/spec/core/syntax/types.html#heap-types)).
    Exn,
    /// The bottom of the exception hierarchy: only null.
    NoExn,
}

/// Which function type a concrete heap type names: a type of the module
/// being compiled, a type registered with the engine, or (only inside
/// the engine's type registry) a type of the recursion group being
/// canonicalized.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum TypeRef {
    /// The module's type `index`.
    Module(TypeIndex),
    /// The engine-wide type `index`.
    Engine(SharedTypeIndex),
    /// Type `n` of the enclosing recursion group.
    RecGroup(u32),
}

impl WasmValType {
    /// `exnref`: `(ref null exn)`, a nullable exception reference.
    pub const EXNREF: Self = Self::Ref(WasmRefType {
        nullable: true,
        heap: WasmHeapType::Exn,
    });

    /// Convert from wasmparser's value type.
    ///
    /// # Errors
    ///
    /// Reference types of the GC proposal are
    /// [`WasmError::Unsupported`](crate::WasmError).
    pub fn from_wasmparser(ty: wasmparser::ValType) -> crate::TranslateResult<Self> {
        Ok(match ty {
            wasmparser::ValType::I32 => Self::I32,
            wasmparser::ValType::I64 => Self::I64,
            wasmparser::ValType::F32 => Self::F32,
            wasmparser::ValType::F64 => Self::F64,
            wasmparser::ValType::V128 => Self::V128,
            wasmparser::ValType::Ref(r) => Self::from_ref_type(r)?,
        })
    }

    /// Convert from wasmparser's reference type; a concrete type index is
    /// the module's ([`TypeRef::Module`]).
    ///
    /// # Errors
    ///
    /// Heap types outside the function, extern and exception hierarchies
    /// (GC) and shared references are unsupported.
    pub fn from_ref_type(r: wasmparser::RefType) -> crate::TranslateResult<Self> {
        use wasmparser::{AbstractHeapType as A, HeapType as H};
        let heap = match r.heap_type() {
            H::Abstract { shared: false, ty } => match ty {
                A::Func => WasmHeapType::Func,
                A::Extern => WasmHeapType::Extern,
                A::NoFunc => WasmHeapType::NoFunc,
                A::NoExtern => WasmHeapType::NoExtern,
                A::Exn => WasmHeapType::Exn,
                A::NoExn => WasmHeapType::NoExn,
                _ => crate::unsupported!("reference type {r:?} (GC)"),
            },
            H::Concrete(wasmparser::UnpackedIndex::Module(index))
            | H::Exact(wasmparser::UnpackedIndex::Module(index)) => {
                WasmHeapType::ConcreteFunc(TypeRef::Module(TypeIndex::from_u32(index)))
            }
            _ => crate::unsupported!("reference type {r:?}"),
        };
        Ok(Self::reference(r.is_nullable(), heap))
    }

    /// The reference type `(ref null? heap)`, in canonical form
    /// (`funcref` and `externref` for the nullable abstract ones).
    pub fn reference(nullable: bool, heap: WasmHeapType) -> Self {
        match (nullable, heap) {
            (true, WasmHeapType::Func) => Self::FuncRef,
            (true, WasmHeapType::Extern) => Self::ExternRef,
            _ => Self::Ref(WasmRefType { nullable, heap }),
        }
    }

    /// This type as a reference type, if it is one.
    pub fn ref_type(self) -> Option<WasmRefType> {
        match self {
            Self::FuncRef => Some(WasmRefType {
                nullable: true,
                heap: WasmHeapType::Func,
            }),
            Self::ExternRef => Some(WasmRefType {
                nullable: true,
                heap: WasmHeapType::Extern,
            }),
            Self::Ref(r) => Some(r),
            _ => None,
        }
    }

    /// Whether this is a reference type.
    pub fn is_ref(self) -> bool {
        self.ref_type().is_some()
    }

    /// Whether this is a reference into the exception hierarchy (its
    /// values are null or exception-object pointers).
    pub fn is_exn_ref(self) -> bool {
        self.ref_type()
            .is_some_and(|r| matches!(r.heap, WasmHeapType::Exn | WasmHeapType::NoExn))
    }

    /// Whether this is a reference into the function hierarchy (its
    /// values are null or `VMFuncRef` pointers).
    pub fn is_func_ref(self) -> bool {
        self.ref_type().is_some_and(|r| {
            matches!(
                r.heap,
                WasmHeapType::Func | WasmHeapType::NoFunc | WasmHeapType::ConcreteFunc(_)
            )
        })
    }

    /// This type with every concrete type reference rewritten by `f`.
    pub fn map_type_refs(self, f: &mut impl FnMut(TypeRef) -> TypeRef) -> Self {
        match self {
            Self::Ref(WasmRefType {
                nullable,
                heap: WasmHeapType::ConcreteFunc(t),
            }) => Self::Ref(WasmRefType {
                nullable,
                heap: WasmHeapType::ConcreteFunc(f(t)),
            }),
            other => other,
        }
    }

    /// Whether every value of `self` is a value of `other`, as the spec's
    /// [subtyping](https://webassembly.github.io/spec/core/valid/matching.html#value-types)
    /// rules say for types without declared supertypes: numbers and
    /// vectors only match themselves; `(ref null? h1)` matches
    /// `(ref null? h2)` when null is allowed by the second wherever by the
    /// first and `h1` is `h2`, a bottom type below it, or a concrete
    /// function type below `func`. Concrete types compare by reference, so
    /// both must be expressed in the same index space.
    pub fn is_subtype_of(self, other: Self) -> bool {
        match (self.ref_type(), other.ref_type()) {
            (Some(a), Some(b)) => {
                (!a.nullable || b.nullable)
                    && match (a.heap, b.heap) {
                        (x, y) if x == y => true,
                        (
                            WasmHeapType::NoFunc,
                            WasmHeapType::Func | WasmHeapType::ConcreteFunc(_),
                        ) => true,
                        (WasmHeapType::ConcreteFunc(_), WasmHeapType::Func) => true,
                        (WasmHeapType::NoExtern, WasmHeapType::Extern) => true,
                        (WasmHeapType::NoExn, WasmHeapType::Exn) => true,
                        _ => false,
                    }
            }
            (None, None) => self == other,
            _ => false,
        }
    }
}

impl fmt::Display for WasmValType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let r = match self {
            Self::I32 => return f.write_str("i32"),
            Self::I64 => return f.write_str("i64"),
            Self::F32 => return f.write_str("f32"),
            Self::F64 => return f.write_str("f64"),
            Self::V128 => return f.write_str("v128"),
            Self::FuncRef => return f.write_str("funcref"),
            Self::ExternRef => return f.write_str("externref"),
            Self::Ref(r) => r,
        };
        f.write_str(if r.nullable { "(ref null " } else { "(ref " })?;
        match r.heap {
            WasmHeapType::Func => f.write_str("func")?,
            WasmHeapType::Extern => f.write_str("extern")?,
            WasmHeapType::NoFunc => f.write_str("nofunc")?,
            WasmHeapType::NoExtern => f.write_str("noextern")?,
            WasmHeapType::Exn => f.write_str("exn")?,
            WasmHeapType::NoExn => f.write_str("noexn")?,
            WasmHeapType::ConcreteFunc(TypeRef::Module(i)) => write!(f, "{}", i.as_u32())?,
            WasmHeapType::ConcreteFunc(TypeRef::Engine(i)) => write!(f, "$type{}", i.as_u32())?,
            WasmHeapType::ConcreteFunc(TypeRef::RecGroup(i)) => write!(f, "$rec{i}")?,
        }
        f.write_str(")")
    }
}

/// A [function type](https://webassembly.github.io/spec/core/syntax/types.html#function-types):
/// parameter and result types.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize)]
pub struct WasmFuncType {
    /// Parameter types, in order.
    pub params: Box<[WasmValType]>,
    /// Result types, in order.
    pub results: Box<[WasmValType]>,
}

impl WasmFuncType {
    /// This type with every concrete type reference in its parameters and
    /// results rewritten by `f`.
    pub fn map_type_refs(&self, mut f: impl FnMut(TypeRef) -> TypeRef) -> Self {
        Self {
            params: self
                .params
                .iter()
                .map(|t| t.map_type_refs(&mut f))
                .collect(),
            results: self
                .results
                .iter()
                .map(|t| t.map_type_refs(&mut f))
                .collect(),
        }
    }

    /// The machine-level signature: this type with every reference type
    /// as `funcref` (all are one pointer). Trampolines, whose code only
    /// depends on it, are shared by the types with the same signature.
    pub fn signature(&self) -> Self {
        let erase = |t: &WasmValType| if t.is_ref() { WasmValType::FuncRef } else { *t };
        Self {
            params: self.params.iter().map(erase).collect(),
            results: self.results.iter().map(erase).collect(),
        }
    }

    /// Build a function type from its parameter and result types.
    pub fn new(
        params: impl IntoIterator<Item = WasmValType>,
        results: impl IntoIterator<Item = WasmValType>,
    ) -> Self {
        Self {
            params: params.into_iter().collect(),
            results: results.into_iter().collect(),
        }
    }
}

impl fmt::Display for WasmFuncType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("(func")?;
        if !self.params.is_empty() {
            f.write_str(" (param")?;
            for p in self.params.iter() {
                write!(f, " {p}")?;
            }
            f.write_str(")")?;
        }
        if !self.results.is_empty() {
            f.write_str(" (result")?;
            for r in self.results.iter() {
                write!(f, " {r}")?;
            }
            f.write_str(")")?;
        }
        f.write_str(")")
    }
}

/// [Limits](https://webassembly.github.io/spec/core/syntax/types.html#limits) of a table or
/// memory, in elements or pages.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Limits {
    /// Initial size.
    pub min: u64,
    /// Maximum size, if any.
    pub max: Option<u64>,
}

/// A [table type](https://webassembly.github.io/spec/core/syntax/types.html#table-types):
/// element type and limits in elements.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct TableType {
    /// The reference type of the elements.
    pub element: WasmValType,
    /// Limits in elements.
    pub limits: Limits,
    /// Whether the table is indexed by `i64` (memory64's table64).
    pub table64: bool,
}

impl TableType {
    /// The index type's Cranelift-independent width: 64 for table64
    /// tables, else 32.
    pub fn index_bits(&self) -> u32 {
        if self.table64 { 64 } else { 32 }
    }
}

/// A [memory type](https://webassembly.github.io/spec/core/syntax/types.html#memory-types):
/// limits in pages of [`MemoryType::page_size`] bytes.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct MemoryType {
    /// Limits in pages.
    pub limits: Limits,
    /// Whether the memory is indexed by 64-bit addresses
    /// ([memory64](https://github.com/WebAssembly/memory64)).
    pub memory64: bool,
    /// Whether the memory is shared (threads).
    pub shared: bool,
    /// The base-2 logarithm of the page size: 16 (64 KiB) unless the
    /// [custom page sizes](https://github.com/WebAssembly/custom-page-sizes)
    /// proposal sets 0 (1 byte).
    pub page_size_log2: u8,
}

impl MemoryType {
    /// A 32-bit, unshared memory of 64 KiB pages with `limits`.
    pub fn new(limits: Limits) -> Self {
        Self {
            limits,
            memory64: false,
            shared: false,
            page_size_log2: 16,
        }
    }

    /// Bytes per page.
    pub fn page_size(&self) -> u64 {
        1 << self.page_size_log2
    }

    /// The most pages the index type can address: 2^32 bytes for a 32-bit
    /// memory, 2^64 for a 64-bit one, in pages (saturating at `u64::MAX`).
    pub fn max_pages_of_index_type(&self) -> u64 {
        let bits = if self.memory64 { 64 } else { 32 };
        u64::try_from((1u128 << bits) >> self.page_size_log2).unwrap_or(u64::MAX)
    }

    /// The most pages the memory may ever have: its declared maximum, or
    /// what its index type can address.
    pub fn max_pages(&self) -> u64 {
        let absolute = self.max_pages_of_index_type();
        self.limits.max.map_or(absolute, |max| max.min(absolute))
    }

    /// `pages` in bytes, saturating at `u64::MAX`.
    pub fn pages_to_bytes(&self, pages: u64) -> u64 {
        pages
            .checked_shl(u32::from(self.page_size_log2))
            .filter(|b| b >> self.page_size_log2 == pages)
            .unwrap_or(u64::MAX)
    }

    /// Whether accesses to this memory can rely on guard pages: a 32-bit
    /// memory of 64 KiB pages. 64-bit memories and 1-byte pages (whose
    /// length is not a multiple of the host page) are always checked
    /// explicitly.
    pub fn guard_pages_apply(&self) -> bool {
        !self.memory64 && self.page_size_log2 == 16
    }
}

/// A [global type](https://webassembly.github.io/spec/core/syntax/types.html#global-types).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct GlobalType {
    /// The type of the value.
    pub content: WasmValType,
    /// Whether `global.set` may change it.
    pub mutable: bool,
}

/// The type of an import or export (spec:
/// [External Types](https://webassembly.github.io/spec/core/syntax/types.html#external-types)).
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum EntityType {
    /// A function of the given module type.
    Function(crate::TypeIndex),
    /// A table.
    Table(TableType),
    /// A linear memory.
    Memory(MemoryType),
    /// A global.
    Global(GlobalType),
    /// A tag whose parameters are those of the given module function
    /// type (its results are empty; spec:
    /// [Tag Types](https://webassembly.github.io/spec/core/syntax/types.html#tag-types)).
    Tag(crate::TypeIndex),
}
