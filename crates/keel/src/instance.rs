//! [`Instance`] and [`Extern`]:
//! [instantiation](https://webassembly.github.io/spec/core/exec/modules.html#instantiation)
//! and exports.

use crate::func::call_raw;
use crate::handles::StoreId;
use crate::matching::{LinkError, match_import};
use crate::prelude::*;
use crate::resource_limiter::{check_new_memory, check_new_table};
use crate::store::{InstanceData, StoreContextMut, StoreInner, StoreOpaque};
use crate::typed::{TypedFunc, WasmParams, WasmResults};
use crate::types::ExternType;
use crate::{
    AsContext, AsContextMut, Engine, Extern, Func, FuncType, Global, Instance, Memory, Module,
    Result, SharedMemory, Table,
};
use keel_translate::{DisplayName, EntityIndex, EntityRef};
use keel_vm::{ImportedMemory, ImportedTable, Imports, VMFunctionImport, ValRaw};

impl Extern {
    /// The function, if this is one.
    pub fn into_func(self) -> Option<Func> {
        if let Extern::Func(f) = self {
            Some(f)
        } else {
            None
        }
    }

    /// The global, if this is one.
    pub fn into_global(self) -> Option<Global> {
        if let Extern::Global(g) = self {
            Some(g)
        } else {
            None
        }
    }

    /// The table, if this is one.
    pub fn into_table(self) -> Option<Table> {
        if let Extern::Table(t) = self {
            Some(t)
        } else {
            None
        }
    }

    /// The memory, if this is one.
    pub fn into_memory(self) -> Option<Memory> {
        if let Extern::Memory(m) = self {
            Some(m)
        } else {
            None
        }
    }

    /// The tag, if this is one.
    pub fn into_tag(self) -> Option<crate::Tag> {
        if let Extern::Tag(t) = self {
            Some(t)
        } else {
            None
        }
    }

    /// The shared memory, if this is one.
    pub fn into_shared_memory(self) -> Option<SharedMemory> {
        if let Extern::SharedMemory(m) = self {
            Some(m)
        } else {
            None
        }
    }

    /// The entity's type.
    ///
    /// # Panics
    ///
    /// If `store` does not own the entity.
    pub fn ty(&self, store: impl AsContext) -> ExternType {
        self.ty_opaque(&store.as_context().0.opaque)
    }

    pub(crate) fn ty_opaque(&self, store: &StoreOpaque) -> ExternType {
        if let Some(id) = self.store_id() {
            store.check(id);
        }
        match self {
            Extern::Func(f) => ExternType::Func(store.funcs.ty(f.index).clone()),
            Extern::Global(g) => ExternType::Global(g.ty_opaque(store)),
            Extern::Table(t) => ExternType::Table(t.ty_opaque(store)),
            Extern::Memory(m) => ExternType::Memory(m.ty_opaque(store)),
            Extern::SharedMemory(m) => ExternType::Memory(m.ty()),
            Extern::Tag(t) => ExternType::Tag(store.exceptions.tag_type(t.index)),
        }
    }

    /// The store the entity belongs to (`None` for a shared memory).
    fn store_id(&self) -> Option<StoreId> {
        match self {
            Extern::Func(f) => Some(f.store),
            Extern::Global(g) => Some(g.store),
            Extern::Table(t) => Some(t.store),
            Extern::Memory(m) => Some(m.store),
            Extern::Tag(t) => Some(t.store),
            Extern::SharedMemory(_) => None,
        }
    }
}

impl From<Func> for Extern {
    fn from(f: Func) -> Extern {
        Extern::Func(f)
    }
}

impl From<Global> for Extern {
    fn from(g: Global) -> Extern {
        Extern::Global(g)
    }
}

impl From<Table> for Extern {
    fn from(t: Table) -> Extern {
        Extern::Table(t)
    }
}

impl From<Memory> for Extern {
    fn from(m: Memory) -> Extern {
        Extern::Memory(m)
    }
}

