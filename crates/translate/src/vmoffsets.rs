//! The layout of a VMContext: the per-instance block of memory compiled code
//! addresses relative to its `vmctx` argument.
//!
//! ```text
//! VMContext {
//!     magic: u32, _pad: u32,                  // VMCONTEXT_MAGIC
//!     store_context: *mut VMStoreContext,
//!     builtins: *const [fn; BuiltinFunctionIndex::COUNT],
//!     type_ids: *const [SharedTypeIndex; module.types.len()],
//!     instance: *mut Instance,                // runtime back pointer
//!     imported_functions: [VMFunctionImport; num_imported_funcs],
//!     imported_tables: [*mut VMTableDefinition; num_imported_tables],
//!     imported_memories: [*mut VMMemoryDefinition; num_imported_memories],
//!     imported_globals: [*mut VMGlobalDefinition; num_imported_globals],
//!     imported_tags: [*const VMTagDefinition; num_imported_tags],
//!     tables: [VMTableDefinition; num_defined_tables],
//!     memories: [VMMemoryDefinition; num_defined_memories],
//!     globals: [VMGlobalDefinition; num_defined_globals],   // 16-aligned
//!     tags: [VMTagDefinition; num_defined_tags],
//!     func_refs: [VMFuncRef; functions.len()],
//! }
//! ```
//!
//! Every field is pointer-sized or a multiple of it; the runtime's
//! `#[repr(C)]` structs are checked against these numbers in its tests.

use crate::*;

/// Value of the VMContext's first field, checked by the runtime.
pub const VMCONTEXT_MAGIC: u32 = u32::from_le_bytes(*b"keel");

/// Offsets of the fields of `VMFuncRef`: the representation of a function
/// reference that tables and `call_indirect` use.
pub mod vmfuncref {
    /// `array_call: unsafe extern "C" fn(callee_vmctx, caller_vmctx, values: *mut ValRaw, len: usize)`.
    pub const ARRAY_CALL: u32 = 0;
    /// `wasm_call`: the function's entry point with the wasm calling convention.
    pub const WASM_CALL: u32 = 8;
    /// `vmctx`: the callee's VMContext (or host context).
    pub const VMCTX: u32 = 16;
    /// `type_index: SharedTypeIndex` (u32).
    pub const TYPE_INDEX: u32 = 24;
    /// Size of a `VMFuncRef` in bytes.
    pub const SIZE: u32 = 32;
}

/// Offsets of the fields of `VMFunctionImport`.
pub mod vmfunction_import {
    /// `wasm_call`.
    pub const WASM_CALL: u32 = 0;
    /// `array_call`.
    pub const ARRAY_CALL: u32 = 8;
    /// `vmctx` of the callee.
    pub const VMCTX: u32 = 16;
    /// Size in bytes.
    pub const SIZE: u32 = 24;
}

/// Offsets of the fields of `VMMemoryDefinition`.
pub mod vmmemory_definition {
    /// `base: *mut u8`.
    pub const BASE: u32 = 0;
    /// `current_length: usize`, in bytes.
    pub const CURRENT_LENGTH: u32 = 8;
    /// Size in bytes.
    pub const SIZE: u32 = 16;
}

/// Offsets of the fields of `VMTableDefinition`.
pub mod vmtable_definition {
    /// `base: *mut *const VMFuncRef` (or raw reference slots).
    pub const BASE: u32 = 0;
    /// `current_elements: usize`.
    pub const CURRENT_ELEMENTS: u32 = 8;
    /// Size in bytes.
    pub const SIZE: u32 = 16;
}

/// Size in bytes of a `VMGlobalDefinition` (room for a v128).
pub const VMGLOBAL_DEFINITION_SIZE: u32 = 16;

