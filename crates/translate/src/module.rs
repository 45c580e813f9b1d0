//! The validated metadata of a module (spec:
//! [Modules](https://webassembly.github.io/spec/core/syntax/modules.html)).

use crate::prelude::*;

use crate::*;
use alloc::collections::BTreeMap;

/// One instruction of a constant expression (spec:
/// [Constant Expressions](https://webassembly.github.io/spec/core/valid/instructions.html#constant-expressions)).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum ConstOp {
    /// `i32.const`.
    I32Const(i32),
    /// `i64.const`.
    I64Const(i64),
    /// `f32.const`, as raw bits.
    F32Const(u32),
    /// `f64.const`, as raw bits.
    F64Const(u64),
    /// `v128.const`, as raw bits.
    V128Const(u128),
    /// `global.get` of an (imported) global.
    GlobalGet(GlobalIndex),
    /// `ref.null`.
    RefNull,
    /// `ref.func`.
    RefFunc(FuncIndex),
    /// `i32.add` (extended constant expressions).
    I32Add,
    /// `i32.sub`.
    I32Sub,
    /// `i32.mul`.
    I32Mul,
    /// `i64.add`.
    I64Add,
    /// `i64.sub`.
    I64Sub,
    /// `i64.mul`.
    I64Mul,
    /// `struct.new`: a struct of the type from its field values.
    StructNew(TypeIndex),
    /// `struct.new_default`.
    StructNewDefault(TypeIndex),
    /// `array.new`: an array of the type from a value and a length.
    ArrayNew(TypeIndex),
    /// `array.new_default`: from a length.
    ArrayNewDefault(TypeIndex),
    /// `array.new_fixed`: from its elements.
    ArrayNewFixed(TypeIndex, u32),
    /// `ref.i31`.
    RefI31,
    /// `any.convert_extern`.
    AnyConvertExtern,
    /// `extern.convert_any`.
    ExternConvertAny,
}

impl ConstOp {
    /// Whether the operator allocates a GC object (`struct.new*`,
    /// `array.new*`).
    pub fn allocates(&self) -> bool {
        matches!(
            self,
            ConstOp::StructNew(_)
                | ConstOp::StructNewDefault(_)
                | ConstOp::ArrayNew(_)
                | ConstOp::ArrayNewDefault(_)
                | ConstOp::ArrayNewFixed(..)
        )
    }

    /// Whether the operator is one of the GC proposal's: it allocates, or
    /// is `ref.i31`, `any.convert_extern` or `extern.convert_any`.
    pub fn is_gc(&self) -> bool {
        self.allocates()
            || matches!(
                self,
                ConstOp::RefI31 | ConstOp::AnyConvertExtern | ConstOp::ExternConvertAny
            )
    }
}

/// A constant expression: a short stack program yielding one value.
#[derive(Clone, Debug, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct ConstExpr {
    /// The instructions, without the final `end`.
    pub ops: Vec<ConstOp>,
}

/// Where an import comes from and what it is.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Import {
    /// The module name.
    pub module: String,
    /// The field name.
    pub field: String,
    /// The index it takes in its index space, and its type.
    pub index: EntityIndex,
    /// Its type.
    pub ty: EntityType,
}

/// An index into one of the four external index spaces.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum EntityIndex {
    /// A function.
    Function(FuncIndex),
    /// A table.
    Table(TableIndex),
    /// A memory.
    Memory(MemoryIndex),
    /// A global.
    Global(GlobalIndex),
    /// A tag.
    Tag(TagIndex),
}

/// A global's type and initializer.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Global {
    /// Its type.
    pub ty: GlobalType,
    /// Its initializer; empty for imported globals.
    pub init: ConstExpr,
}

/// How an element segment is used (spec:
/// [Element Segments](https://webassembly.github.io/spec/core/syntax/modules.html#element-segments)).
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub enum ElemMode {
    /// Copied into a table at instantiation.
    Active {
        /// The table.
        table: TableIndex,
        /// The element offset in the table.
        offset: ConstExpr,
    },
    /// Available to `table.init`.
    Passive,
    /// Only declares functions for `ref.func`; dropped at instantiation.
    Declared,
}

/// An element segment.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct ElemSegment {
    /// Its element type.
    pub ty: WasmValType,
    /// How it is used.
    pub mode: ElemMode,
    /// Its items.
    pub items: ElemItems,
}

/// The items of an element segment, stored compactly: a segment of
/// function references (`ref.func`/`ref.null` items, or the `func`
/// shorthand) is a flat array of 4-byte function indices; only segments
/// with other constant expressions (`global.get`, extended constants)
/// keep expressions, flattened into one array of operators.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub enum ElemItems {
    /// One function index per item; `None` for `ref.null`.
    Functions(Box<[PackedOption<FuncIndex>]>),
    /// Constant expressions, flattened: item `i` is
    /// `ops[ends[i - 1]..ends[i]]` (from 0 for the first).
    Expressions {
        /// Every item's operators, in order.
        ops: Box<[ConstOp]>,
        /// One past each item's last operator.
        ends: Box<[u32]>,
    },
}

impl Default for ElemItems {
    fn default() -> Self {
        ElemItems::Functions(Box::default())
    }
}

