//! Instances (spec:
//! [Module Instances](https://webassembly.github.io/spec/core/exec/runtime.html#module-instances))
//! and their VMContext.

use crate::builtins::BUILTINS;
use crate::table::Table;
use crate::{
    CodeMemory, LazyCode, LinearMemory, SharedMemory, StoreTrap, VMFuncRef, VMFunctionImport,
    VMGlobalDefinition, VMMemoryDefinition, VMStore, VMStoreContext, VMTableDefinition, ValRaw,
    VmError,
};
use alloc::boxed::Box;
use alloc::format;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::alloc::Layout;
use core::fmt;
use core::ptr::NonNull;
use keel_translate::{
    ConstExpr, ConstOp, DataIndex, DataMode, DefinedFuncIndex, DefinedMemoryIndex,
    DefinedTableIndex, ElemIndex, ElemItems, ElemMode, EntityRef, FuncIndex, GlobalIndex,
    MemoryIndex, MemoryTunables, Module, PrimaryMap, SharedTypeIndex, TableIndex, TagIndex, Trap,
    VMCONTEXT_MAGIC, VMOffsets, WasmValType,
};

pub use keel_translate::limits::{MAX_INSTANCE_TABLE_ELEMENTS, MAX_TABLE_ELEMENTS};

/// An imported linear memory: its definition and the instance that owns
/// it, or the shared memory itself.
#[derive(Debug, Clone)]
pub struct ImportedMemory {
    /// The owner's definition.
    pub definition: *mut VMMemoryDefinition,
    /// The owning instance (of the same store); unused for a shared memory.
    pub owner: *mut Instance,
    /// The memory's index among the owner's definitions.
    pub index: DefinedMemoryIndex,
    /// A shared memory (threads), which may belong to no instance of this
    /// store: the import holds it alive and grows it directly.
    pub shared: Option<SharedMemory>,
}

/// A memory an instance defines: its own, or a shared one (which
/// instances of other stores may import, so it lives as long as any of
/// them).
#[derive(Debug)]
enum DefinedMemory {
    Owned(LinearMemory),
    Shared(SharedMemory),
}

/// An imported table: its definition and the instance that owns it.
#[derive(Debug, Clone, Copy)]
pub struct ImportedTable {
    /// The owner's definition.
    pub definition: *mut VMTableDefinition,
    /// The owning instance.
    pub owner: *mut Instance,
    /// The table's index among the owner's definitions.
    pub index: DefinedTableIndex,
}

/// Resolved imports, in the module's import order per kind.
#[derive(Debug, Default)]
pub struct Imports {
    /// Functions.
    pub functions: Vec<VMFunctionImport>,
    /// Tables.
    pub tables: Vec<ImportedTable>,
    /// Memories.
    pub memories: Vec<ImportedMemory>,
    /// Globals: pointers to their definitions.
    pub globals: Vec<*mut VMGlobalDefinition>,
    /// Tags: pointers to their definitions.
    pub tags: Vec<*const crate::VMTagDefinition>,
}

/// Why an instance could not be created.
#[derive(Debug)]
#[non_exhaustive]
pub enum InstantiationError {
    /// A resource (memory reservation, table, VMContext) could not be
    /// created; the [`VmError`] says which and why.
    Resource(VmError),
    /// A segment initializer trapped
    /// ([instantiation](https://webassembly.github.io/spec/core/exec/modules.html#instantiation)).
    Trap(Trap),
}

impl fmt::Display for InstantiationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InstantiationError::Resource(e) => e.fmt(f),
            InstantiationError::Trap(t) => f.write_str(t.message()),
        }
    }
}

impl core::error::Error for InstantiationError {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            // The VmError's own message is displayed; its cause is next.
            InstantiationError::Resource(e) => core::error::Error::source(e),
            InstantiationError::Trap(_) => None,
        }
    }
}

impl From<VmError> for InstantiationError {
    fn from(e: VmError) -> Self {
        InstantiationError::Resource(e)
    }
}

/// The code an instance runs: its module's compiled text (with lazy
/// compilation, only the trampolines) and, for a module compiled lazily,
/// its [`LazyCode`].
#[derive(Clone, Debug, Default)]
pub struct InstanceCode {
    /// The text.
    pub code: Option<Arc<CodeMemory>>,
    /// The functions, when compiled lazily.
    pub lazy: Option<Arc<LazyCode>>,
}

/// An instance of a module: its VMContext and the memories and tables it
/// defines (VM-1).
pub struct Instance {
    module: Arc<Module>,
    offsets: VMOffsets,
    code: Option<Arc<CodeMemory>>,
    /// The functions' code, when the module is compiled lazily.
    lazy: Option<Arc<LazyCode>>,
    type_ids: Arc<[SharedTypeIndex]>,
    memories: PrimaryMap<DefinedMemoryIndex, DefinedMemory>,
    tables: PrimaryMap<DefinedTableIndex, Table>,
    /// Elements of all `tables` together (kept under
    /// [`MAX_INSTANCE_TABLE_ELEMENTS`]).
    table_elements: u64,
    imported_memories: Vec<ImportedMemory>,
    imported_tables: Vec<ImportedTable>,
    /// Element segments dropped by `elem.drop` or instantiation.
    dropped_elems: Vec<bool>,
    /// Data segments dropped by `data.drop` or instantiation.
    dropped_data: Vec<bool>,
    vmctx: NonNull<u8>,
    vmctx_layout: Layout,
    /// This instance's place in the pooling allocator's instance count,
    /// given back when it drops (after its memories and tables).
    _pool_permit: Option<PoolPermit>,
    /// The store's GC heap (see [`MemorySetup::gc_heap`]).
    gc_heap: *mut crate::GcHeap,
    /// Set when a constant expression could not allocate (the value is
    /// null instead); instantiation fails on it.
    const_alloc_failed: core::cell::Cell<bool>,
    /// The items of passive element segments whose expressions allocate
    /// GC objects, evaluated once at instantiation (the spec evaluates
    /// every segment then, and object identity shows it), by segment;
    /// `None` for the others, which are evaluated when used. Roots of the
    /// collector until the segment is dropped.
    elem_values: Vec<Option<Box<[usize]>>>,
}

/// One instance counted by a pool ([`InstancePool::acquire_instance`](crate::InstancePool)).
struct PoolPermit(Arc<crate::InstancePool>);

impl Drop for PoolPermit {
    fn drop(&mut self) {
        self.0.release_instance();
    }
}

/// Owns an [`Instance`] through a raw pointer (VM-5): the pointer the
/// VMContext's back pointer holds and every access derive from is this
/// one, so builtins that find the instance from its `vmctx` and the
/// runtime's own accesses never invalidate each other. Dereferences to the
/// instance; dropping it drops the instance.
pub struct InstanceHandle(NonNull<Instance>);

impl core::ops::Deref for InstanceHandle {
    type Target = Instance;
    fn deref(&self) -> &Instance {
        // SAFETY: the pointer came from `Box::into_raw` in `Instance::new` and
        // is freed only in `drop`; a shared borrow of the handle excludes
        // a `&mut` through it, and compiled code and builtins only run
        // under an exclusive borrow of the owning store (VM-5).
        unsafe { self.0.as_ref() }
    }
}

impl core::ops::DerefMut for InstanceHandle {
    fn deref_mut(&mut self) -> &mut Instance {
        // SAFETY: as in `deref`, with the handle borrowed exclusively.
        unsafe { self.0.as_mut() }
    }
}

impl Drop for InstanceHandle {
    fn drop(&mut self) {
        // SAFETY: allocated by `Box` in `Instance::new`; dropped once.
        drop(unsafe { Box::from_raw(self.0.as_ptr()) });
    }
}

