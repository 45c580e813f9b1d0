//! Index newtypes, one per WebAssembly index space.
//!
//! Spaces named `Defined*` count only the module's own definitions, after
//! its imports; the plain spaces count imports first, then definitions
//! (WebAssembly spec:
//! [Indices](https://webassembly.github.io/spec/core/syntax/modules.html#indices)).
//! Convert between the two only with
//! [`Module::defined_func_index`](crate::Module::defined_func_index) and
//! friends, which return `None` for imports.

use cranelift_entity::entity_impl;

macro_rules! index_types {
    ($($(#[$doc:meta])* $name:ident ($prefix:literal);)*) => {$(
        $(#[$doc])*
        #[derive(Copy, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default, serde::Serialize, serde::Deserialize)]
        pub struct $name(u32);
        entity_impl!($name, $prefix);
    )*};
}

index_types! {
    /// A type in the module's type section.
    TypeIndex("type");
    /// A function: imported functions first, then defined ones.
    FuncIndex("func");
    /// A function defined (not imported) by the module.
    DefinedFuncIndex("defined_func");
    /// A table: imported tables first, then defined ones.
    TableIndex("table");
    /// A table defined (not imported) by the module.
    DefinedTableIndex("defined_table");
    /// A linear memory: imported memories first, then defined ones.
    MemoryIndex("memory");
    /// A linear memory defined (not imported) by the module.
    DefinedMemoryIndex("defined_memory");
    /// A global: imported globals first, then defined ones.
    GlobalIndex("global");
    /// A global defined (not imported) by the module.
    DefinedGlobalIndex("defined_global");
    /// A tag (exception handling): imported tags first, then defined ones.
    TagIndex("tag");
    /// A tag defined (not imported) by the module.
    DefinedTagIndex("defined_tag");
    /// An element segment.
    ElemIndex("elem");
    /// A data segment.
    DataIndex("data");
    /// A function type interned in an engine's type registry; the value
    /// `call_indirect` compares.
    SharedTypeIndex("shared_type");
}