impl From<crate::Tag> for Extern {
    fn from(t: crate::Tag) -> Extern {
        Extern::Tag(t)
    }
}

impl From<SharedMemory> for Extern {
    fn from(m: SharedMemory) -> Extern {
        Extern::SharedMemory(m)
    }
}

/// A named export of an instance.
#[derive(Clone, Debug)]
pub struct Export<'a> {
    name: &'a str,
    ext: Extern,
}

impl<'a> Export<'a> {
    /// The export's name.
    pub fn name(&self) -> &'a str {
        self.name
    }

    /// The exported entity.
    pub fn into_extern(self) -> Extern {
        self.ext
    }
}

/// A new instance's imports by kind, each in its index space's order.
#[derive(Default)]
struct ImportedExterns {
    funcs: Vec<Extern>,
    tables: Vec<Extern>,
    memories: Vec<Extern>,
    globals: Vec<Extern>,
    tags: Vec<Extern>,
}

/// An instantiation error as keel reports it: resource failures as the
/// downcastable [`VmError`](crate::VmError) (with the OS error as its
/// source), traps (a constant expression's allocation failing) as the
/// downcastable [`Trap`](crate::Trap), as a segment's trap is.
pub(crate) fn instantiation_error(e: keel_vm::InstantiationError) -> anyhow::Error {
    match e {
        keel_vm::InstantiationError::Resource(e) => anyhow::Error::new(e),
        keel_vm::InstantiationError::Trap(t) => anyhow::Error::new(t),
        e => anyhow::Error::new(e),
    }
}

impl Instance {
    /// Instantiate `module` with `imports`, given in the module's import
    /// order, and run its start function.
    ///
    /// # Errors
    ///
    /// If an import is missing or has the wrong type ("incompatible import
    /// type"), a memory cannot be created, an element or data segment does
    /// not fit (a [`Trap`](crate::Trap)), or the start function traps. When a segment
    /// or the start function traps, the instance's effects on imported
    /// memories and tables remain, as the spec says.
    ///
    /// # Panics
    ///
    /// If an import belongs to another store.
    pub fn new(
        mut store: impl AsContextMut,
        module: &Module,
        imports: &[Extern],
    ) -> Result<Instance> {
        Instance::new_raw(store.as_context_mut().0, module, imports)
    }

    /// As [`Instance::new`], running the start function on a stack of its
    /// own that async host functions and async yields can suspend (see
    /// [`Config::async_support`](crate::Config::async_support)).
    ///
    /// # Errors
    ///
    /// If async support is not enabled, the stack cannot be allocated,
    /// and every error of [`Instance::new`].
    ///
    /// # Panics
    ///
    /// As [`Instance::new`].
    pub async fn new_async(
        mut store: impl AsContextMut<Data: Send>,
        module: &Module,
        imports: &[Extern],
    ) -> Result<Instance> {
        Self::new_raw_async(store.as_context_mut().0, module, imports).await
    }

    /// [`Instance::new_raw`] on a fiber.
    pub(crate) async fn new_raw_async<T: Send>(
        store: &mut StoreInner<T>,
        module: &Module,
        imports: &[Extern],
    ) -> Result<Instance> {
        crate::fiber::ensure_async_support(&store.opaque.engine, "async instantiation")?;
        crate::fiber::on_fiber(store, |store| Instance::new_raw(store, module, imports)).await?
    }