impl ElemItems {
    /// Number of items.
    pub fn len(&self) -> usize {
        match self {
            ElemItems::Functions(f) => f.len(),
            ElemItems::Expressions { ends, .. } => ends.len(),
        }
    }

    /// Whether there are no items.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The operators of item `i` of an [`ElemItems::Expressions`] segment
    /// (empty when out of range).
    pub fn expression(&self, i: usize) -> &[ConstOp] {
        match self {
            ElemItems::Functions(_) => &[],
            ElemItems::Expressions { ops, ends } => {
                let start = match i.checked_sub(1) {
                    Some(prev) => ends.get(prev).copied().unwrap_or(0) as usize,
                    None => 0,
                };
                let end = ends.get(i).copied().unwrap_or(0) as usize;
                ops.get(start..end).unwrap_or(&[])
            }
        }
    }

    /// Bytes of heap the items occupy (for tests and limits).
    pub fn heap_bytes(&self) -> usize {
        match self {
            ElemItems::Functions(f) => core::mem::size_of_val(&**f),
            ElemItems::Expressions { ops, ends } => {
                core::mem::size_of_val(&**ops) + core::mem::size_of_val(&**ends)
            }
        }
    }
}

/// How a data segment is used (spec:
/// [Data Segments](https://webassembly.github.io/spec/core/syntax/modules.html#data-segments)).
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub enum DataMode {
    /// Copied into a memory at instantiation.
    Active {
        /// The memory.
        memory: MemoryIndex,
        /// The byte offset in the memory.
        offset: ConstExpr,
    },
    /// Available to `memory.init`.
    Passive,
}

/// A data segment.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct DataSegment {
    /// How it is used.
    pub mode: DataMode,
    /// Its bytes.
    pub data: Box<[u8]>,
}

/// Everything about a module except its function bodies.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct Module {
    /// The type section: every defined type with its declared supertype.
    pub types: PrimaryMap<TypeIndex, WasmSubType>,
    /// The type section's recursion groups, as `(first type, number of
    /// types)`, in order: together they cover `types` (spec:
    /// [Recursive Types](https://webassembly.github.io/spec/core/syntax/types.html#recursive-types)).
    pub rec_groups: Vec<(u32, u32)>,
    /// Imports, in order.
    pub imports: Vec<Import>,
    /// Exports by name, in the order they appear.
    pub exports: Vec<(String, EntityIndex)>,
    /// The type of every function, imports first.
    pub functions: PrimaryMap<FuncIndex, TypeIndex>,
    /// Every table, imports first.
    pub tables: PrimaryMap<TableIndex, TableType>,
    /// The initializer expressions of the defined tables that have one
    /// (typed function references): every element starts with its value
    /// instead of null.
    pub table_inits: Vec<(TableIndex, ConstExpr)>,
    /// Every memory, imports first.
    pub memories: PrimaryMap<MemoryIndex, MemoryType>,
    /// Every global, imports first.
    pub globals: PrimaryMap<GlobalIndex, Global>,
    /// The function type of every tag, imports first (exception
    /// handling; spec:
    /// [Tags](https://webassembly.github.io/spec/core/syntax/modules.html#tags)).
    pub tags: PrimaryMap<TagIndex, TypeIndex>,
    /// Element segments.
    pub elems: PrimaryMap<ElemIndex, ElemSegment>,
    /// Data segments.
    pub data: PrimaryMap<DataIndex, DataSegment>,
    /// The start function.
    pub start: Option<FuncIndex>,
    /// The module's name from the name section.
    pub name: Option<String>,
    /// Function names from the name section.
    #[serde(with = "sorted_map")]
    pub func_names: BTreeMap<FuncIndex, String>,
    /// Number of imported functions.
    pub num_imported_funcs: u32,
    /// Number of imported tables.
    pub num_imported_tables: u32,
    /// Number of imported memories.
    pub num_imported_memories: u32,
    /// Number of imported globals.
    pub num_imported_globals: u32,
    /// Number of imported tags.
    pub num_imported_tags: u32,
    /// Functions that can be reached other than by a direct `call`:
    /// exported, the start function, or referenced by an element segment,
    /// a global's or a table's initializer (the only places `ref.func`
    /// may name, per
    /// [validation](https://webassembly.github.io/spec/core/valid/modules.html#valid-module)).
    /// Only these can be called from the host, so only their types get
    /// array-to-wasm trampolines.
    #[serde(with = "func_set")]
    pub escaped_funcs: EntitySet<FuncIndex>,
    /// Each type's canonical representative (the first type equal to it
    /// by [type equivalence](https://webassembly.github.io/spec/core/valid/conventions.html#type-equivalence)),
    /// set by [`Module::canonicalize_types`] (translation and
    /// [`Module::check`] call it); until then types are equal only to
    /// themselves.
    #[serde(skip)]
    canonical: Box<[u32]>,
}