/// Offsets of the fields of `VMStoreContext`, the per-store block every
/// instance's VMContext points to.
pub mod vmstore_context {
    /// `stack_limit: usize`: the lowest stack pointer wasm code may use.
    pub const STACK_LIMIT: u32 = 0;
    /// `last_wasm_exit_fp: usize`: frame pointer of the wasm frame that
    /// last called the host, written by wasm-to-host trampolines.
    pub const LAST_WASM_EXIT_FP: u32 = 8;
    /// `last_wasm_exit_pc: usize`: the return address into that frame.
    pub const LAST_WASM_EXIT_PC: u32 = 16;
    /// `fuel_consumed: i64`: fuel consumed minus fuel injected, so
    /// negative while fuel remains; compiled code adds each operator's
    /// cost and calls the `out_of_gas` builtin once it is `>= 0`
    /// (`Config::consume_fuel`).
    pub const FUEL_CONSUMED: u32 = 24;
    /// `epoch_deadline: u64`: the engine epoch at which compiled code
    /// calls the `new_epoch` builtin (`Config::epoch_interruption`).
    pub const EPOCH_DEADLINE: u32 = 32;
    /// `epoch_ptr: *const AtomicU64`: the engine's epoch counter.
    pub const EPOCH_PTR: u32 = 40;
    /// `store: Option<NonNull<dyn VMStore>>` (two words): the store
    /// running wasm (runtime use only).
    pub const STORE: u32 = 48;
    /// Size in bytes.
    pub const SIZE: u32 = 64;
}

/// The size of a `VMTagDefinition`: a tag's engine-wide function type id
/// (`u32`) and padding. A tag's identity is the address of its
/// definition: defined tags live in their instance's VMContext, host tags
/// in their store; an imported tag is a pointer to its definition.
pub const VMTAG_DEFINITION_SIZE: u32 = 8;

/// Offsets of the fields of an exception object (`VMExnObject`), the
/// target of a non-null `exnref`: a GC object (its header first, see
/// [`vmgc_header`](crate::gc_layout::vmgc_header)) holding its tag,
/// whether it ever became a value, and its payload, one 16-byte `ValRaw`
/// slot per parameter of the tag's type.
pub mod vmexn_object {
    /// `tag: *const VMTagDefinition`, the thrown tag.
    pub const TAG: u32 = 8;
    /// `escaped: u32`: non-zero once the exception was an `exnref` value
    /// (caught with `catch_ref`/`catch_all_ref`, part of a payload, or
    /// seen by the host). Until then only the throw in flight refers to
    /// it, and a `catch` that has read its payload frees it.
    pub const ESCAPED: u32 = 20;
    /// Offset of the first payload slot; slot `i` is at `PAYLOAD + 16 * i`.
    pub const PAYLOAD: u32 = 32;
}

/// Byte offsets of the fields of one module's VMContext.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VMOffsets {
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
    /// Number of defined tables.
    pub num_defined_tables: u32,
    /// Number of defined memories.
    pub num_defined_memories: u32,
    /// Number of defined globals.
    pub num_defined_globals: u32,
    /// Number of defined tags.
    pub num_defined_tags: u32,
    /// Number of functions (imports included).
    pub num_funcs: u32,
    imported_functions: u32,
    imported_tables: u32,
    imported_memories: u32,
    imported_globals: u32,
    imported_tags: u32,
    defined_tables: u32,
    defined_memories: u32,
    defined_globals: u32,
    defined_tags: u32,
    func_refs: u32,
    size: u32,
}

impl VMOffsets {
    /// Offset of the magic number.
    pub const MAGIC: u32 = 0;
    /// Offset of the `*mut VMStoreContext`.
    pub const STORE_CONTEXT: u32 = 8;
    /// Offset of the builtin function array pointer.
    pub const BUILTINS: u32 = 16;
    /// Offset of the type id array pointer.
    pub const TYPE_IDS: u32 = 24;
    /// Offset of the runtime's instance back pointer.
    pub const INSTANCE: u32 = 32;
    const HEADER: u32 = 40;

