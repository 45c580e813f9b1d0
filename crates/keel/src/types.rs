//! Types of WebAssembly values and external entities (spec:
//! [Types](https://webassembly.github.io/spec/core/syntax/types.html)).

use core::fmt;

pub use keel_translate::WasmValType as ValType;
use keel_translate::{EntityRef as _, SharedTypeIndex, TypeRef};
pub use keel_translate::{WasmHeapType as HeapType, WasmRefType as RefType};

/// A function type: parameter and result types (spec:
/// [Function Types](https://webassembly.github.io/spec/core/syntax/types.html#function-types)).
/// Cloning shares it (no allocation).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct FuncType(pub(crate) alloc::sync::Arc<keel_translate::WasmFuncType>);

impl FuncType {
    /// A function type with these parameters and results.
    pub fn new(
        params: impl IntoIterator<Item = ValType>,
        results: impl IntoIterator<Item = ValType>,
    ) -> Self {
        Self(alloc::sync::Arc::new(keel_translate::WasmFuncType::new(
            params, results,
        )))
    }

    /// keel-translate's function type, shared.
    pub(crate) fn from_wasm(ty: keel_translate::WasmFuncType) -> Self {
        Self(alloc::sync::Arc::new(ty))
    }

    /// The parameter types.
    pub fn params(&self) -> impl ExactSizeIterator<Item = ValType> + '_ {
        self.0.params.iter().copied()
    }

    /// The result types.
    pub fn results(&self) -> impl ExactSizeIterator<Item = ValType> + '_ {
        self.0.results.iter().copied()
    }
}

impl fmt::Display for FuncType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A memory type: limits in pages, index type, page size and sharing
/// (spec:
/// [Memory Types](https://webassembly.github.io/spec/core/syntax/types.html#memory-types)).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MemoryType(pub(crate) keel_translate::MemoryType);

impl MemoryType {
    /// A 32-bit memory of at least `minimum_pages` and at most
    /// `maximum_pages` 64 KiB pages.
    pub fn new(minimum_pages: u32, maximum_pages: Option<u32>) -> Self {
        Self(keel_translate::MemoryType::new(keel_translate::Limits {
            min: u64::from(minimum_pages),
            max: maximum_pages.map(u64::from),
        }))
    }

    /// A 64-bit memory ([memory64](https://github.com/WebAssembly/memory64))
    /// of at least `minimum_pages` and at most `maximum_pages` 64 KiB
    /// pages. Accesses to it always check their bounds explicitly.
    pub fn new64(minimum_pages: u64, maximum_pages: Option<u64>) -> Self {
        let mut ty = keel_translate::MemoryType::new(keel_translate::Limits {
            min: minimum_pages,
            max: maximum_pages,
        });
        ty.memory64 = true;
        Self(ty)
    }

    /// A shared 32-bit memory (threads proposal) of at least
    /// `minimum_pages` and at most `maximum_pages` 64 KiB pages; shared
    /// memories must declare a maximum. Create one with
    /// [`SharedMemory::new`](crate::SharedMemory::new).
    pub fn shared(minimum_pages: u32, maximum_pages: u32) -> Self {
        let mut ty = keel_translate::MemoryType::new(keel_translate::Limits {
            min: u64::from(minimum_pages),
            max: Some(u64::from(maximum_pages)),
        });
        ty.shared = true;
        Self(ty)
    }

    /// This type with pages of `2^log2` bytes: 16 (64 KiB, the default)
    /// or 0 (1 byte, the
    /// [custom page sizes](https://github.com/WebAssembly/custom-page-sizes)
    /// proposal); other values are rejected when a memory is created.
    pub fn with_page_size_log2(mut self, log2: u8) -> Self {
        self.0.page_size_log2 = log2;
        self
    }

    /// Minimum size in pages.
    pub fn minimum(&self) -> u64 {
        self.0.limits.min
    }

    /// Maximum size in pages, if any.
    pub fn maximum(&self) -> Option<u64> {
        self.0.limits.max
    }

    /// Whether the memory is indexed by `i64` (memory64).
    pub fn is_64(&self) -> bool {
        self.0.memory64
    }

    /// Whether the memory is shared between threads (threads proposal).
    pub fn is_shared(&self) -> bool {
        self.0.shared
    }

    /// The size of a page in bytes: 65536, or 1.
    pub fn page_size(&self) -> u64 {
        self.0.page_size()
    }

    /// The base-2 logarithm of [`MemoryType::page_size`].
    pub fn page_size_log2(&self) -> u8 {
        self.0.page_size_log2
    }
}

/// A table type: element type, limits in elements and index type (spec:
/// [Table Types](https://webassembly.github.io/spec/core/syntax/types.html#table-types)).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TableType(pub(crate) keel_translate::TableType);

impl TableType {
    /// A table of `element` references (`FuncRef` or `ExternRef`) with at
    /// least `minimum` and at most `maximum` elements.
    pub fn new(element: ValType, minimum: u32, maximum: Option<u32>) -> Self {
        Self(keel_translate::TableType {
            element,
            limits: keel_translate::Limits {
                min: u64::from(minimum),
                max: maximum.map(u64::from),
            },
            table64: false,
        })
    }

    /// A table indexed by `i64` (memory64's table64) of `element`
    /// references with at least `minimum` and at most `maximum` elements.
    pub fn new64(element: ValType, minimum: u64, maximum: Option<u64>) -> Self {
        Self(keel_translate::TableType {
            element,
            limits: keel_translate::Limits {
                min: minimum,
                max: maximum,
            },
            table64: true,
        })
    }

    /// The element type.
    pub fn element(&self) -> ValType {
        self.0.element
    }

    /// Minimum number of elements.
    pub fn minimum(&self) -> u64 {
        self.0.limits.min
    }