macro_rules! index_conversions {
    ($($defined_fn:ident $index_fn:ident $is_imported:ident: $index:ident / $defined:ident / $count:ident;)*) => {$(
        /// The definition index of a module index, or `None` for an import.
        pub fn $defined_fn(&self, index: $index) -> Option<$defined> {
            index.as_u32().checked_sub(self.$count).map($defined::from_u32)
        }

        /// The module index of a definition index.
        pub fn $index_fn(&self, defined: $defined) -> $index {
            $index::from_u32(self.$count + defined.as_u32())
        }

        /// Whether the index refers to an import.
        pub fn $is_imported(&self, index: $index) -> bool {
            index.as_u32() < self.$count
        }
    )*};
}

impl Module {
    index_conversions! {
        defined_func_index func_index is_imported_func: FuncIndex / DefinedFuncIndex / num_imported_funcs;
        defined_table_index table_index is_imported_table: TableIndex / DefinedTableIndex / num_imported_tables;
        defined_memory_index memory_index is_imported_memory: MemoryIndex / DefinedMemoryIndex / num_imported_memories;
        defined_global_index global_index is_imported_global: GlobalIndex / DefinedGlobalIndex / num_imported_globals;
        defined_tag_index tag_index is_imported_tag: TagIndex / DefinedTagIndex / num_imported_tags;
    }

    /// The type of function `index`.
    pub fn func_type(&self, index: FuncIndex) -> &WasmFuncType {
        self.types[self.functions[index]].unwrap_func()
    }

    /// The function type with index `ty`: see [`WasmSubType::unwrap_func`].
    pub fn func_type_at(&self, ty: TypeIndex) -> &WasmFuncType {
        self.types[ty].unwrap_func()
    }

    /// The kind of type `ty`, if the module has it; what
    /// [`WasmValType::from_wasmparser`] needs.
    pub fn type_kind(&self, ty: TypeIndex) -> Option<CompositeKind> {
        self.types.get(ty).map(WasmSubType::kind)
    }

    /// Whether module type `a` is `b` or declares it as a (transitive)
    /// supertype (spec:
    /// [Defined Types](https://webassembly.github.io/spec/core/valid/matching.html#defined-types)).
    /// Types with different indices but equal definitions count as equal
    /// (see `same_type`). Follows at most as many
    /// supertypes as the module has types.
    pub fn is_subtype(&self, a: TypeIndex, b: TypeIndex) -> bool {
        let mut t = Some(a);
        for _ in 0..=self.types.len() {
            let Some(cur) = t else { return false };
            if cur == b || self.same_type(cur, b) {
                return true;
            }
            t = match self.types.get(cur).and_then(|ty| ty.supertype) {
                Some(TypeRef::Module(s)) if s < cur => Some(s),
                _ => None,
            };
        }
        false
    }

    /// Whether types `a` and `b` are equal: isorecursively, their
    /// recursion groups equal with references outside them canonical and
    /// at the same positions in them (as the engine's type registry
    /// decides for every module).
    fn same_type(&self, a: TypeIndex, b: TypeIndex) -> bool {
        let canon = &self.canonical;
        a == b
            || matches!((canon.get(a.index()), canon.get(b.index())), (Some(x), Some(y)) if x == y)
    }

    /// Compute each type's canonical representative (see
    /// `canonicalize`), which type equality and subtyping checks use.
    pub fn canonicalize_types(&mut self) {
        self.canonical = self.canonicalize();
    }

    /// Each type's canonical representative: types are keyed by their
    /// recursion group (references to earlier groups replaced by the
    /// representatives, to the group itself by position) and their
    /// position in it. A type whose group is malformed is its own
    /// representative (`check` reports the group).
    fn canonicalize(&self) -> Box<[u32]> {
        let mut canon: Vec<u32> = (0..self.types.len() as u32).collect();
        let mut groups: hashbrown::HashMap<Vec<WasmSubType>, u32> = hashbrown::HashMap::new();
        for &(start, len) in &self.rec_groups {
            let Some(end) = start
                .checked_add(len)
                .filter(|e| *e as usize <= self.types.len())
            else {
                break;
            };
            let key: Vec<WasmSubType> = (start..end)
                .map(|i| {
                    self.types[TypeIndex::from_u32(i)].map_type_refs(|r| match r {
                        TypeRef::Module(t) if t.as_u32() < start => {
                            TypeRef::Engine(SharedTypeIndex::from_u32(canon[t.index()]))
                        }
                        TypeRef::Module(t) if t.as_u32() < end => {
                            TypeRef::RecGroup(t.as_u32() - start)
                        }
                        other => other,
                    })
                })
                .collect();
            let base = *groups.entry(key).or_insert(start);
            for i in 0..len {
                canon[(start + i) as usize] = base + i;
            }
        }
        canon.into()
    }

    /// [`WasmValType::matches`] for this module's types.
    pub fn val_matches(&self, a: WasmValType, b: WasmValType) -> bool {
        a.matches(b, &mut |x, y| match (x, y) {
            (TypeRef::Module(x), TypeRef::Module(y)) => self.is_subtype(x, y),
            _ => x == y,
        })
    }

    /// Number of functions the module defines.
    pub fn num_defined_funcs(&self) -> u32 {
        self.functions.len() as u32 - self.num_imported_funcs
    }

    /// Number of tables the module defines.
    pub fn num_defined_tables(&self) -> u32 {
        self.tables.len() as u32 - self.num_imported_tables
    }