    /// Compute the layout for `module`.
    ///
    /// # Errors
    ///
    /// [`WasmError::ImplLimit`] when the VMContext would exceed 4 GiB.
    pub fn new(module: &Module) -> TranslateResult<Self> {
        let mut off = u64::from(Self::HEADER);
        let mut field = |count: u32, size: u32, align: u64| {
            off = off.next_multiple_of(align);
            let start = off;
            off += u64::from(count) * u64::from(size);
            start
        };
        let imported_functions = field(module.num_imported_funcs, vmfunction_import::SIZE, 8);
        let imported_tables = field(module.num_imported_tables, 8, 8);
        let imported_memories = field(module.num_imported_memories, 8, 8);
        let imported_globals = field(module.num_imported_globals, 8, 8);
        let imported_tags = field(module.num_imported_tags, 8, 8);
        let defined_tables = field(module.num_defined_tables(), vmtable_definition::SIZE, 8);
        let defined_memories = field(module.num_defined_memories(), vmmemory_definition::SIZE, 8);
        let defined_globals = field(module.num_defined_globals(), VMGLOBAL_DEFINITION_SIZE, 16);
        let defined_tags = field(module.num_defined_tags(), VMTAG_DEFINITION_SIZE, 8);
        let func_refs = field(module.functions.len() as u32, vmfuncref::SIZE, 16);
        let size = field(0, 0, 16);
        let fits = |v: u64| {
            u32::try_from(v).map_err(|_| WasmError::ImplLimit("VMContext larger than 4 GiB".into()))
        };
        Ok(Self {
            num_imported_funcs: module.num_imported_funcs,
            num_imported_tables: module.num_imported_tables,
            num_imported_memories: module.num_imported_memories,
            num_imported_globals: module.num_imported_globals,
            num_imported_tags: module.num_imported_tags,
            num_defined_tables: module.num_defined_tables(),
            num_defined_memories: module.num_defined_memories(),
            num_defined_globals: module.num_defined_globals(),
            num_defined_tags: module.num_defined_tags(),
            num_funcs: module.functions.len() as u32,
            imported_functions: fits(imported_functions)?,
            imported_tables: fits(imported_tables)?,
            imported_memories: fits(imported_memories)?,
            imported_globals: fits(imported_globals)?,
            imported_tags: fits(imported_tags)?,
            defined_tables: fits(defined_tables)?,
            defined_memories: fits(defined_memories)?,
            defined_globals: fits(defined_globals)?,
            defined_tags: fits(defined_tags)?,
            func_refs: fits(func_refs)?,
            size: fits(size)?,
        })
    }

    /// Total size of the VMContext in bytes (a multiple of 16).
    pub fn size(&self) -> u32 {
        self.size
    }

    /// Offset of the `VMFunctionImport` of imported function `index`.
    ///
    /// # Panics
    ///
    /// If `index` is out of range for the module (a keel bug: indices
    /// come from validated modules). The check keeps every offset inside
    /// the VMContext.
    pub fn imported_function(&self, index: FuncIndex) -> u32 {
        assert!(
            index.as_u32() < self.num_imported_funcs,
            "VMContext index out of range"
        );
        self.imported_functions + index.as_u32() * vmfunction_import::SIZE
    }

    /// Offset of the pointer to the definition of imported table `index`.
    ///
    /// # Panics
    ///
    /// If `index` is out of range for the module (a keel bug: indices
    /// come from validated modules). The check keeps every offset inside
    /// the VMContext.
    pub fn imported_table(&self, index: TableIndex) -> u32 {
        assert!(
            index.as_u32() < self.num_imported_tables,
            "VMContext index out of range"
        );
        self.imported_tables + index.as_u32() * 8
    }

    /// Offset of the pointer to the definition of imported memory `index`.
    ///
    /// # Panics
    ///
    /// If `index` is out of range for the module (a keel bug: indices
    /// come from validated modules). The check keeps every offset inside
    /// the VMContext.
    pub fn imported_memory(&self, index: MemoryIndex) -> u32 {
        assert!(
            index.as_u32() < self.num_imported_memories,
            "VMContext index out of range"
        );
        self.imported_memories + index.as_u32() * 8
    }