    /// Instantiate (see [`Instance::new`]) and run the start function.
    pub(crate) fn new_raw<T>(
        store: &mut StoreInner<T>,
        module: &Module,
        imports: &[Extern],
    ) -> Result<Instance> {
        Self::check_limits(store, module)?;
        // Constant expressions (`array.new` in a global's initializer or an
        // element segment) allocate in the store's GC heap, which grows
        // without the limiter at hand: for the time of the instantiation
        // the heap is bounded by the limiter's fixed size limit if it has
        // one, and any growth is put to the limiter afterwards.
        let (before, limit) = {
            let heap = store.opaque.exceptions.heap();
            (heap.capacity(), heap.limit())
        };
        if let Some(cap) = store.resource_limiter().and_then(|l| l.memory_size_limit()) {
            store
                .opaque
                .exceptions
                .heap_mut()
                .set_limit(limit.min(cap.max(before)));
        }
        let result = Self::new_without_start(&mut store.opaque, module, imports);
        store.opaque.exceptions.heap_mut().set_limit(limit);
        let (instance, start) = result?;
        let after = store.opaque.exceptions.heap().capacity();
        if after > before
            && let Some(limiter) = store.resource_limiter()
            && !limiter.memory_growing(before, after, Some(limit))?
        {
            anyhow::bail!(
                "instantiation: constant expressions grew the store's GC heap from {before} to \
                 {after} bytes, which the store's resource limiter refused"
            );
        }
        if let Some(func_ref) = start {
            let _span = tracing::debug_span!("start function").entered();
            let mut slots = [ValRaw::default()];
            // SAFETY: the start function takes and returns nothing; its
            // func ref was initialised with the instance, in this store.
            unsafe { call_raw(store, func_ref, &mut slots)? };
        }
        Ok(instance)
    }

    /// Count the instance, its memories and tables against the store's
    /// limits and ask the store's resource limiter (if any) about each
    /// defined memory's and table's minimum.
    fn check_limits<T>(store: &mut StoreInner<T>, module: &Module) -> Result<()> {
        let offsets = &module.inner.offsets;
        store.opaque.resources.bump(
            offsets.num_defined_memories as usize,
            offsets.num_defined_tables as usize,
            1,
        )?;
        if store.limiter.is_none() {
            return Ok(());
        }
        let m = &module.inner.module;
        // Only formatted for an error.
        let name = |kind: &str, index: usize, entity: EntityIndex| {
            let export = m
                .exports
                .iter()
                .find(|(_, e)| *e == entity)
                .map(|(name, _)| format!(" (export \"{}\")", DisplayName(name)))
                .unwrap_or_default();
            format!("{kind} {index}{export}")
        };
        for (index, ty) in m.memories.iter() {
            if m.defined_memory_index(index).is_some() {
                let what = || name("memory", index.index(), EntityIndex::Memory(index));
                check_new_memory(store.resource_limiter(), what, ty)?;
            }
        }
        for (index, ty) in m.tables.iter() {
            if m.defined_table_index(index).is_some() {
                let what = || name("table", index.index(), EntityIndex::Table(index));
                check_new_table(store.resource_limiter(), what, ty.limits.min, ty.limits.max)?;
            }
        }
        Ok(())
    }

    /// Instantiate in four steps (match the imports, allocate the
    /// instance, collect its exports, initialize its tables and memories);
    /// the start function's reference, if the module has one, is returned
    /// for the caller to run.
    fn new_without_start(
        store: &mut StoreOpaque,
        module: &Module,
        imports: &[Extern],
    ) -> Result<(Instance, Option<*const keel_vm::VMFuncRef>)> {
        let _span = tracing::debug_span!("instantiate", imports = imports.len()).entered();
        if !Engine::same(&store.engine, module.engine()) {
            anyhow::bail!("module was compiled by another engine than the store's");
        }
        store.funcs.fill_wasm_calls(&store.engine)?;
        let (vm_imports, imported) = Self::match_imports(store, module, imports)?;
        // The store's GC heap allocates objects of the module's struct
        // and array types.
        for ((_, ty), id) in module
            .inner
            .module
            .types
            .iter()
            .zip(module.inner.type_ids.iter())
        {
            if let Some(layout) = keel_translate::gc_layout::GcTypeLayout::of(&ty.composite) {
                store.exceptions.heap_mut().register_type(*id, layout);
            }
        }
        let handle = Self::allocate(store, module, vm_imports)?;
        let index = store.instances.len();
        store
            .instance_by_vmctx
            .insert(handle.vmctx() as usize, index);
        let exports = Self::collect_exports(store, module, index, &handle, &imported);
        store.instances.push(InstanceData {
            handle,
            _module: Some(module.clone()),
            exports,
        });
        let instance = Instance {
            store: store.id,
            index,
        };
        {
            let _span = tracing::debug_span!("initialize segments").entered();
            store.instances[index]
                .handle
                .initialize_segments()
                .map_err(anyhow::Error::from)?;
        }
        let start = module
            .inner
            .module
            .start
            .map(|start| store.instances[index].handle.func_ref(start));
        Ok((instance, start))
    }

