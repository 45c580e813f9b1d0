//! WebAssembly types as keel records them (spec:
//! [Types](https://webassembly.github.io/spec/core/syntax/types.html)).

use crate::prelude::*;

use core::fmt;

/// A [value type](https://webassembly.github.io/spec/core/syntax/types.html#value-types):
/// number, vector or reference type.
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
    /// Nullable reference to a function.
    FuncRef,
    /// Nullable reference to a host value.
    ExternRef,
}

impl WasmValType {
    /// Convert from wasmparser's value type.
    ///
    /// # Errors
    ///
    /// Reference types other than `funcref` and `externref` (typed function
    /// references, GC) are [`TranslateError::Unsupported`](crate::TranslateError).
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

    /// Convert from wasmparser's reference type.
    ///
    /// # Errors
    ///
    /// Anything but nullable `funcref`/`externref` is unsupported.
    pub fn from_ref_type(r: wasmparser::RefType) -> crate::TranslateResult<Self> {
        if r == wasmparser::RefType::FUNCREF {
            Ok(Self::FuncRef)
        } else if r == wasmparser::RefType::EXTERNREF {
            Ok(Self::ExternRef)
        } else {
            crate::unsupported!("reference type {r:?}")
        }
    }

    /// Whether this is a reference type.
    pub fn is_ref(self) -> bool {
        matches!(self, Self::FuncRef | Self::ExternRef)
    }
}

impl fmt::Display for WasmValType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::I32 => "i32",
            Self::I64 => "i64",
            Self::F32 => "f32",
            Self::F64 => "f64",
            Self::V128 => "v128",
            Self::FuncRef => "funcref",
            Self::ExternRef => "externref",
        })
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
}