impl fmt::Debug for InstanceHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        (**self).fmt(f)
    }
}

// SAFETY: as for `Instance` below: the handle owns the instance.
unsafe impl Send for InstanceHandle {}
// SAFETY: as for `Instance` below.
unsafe impl Sync for InstanceHandle {}

// SAFETY: an instance's raw pointers reach only memory owned by its store
// or immutable engine data; all access is serialised by the store's
// exclusive borrow (VM-5).
unsafe impl Send for Instance {}
// SAFETY: `&Instance` methods only read (VM-5).
unsafe impl Sync for Instance {}

impl fmt::Debug for Instance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Instance")
            .field("module", &self.module.name)
            .field("vmctx", &self.vmctx)
            .finish_non_exhaustive()
    }
}

/// How a module's linear memories are made: the engine's layout and the
/// module's copy-on-write images (empty for none).
#[derive(Clone, Copy, Debug)]
pub struct MemorySetup<'a> {
    /// The layout (reservation, guard, movability).
    pub tunables: &'a MemoryTunables,
    /// The initial contents of defined memories that have an image.
    pub images: &'a crate::MemoryImages,
    /// The initial contents of defined funcref tables that have an image
    /// (their slots are initialized lazily, see [`crate::TableImage`]).
    pub table_images: &'a crate::TableImages,
    /// The pooling allocator to take memories, tables and the instance's
    /// count from, or `None` to allocate on demand.
    pub pool: Option<&'a Arc<crate::InstancePool>>,
    /// The store's GC heap, where constant expressions allocate
    /// (`struct.new` in a global's initializer); it must outlive the
    /// instance, and have the layouts of the module's struct and array
    /// types.
    pub gc_heap: *mut crate::GcHeap,
}