    /// Check each of `imports` against the module's import of the same
    /// position ([`match_import`]) and gather what the new instance's
    /// VMContext points at, with the imports by kind in index order (the
    /// exports that re-export an import are these).
    ///
    /// # Errors
    ///
    /// A [`LinkError`] (the wrong number of imports, or a mismatch, with
    /// the import's name as context), or an import of another engine.
    ///
    /// # Panics
    ///
    /// If an import belongs to another store.
    fn match_imports(
        store: &mut StoreOpaque,
        module: &Module,
        imports: &[Extern],
    ) -> Result<(Imports, ImportedExterns)> {
        let m = &module.inner.module;
        let type_ids = &module.inner.type_ids;
        if imports.len() != m.imports.len() {
            return Err(LinkError::ImportCount {
                expected: m.imports.len(),
                given: imports.len(),
            }
            .into_error());
        }
        let mut vm_imports = Imports::default();
        let mut imported = ImportedExterns::default();
        for (import, ext) in m.imports.iter().zip(imports) {
            match ext.store_id() {
                Some(id) => store.check(id),
                None => {
                    if let Extern::SharedMemory(m) = ext
                        && !m.is_of(&store.engine)
                    {
                        anyhow::bail!("shared memory belongs to another engine than the store's");
                    }
                }
            }
            let expected = ExternType::from_entity(m, type_ids, &import.ty);
            let found = ext.ty_opaque(store);
            let same_type = match (ext, &import.ty) {
                (Extern::Func(f), keel_translate::EntityType::Function(t)) => type_ids
                    .get(t.index())
                    .is_some_and(|t| store.engine.is_subtype(f.type_index(store), *t)),
                (Extern::Tag(tag), keel_translate::EntityType::Tag(t)) => {
                    type_ids.get(t.index()) == Some(&tag.type_index(store))
                }
                _ => true,
            };
            let engine = &store.engine;
            let val_matches = |a, b| engine.val_type_matches(a, b);
            match_import(
                &import.module,
                &import.field,
                &expected,
                &found,
                same_type,
                &val_matches,
            )?;
            match ext {
                Extern::Func(f) => {
                    // SAFETY: the func ref belongs to this store and is live.
                    let fr = unsafe { *store.funcs.func_ref(f.index) };
                    vm_imports.functions.push(VMFunctionImport {
                        // Not a lazily compiled function's `lazy` entry,
                        // which only its own references may hold.
                        wasm_call: keel_vm::LazyCode::import_wasm_call(fr.wasm_call),
                        array_call: fr.array_call,
                        vmctx: fr.vmctx,
                    });
                    imported.funcs.push(ext.clone());
                }
                Extern::Table(t) => {
                    let owner = &mut store.instances[t.instance].handle;
                    let index = owner.module().table_index(t.index);
                    vm_imports.tables.push(ImportedTable {
                        definition: owner.table_definition(index),
                        owner: &mut **owner,
                        index: t.index,
                    });
                    imported.tables.push(ext.clone());
                }
                Extern::Memory(mem) => {
                    let owner = &mut store.instances[mem.instance].handle;
                    let index = owner.module().memory_index(mem.index);
                    vm_imports.memories.push(ImportedMemory {
                        definition: owner.memory_definition(index),
                        owner: &mut **owner,
                        index: mem.index,
                        shared: None,
                    });
                    imported.memories.push(ext.clone());
                }
                Extern::SharedMemory(mem) => {
                    vm_imports.memories.push(ImportedMemory {
                        definition: mem.inner.definition(),
                        owner: core::ptr::null_mut(),
                        index: keel_translate::DefinedMemoryIndex::new(0),
                        shared: Some(mem.inner.clone()),
                    });
                    imported.memories.push(ext.clone());
                }
                Extern::Global(g) => {
                    vm_imports.globals.push(g.definition(store));
                    imported.globals.push(ext.clone());
                }
                Extern::Tag(t) => {
                    vm_imports.tags.push(t.definition(store));
                    imported.tags.push(ext.clone());
                }
            }
        }
        Ok((vm_imports, imported))
    }