    /// Number of memories the module defines.
    pub fn num_defined_memories(&self) -> u32 {
        self.memories.len() as u32 - self.num_imported_memories
    }

    /// Number of globals the module defines.
    pub fn num_defined_globals(&self) -> u32 {
        self.globals.len() as u32 - self.num_imported_globals
    }

    /// Number of tags the module defines.
    pub fn num_defined_tags(&self) -> u32 {
        self.tags.len() as u32 - self.num_imported_tags
    }

    /// Look up an export by name.
    pub fn export(&self, name: &str) -> Option<EntityIndex> {
        self.exports
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, e)| *e)
    }

    /// The type of an entity of this module.
    pub fn entity_type(&self, index: EntityIndex) -> EntityType {
        match index {
            EntityIndex::Function(f) => EntityType::Function(self.functions[f]),
            EntityIndex::Table(t) => EntityType::Table(self.tables[t]),
            EntityIndex::Memory(m) => EntityType::Memory(self.memories[m]),
            EntityIndex::Global(g) => EntityType::Global(self.globals[g].ty),
            EntityIndex::Tag(t) => EntityType::Tag(self.tags[t]),
        }
    }
}

/// Why a module's metadata is inconsistent ([`Module::check`]): which part,
/// with a message naming the first entry that breaks a rule.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ModuleError {
    /// An entity count past keel's limits ([`limits`]), or more imported
    /// entities of a kind than the module has.
    Counts(String),
    /// A function's or tag's type is missing or of the wrong shape, a type
    /// refers outside its recursion group and the earlier types, or the
    /// recursion groups do not cover the types in order.
    Types(String),
    /// A table's or memory's limits, index type or page size out of range.
    TableOrMemoryType(String),
    /// A function name for a missing function.
    Names(String),
    /// An import that does not match its entity, or the import counts.
    Imports(String),
    /// An export of a missing entity, or a missing or ill-typed start
    /// function.
    ExportsOrStart(String),
    /// A function the host can reach (exported, the start function, in a
    /// segment or an initializer) that is not marked escaped, or an
    /// escaped function that does not exist.
    NotEscaped(String),
    /// A global's or table's initializer: ill-typed, of a missing entity,
    /// or missing for a table of non-nullable references.
    Initializers(String),
    /// An element or data segment: its type, items, table or memory, or
    /// offset.
    Segments(String),
}

impl core::fmt::Display for ModuleError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            ModuleError::Counts(m)
            | ModuleError::Types(m)
            | ModuleError::TableOrMemoryType(m)
            | ModuleError::Names(m)
            | ModuleError::Imports(m)
            | ModuleError::ExportsOrStart(m)
            | ModuleError::NotEscaped(m)
            | ModuleError::Initializers(m)
            | ModuleError::Segments(m) => f.write_str(m),
        }
    }
}

impl core::error::Error for ModuleError {}