    /// Maximum number of elements, if any.
    pub fn maximum(&self) -> Option<u64> {
        self.0.limits.max
    }

    /// Whether the table is indexed by `i64` (table64).
    pub fn is_64(&self) -> bool {
        self.0.table64
    }
}

/// Whether a global can change (spec:
/// [Global Types](https://webassembly.github.io/spec/core/syntax/types.html#global-types)).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Mutability {
    /// Immutable.
    Const,
    /// Mutable with `global.set` or [`Global::set`](crate::Global::set).
    Var,
}

/// A global type (spec:
/// [Global Types](https://webassembly.github.io/spec/core/syntax/types.html#global-types)).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct GlobalType(pub(crate) keel_translate::GlobalType);

impl GlobalType {
    /// A global holding `content`.
    pub fn new(content: ValType, mutability: Mutability) -> Self {
        Self(keel_translate::GlobalType {
            content,
            mutable: mutability == Mutability::Var,
        })
    }

    /// The value type.
    pub fn content(&self) -> ValType {
        self.0.content
    }

    /// Its mutability.
    pub fn mutability(&self) -> Mutability {
        if self.0.mutable {
            Mutability::Var
        } else {
            Mutability::Const
        }
    }
}

/// The type of an import or export (spec:
/// [External Types](https://webassembly.github.io/spec/core/syntax/types.html#external-types)).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExternType {
    /// A function.
    Func(FuncType),
    /// A global.
    Global(GlobalType),
    /// A table.
    Table(TableType),
    /// A memory.
    Memory(MemoryType),
    /// A tag.
    Tag(crate::TagType),
}

impl ExternType {
    /// The type of an import or export of `module`, whose types have the
    /// engine-wide ids `type_ids`, with its concrete types as the engine's.
    pub(crate) fn from_entity(
        module: &keel_translate::Module,
        type_ids: &[SharedTypeIndex],
        ty: &keel_translate::EntityType,
    ) -> Self {
        let engine = |t: ValType| engine_val_type(type_ids, t);
        match ty {
            keel_translate::EntityType::Function(t) => ExternType::Func(FuncType::from_wasm(
                module
                    .func_type_at(*t)
                    .map_type_refs(|r| engine_type_ref(type_ids, r)),
            )),
            keel_translate::EntityType::Table(t) => {
                let mut t = *t;
                t.element = engine(t.element);
                ExternType::Table(TableType(t))
            }
            keel_translate::EntityType::Memory(m) => ExternType::Memory(MemoryType(*m)),
            keel_translate::EntityType::Global(g) => {
                let mut g = *g;
                g.content = engine(g.content);
                ExternType::Global(GlobalType(g))
            }
            keel_translate::EntityType::Tag(t) => {
                ExternType::Tag(crate::TagType::from_func_type(FuncType::from_wasm(
                    module
                        .func_type_at(*t)
                        .map_type_refs(|r| engine_type_ref(type_ids, r)),
                )))
            }
        }
    }
}

/// An import of a module: its names and type.
#[derive(Clone, Debug)]
pub struct ImportType<'a> {
    pub(crate) module: &'a str,
    pub(crate) name: &'a str,
    pub(crate) ty: ExternType,
}

impl<'a> ImportType<'a> {
    /// The module name.
    pub fn module(&self) -> &'a str {
        self.module
    }

    /// The field name.
    pub fn name(&self) -> &'a str {
        self.name
    }

    /// The expected type.
    pub fn ty(&self) -> ExternType {
        self.ty.clone()
    }
}

/// An export of a module: its name and type.
#[derive(Clone, Debug)]
pub struct ExportType<'a> {
    pub(crate) name: &'a str,
    pub(crate) ty: ExternType,
}

impl<'a> ExportType<'a> {
    /// The export name.
    pub fn name(&self) -> &'a str {
        self.name
    }

    /// The exported entity's type.
    pub fn ty(&self) -> ExternType {
        self.ty.clone()
    }
}

/// `r` with a module type index replaced by its engine-wide id from
/// `type_ids` (left as it is when out of range, which only metadata that
/// bypassed validation can hold).
pub(crate) fn engine_type_ref(type_ids: &[SharedTypeIndex], r: TypeRef) -> TypeRef {
    match r {
        TypeRef::Module(i) => type_ids.get(i.index()).map_or(r, |id| TypeRef::Engine(*id)),
        other => other,
    }
}

/// `ty` with its concrete type (if any) as the engine's (see
/// [`engine_type_ref`]).
pub(crate) fn engine_val_type(type_ids: &[SharedTypeIndex], ty: ValType) -> ValType {
    ty.map_type_refs(&mut |r| engine_type_ref(type_ids, r))
}

/// The type of a tag: the function type whose parameters are the payload
/// of the exceptions it tags (its results are empty; spec:
/// [Tag Types](https://webassembly.github.io/spec/core/syntax/types.html#tag-types)).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TagType(pub(crate) FuncType);

impl TagType {
    /// The tag type of function type `ty`.
    ///
    /// # Errors
    ///
    /// If `ty` has results: a tag's function type has none.
    pub fn new(ty: FuncType) -> crate::Result<TagType> {
        if ty.results().len() != 0 {
            anyhow::bail!("a tag's function type cannot have results, found `{ty}`");
        }
        Ok(TagType(ty))
    }

    /// A tag type from a function type known to have no results.
    pub(crate) fn from_func_type(ty: FuncType) -> TagType {
        TagType(ty)
    }

    /// The function type: its parameters are the payload's types.
    pub fn ty(&self) -> &FuncType {
        &self.0
    }
}

impl fmt::Display for TagType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "(tag {})", self.0)
    }
}