impl Instance {
    /// Allocate an instance of `module`: VMContext, imports, memories,
    /// tables, globals and function references. Segments are applied
    /// separately by [`Instance::initialize_segments`].
    ///
    /// `type_ids` maps each module type to its engine-wide id; `code` is
    /// the module's compiled text (None for modules without functions).
    /// Memories are laid out and initialized as `memory` says.
    ///
    /// # Errors
    ///
    /// [`InstantiationError::Resource`] if a memory cannot be reserved.
    ///
    /// # Safety
    ///
    /// * `imports` must match the module's imports in number and type, and
    ///   point to definitions that outlive the instance (VM-1).
    /// * `store_context` must outlive the instance.
    /// * `code.code` must be the compilation of `module` whenever the
    ///   module defines functions: its trampolines and, unless `code.lazy`
    ///   is given, its functions; `code.lazy` must be `module`'s lazily
    ///   compiled code.
    #[expect(
        clippy::new_ret_no_self,
        reason = "the instance is owned through its handle (VM-5)"
    )]
    pub unsafe fn new(
        module: Arc<Module>,
        offsets: VMOffsets,
        code: InstanceCode,
        type_ids: Arc<[SharedTypeIndex]>,
        imports: Imports,
        store_context: *mut VMStoreContext,
        memory: MemorySetup<'_>,
    ) -> Result<InstanceHandle, InstantiationError> {
        let (tunables, memory_images, pool) = (memory.tunables, memory.images, memory.pool);
        let table_images = memory.table_images;
        let gc_heap = memory.gc_heap;
        let pool_permit = match pool {
            Some(pool) => {
                let memories = module.memories.len() - module.num_imported_memories as usize;
                let tables = module.tables.len() - module.num_imported_tables as usize;
                pool.acquire_instance(memories, tables)?;
                Some(PoolPermit(pool.clone()))
            }
            None => None,
        };
        let mut memories = PrimaryMap::new();
        for (index, ty) in module.memories.iter() {
            if let Some(def) = module.defined_memory_index(index) {
                let image = memory_images.get(def).and_then(Option::as_ref);
                let memory = match pool {
                    // A shared memory may outlive the instance (other
                    // stores import it), so it never takes a pool slot;
                    // its segments are copied at instantiation.
                    _ if ty.shared => DefinedMemory::Shared(SharedMemory::new(ty, tunables, None)?),
                    Some(pool) => DefinedMemory::Owned(LinearMemory::new_pooled(ty, pool, image)?),
                    None => DefinedMemory::Owned(LinearMemory::with_image(ty, tunables, image)?),
                };
                memories.push(memory);
            }
        }
        let mut tables = PrimaryMap::new();
        let mut total_elements = 0u64;
        for (index, ty) in module.tables.iter() {
            if let Some(def) = module.defined_table_index(index) {
                let mut table = match pool {
                    Some(pool) => Table::new_pooled(ty.limits.min, pool)?,
                    None => Table::new(ty.limits.min)?,
                };
                if let Some(Some(image)) = table_images.get(def) {
                    table.set_lazy(image.clone());
                }
                total_elements = total_elements.saturating_add(ty.limits.min);
                if total_elements > MAX_INSTANCE_TABLE_ELEMENTS {
                    return Err(VmError::ImplLimit(format!(
                        "{total_elements} table elements exceed keel's limit of \
                         {MAX_INSTANCE_TABLE_ELEMENTS} elements for the tables of one instance"
                    ))
                    .into());
                }
                tables.push(table);
            }
        }
        let vmctx_layout = Layout::from_size_align(offsets.size().max(16) as usize, 16)
            .map_err(|_| VmError::ImplLimit("VMContext too large".into()))?;
        // SAFETY: the layout has a non-zero size.
        let vmctx = NonNull::new(unsafe { alloc::alloc::alloc(vmctx_layout) }).ok_or(
            VmError::OutOfMemory {
                what: "a VMContext",
                bytes: vmctx_layout.size(),
            },
        )?;
        // Everything but the function references starts zeroed; those are
        // written when handed out (`func_ref`) or, for imports, in
        // `init_vmctx`, and never read before. Not zeroing them saves 32
        // bytes per function on every instantiation.
        let fixed = (offsets.func_refs_start() as usize).min(vmctx_layout.size());
        // SAFETY: `fixed` bytes lie inside the fresh allocation.
        unsafe { vmctx.as_ptr().write_bytes(0, fixed) };
        let InstanceCode { code, lazy } = code;
        let instance = Box::new(Instance {
            module,
            offsets,
            code,
            lazy,
            type_ids,
            memories,
            tables,
            table_elements: total_elements,
            imported_memories: imports.memories.clone(),
            imported_tables: imports.tables.clone(),
            dropped_elems: Vec::new(),
            dropped_data: Vec::new(),
            vmctx,
            vmctx_layout,
            _pool_permit: pool_permit,
            gc_heap,
            const_alloc_failed: core::cell::Cell::new(false),
            elem_values: Vec::new(),
        });
        // The instance is owned through one raw root pointer from here on
        // (VM-5): the VMContext's back pointer and every later access
        // derive from it.
        // SAFETY: `Box::into_raw` never returns null.
        let handle = InstanceHandle(unsafe { NonNull::new_unchecked(Box::into_raw(instance)) });
        let root = handle.0.as_ptr();
        // SAFETY: the VMContext was just allocated with `offsets.size()`
        // bytes; every offset below comes from `offsets` (VM-3). `root`
        // is the instance's owning pointer. On error the handle drops the
        // instance (and its VMContext).
        unsafe { (*root).init_vmctx(root, &imports, store_context)? };
        // SAFETY: as above.
        if unsafe { (*root).const_alloc_failed.get() } {
            return Err(InstantiationError::Trap(Trap::AllocationTooLarge));
        }
        Ok(handle)
    }

    /// Write a field of the VMContext.
    ///
    /// # Safety
    ///
    /// `offset` must be a field of type `T` per [`VMOffsets`] (in bounds
    /// is checked; the field's type is the caller's duty).
    unsafe fn write<T>(&mut self, offset: u32, value: T) {
        let field = self.field::<T>(offset);
        // SAFETY: `field` checked the bounds and alignment; per the
        // caller's contract the field has type `T`.
        unsafe { field.write(value) }
    }

    /// Pointer to the `T` at byte `offset` of the VMContext.
    ///
    /// # Panics
    ///
    /// If the field does not lie inside the VMContext or is misaligned (a
    /// keel bug: offsets come from [`VMOffsets`]).
    fn field<T>(&self, offset: u32) -> *mut T {
        let end = (offset as usize).checked_add(core::mem::size_of::<T>());
        assert!(
            end.is_some_and(|end| end <= self.vmctx_layout.size())
                && (offset as usize).is_multiple_of(core::mem::align_of::<T>()),
            "VMContext field at {offset} out of bounds"
        );
        // SAFETY: checked above: the field lies inside the allocation.
        unsafe { self.vmctx.as_ptr().add(offset as usize).cast::<T>() }
    }

    unsafe fn init_vmctx(
        &mut self,
        self_ptr: *mut Instance,
        imports: &Imports,
        store_context: *mut VMStoreContext,
    ) -> Result<(), VmError> {
        let module = self.module.clone();
        // SAFETY: (for all writes) each offset is the matching field per
        // `VMOffsets` (VM-3), inside the allocation.
        unsafe {
            self.write(VMOffsets::MAGIC, VMCONTEXT_MAGIC);
            self.write(VMOffsets::STORE_CONTEXT, store_context);
            self.write(VMOffsets::BUILTINS, &BUILTINS as *const _);
            self.write(VMOffsets::TYPE_IDS, self.type_ids.as_ptr());
            self.write(VMOffsets::INSTANCE, self_ptr);
            for (i, f) in imports.functions.iter().enumerate() {
                self.write(self.offsets.imported_function(FuncIndex::new(i)), *f);
            }
            for (i, t) in imports.tables.iter().enumerate() {
                self.write(
                    self.offsets.imported_table(TableIndex::new(i)),
                    t.definition,
                );
            }
            for (i, m) in imports.memories.iter().enumerate() {
                self.write(
                    self.offsets.imported_memory(MemoryIndex::new(i)),
                    m.definition,
                );
            }
            for (i, g) in imports.globals.iter().enumerate() {
                self.write(self.offsets.imported_global(GlobalIndex::new(i)), *g);
            }
            for (i, t) in imports.tags.iter().enumerate() {
                self.write(self.offsets.imported_tag(TagIndex::new(i)), *t);
            }
            for (index, ty) in module.tags.iter() {
                if let Some(def) = module.defined_tag_index(index) {
                    let tag = crate::VMTagDefinition::new(self.type_ids[ty.index()]);
                    self.write(self.offsets.defined_tag(def), tag);
                }
            }
            // A shared memory's slot holds a pointer to its definition,
            // which lives with the memory (compiled code loads it first).
            let memory_defs: Vec<_> = self
                .memories
                .iter()
                .map(|(i, m)| match m {
                    DefinedMemory::Owned(m) => (i, m.base(), m.current_length(), None),
                    DefinedMemory::Shared(m) => (i, m.base(), 0, Some(m.definition())),
                })
                .collect();
            for (index, base, current_length, shared) in memory_defs {
                match shared {
                    Some(definition) => self.write(self.offsets.defined_memory(index), definition),
                    None => self.write(
                        self.offsets.defined_memory(index),
                        VMMemoryDefinition {
                            base,
                            current_length,
                        },
                    ),
                }
            }
            let table_defs: Vec<_> = self
                .tables
                .iter_mut()
                .map(|(i, t)| (i, t.base(), t.len()))
                .collect();
            for (index, base, len) in table_defs {
                let def = VMTableDefinition {
                    base,
                    current_elements: len,
                };
                self.write(self.offsets.defined_table(index), def);
            }
            // Imported functions' references are copied from their
            // imports now; a defined function's is left unwritten until
            // the runtime hands out its address (`func_ref`).
            let num_imported = module.num_imported_funcs as usize;
            for (index, ty) in module.functions.iter().take(num_imported) {
                let import = imports.functions[index.index()];
                let func_ref = VMFuncRef {
                    array_call: import.array_call,
                    wasm_call: import.wasm_call,
                    vmctx: import.vmctx,
                    type_index: self.type_ids[ty.index()],
                };
                self.write(self.offsets.func_ref(index), func_ref);
            }
            // Globals, in order: an initializer may read earlier globals.
            for (index, global) in module.globals.iter() {
                if let Some(def) = module.defined_global_index(index) {
                    let value = self.eval_const_expr(&global.init);
                    let g = VMGlobalDefinition {
                        bytes: value.get_v128().to_le_bytes(),
                    };
                    self.write(self.offsets.defined_global(def), g);
                }
            }
        }
        Ok(())
    }

    /// Evaluate a constant expression (spec:
    /// [Expressions](https://webassembly.github.io/spec/core/exec/instructions.html#expressions),
    /// [Constant Expressions](https://webassembly.github.io/spec/core/valid/instructions.html#constant-expressions)).
    #[inline]
    pub fn eval_const_expr(&self, expr: &ConstExpr) -> ValRaw {
        self.eval_const_ops(&expr.ops)
    }

    /// Evaluate the operators of a constant expression (see
    /// [`Instance::eval_const_expr`]).
    pub fn eval_const_ops(&self, ops: &[ConstOp]) -> ValRaw {
        // Almost every constant expression is one instruction; evaluate
        // those without a stack.
        if let [op] = ops
            && let Some(v) = self.eval_const_leaf(op)
        {
            return v;
        }
        // Validation bounds the depth; a small inline stack covers the
        // expressions seen in practice, a Vec the rest.
        let mut stack: smallstack::Stack = smallstack::Stack::new();
        for op in ops {
            let v = match self.eval_const_leaf(op) {
                Some(v) => v,
                None if op.is_gc() => self.eval_gc_const(op, &mut stack),
                None => {
                    let b = stack.pop();
                    let a = stack.pop();
                    match op {
                        ConstOp::I32Add => ValRaw::i32(a.get_i32().wrapping_add(b.get_i32())),
                        ConstOp::I32Sub => ValRaw::i32(a.get_i32().wrapping_sub(b.get_i32())),
                        ConstOp::I32Mul => ValRaw::i32(a.get_i32().wrapping_mul(b.get_i32())),
                        ConstOp::I64Add => ValRaw::i64(a.get_i64().wrapping_add(b.get_i64())),
                        ConstOp::I64Sub => ValRaw::i64(a.get_i64().wrapping_sub(b.get_i64())),
                        _ => ValRaw::i64(a.get_i64().wrapping_mul(b.get_i64())),
                    }
                }
            };
            stack.push(v);
        }
        stack.pop()
    }

    /// Evaluate GC instruction `op` on `stack` (spec:
    /// [Aggregate Reference Instructions](https://webassembly.github.io/spec/core/exec/instructions.html#aggregate-reference-instructions)):
    /// allocations go to the store's heap; one that fails yields null and
    /// fails the instantiation.
    fn eval_gc_const(&self, op: &ConstOp, stack: &mut smallstack::Stack) -> ValRaw {
        use keel_translate::WasmCompositeType;
        use keel_translate::gc_layout::{GcStructLayout, vmgc_array};
        /// Write `size` bytes of `value` (its low bytes) at `at`.
        ///
        /// # Safety
        ///
        /// `at` must be valid for `size <= 16` bytes of writes.
        unsafe fn put(at: *mut u8, value: ValRaw, size: usize) {
            let bytes = value.get_v128().to_le_bytes();
            // SAFETY: per the contract.
            unsafe { core::ptr::copy_nonoverlapping(bytes.as_ptr(), at, size) };
        }
        /// Write `value` (its low `size` bytes) into each of the `len`
        /// elements at `at`, which are zero: nothing for a zero value,
        /// else the first element and then doubling copies, so a large
        /// array costs a memset's time, not a call per element.
        ///
        /// # Safety
        ///
        /// `at` must be valid for `len * size` bytes of writes, all zero,
        /// and `size <= 16`.
        unsafe fn fill(at: *mut u8, value: ValRaw, size: usize, len: usize) {
            let bytes = value.get_v128().to_le_bytes();
            let total = len * size;
            if total == 0 || bytes[..size].iter().all(|b| *b == 0) {
                return;
            }
            // SAFETY: per the contract, element 0 is in bounds.
            unsafe { put(at, value, size) };
            let mut done = size;
            while done < total {
                let n = done.min(total - done);
                // SAFETY: `at..at + done` is written and does not overlap
                // `at + done..at + done + n`, within the `total` bytes.
                unsafe { core::ptr::copy_nonoverlapping(at, at.add(done), n) };
                done += n;
            }
        }
        let t = match *op {
            ConstOp::RefI31 => {
                let x = stack.pop().get_i32() as u32;
                return ValRaw::ptr(((x << 1) | 1) as usize);
            }
            ConstOp::AnyConvertExtern | ConstOp::ExternConvertAny => return stack.pop(),
            ConstOp::StructNew(t)
            | ConstOp::StructNewDefault(t)
            | ConstOp::ArrayNew(t)
            | ConstOp::ArrayNewDefault(t)
            | ConstOp::ArrayNewFixed(t, _) => t,
            _ => return ValRaw::ptr(0),
        };
        let composite = &self.module.types[t].composite;
        let id = self.type_ids[t.index()];
        // SAFETY: the store's heap outlives its instances
        // (`MemorySetup::gc_heap`); nothing else uses it while a constant
        // expression runs.
        let heap = unsafe { self.gc_heap.as_mut() };
        // Instantiation grows the heap as it needs, up to its limit (the
        // store's limiter is not at hand here), and never collects: the
        // objects being built are referred to only by this evaluation.
        let alloc = |heap: Option<&mut crate::GcHeap>, len: Option<u32>| {
            let r = heap.and_then(|heap| {
                let size = heap.object_size(id, len.unwrap_or(0))?;
                if !heap.has_room(size) {
                    let target = heap.growth_target(size)?;
                    heap.set_capacity(target);
                }
                match len {
                    None => heap.alloc_struct(id).ok(),
                    Some(len) => heap.alloc_array(id, len).ok(),
                }
            });
            if r.is_none() {
                self.const_alloc_failed.set(true);
            }
            r
        };
        match (op, composite) {
            (
                ConstOp::StructNew(_) | ConstOp::StructNewDefault(_),
                WasmCompositeType::Struct(fields),
            ) => {
                let values: Vec<ValRaw> = match op {
                    ConstOp::StructNew(_) => {
                        let mut v: Vec<ValRaw> = (0..fields.len()).map(|_| stack.pop()).collect();
                        v.reverse();
                        v
                    }
                    _ => Vec::new(),
                };
                let Some(obj) = alloc(heap, None) else {
                    return ValRaw::ptr(0);
                };
                let layout = GcStructLayout::new(fields);
                for ((f, off), v) in fields.iter().zip(layout.offsets.iter()).zip(values) {
                    // SAFETY: the field lies inside the fresh struct.
                    unsafe {
                        put(
                            obj.as_ptr().add(*off as usize),
                            v,
                            f.element.byte_size() as usize,
                        )
                    };
                }
                ValRaw::ptr(obj.as_ptr() as usize)
            }
            (_, WasmCompositeType::Array(field)) => {
                let (values, len): (Vec<ValRaw>, u32) = match *op {
                    ConstOp::ArrayNew(_) => {
                        let len = stack.pop().get_i32() as u32;
                        let value = stack.pop();
                        (alloc::vec![value], len)
                    }
                    ConstOp::ArrayNewDefault(_) => (Vec::new(), stack.pop().get_i32() as u32),
                    ConstOp::ArrayNewFixed(_, n) => {
                        let mut v: Vec<ValRaw> = (0..n).map(|_| stack.pop()).collect();
                        v.reverse();
                        (v, n)
                    }
                    _ => (Vec::new(), 0),
                };
                let Some(obj) = alloc(heap, Some(len)) else {
                    return ValRaw::ptr(0);
                };
                let size = field.element.byte_size() as usize;
                // SAFETY: the fresh array's elements follow its header.
                let elems = unsafe { obj.as_ptr().add(vmgc_array::ELEMS as usize) };
                match *op {
                    // SAFETY: the fresh array has `len` elements of `size`
                    // bytes, all zero.
                    ConstOp::ArrayNew(_) => unsafe { fill(elems, values[0], size, len as usize) },
                    ConstOp::ArrayNewFixed(..) => {
                        for (i, v) in values.iter().enumerate() {
                            // SAFETY: element `i < len` lies inside the
                            // fresh array.
                            unsafe { put(elems.add(i * size), *v, size) };
                        }
                    }
                    _ => {}
                }
                ValRaw::ptr(obj.as_ptr() as usize)
            }
            _ => ValRaw::ptr(0),
        }
    }

    /// The value of an instruction that pushes without popping, or `None`
    /// for the arithmetic ones.
    #[inline]
    fn eval_const_leaf(&self, op: &ConstOp) -> Option<ValRaw> {
        Some(match op {
            ConstOp::I32Const(v) => ValRaw::i32(*v),
            ConstOp::I64Const(v) => ValRaw::i64(*v),
            ConstOp::F32Const(v) => ValRaw::f32(*v),
            ConstOp::F64Const(v) => ValRaw::f64(*v),
            ConstOp::V128Const(v) => ValRaw::v128(*v),
            ConstOp::GlobalGet(g) => {
                // SAFETY: the global pointer is valid for this instance.
                let bytes = unsafe { (*self.global_ptr(*g)).bytes };
                ValRaw::v128(u128::from_le_bytes(bytes))
            }
            ConstOp::RefNull => ValRaw::ptr(0),
            ConstOp::RefFunc(f) => ValRaw::ptr(self.func_ref(*f) as usize),
            _ => return None,
        })
    }

    /// Apply active element and data segments in order (spec:
    /// [Instantiation](https://webassembly.github.io/spec/core/exec/modules.html#instantiation):
    /// `table.init` then `memory.init` semantics; an out-of-bounds
    /// segment traps and earlier segments stay applied).
    ///
    /// # Errors
    ///
    /// The trap code of the first segment that does not fit.
    pub fn initialize_segments(&mut self) -> Result<(), Trap> {
        let module = self.module.clone();
        // Active and declarative segments are dropped once instantiation
        // has used them (the `elem.drop` and `data.drop` steps of
        // <https://webassembly.github.io/spec/core/exec/modules.html#instantiation>).
        self.dropped_elems = module
            .elems
            .values()
            .map(|e| !matches!(e.mode, ElemMode::Passive))
            .collect();
        self.elem_values = module
            .elems
            .values()
            .map(|e| match &e.items {
                ElemItems::Expressions { ops, .. }
                    if matches!(e.mode, ElemMode::Passive)
                        && ops.iter().any(ConstOp::allocates) =>
                {
                    Some(
                        (0..e.items.len())
                            .map(|i| self.elem_item(&e.items, i) as usize)
                            .collect(),
                    )
                }
                _ => None,
            })
            .collect();
        self.dropped_data = module
            .data
            .values()
            .map(|d| matches!(d.mode, DataMode::Active { .. }))
            .collect();
        // Tables with an initializer expression (typed function
        // references) start with its value in every element.
        for (table, init) in &module.table_inits {
            if module.defined_table_index(*table).is_none() {
                continue;
            }
            let value = self.eval_const_expr(init).get_ptr() as *const VMFuncRef;
            let definition = self.table_definition(*table);
            // SAFETY: the definition is valid (VM-1) and describes
            // `current_elements` initialised slots of this instance's table.
            unsafe {
                let len = (*definition).current_elements;
                core::slice::from_raw_parts_mut((*definition).base, len).fill(value);
            }
        }
        for (_, elem) in module.elems.iter() {
            let ElemMode::Active { table, offset } = &elem.mode else {
                continue;
            };
            // A table with an image holds its segments as pending slots,
            // all checked in bounds when the image was made.
            if let Some(def) = module.defined_table_index(*table)
                && self.tables[def].lazy_mut().is_some()
            {
                continue;
            }
            let value = self.eval_const_expr(offset);
            let Some(start) = index_value(value, module.tables[*table].table64) else {
                return Err(Trap::TableOutOfBounds);
            };
            let def = self.table_definition(*table);
            // SAFETY: the definition pointer is valid (VM-1).
            let len = unsafe { (*def).current_elements };
            // The whole range is checked before anything changes: a segment
            // out of bounds leaves the table as the earlier ones made it
            // (pending slots of its owner's image included).
            if start
                .checked_add(elem.items.len())
                .is_none_or(|end| end > len)
            {
                return Err(Trap::TableOutOfBounds);
            }
            // An imported table may have pending slots in its owner: the
            // ones written here are no longer pending.
            self.table_written(*table, start, elem.items.len());
            // SAFETY: the definition describes `current_elements`
            // initialised slots, and the range is inside them.
            unsafe {
                let slots = (*def).base.add(start);
                match &elem.items {
                    ElemItems::Functions(funcs) => {
                        // An index past the module's functions (only in
                        // metadata that bypassed validation) becomes null.
                        let n = module.functions.len();
                        for (i, f) in funcs.iter().enumerate() {
                            *slots.add(i) = match f.expand() {
                                Some(f) if f.index() < n => self.func_ref(f),
                                _ => core::ptr::null(),
                            };
                        }
                    }
                    items => {
                        for i in 0..items.len() {
                            *slots.add(i) = self.elem_item(items, i);
                        }
                    }
                }
            }
        }
        for (_, data) in module.data.iter() {
            let DataMode::Active { memory, offset } = &data.mode else {
                continue;
            };
            // A memory image holds every active segment of its memory,
            // checked in bounds when the image was made.
            if module.defined_memory_index(*memory).is_some_and(
                |def| matches!(&self.memories[def], DefinedMemory::Owned(m) if m.is_imaged()),
            ) {
                continue;
            }
            let value = self.eval_const_expr(offset);
            let Some(start) = index_value(value, module.memories[*memory].memory64) else {
                return Err(Trap::MemoryOutOfBounds);
            };
            let def = self.memory_definition(*memory);
            // SAFETY: the definition is valid (VM-1) and its first
            // `current_length` bytes are accessible (VM-2).
            unsafe {
                let len = (*def).current_length;
                if start
                    .checked_add(data.data.len())
                    .is_none_or(|end| end > len)
                {
                    return Err(Trap::MemoryOutOfBounds);
                }
                core::ptr::copy_nonoverlapping(
                    data.data.as_ptr(),
                    (*def).base.add(start),
                    data.data.len(),
                );
            }
        }
        if self.const_alloc_failed.get() {
            return Err(Trap::AllocationTooLarge);
        }
        Ok(())
    }

    /// The value of item `i` of an element segment: a `VMFuncRef` pointer
    /// for funcref segments, the raw reference otherwise (null for
    /// `ref.null` and past the end).
    pub fn elem_item(&self, items: &ElemItems, i: usize) -> *const VMFuncRef {
        match items {
            ElemItems::Functions(funcs) => match funcs.get(i).and_then(|f| f.expand()) {
                Some(f) => self.func_ref(f),
                None => core::ptr::null(),
            },
            ElemItems::Expressions { .. } => {
                self.eval_const_ops(items.expression(i)).get_ptr() as *const VMFuncRef
            }
        }
    }

    /// The items of element segment `index`, or `None` once dropped (or
    /// for an index the module does not have).
    pub fn elem_segment(&self, index: ElemIndex) -> Option<&ElemItems> {
        match self.dropped_elems.get(index.index()) {
            Some(false) => self.module.elems.get(index).map(|e| &e.items),
            _ => None,
        }
    }

    /// The bytes of data segment `index`, or none once dropped.
    pub fn data_segment(&self, index: DataIndex) -> &[u8] {
        match self.dropped_data.get(index.index()) {
            Some(false) => &self.module.data[index].data,
            _ => &[],
        }
    }

    /// [`elem.drop`](https://webassembly.github.io/spec/core/exec/instructions.html#exec-elem-drop).
    pub fn drop_elem(&mut self, index: ElemIndex) {
        if let Some(d) = self.dropped_elems.get_mut(index.index()) {
            *d = true;
        }
        if let Some(v) = self.elem_values.get_mut(index.index()) {
            *v = None;
        }
    }

    /// Item `i` of element segment `index` (null once dropped or out of
    /// range): its value from instantiation when its expressions allocate,
    /// else evaluated now.
    pub fn segment_item(&self, index: ElemIndex, i: usize) -> *const VMFuncRef {
        if let Some(Some(values)) = self.elem_values.get(index.index()) {
            return values
                .get(i)
                .map_or(core::ptr::null(), |v| *v as *const VMFuncRef);
        }
        match self.elem_segment(index) {
            Some(items) if i < items.len() => self.elem_item(items, i),
            _ => core::ptr::null(),
        }
    }

    /// [`data.drop`](https://webassembly.github.io/spec/core/exec/instructions.html#exec-data-drop).
    pub fn drop_data(&mut self, index: DataIndex) {
        if let Some(d) = self.dropped_data.get_mut(index.index()) {
            *d = true;
        }
    }

    /// Grow table `index` (defined or imported) by `delta` elements set to
    /// `init`, asking `store` first (see [`Instance::defined_table_grow`]).
    ///
    /// # Errors
    ///
    /// [`StoreTrap`] if the store's limiter failed the growth.
    pub fn table_grow(
        &mut self,
        index: TableIndex,
        delta: u64,
        init: *const VMFuncRef,
        store: Option<&mut dyn VMStore>,
    ) -> Result<Option<u64>, StoreTrap> {
        let (owner, def) = self.table_owner(index);
        // SAFETY: the owner is a live instance of the same store (VM-1).
        unsafe { (*owner).defined_table_grow(def, delta, init, store) }
    }

    /// Slot `i` of table `index` (defined or imported), which must be in
    /// bounds: its value, after initializing it if it was pending (see
    /// [`crate::TableImage`]). Null when `i` is out of bounds.
    pub fn table_get_lazy(&mut self, index: TableIndex, i: usize) -> *const VMFuncRef {
        let (owner, def) = self.table_owner(index);
        // SAFETY: the owner is a live instance of the same store (VM-1),
        // borrowed exclusively with it (VM-5).
        unsafe { (*owner).defined_table_get(def, i) }.unwrap_or(core::ptr::null())
    }

    /// Slot `i` of defined table `index`, after initializing it if it was
    /// pending, or `None` when out of bounds.
    pub fn defined_table_get(
        &mut self,
        index: DefinedTableIndex,
        i: usize,
    ) -> Option<*const VMFuncRef> {
        let table = self.tables.get_mut(index)?;
        if i >= table.len() {
            return None;
        }
        let slot = table.base().wrapping_add(i);
        // SAFETY: `i < len`: the slot is initialised memory of the table.
        let value = unsafe { *slot };
        if !value.is_null() {
            return Some(value);
        }
        let func = table.lazy_mut().and_then(|lazy| lazy.take(i));
        Some(match func {
            Some(func) => {
                let func_ref = self.func_ref(func);
                // SAFETY: as above; the table did not move since.
                unsafe { *slot = func_ref };
                func_ref
            }
            None => value,
        })
    }

    /// Record that slots `start..start + len` of table `index` (defined or
    /// imported) were written: none of them is pending any more.
    pub fn table_written(&mut self, index: TableIndex, start: usize, len: usize) {
        let (owner, def) = self.table_owner(index);
        // SAFETY: as in `table_get_lazy`.
        let owner = unsafe { &mut *owner };
        if let Some(lazy) = owner.tables.get_mut(def).and_then(Table::lazy_mut) {
            lazy.clear(start, len);
        }
    }

    /// Initialize the pending slots among `start..start + len` of table
    /// `index` (defined or imported), so that the range can be copied as
    /// raw slots. The range must be in bounds.
    pub fn table_materialize(&mut self, index: TableIndex, start: usize, len: usize) {
        let (owner, def) = self.table_owner(index);
        // SAFETY: as in `table_get_lazy`.
        let owner = unsafe { &mut *owner };
        let Some(image_len) = owner
            .tables
            .get_mut(def)
            .and_then(Table::lazy_mut)
            .map(|lazy| lazy.len())
        else {
            return;
        };
        for i in start..start.saturating_add(len).min(image_len) {
            owner.defined_table_get(def, i);
        }
    }

    /// The store context this instance was created with.
    pub fn store_context(&self) -> *mut VMStoreContext {
        // SAFETY: the field was written by `init_vmctx`.
        unsafe { *self.field::<*mut VMStoreContext>(VMOffsets::STORE_CONTEXT) }
    }

    /// The instance owning the VMContext `vmctx`.
    ///
    /// # Safety
    ///
    /// `vmctx` must be the VMContext of a live instance (VM-1), and the
    /// caller must not create aliasing mutable references to it.
    pub unsafe fn from_vmctx<'a>(vmctx: *mut u8) -> &'a mut Instance {
        // SAFETY: per the caller's contract; the INSTANCE field was written
        // by `init_vmctx`.
        unsafe {
            debug_assert_eq!(*vmctx.cast::<u32>(), VMCONTEXT_MAGIC);
            &mut **vmctx
                .add(VMOffsets::INSTANCE as usize)
                .cast::<*mut Instance>()
        }
    }

    /// The module's metadata.
    pub fn module(&self) -> &Arc<Module> {
        &self.module
    }

    /// The VMContext pointer compiled code receives.
    pub fn vmctx(&self) -> *mut u8 {
        self.vmctx.as_ptr()
    }

    /// The function reference of function `index`, built first if it is
    /// not yet: what the runtime hands out (a table slot, a global, an
    /// export, `ref.func`); its address is the reference's identity.
    ///
    /// # Panics
    ///
    /// If `index` is not a function of the module (a keel bug).
    pub fn func_ref(&self, index: FuncIndex) -> *const VMFuncRef {
        let func_ref = self.field::<VMFuncRef>(self.offsets.func_ref(index));
        if let Some(def) = self.module.defined_func_index(index) {
            self.build_func_ref(index, def);
        }
        func_ref
    }

    /// Write the reference of function `index`, defined as `def`: every time it is
    /// handed out, with the same contents each time (so its address stays
    /// its identity), since the field starts uninitialized.
    ///
    /// The module's code was checked against it when the module was
    /// created ([`CodeMemory::check_module`]), so every lookup succeeds;
    /// were one to fail (a keel bug), the reference is written with null
    /// entries, which `call_indirect`'s type check and `Func::call` never
    /// reach because its type is still the function's.
    fn build_func_ref(&self, index: FuncIndex, def: keel_translate::DefinedFuncIndex) {
        let ty = self.module.functions[index];
        let code = self.code.as_ref();
        let wasm_call = match &self.lazy {
            Some(lazy) => lazy.wasm_call(def),
            None => code
                .and_then(|code| {
                    code.text()
                        .functions
                        .get(def)
                        .and_then(|loc| code.resolve(*loc))
                })
                .unwrap_or(core::ptr::null()),
        };
        debug_assert!(!wasm_call.is_null(), "function {index:?} has no code");
        // Only escaped functions can be called through `array_call`; the
        // others have no trampoline.
        let array_call = code
            .and_then(|code| {
                code.text()
                    .array_to_wasm_trampoline(ty)
                    .and_then(|loc| code.resolve(loc))
            })
            // SAFETY: the trampoline at this location has the array-call
            // signature (keel-compile's abi).
            .map(|entry| unsafe { core::mem::transmute::<*const u8, crate::VMArrayCallFn>(entry) });
        let func_ref = VMFuncRef {
            array_call,
            wasm_call,
            vmctx: self.vmctx.as_ptr(),
            type_index: self.type_ids[ty.index()],
        };
        // SAFETY: the field is function `index`'s `VMFuncRef` (VM-3).
        // Nothing reads it while it is written: the store is borrowed
        // exclusively by the builtin or the host call writing it (VM-5),
        // and wasm frames that hold its address are suspended in that
        // call; when it was written before, the contents are the same.
        unsafe {
            self.field::<VMFuncRef>(self.offsets.func_ref(index))
                .write(func_ref)
        };
    }

    /// Point the reference of defined function `def` at `wasm_call`
    /// (lazy compilation: the code once `def` is compiled), leaving its
    /// other fields as they are.
    ///
    /// # Safety
    ///
    /// `wasm_call` must be an entry of `def` with its signature, and no
    /// other thread may use this instance's store meanwhile (VM-5).
    pub(crate) unsafe fn set_func_ref_wasm_call(
        &self,
        def: DefinedFuncIndex,
        wasm_call: *const u8,
    ) {
        let index = self.module.func_index(def);
        let func_ref = self.field::<VMFuncRef>(self.offsets.func_ref(index));
        // SAFETY: the field is function `index`'s `VMFuncRef` (VM-3); per
        // the contract nothing reads it meanwhile, and wasm code that reads
        // it later finds either entry valid.
        unsafe { (&raw mut (*func_ref).wasm_call).write(wasm_call) };
    }

    /// The module's lazily compiled code, if it is compiled lazily.
    pub fn lazy_code(&self) -> Option<&Arc<LazyCode>> {
        self.lazy.as_ref()
    }

    /// The definition of global `index` (this instance's or the imported one).
    pub fn global_ptr(&self, index: GlobalIndex) -> *mut VMGlobalDefinition {
        match self.module.defined_global_index(index) {
            Some(def) => self.field(self.offsets.defined_global(def)),
            // SAFETY: the import slot holds a valid pointer (written in
            // `init_vmctx`).
            None => unsafe {
                *self.field::<*mut VMGlobalDefinition>(self.offsets.imported_global(index))
            },
        }
    }

    /// The definition of tag `index` (this instance's or the imported one):
    /// the tag's identity.
    pub fn tag_ptr(&self, index: TagIndex) -> *const crate::VMTagDefinition {
        match self.module.defined_tag_index(index) {
            Some(def) => self.field(self.offsets.defined_tag(def)),
            // SAFETY: the import slot holds a valid pointer (written in
            // `init_vmctx`).
            None => unsafe {
                *self.field::<*const crate::VMTagDefinition>(self.offsets.imported_tag(index))
            },
        }
    }

    /// [`tag_ptr`](Self::tag_ptr) of the instance whose VMContext is
    /// `vmctx`, through a shared reference (the unwinder asks while a
    /// builtin of another frame may hold the instance mutably).
    ///
    /// # Safety
    ///
    /// `vmctx` must be a live instance's VMContext and `index` one of its
    /// module's tags.
    pub unsafe fn tag_ptr_of_vmctx(
        vmctx: *mut u8,
        index: TagIndex,
    ) -> *const crate::VMTagDefinition {
        // SAFETY: per the contract the back pointer is the live instance.
        let instance = unsafe {
            &*(*vmctx
                .add(VMOffsets::INSTANCE as usize)
                .cast::<*const Instance>())
        };
        if index.as_u32() as usize >= instance.module.tags.len() {
            return core::ptr::null();
        }
        instance.tag_ptr(index)
    }

    /// The definition of memory `index`.
    pub fn memory_definition(&self, index: MemoryIndex) -> *mut VMMemoryDefinition {
        match self.module.defined_memory_index(index) {
            Some(def) => match &self.memories[def] {
                DefinedMemory::Owned(_) => self.field(self.offsets.defined_memory(def)),
                DefinedMemory::Shared(m) => m.definition(),
            },
            None => self.imported_memories[index.index()].definition,
        }
    }

    /// The shared memory behind memory `index` (defined or imported), if
    /// it is one.
    pub fn shared_memory(&self, index: MemoryIndex) -> Option<&SharedMemory> {
        match self.module.defined_memory_index(index) {
            Some(def) => match self.memories.get(def)? {
                DefinedMemory::Shared(m) => Some(m),
                DefinedMemory::Owned(_) => None,
            },
            None => self.imported_memories.get(index.index())?.shared.as_ref(),
        }
    }

    /// The definition of table `index`.
    pub fn table_definition(&self, index: TableIndex) -> *mut VMTableDefinition {
        match self.module.defined_table_index(index) {
            Some(def) => self.field(self.offsets.defined_table(def)),
            None => self.imported_tables[index.index()].definition,
        }
    }

    /// The owner and definition index of memory `index`.
    pub fn memory_owner(&mut self, index: MemoryIndex) -> (*mut Instance, DefinedMemoryIndex) {
        match self.module.defined_memory_index(index) {
            Some(def) => (self as *mut Instance, def),
            None => {
                let m = &self.imported_memories[index.index()];
                (m.owner, m.index)
            }
        }
    }

    /// The owner and definition index of table `index`.
    pub fn table_owner(&mut self, index: TableIndex) -> (*mut Instance, DefinedTableIndex) {
        match self.module.defined_table_index(index) {
            Some(def) => (self as *mut Instance, def),
            None => {
                let t = self.imported_tables[index.index()];
                (t.owner, t.index)
            }
        }
    }

    /// Grow defined memory `index` by `delta_pages`: `Ok(Some(old size in
    /// pages))`, or `Ok(None)` if it cannot grow (`memory.grow` returns
    /// -1). `store`'s [`VMStore::memory_growing`] is asked first (sizes in
    /// bytes, as Wasmtime's `ResourceLimiter`), and told of a failure
    /// through [`VMStore::memory_grow_failed`]; growth by 0 always
    /// succeeds without asking.
    ///
    /// # Errors
    ///
    /// [`StoreTrap`] if the store failed the growth with an error.
    pub fn defined_memory_grow(
        &mut self,
        index: DefinedMemoryIndex,
        delta_pages: u64,
        store: Option<&mut dyn VMStore>,
    ) -> Result<Option<u64>, StoreTrap> {
        let ty = self.module.memories[self.module.memory_index(index)];
        if index.index() >= self.memories.len() {
            return Ok(None);
        }
        // The definition compiled code reads (inline for an owned memory).
        let def: *mut VMMemoryDefinition = self.field(self.offsets.defined_memory(index));
        let memory = match self.memories.get_mut(index) {
            Some(DefinedMemory::Owned(memory)) => memory,
            Some(DefinedMemory::Shared(memory)) => {
                let memory = memory.clone();
                return shared_memory_grow(&memory, delta_pages, store);
            }
            None => return Ok(None),
        };
        let (size, current, maximum_pages) = (
            memory.size_pages(),
            memory.current_length(),
            memory.maximum_pages(),
        );
        grow_with_limiter(
            &ty,
            size,
            current,
            maximum_pages,
            delta_pages,
            store,
            || {
                let old = memory.grow(delta_pages)?;
                if old.is_some() {
                    // SAFETY: the definition field is in this VMContext
                    // (checked by `field`); a movable memory may have a new
                    // base (VM-2).
                    unsafe {
                        (*def).base = memory.base();
                        (*def).current_length = memory.current_length();
                    }
                }
                Ok(old)
            },
        )
    }

    /// Grow memory `index` (defined or imported) by `delta_pages` (see
    /// [`Instance::defined_memory_grow`]).
    ///
    /// # Errors
    ///
    /// [`StoreTrap`] if the store failed the growth with an error.
    pub fn memory_grow(
        &mut self,
        index: MemoryIndex,
        delta_pages: u64,
        store: Option<&mut dyn VMStore>,
    ) -> Result<Option<u64>, StoreTrap> {
        if self.module.defined_memory_index(index).is_none()
            && let Some(shared) = &self.imported_memories[index.index()].shared
        {
            let shared = shared.clone();
            return shared_memory_grow(&shared, delta_pages, store);
        }
        let (owner, def) = self.memory_owner(index);
        // SAFETY: the owner is a live instance of the same store (VM-1).
        unsafe { (*owner).defined_memory_grow(def, delta_pages, store) }
    }

    /// The engine-wide ids of the module's types, by type index.
    pub fn type_ids(&self) -> &[SharedTypeIndex] {
        &self.type_ids
    }

    /// The defined memory `index`, unless it is shared (see
    /// [`Instance::shared_memory`]).
    pub fn defined_memory(&self, index: DefinedMemoryIndex) -> Option<&LinearMemory> {
        match self.memories.get(index)? {
            DefinedMemory::Owned(m) => Some(m),
            DefinedMemory::Shared(_) => None,
        }
    }

    /// Grow defined table `index` by `delta` elements set to `init`:
    /// `Ok(Some(old size))`, or `Ok(None)` past its declared maximum, keel's
    /// limits ([`MAX_TABLE_ELEMENTS`], [`MAX_INSTANCE_TABLE_ELEMENTS`]) or
    /// when memory runs out (`table.grow` returns -1). `store` is asked and
    /// told as in [`Instance::defined_memory_grow`], in elements.
    ///
    /// # Errors
    ///
    /// [`StoreTrap`] if the store failed the growth with an error.
    pub fn defined_table_grow(
        &mut self,
        index: DefinedTableIndex,
        delta: u64,
        init: *const VMFuncRef,
        mut store: Option<&mut dyn VMStore>,
    ) -> Result<Option<u64>, StoreTrap> {
        let declared_max = self.module.tables[self.module.table_index(index)]
            .limits
            .max;
        let Some(table) = self.tables.get_mut(index) else {
            return Ok(None);
        };
        let current = table.len();
        if delta == 0 {
            return Ok(Some(current as u64));
        }
        let desired = usize::try_from((current as u64).saturating_add(delta)).unwrap_or(usize::MAX);
        let maximum = declared_max.and_then(|m| usize::try_from(m).ok());
        if let Some(store) = store.as_deref_mut()
            && !store.table_growing(current, desired, maximum)?
        {
            return Ok(None);
        }
        let error = if self.table_elements.saturating_add(delta) > MAX_INSTANCE_TABLE_ELEMENTS {
            VmError::ImplLimit(format!(
                "growing a table by {delta} elements would exceed keel's limit of \
                 {MAX_INSTANCE_TABLE_ELEMENTS} elements for the tables of one instance"
            ))
        } else if declared_max.is_some_and(|m| desired as u64 > m) {
            VmError::ExceedsMaximum(format!(
                "table maximum size of {} elements exceeded",
                declared_max.unwrap_or(0)
            ))
        } else if desired as u64 > MAX_TABLE_ELEMENTS {
            VmError::ImplLimit(format!(
                "{desired} table elements exceed keel's limit of {MAX_TABLE_ELEMENTS}"
            ))
        } else {
            // Growing may fail (`table.grow` returns -1, see
            // <https://webassembly.github.io/spec/core/exec/instructions.html#exec-table-grow>);
            // it must not abort the host.
            match table.grow(delta, init, declared_max.unwrap_or(u64::MAX)) {
                Some(old) => {
                    let (base, len) = (table.base(), table.len());
                    self.table_elements += delta;
                    let def: *mut VMTableDefinition = self.field(self.offsets.defined_table(index));
                    // SAFETY: the definition field is in this VMContext
                    // (checked by `field`).
                    unsafe {
                        (*def).base = base;
                        (*def).current_elements = len;
                    }
                    return Ok(Some(old as u64));
                }
                None => VmError::OutOfMemory {
                    what: "table elements",
                    bytes: desired.saturating_mul(core::mem::size_of::<usize>()),
                },
            }
        };
        if let Some(store) = store {
            store.table_grow_failed(error)?;
        }
        Ok(None)
    }

    /// Visit every GC reference (null ones included) this instance
    /// defines: the values of its globals and the elements of its tables
    /// of reference types the collector traces
    /// ([`is_gc_ref`](keel_translate::gc_layout::is_gc_ref); imported ones are visited through the instance
    /// defining them).
    pub fn trace_gc_roots(&self, visit: &mut dyn FnMut(usize)) {
        use keel_translate::gc_layout::is_gc_ref;
        let module = &*self.module;
        for (index, global) in module
            .globals
            .iter()
            .skip(module.num_imported_globals as usize)
        {
            if is_gc_ref(global.ty.content) {
                // SAFETY: a defined global's definition lives in this
                // VMContext, 16-byte aligned; compiled code stores a
                // reference as a native pointer in its first bytes.
                visit(unsafe { *self.global_ptr(index).cast::<usize>() });
            }
        }
        for values in self.elem_values.iter().flatten() {
            for v in values.iter() {
                visit(*v);
            }
        }
        for (def, table) in self.tables.iter() {
            if !is_gc_ref(module.tables[module.table_index(def)].element) {
                continue;
            }
            for i in 0..table.len() {
                // SAFETY: `i < len`: an initialized slot of the table.
                visit(unsafe { *table.base().add(i) } as usize);
            }
        }
    }

    /// The element type of table `index`.
    pub fn table_element_type(&self, index: TableIndex) -> WasmValType {
        self.module.tables[index].element
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        // SAFETY: allocated in `new` with this layout; nothing refers to
        // the VMContext once its owning store drops the instance.
        unsafe { alloc::alloc::dealloc(self.vmctx.as_ptr(), self.vmctx_layout) };
    }
}