impl Module {
    /// Check that the metadata is internally consistent, as a loader must
    /// before trusting metadata it did not produce by translation (an
    /// artifact's): every index points into its space, imports come first
    /// and match the import counts, counts stay within keel's limits,
    /// memory and table types are well-formed, constant expressions are
    /// well-typed stack programs of their contexts' types (reading only
    /// immutable globals, and in a global's initializer only earlier
    /// ones), segment items fit their segments' types and active
    /// segments their tables, tables of non-nullable references have an
    /// initializer, and every function the host can reach (exported, the
    /// start function, in a segment or an initializer) is marked escaped.
    /// Validation guarantees all of this for a translated module.
    ///
    /// # Errors
    ///
    /// A [`ModuleError`]: the part that is inconsistent, and the first
    /// entry that breaks a rule.
    pub fn check(&mut self) -> Result<(), ModuleError> {
        self.canonicalize_types();
        let counts = [
            ("types", self.types.len(), limits::MAX_TYPES),
            ("functions", self.functions.len(), limits::MAX_FUNCTIONS),
            ("imports", self.imports.len(), limits::MAX_IMPORTS),
            ("exports", self.exports.len(), limits::MAX_EXPORTS),
            ("globals", self.globals.len(), limits::MAX_GLOBALS),
            ("tables", self.tables.len(), limits::MAX_TABLES),
            ("memories", self.memories.len(), limits::MAX_MEMORIES),
            ("tags", self.tags.len(), limits::MAX_TAGS),
            (
                "element segments",
                self.elems.len(),
                limits::MAX_ELEMENT_SEGMENTS,
            ),
            ("data segments", self.data.len(), limits::MAX_DATA_SEGMENTS),
        ];
        for (what, n, max) in counts {
            if n > max {
                return Err(ModuleError::Counts(format!(
                    "{n} {what} (keel allows at most {max})"
                )));
            }
        }
        let imported = [
            ("functions", self.num_imported_funcs, self.functions.len()),
            ("tables", self.num_imported_tables, self.tables.len()),
            ("memories", self.num_imported_memories, self.memories.len()),
            ("globals", self.num_imported_globals, self.globals.len()),
            ("tags", self.num_imported_tags, self.tags.len()),
        ];
        for (what, n, len) in imported {
            if n as usize > len {
                return Err(ModuleError::Counts(format!(
                    "{n} imported {what} but only {len} in all"
                )));
            }
        }
        for (f, ty) in self.functions.iter() {
            if self.types.get(*ty).and_then(WasmSubType::as_func).is_none() {
                return Err(ModuleError::Types(format!(
                    "function {} has unknown type {}, or not a function type",
                    f.as_u32(),
                    ty.as_u32()
                )));
            }
        }
        for (t, ty) in self.tags.iter() {
            if self
                .types
                .get(*ty)
                .and_then(WasmSubType::as_func)
                .is_none_or(|ty| !ty.results.is_empty())
            {
                return Err(ModuleError::Types(format!(
                    "tag {} has type {}, not a function type without results",
                    t.as_u32(),
                    ty.as_u32()
                )));
            }
        }
        for (t, table) in self.tables.iter() {
            let index_max = if table.table64 {
                u64::MAX
            } else {
                u64::from(u32::MAX)
            };
            let Limits { min, max } = table.limits;
            if !table.element.is_ref()
                || min > index_max
                || max.is_some_and(|max| max < min || max > index_max)
            {
                return Err(ModuleError::TableOrMemoryType(format!(
                    "table {} has type {table:?}",
                    t.as_u32()
                )));
            }
        }
        for (m, memory) in self.memories.iter() {
            // At most 2^32 (2^64) bytes, in pages of 64 KiB or 1 byte.
            let pages_max = match (memory.page_size_log2, memory.memory64) {
                (16, false) => 1 << 16,
                (16, true) => 1 << 48,
                (0, false) => 1 << 32,
                (0, true) => u64::MAX,
                _ => 0,
            };
            let Limits { min, max } = memory.limits;
            if pages_max == 0
                || min > pages_max
                || max.is_some_and(|max| max < min || max > pages_max)
                || (memory.shared && max.is_none())
            {
                return Err(ModuleError::TableOrMemoryType(format!(
                    "memory {} has type {memory:?}",
                    m.as_u32()
                )));
            }
        }
        for (f, ty) in self.func_names.keys().zip(self.func_names.values()) {
            if self.functions.get(*f).is_none() {
                return Err(ModuleError::Names(format!(
                    "function {} named `{ty}` does not exist",
                    f.as_u32()
                )));
            }
        }
        // The recursion groups cover the types, in order, and a type only
        // refers to itself, its group and earlier types.
        let mut next_type = 0u32;
        for &(start, len) in &self.rec_groups {
            let end = start.checked_add(len).filter(|_| start == next_type);
            let Some(end) = end.filter(|end| *end as usize <= self.types.len()) else {
                return Err(ModuleError::Types(format!(
                    "recursion group ({start}, {len}) out of order"
                )));
            };
            for ty in (start..end).map(TypeIndex::from_u32) {
                let mut bad = None;
                self.types[ty].map_type_refs(|r| {
                    if !matches!(r, TypeRef::Module(i) if i.as_u32() < end) {
                        bad = Some(r);
                    }
                    r
                });
                if let Some(r) = bad {
                    return Err(ModuleError::Types(format!(
                        "type {} refers to {r:?}",
                        ty.as_u32()
                    )));
                }
            }
            next_type = end;
        }
        if next_type as usize != self.types.len() {
            return Err(ModuleError::Types(
                "recursion groups do not cover the types".into(),
            ));
        }
        // Declared supertypes: earlier, not final, of the same kind and a
        // matching structure (spec:
        // [Sub Types](https://webassembly.github.io/spec/core/valid/types.html#sub-types)).
        // Casts trust them: an object of a subtype is read with its
        // supertype's field layout.
        for (ty, sub) in self.types.iter() {
            let Some(s) = sub.supertype else { continue };
            let ok = match s {
                TypeRef::Module(s) if s < ty => {
                    let sup = &self.types[s];
                    !sup.is_final
                        && sub
                            .composite
                            .matches(&sup.composite, &mut |x, y| match (x, y) {
                                (TypeRef::Module(x), TypeRef::Module(y)) => self.is_subtype(x, y),
                                _ => false,
                            })
                }
                _ => false,
            };
            if !ok {
                return Err(ModuleError::Types(format!(
                    "type {} declares {s} as its supertype, which is not an earlier, \
                     non-final type it matches",
                    ty.as_u32()
                )));
            }
        }
        // Imports: one per imported entity, in index order.
        let mut next = [0u32; 5];
        for (i, import) in self.imports.iter().enumerate() {
            let (slot, index, matches) = match (import.index, &import.ty) {
                (EntityIndex::Function(f), EntityType::Function(ty)) => {
                    (0, f.as_u32(), self.functions.get(f) == Some(ty))
                }
                (EntityIndex::Table(t), EntityType::Table(ty)) => {
                    (1, t.as_u32(), self.tables.get(t) == Some(ty))
                }
                (EntityIndex::Memory(m), EntityType::Memory(ty)) => {
                    (2, m.as_u32(), self.memories.get(m) == Some(ty))
                }
                (EntityIndex::Global(g), EntityType::Global(ty)) => (
                    3,
                    g.as_u32(),
                    self.globals.get(g).map(|g| &g.ty) == Some(ty),
                ),
                (EntityIndex::Tag(t), EntityType::Tag(ty)) => {
                    (4, t.as_u32(), self.tags.get(t) == Some(ty))
                }
                _ => (0, u32::MAX, false),
            };
            if !matches || index != next[slot] {
                return Err(ModuleError::Imports(format!(
                    "import {i} (`{}` `{}`) does not match its entity",
                    import.module, import.field
                )));
            }
            next[slot] += 1;
        }
        let expected = [
            self.num_imported_funcs,
            self.num_imported_tables,
            self.num_imported_memories,
            self.num_imported_globals,
            self.num_imported_tags,
        ];
        if next != expected {
            return Err(ModuleError::Imports(
                "the import counts do not match the imports".into(),
            ));
        }
        for (name, index) in &self.exports {
            if !self.has_entity(*index) {
                return Err(ModuleError::ExportsOrStart(format!(
                    "export `{name}` names a missing entity"
                )));
            }
        }
        // The start function is called with no arguments and results.
        if let Some(start) = self.start
            && self
                .functions
                .get(start)
                .and_then(|ty| self.types.get(*ty))
                .and_then(WasmSubType::as_func)
                .is_none_or(|ty| !ty.params.is_empty() || !ty.results.is_empty())
        {
            return Err(ModuleError::ExportsOrStart(
                "the start function does not exist or takes or returns values".into(),
            ));
        }
        for f in self.escaped_funcs.iter() {
            if self.functions.get(f).is_none() {
                return Err(ModuleError::NotEscaped(format!(
                    "escaped function {} does not exist",
                    f.as_u32()
                )));
            }
        }
        // Every function that can be reached other than by a direct call
        // is escaped, so that the host can call it (it has a trampoline).
        let escaped = |f: FuncIndex, what: &dyn Fn() -> String| {
            if self.escaped_funcs.contains(f) {
                Ok(())
            } else {
                Err(ModuleError::NotEscaped(format!(
                    "{} names function {}, not escaped",
                    what(),
                    f.as_u32()
                )))
            }
        };
        let escaped_in = |ops: &[ConstOp], what: &dyn Fn() -> String| {
            ops.iter().try_for_each(|op| match op {
                ConstOp::RefFunc(f) => escaped(*f, what),
                _ => Ok(()),
            })
        };
        for (name, index) in &self.exports {
            if let EntityIndex::Function(f) = index {
                escaped(*f, &|| format!("export `{name}`"))?;
            }
        }
        if let Some(start) = self.start {
            escaped(start, &|| "the start section".into())?;
        }
        for (g, global) in self.globals.iter() {
            if self.is_imported_global(g) {
                continue;
            }
            let at = |m: String| ModuleError::Initializers(format!("global {}: {m}", g.as_u32()));
            self.check_const_expr(&global.init.ops, global.ty.content, Some(g))
                .map_err(at)?;
            escaped_in(&global.init.ops, &|| format!("global {}", g.as_u32()))?;
        }
        let mut initialized = EntitySet::<TableIndex>::new();
        for (t, init) in &self.table_inits {
            let at = |m: String| {
                ModuleError::Initializers(format!("the initializer of table {}: {m}", t.as_u32()))
            };
            let Some(table) = self.tables.get(*t).filter(|_| !self.is_imported_table(*t)) else {
                return Err(at("no such defined table".into()));
            };
            if !initialized.insert(*t) {
                return Err(at("a second one".into()));
            }
            self.check_const_expr(&init.ops, table.element, None)
                .map_err(at)?;
            escaped_in(&init.ops, &|| {
                format!("the initializer of table {}", t.as_u32())
            })?;
        }
        for (t, table) in self.tables.iter() {
            let nullable = table.element.ref_type().is_some_and(|r| r.nullable);
            if !nullable && !self.is_imported_table(t) && !initialized.contains(t) {
                return Err(ModuleError::Initializers(format!(
                    "table {} of {} has no initializer",
                    t.as_u32(),
                    table.element
                )));
            }
        }
        for (e, elem) in self.elems.iter() {
            let at =
                |m: String| ModuleError::Segments(format!("element segment {}: {m}", e.as_u32()));
            let what = || format!("element segment {}", e.as_u32());
            if !elem.ty.is_ref() {
                return Err(at(format!("of type {}", elem.ty)));
            }
            // An active segment's items go into its table: they must fit
            // its element type (a segment of function indices fits by its
            // items, whose type is more precise than the segment's).
            let mut into = None;
            if let ElemMode::Active { table, offset } = &elem.mode {
                let Some(table) = self.tables.get(*table) else {
                    return Err(at("unknown table".into()));
                };
                into = Some(table.element);
                if matches!(elem.items, ElemItems::Expressions { .. })
                    && !self.fits(Operand::Val(elem.ty), table.element)
                {
                    return Err(at(format!(
                        "of {} in a table of {}",
                        elem.ty, table.element
                    )));
                }
                let index = if table.table64 {
                    WasmValType::I64
                } else {
                    WasmValType::I32
                };
                self.check_const_expr(&offset.ops, index, None)
                    .map_err(at)?;
            }
            match &elem.items {
                ElemItems::Functions(funcs) => {
                    for f in funcs.iter() {
                        let item = match f.expand() {
                            Some(f) => match self.functions.get(f) {
                                Some(ty) => {
                                    escaped(f, &what)?;
                                    Operand::func(*ty)
                                }
                                None => {
                                    return Err(at(format!("unknown function {}", f.as_u32())));
                                }
                            },
                            None => Operand::Null,
                        };
                        if !self.fits(item, elem.ty)
                            || into.is_some_and(|element| !self.fits(item, element))
                        {
                            return Err(at(format!("an item is not a {}", elem.ty)));
                        }
                    }
                }
                ElemItems::Expressions { ends, .. } => {
                    if ends.windows(2).any(|w| w[0] > w[1]) {
                        return Err(at("item bounds out of order".into()));
                    }
                    for i in 0..ends.len() {
                        let ops = elem.items.expression(i);
                        if ops.is_empty() {
                            return Err(at(format!("item {i} is empty or out of bounds")));
                        }
                        self.check_const_expr(ops, elem.ty, None).map_err(at)?;
                        escaped_in(ops, &what)?;
                    }
                }
            }
        }
        for (d, data) in self.data.iter() {
            if let DataMode::Active { memory, offset } = &data.mode {
                let at =
                    |m: String| ModuleError::Segments(format!("data segment {}: {m}", d.as_u32()));
                let Some(memory) = self.memories.get(*memory) else {
                    return Err(at("unknown memory".into()));
                };
                let index = if memory.memory64 {
                    WasmValType::I64
                } else {
                    WasmValType::I32
                };
                self.check_const_expr(&offset.ops, index, None)
                    .map_err(at)?;
            }
        }
        Ok(())
    }