    /// Offset of the pointer to the definition of imported global `index`.
    ///
    /// # Panics
    ///
    /// If `index` is out of range for the module (a keel bug: indices
    /// come from validated modules). The check keeps every offset inside
    /// the VMContext.
    pub fn imported_global(&self, index: GlobalIndex) -> u32 {
        assert!(
            index.as_u32() < self.num_imported_globals,
            "VMContext index out of range"
        );
        self.imported_globals + index.as_u32() * 8
    }

    /// Offset of the `VMTableDefinition` of defined table `index`.
    ///
    /// # Panics
    ///
    /// If `index` is out of range for the module (a keel bug: indices
    /// come from validated modules). The check keeps every offset inside
    /// the VMContext.
    pub fn defined_table(&self, index: DefinedTableIndex) -> u32 {
        assert!(
            index.as_u32() < self.num_defined_tables,
            "VMContext index out of range"
        );
        self.defined_tables + index.as_u32() * vmtable_definition::SIZE
    }

    /// Offset of the `VMMemoryDefinition` of defined memory `index`.
    ///
    /// # Panics
    ///
    /// If `index` is out of range for the module (a keel bug: indices
    /// come from validated modules). The check keeps every offset inside
    /// the VMContext.
    pub fn defined_memory(&self, index: DefinedMemoryIndex) -> u32 {
        assert!(
            index.as_u32() < self.num_defined_memories,
            "VMContext index out of range"
        );
        self.defined_memories + index.as_u32() * vmmemory_definition::SIZE
    }

    /// Offset of the `VMGlobalDefinition` of defined global `index`.
    ///
    /// # Panics
    ///
    /// If `index` is out of range for the module (a keel bug: indices
    /// come from validated modules). The check keeps every offset inside
    /// the VMContext.
    pub fn defined_global(&self, index: DefinedGlobalIndex) -> u32 {
        assert!(
            index.as_u32() < self.num_defined_globals,
            "VMContext index out of range"
        );
        self.defined_globals + index.as_u32() * VMGLOBAL_DEFINITION_SIZE
    }

    /// Offset of the pointer to imported tag `index`'s `VMTagDefinition`.
    ///
    /// # Panics
    ///
    /// If `index` is out of range for the module (a keel bug: indices
    /// come from validated modules). The check keeps every offset inside
    /// the VMContext.
    pub fn imported_tag(&self, index: TagIndex) -> u32 {
        assert!(
            index.as_u32() < self.num_imported_tags,
            "VMContext index out of range"
        );
        self.imported_tags + index.as_u32() * 8
    }

    /// Offset of the `VMTagDefinition` of defined tag `index`.
    ///
    /// # Panics
    ///
    /// If `index` is out of range for the module (a keel bug: indices
    /// come from validated modules). The check keeps every offset inside
    /// the VMContext.
    pub fn defined_tag(&self, index: DefinedTagIndex) -> u32 {
        assert!(
            index.as_u32() < self.num_defined_tags,
            "VMContext index out of range"
        );
        self.defined_tags + index.as_u32() * VMTAG_DEFINITION_SIZE
    }

    /// Offset of the `func_refs` array, the last field: everything before
    /// it is the VMContext's fixed part.
    pub fn func_refs_start(&self) -> u32 {
        self.func_refs
    }

    /// Offset of the `VMFuncRef` of function `index`.
    ///
    /// # Panics
    ///
    /// If `index` is out of range for the module (a keel bug: indices
    /// come from validated modules). The check keeps every offset inside
    /// the VMContext.
    pub fn func_ref(&self, index: FuncIndex) -> u32 {
        assert!(
            index.as_u32() < self.num_funcs,
            "VMContext index out of range"
        );
        self.func_refs + index.as_u32() * vmfuncref::SIZE
    }
}