/// The evaluation stack of constant expressions.
mod smallstack {
    use crate::ValRaw;
    use alloc::vec::Vec;

    const INLINE: usize = 8;

    /// A stack that lives inline up to 8 values.
    pub(super) struct Stack {
        inline: [ValRaw; INLINE],
        len: usize,
        spill: Vec<ValRaw>,
    }

    impl Stack {
        pub(super) fn new() -> Self {
            Self {
                inline: [ValRaw::default(); INLINE],
                len: 0,
                spill: Vec::new(),
            }
        }

        pub(super) fn push(&mut self, v: ValRaw) {
            if self.len < INLINE {
                self.inline[self.len] = v;
            } else {
                self.spill.push(v);
            }
            self.len += 1;
        }

        /// The top value; zero on an empty stack (validation rules it out).
        pub(super) fn pop(&mut self) -> ValRaw {
            match self.len {
                0 => ValRaw::default(),
                n if n > INLINE => {
                    self.len -= 1;
                    self.spill.pop().unwrap_or_default()
                }
                n => {
                    self.len -= 1;
                    self.inline[n - 1]
                }
            }
        }
    }
}

/// A segment offset of an `i32` (or, for 64-bit memories and tables,
/// `i64`) index type as a host index; `None` past the address space.
fn index_value(value: ValRaw, index64: bool) -> Option<usize> {
    if index64 {
        usize::try_from(value.get_i64() as u64).ok()
    } else {
        Some(value.get_i32() as u32 as usize)
    }
}