    /// Create the instance's VMContext, memories and tables.
    ///
    /// # Errors
    ///
    /// If a memory or table cannot be reserved (a [`VmError`](crate::VmError)).
    fn allocate(
        store: &mut StoreOpaque,
        module: &Module,
        vm_imports: Imports,
    ) -> Result<keel_vm::InstanceHandle> {
        let _span = tracing::debug_span!("allocate").entered();
        // SAFETY: the imports were type-checked against the module
        // (`match_imports`) and point into instances and host contexts of
        // this store, which live as long as the new instance (VM-1); the
        // store context is the store's own allocation; `code` is this
        // module's compilation.
        unsafe {
            keel_vm::Instance::new(
                module.inner.module.clone(),
                module.inner.offsets.clone(),
                keel_vm::InstanceCode {
                    code: module.inner.code.clone(),
                    lazy: module.inner.lazy.clone(),
                },
                module.inner.type_ids.clone(),
                vm_imports,
                store.store_context.as_ptr(),
                keel_vm::MemorySetup {
                    tunables: &store.engine.config().memory,
                    images: &module.inner.memory_images,
                    table_images: &module.inner.table_images,
                    pool: store.engine.inner.pool.as_ref(),
                    gc_heap: store.exceptions.heap_mut(),
                },
            )
        }
        .map_err(instantiation_error)
    }

    /// The new instance's exports, by name: imports re-exported as they
    /// were given, definitions as new handles (a function that already has
    /// a handle in the store keeps it).
    fn collect_exports(
        store: &mut StoreOpaque,
        module: &Module,
        index: usize,
        handle: &keel_vm::InstanceHandle,
        imported: &ImportedExterns,
    ) -> Vec<(String, Extern)> {
        let m = &module.inner.module;
        let mut exports = Vec::with_capacity(m.exports.len());
        for (name, entity) in &m.exports {
            let ext = match *entity {
                EntityIndex::Function(f) => match m.defined_func_index(f) {
                    None => imported.funcs[f.index()].clone(),
                    Some(_) => {
                        let fr = handle.func_ref(f);
                        match store.funcs.by_func_ref(fr) {
                            Some(func) => Extern::Func(func),
                            None => Extern::Func(Func::register(
                                store,
                                fr,
                                FuncType::from_wasm(m.func_type(f).map_type_refs(|r| {
                                    crate::types::engine_type_ref(&module.inner.type_ids, r)
                                })),
                            )),
                        }
                    }
                },
                EntityIndex::Table(t) => match m.defined_table_index(t) {
                    None => imported.tables[t.index()].clone(),
                    Some(d) => Extern::Table(Table::from_parts(store.id, index, d)),
                },
                EntityIndex::Memory(mi) => match m.defined_memory_index(mi) {
                    None => imported.memories[mi.index()].clone(),
                    Some(d) => match handle.shared_memory(mi) {
                        Some(shared) => Extern::SharedMemory(SharedMemory {
                            inner: shared.clone(),
                            engine: store.engine.clone(),
                        }),
                        None => Extern::Memory(Memory::from_parts(store.id, index, d)),
                    },
                },
                EntityIndex::Global(g) => match m.defined_global_index(g) {
                    None => imported.globals[g.index()].clone(),
                    Some(d) => Extern::Global(Global::from_parts(store.id, index, d)),
                },
                EntityIndex::Tag(t) => match m.defined_tag_index(t) {
                    None => imported.tags[t.index()].clone(),
                    Some(_) => Extern::Tag(crate::Tag::from_def(store, handle.tag_ptr(t))),
                },
            };
            exports.push((name.clone(), ext));
        }
        exports
    }