    /// Whether `index` names an entity of this module.
    fn has_entity(&self, index: EntityIndex) -> bool {
        match index {
            EntityIndex::Function(f) => self.functions.get(f).is_some(),
            EntityIndex::Table(t) => self.tables.get(t).is_some(),
            EntityIndex::Memory(m) => self.memories.get(m).is_some(),
            EntityIndex::Global(g) => self.globals.get(g).is_some(),
            EntityIndex::Tag(t) => self.tags.get(t).is_some(),
        }
    }

    /// Check a constant expression: its operands exist, it never pops
    /// from an empty stack or an operand of the wrong type, and it leaves
    /// exactly one value, of a subtype of `expected`. It reads only
    /// immutable globals, and when it initializes global `within` only
    /// those before it.
    fn check_const_expr(
        &self,
        ops: &[ConstOp],
        expected: WasmValType,
        within: Option<GlobalIndex>,
    ) -> Result<(), String> {
        let mut stack: Vec<Operand> = Vec::new();
        for op in ops {
            let operand = match *op {
                ConstOp::I32Const(_) => Operand::Val(WasmValType::I32),
                ConstOp::I64Const(_) => Operand::Val(WasmValType::I64),
                ConstOp::F32Const(_) => Operand::Val(WasmValType::F32),
                ConstOp::F64Const(_) => Operand::Val(WasmValType::F64),
                ConstOp::V128Const(_) => Operand::Val(WasmValType::V128),
                ConstOp::RefNull => Operand::Null,
                ConstOp::GlobalGet(g) => {
                    let global = self
                        .globals
                        .get(g)
                        .filter(|global| !global.ty.mutable && within.is_none_or(|w| g < w));
                    let Some(global) = global else {
                        return Err(format!(
                            "`global.get` of unknown, later or mutable global {}",
                            g.as_u32()
                        ));
                    };
                    Operand::Val(global.ty.content)
                }
                ConstOp::RefFunc(f) => match self.functions.get(f) {
                    Some(ty) => Operand::func(*ty),
                    None => {
                        return Err(format!("`ref.func` of unknown function {}", f.as_u32()));
                    }
                },
                ConstOp::StructNew(t)
                | ConstOp::StructNewDefault(t)
                | ConstOp::ArrayNew(t)
                | ConstOp::ArrayNewDefault(t)
                | ConstOp::ArrayNewFixed(t, _) => {
                    let operands: Vec<WasmValType> =
                        match (op, self.types.get(t).map(|t| &t.composite)) {
                            (ConstOp::StructNew(_), Some(WasmCompositeType::Struct(fields))) => {
                                fields.iter().map(|f| f.element.unpacked()).collect()
                            }
                            (ConstOp::StructNewDefault(_), Some(WasmCompositeType::Struct(_))) => {
                                Vec::new()
                            }
                            (ConstOp::ArrayNew(_), Some(WasmCompositeType::Array(f))) => {
                                alloc::vec![f.element.unpacked(), WasmValType::I32]
                            }
                            (ConstOp::ArrayNewDefault(_), Some(WasmCompositeType::Array(_))) => {
                                alloc::vec![WasmValType::I32]
                            }
                            (ConstOp::ArrayNewFixed(_, n), Some(WasmCompositeType::Array(f)))
                                if *n as usize <= limits::MAX_ARRAY_NEW_FIXED =>
                            {
                                alloc::vec![f.element.unpacked(); *n as usize]
                            }
                            _ => return Err(format!("`{op:?}` of a type of another kind")),
                        };
                    let popped = stack
                        .len()
                        .checked_sub(operands.len())
                        .map(|n| stack.split_off(n));
                    let fits = popped
                        .is_some_and(|p| p.iter().zip(&operands).all(|(v, t)| self.fits(*v, *t)));
                    if !fits {
                        return Err(format!("`{op:?}` without operands of its field types"));
                    }
                    let kind = self.types[t].kind();
                    Operand::Val(WasmValType::Ref(WasmRefType {
                        nullable: false,
                        heap: WasmHeapType::of_kind(kind, TypeRef::Module(t)),
                    }))
                }
                ConstOp::RefI31 => {
                    if stack.pop() != Some(Operand::Val(WasmValType::I32)) {
                        return Err("`ref.i31` without an i32 operand".into());
                    }
                    Operand::Val(WasmValType::Ref(WasmRefType {
                        nullable: false,
                        heap: WasmHeapType::I31,
                    }))
                }
                ConstOp::AnyConvertExtern | ConstOp::ExternConvertAny => {
                    let (from, to) = if *op == ConstOp::AnyConvertExtern {
                        (WasmHeapType::Extern, WasmHeapType::Any)
                    } else {
                        (WasmHeapType::Any, WasmHeapType::Extern)
                    };
                    let nullable = match stack.pop() {
                        Some(Operand::Null) => true,
                        Some(Operand::Val(v)) => match v.ref_type() {
                            Some(r) if r.heap.top() == from => r.nullable,
                            _ => return Err(format!("`{op:?}` of a {v}")),
                        },
                        None => return Err(format!("`{op:?}` without an operand")),
                    };
                    Operand::Val(WasmValType::reference(nullable, to))
                }
                ConstOp::I32Add
                | ConstOp::I32Sub
                | ConstOp::I32Mul
                | ConstOp::I64Add
                | ConstOp::I64Sub
                | ConstOp::I64Mul => {
                    let ty = match op {
                        ConstOp::I32Add | ConstOp::I32Sub | ConstOp::I32Mul => WasmValType::I32,
                        _ => WasmValType::I64,
                    };
                    let operands = stack.len().checked_sub(2).map(|n| stack.split_off(n));
                    if operands.is_none_or(|o| o.iter().any(|x| *x != Operand::Val(ty))) {
                        return Err(format!("a constant `{ty}` operation without two operands"));
                    }
                    Operand::Val(ty)
                }
            };
            stack.push(operand);
        }
        match stack[..] {
            [value] if self.fits(value, expected) => Ok(()),
            [_] => Err(format!("a constant expression not of type {expected}")),
            _ => Err(format!(
                "a constant expression leaves {} values",
                stack.len()
            )),
        }
    }