/// Grow shared memory `memory` as [`Instance::defined_memory_grow`] grows
/// an instance's own.
fn shared_memory_grow(
    memory: &SharedMemory,
    delta_pages: u64,
    store: Option<&mut dyn VMStore>,
) -> Result<Option<u64>, StoreTrap> {
    let ty = memory.ty();
    let (size, current) = (memory.size_pages(), memory.current_length());
    grow_with_limiter(
        &ty,
        size,
        current,
        ty.max_pages(),
        delta_pages,
        store,
        || memory.grow(delta_pages),
    )
}

/// Growth of a memory of type `ty` (now `size` pages, `current` bytes, at
/// most `maximum_pages`) by `delta_pages` through `grow`: the store's
/// limiter is asked first (sizes in bytes) and told of a failure; growth
/// by 0 always succeeds without asking. `Ok(None)`: `memory.grow` returns
/// -1 (a platform failure included, which is not a trap).
fn grow_with_limiter(
    ty: &keel_translate::MemoryType,
    size: u64,
    current: usize,
    maximum_pages: u64,
    delta_pages: u64,
    mut store: Option<&mut dyn VMStore>,
    grow: impl FnOnce() -> Result<Option<u64>, VmError>,
) -> Result<Option<u64>, StoreTrap> {
    if delta_pages == 0 {
        return Ok(Some(size));
    }
    let desired = ty
        .pages_to_bytes(delta_pages)
        .saturating_add(current as u64);
    let desired = usize::try_from(desired).unwrap_or(usize::MAX);
    let maximum = ty
        .limits
        .max
        .map(|p| ty.pages_to_bytes(p))
        .and_then(|b| usize::try_from(b).ok());
    if let Some(store) = store.as_deref_mut()
        && !store.memory_growing(current, desired, maximum)?
    {
        return Ok(None);
    }
    let error = match grow() {
        Ok(Some(old)) => return Ok(Some(old)),
        Ok(None) => VmError::ExceedsMaximum(format!(
            "memory maximum size of {maximum_pages} pages exceeded"
        )),
        Err(e) => e,
    };
    if let Some(store) = store {
        store.memory_grow_failed(error)?;
    }
    Ok(None)
}