    /// The export called `name`, if any.
    ///
    /// # Panics
    ///
    /// If `store` does not own this instance.
    pub fn get_export(&self, mut store: impl AsContextMut, name: &str) -> Option<Extern> {
        let store = &store.as_context_mut().0.opaque;
        store.check(self.store);
        store.instances[self.index]
            .exports
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, e)| e.clone())
    }

    /// The instance of `store` whose code `frame` (of a trap's
    /// [`WasmBacktrace`](crate::WasmBacktrace)) ran in, if `store` holds
    /// exactly one instance of the frame's module; `None` when it holds
    /// none or several (a frame records its module, not which instance
    /// of it the code ran for). An instance whose instantiation trapped
    /// in its start function counts: it stays in its store.
    pub fn of_frame(store: impl AsContext, frame: &crate::FrameInfo) -> Option<Instance> {
        let store = store.as_context();
        let opaque = &store.0.opaque;
        let mut found = None;
        for (index, data) in opaque.instances.iter().enumerate() {
            if data._module.is_none()
                || alloc::sync::Arc::as_ptr(data.handle.module()) as usize != frame.module_id
            {
                continue;
            }
            if found.is_some() {
                return None;
            }
            found = Some(Instance {
                store: opaque.id,
                index,
            });
        }
        found
    }

    /// The exported function `name`.
    pub fn get_func(&self, store: impl AsContextMut, name: &str) -> Option<Func> {
        self.get_export(store, name)?.into_func()
    }

    /// The exported function `name` with a Rust signature.
    ///
    /// # Errors
    ///
    /// If there is no such function export or its type is not `P -> R`.
    pub fn get_typed_func<P: WasmParams, R: WasmResults>(
        &self,
        mut store: impl AsContextMut,
        name: &str,
    ) -> Result<TypedFunc<P, R>> {
        let f = self
            .get_func(&mut store, name)
            .ok_or_else(|| anyhow::anyhow!("no exported function named `{name}`"))?;
        f.typed(&store)
    }

    /// The exported memory `name`.
    pub fn get_memory(&self, store: impl AsContextMut, name: &str) -> Option<Memory> {
        self.get_export(store, name)?.into_memory()
    }

    /// The exported shared memory `name` (threads).
    pub fn get_shared_memory(&self, store: impl AsContextMut, name: &str) -> Option<SharedMemory> {
        self.get_export(store, name)?.into_shared_memory()
    }

    /// The exported global `name`.
    pub fn get_global(&self, store: impl AsContextMut, name: &str) -> Option<Global> {
        self.get_export(store, name)?.into_global()
    }

    /// The exported tag `name` (exception handling).
    pub fn get_tag(&self, store: impl AsContextMut, name: &str) -> Option<crate::Tag> {
        self.get_export(store, name)?.into_tag()
    }

    /// The exported table `name`.
    pub fn get_table(&self, store: impl AsContextMut, name: &str) -> Option<Table> {
        self.get_export(store, name)?.into_table()
    }

    /// All exports, in the module's order.
    ///
    /// # Panics
    ///
    /// If `store` does not own this instance.
    pub fn exports<'a, T: 'a>(
        &self,
        store: impl Into<StoreContextMut<'a, T>>,
    ) -> impl ExactSizeIterator<Item = Export<'a>> + 'a {
        let store: StoreContextMut<'a, T> = store.into();
        let opaque = &store.0.opaque;
        opaque.check(self.store);
        opaque.instances[self.index]
            .exports
            .iter()
            .map(|(name, ext)| Export {
                name: name.as_str(),
                ext: ext.clone(),
            })
    }
}