    /// Whether `value` is a value of type `ty` ([`Module::val_matches`]).
    fn fits(&self, value: Operand, ty: WasmValType) -> bool {
        match value {
            Operand::Null => ty.ref_type().is_some_and(|r| r.nullable),
            Operand::Val(value) => self.val_matches(value, ty),
        }
    }
}

/// The type of a value on a constant expression's stack.
#[derive(Copy, Clone, Debug, PartialEq)]
enum Operand {
    /// A value of this type.
    Val(WasmValType),
    /// `ref.null`, whose type is whatever nullable reference type the
    /// context needs.
    Null,
}

impl Operand {
    /// A non-null reference to a function of type `ty`.
    fn func(ty: TypeIndex) -> Self {
        Operand::Val(WasmValType::Ref(WasmRefType {
            nullable: false,
            heap: WasmHeapType::ConcreteFunc(TypeRef::Module(ty)),
        }))
    }
}

/// Serde for a set of functions as the list of its members, so that a
/// decoded set is always well-formed; members past
/// [`limits::MAX_FUNCTIONS`] are refused rather than allocated for.
mod func_set {
    use super::*;
    use serde::de::Error as _;
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(
        set: &EntitySet<FuncIndex>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        let members: Vec<u32> = set.iter().map(|f| f.as_u32()).collect();
        s.collect_seq(members)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<EntitySet<FuncIndex>, D::Error> {
        let members = Vec::<u32>::deserialize(d)?;
        let mut set = EntitySet::new();
        for f in members {
            if f as usize >= limits::MAX_FUNCTIONS {
                return Err(D::Error::custom(format!("function index {f} out of range")));
            }
            set.insert(FuncIndex::from_u32(f));
        }
        Ok(set)
    }
}

/// Serde for a map as its sorted list of entries, rebuilt in bulk
/// (`BTreeMap` from an iterator), which is much faster to load than one
/// insertion per entry.
mod sorted_map {
    use super::*;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub(super) fn serialize<K: Serialize + Ord, V: Serialize, S: Serializer>(
        map: &BTreeMap<K, V>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.collect_seq(map.iter())
    }

    pub(super) fn deserialize<'de, K, V, D>(d: D) -> Result<BTreeMap<K, V>, D::Error>
    where
        K: Deserialize<'de> + Ord,
        V: Deserialize<'de>,
        D: Deserializer<'de>,
    {
        Ok(Vec::<(K, V)>::deserialize(d)?.into_iter().collect())
    }
}
