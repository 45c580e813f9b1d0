//! [`Memory`], [`Table`] and [`Global`] handles.
//!
//! Each is a definition inside some instance of the store. Host-created
//! ones ([`Memory::new`], ...) live in a small instance of their own whose
//! module defines just that entity.

use crate::handles::StoreId;
use crate::prelude::*;
use crate::resource_limiter::{check_new_memory, check_new_table};
use crate::store::{InstanceData, StoreContext, StoreContextMut, StoreOpaque};
use crate::{
    AsContext, AsContextMut, Global, GlobalType, Memory, MemoryType, Ref, Result, Table, TableType,
    Val, ValType,
};
use alloc::sync::Arc;
use keel_translate::{
    DefinedGlobalIndex, DefinedMemoryIndex, DefinedTableIndex, EntityRef, Global as GlobalDef,
    VMOffsets,
};
use keel_vm::{Imports, StoreTrap, VMFuncRef, VMGlobalDefinition, ValRaw};

/// Create a single-entity instance for a host-created memory, table or
/// global; returns its index in the store.
fn host_instance(store: &mut StoreOpaque, module: keel_translate::Module) -> Result<usize> {
    let offsets = VMOffsets::new(&module)?;
    // SAFETY: the module has no imports and no functions, so no code is
    // needed; the store context lives in the store (VM-1).
    let handle = unsafe {
        keel_vm::Instance::new(
            Arc::new(module),
            offsets,
            keel_vm::InstanceCode::default(),
            Arc::from(Vec::new()),
            Imports::default(),
            store.store_context.as_ptr(),
            keel_vm::MemorySetup {
                tunables: &store.engine.config().memory,
                images: &keel_vm::MemoryImages::new(),
                table_images: &keel_vm::TableImages::new(),
                pool: None,
                gc_heap: store.exceptions.heap_mut(),
            },
        )
    }
    .map_err(crate::instance::instantiation_error)?;
    store.instances.push(InstanceData {
        handle,
        _module: None,
        exports: Vec::new(),
    });
    Ok(store.instances.len() - 1)
}

impl Memory {
    pub(crate) fn from_parts(store: StoreId, instance: usize, index: DefinedMemoryIndex) -> Self {
        Self {
            store,
            instance,
            index,
        }
    }

    /// A new memory of type `ty` in `store`, zero-filled.
    ///
    /// # Errors
    ///
    /// If the minimum exceeds the maximum or 4 GiB, or the memory cannot
    /// be reserved.
    pub fn new(mut store: impl AsContextMut, ty: MemoryType) -> Result<Memory> {
        let inner = store.as_context_mut().0;
        if ty.0.shared {
            anyhow::bail!("a shared memory type: create it with `SharedMemory::new`");
        }
        if !matches!(ty.0.page_size_log2, 0 | 16) {
            anyhow::bail!(
                "memory page size of 2^{} bytes: only 1 and 65536 are supported",
                ty.0.page_size_log2
            );
        }
        check_new_memory(inner.resource_limiter(), || "memory".into(), &ty.0)?;
        inner.opaque.resources.bump(1, 0, 0)?;
        let store = &mut inner.opaque;
        let mut module = keel_translate::Module::default();
        module.memories.push(ty.0);
        let instance = host_instance(store, module)?;
        Ok(Memory::from_parts(
            store.id,
            instance,
            DefinedMemoryIndex::new(0),
        ))
    }

    fn definition(&self, store: &StoreOpaque) -> (*mut u8, usize) {
        store.check(self.store);
        let handle = &store.instances[self.instance].handle;
        let def = handle.memory_definition(handle.module().memory_index(self.index));
        // SAFETY: the definition lives in the instance's VMContext (VM-1).
        unsafe { ((*def).base, (*def).current_length) }
    }

    pub(crate) fn ty_opaque(&self, store: &StoreOpaque) -> MemoryType {
        store.check(self.store);
        let handle = &store.instances[self.instance].handle;
        let index = handle.module().memory_index(self.index);
        let mut ty = MemoryType(handle.module().memories[index]);
        ty.0.limits.min = handle
            .defined_memory(self.index)
            .map_or(0, keel_vm::LinearMemory::size_pages);
        ty
    }

    /// The memory's type; its minimum is the current size.
    ///
    /// # Panics
    ///
    /// If `store` does not own this memory.
    pub fn ty(&self, store: impl AsContext) -> MemoryType {
        self.ty_opaque(&store.as_context().0.opaque)
    }

    /// The memory's contents.
    ///
    /// # Panics
    ///
    /// If `store` does not own this memory.
    pub fn data<'a, T: 'a>(&self, store: impl Into<StoreContext<'a, T>>) -> &'a [u8] {
        let store: StoreContext<'a, T> = store.into();
        let (base, len) = self.definition(&store.0.opaque);
        // SAFETY: `len` bytes at `base` are accessible (VM-2) and cannot
        // change while the store is borrowed.
        unsafe { core::slice::from_raw_parts(base, len) }
    }

    /// The memory's current size in bytes (its size in pages times 64 KiB).
    ///
    /// # Panics
    ///
    /// If `store` does not own this memory.
    pub fn data_size(&self, store: impl AsContext) -> usize {
        self.definition(&store.as_context().0.opaque).1
    }

    /// The memory's contents, mutably.
    ///
    /// # Panics
    ///
    /// If `store` does not own this memory.
    pub fn data_mut<'a, T: 'a>(&self, store: impl Into<StoreContextMut<'a, T>>) -> &'a mut [u8] {
        let store: StoreContextMut<'a, T> = store.into();
        let (base, len) = self.definition(&store.0.opaque);
        // SAFETY: as in `data`, with the store borrowed exclusively.
        unsafe { core::slice::from_raw_parts_mut(base, len) }
    }

    /// The memory's contents and the store's host data, both mutably, as
    /// Wasmtime's method of the same name: what a host function needs to
    /// decode guest pointers while updating its own state (e.g. a WASI
    /// context).
    ///
    /// # Panics
    ///
    /// If `store` does not own this memory.
    pub fn data_and_store_mut<'a, T: 'a>(
        &self,
        store: impl Into<StoreContextMut<'a, T>>,
    ) -> (&'a mut [u8], &'a mut T) {
        let store: StoreContextMut<'a, T> = store.into();
        let (base, len) = self.definition(&store.0.opaque);
        // SAFETY: as in `data_mut`. The memory's bytes live in the
        // instance's reservation, not in the host data `T`, so the two
        // borrows are disjoint.
        let data = unsafe { core::slice::from_raw_parts_mut(base, len) };
        (data, &mut store.0.data)
    }

    /// Copy `buf.len()` bytes starting at byte `offset` into `buf`.
    ///
    /// # Errors
    ///
    /// If the range is out of bounds.
    pub fn read(&self, store: impl AsContext, offset: usize, buf: &mut [u8]) -> Result<()> {
        let (base, len) = self.definition(&store.as_context().0.opaque);
        let end = offset
            .checked_add(buf.len())
            .filter(|end| *end <= len)
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "out of bounds memory access: {} bytes at {offset} in a memory of {len} bytes",
                    buf.len()
                )
            })?;
        // SAFETY: `offset..end` is inside the accessible memory.
        let src = unsafe { core::slice::from_raw_parts(base.add(offset), end - offset) };
        buf.copy_from_slice(src);
        Ok(())
    }

    /// Copy `buf` into the memory at byte `offset`.
    ///
    /// # Errors
    ///
    /// If the range is out of bounds.
    pub fn write(&self, mut store: impl AsContextMut, offset: usize, buf: &[u8]) -> Result<()> {
        let (base, len) = self.definition(&store.as_context_mut().0.opaque);
        let end = offset
            .checked_add(buf.len())
            .filter(|end| *end <= len)
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "out of bounds memory access: {} bytes at {offset} in a memory of {len} bytes",
                    buf.len()
                )
            })?;
        // SAFETY: `offset..end` is inside the accessible memory.
        let dst = unsafe { core::slice::from_raw_parts_mut(base.add(offset), end - offset) };
        dst.copy_from_slice(buf);
        Ok(())
    }

    /// Current size in pages (of [`MemoryType::page_size`] bytes: 64 KiB
    /// unless the memory has custom page sizes).
    ///
    /// # Panics
    ///
    /// If `store` does not own this memory.
    pub fn size(&self, store: impl AsContext) -> u64 {
        let store = &store.as_context().0.opaque;
        let len = self.definition(store).1 as u64;
        len >> self.ty_opaque(store).0.page_size_log2
    }

    /// The size of this memory's pages in bytes (65536, or 1 with custom
    /// page sizes).
    ///
    /// # Panics
    ///
    /// If `store` does not own this memory.
    pub fn page_size(&self, store: impl AsContext) -> u64 {
        self.ty(store).page_size()
    }

    /// Grow by `delta_pages` pages; returns the old size in pages.
    ///
    /// # Errors
    ///
    /// If the new size would exceed the maximum.
    pub fn grow(&self, mut store: impl AsContextMut, delta_pages: u64) -> Result<u64> {
        let inner = store.as_context_mut().0;
        inner.opaque.check(self.store);
        let instance: *mut keel_vm::Instance = &mut *inner.opaque.instances[self.instance].handle;
        // SAFETY: the instance is owned by the store through a raw root
        // (VM-5), not inside `inner`'s memory, so the store's limiter hooks
        // (which touch only the limiter and the host data) do not alias it.
        let result =
            unsafe { (*instance).defined_memory_grow(self.index, delta_pages, Some(inner)) };
        match result {
            Ok(Some(old)) => Ok(old),
            Ok(None) => Err(anyhow::anyhow!(
                "failed to grow memory by {delta_pages} pages"
            )),
            Err(StoreTrap) => Err(inner.opaque.take_pending_error()),
        }
    }
}

/// The raw table slot value of reference `val` for a table of `element`s.
fn ref_ptr(store: &StoreOpaque, val: impl Into<Val>, element: ValType) -> Result<*const VMFuncRef> {
    let val: Val = val.into();
    if !val.matches(store, element) {
        anyhow::bail!(
            "table element type mismatch: expected {element}, got {}",
            val.ty()
        );
    }
    Ok(val.to_raw(store)?.get_ptr() as *const VMFuncRef)
}

impl Table {
    pub(crate) fn from_parts(store: StoreId, instance: usize, index: DefinedTableIndex) -> Self {
        Self {
            store,
            instance,
            index,
        }
    }

    /// A new table of type `ty` with every element set to `init`.
    ///
    /// # Errors
    ///
    /// If `init` does not match the element type, or the minimum exceeds
    /// the maximum.
    pub fn new(mut store: impl AsContextMut, ty: TableType, init: Ref) -> Result<Table> {
        let inner = store.as_context_mut().0;
        if ty.0.limits.max.is_some_and(|max| max < ty.0.limits.min) {
            anyhow::bail!("table minimum exceeds its maximum");
        }
        check_new_table(
            inner.resource_limiter(),
            || "table".into(),
            ty.0.limits.min,
            ty.0.limits.max,
        )?;
        inner.opaque.resources.bump(0, 1, 0)?;
        let store = &mut inner.opaque;
        let init = ref_ptr(store, init, ty.0.element)?;
        let mut module = keel_translate::Module::default();
        module.tables.push(ty.0);
        let instance = host_instance(store, module)?;
        let table = Table::from_parts(store.id, instance, DefinedTableIndex::new(0));
        let (base, len) = table.definition(store);
        for i in 0..len {
            // SAFETY: `len` elements are allocated at `base`.
            unsafe { *base.add(i) = init };
        }
        Ok(table)
    }

    fn definition(&self, store: &StoreOpaque) -> (*mut *const VMFuncRef, usize) {
        store.check(self.store);
        let handle = &store.instances[self.instance].handle;
        let def = handle.table_definition(handle.module().table_index(self.index));
        // SAFETY: the definition lives in the instance's VMContext (VM-1).
        unsafe { ((*def).base, (*def).current_elements) }
    }

    pub(crate) fn ty_opaque(&self, store: &StoreOpaque) -> TableType {
        let (_, len) = self.definition(store);
        let handle = &store.instances[self.instance].handle;
        let mut ty = TableType(handle.module().tables[handle.module().table_index(self.index)]);
        ty.0.limits.min = len as u64;
        ty.0.element = crate::types::engine_val_type(handle.type_ids(), ty.0.element);
        ty
    }

    /// The table's type; its minimum is the current size.
    ///
    /// # Panics
    ///
    /// If `store` does not own this table.
    pub fn ty(&self, store: impl AsContext) -> TableType {
        self.ty_opaque(&store.as_context().0.opaque)
    }

    /// Element `index`, or `None` if out of bounds.
    ///
    /// # Panics
    ///
    /// If `store` does not own this table.
    pub fn get(&self, mut store: impl AsContextMut, index: u64) -> Option<Ref> {
        let store = &mut store.as_context_mut().0.opaque;
        store.check(self.store);
        let i = usize::try_from(index).ok()?;
        // A pending slot of a lazily initialized table is initialized now.
        let ptr = store.instances[self.instance]
            .handle
            .defined_table_get(self.index, i)?;
        let element = self.ty_opaque(store).element();
        Val::from_raw(store, ValRaw::ptr(ptr as usize), element)
            .ok()?
            .ref_()
    }

    /// Set element `index` to `val`.
    ///
    /// # Errors
    ///
    /// If `index` is out of bounds or `val` has the wrong type.
    pub fn set(&self, mut store: impl AsContextMut, index: u64, val: Ref) -> Result<()> {
        let store = &mut store.as_context_mut().0.opaque;
        let element = self.ty_opaque(store).element();
        let ptr = ref_ptr(store, val, element)?;
        let (base, len) = self.definition(store);
        let i = usize::try_from(index)
            .ok()
            .filter(|i| *i < len)
            .ok_or_else(|| {
                anyhow::anyhow!("table index {index} out of bounds for a table of {len} elements")
            })?;
        // SAFETY: `i < len`.
        unsafe { *base.add(i) = ptr };
        let handle = &mut store.instances[self.instance].handle;
        let index = handle.module().table_index(self.index);
        handle.table_written(index, i, 1);
        Ok(())
    }

    /// Number of elements.
    ///
    /// # Panics
    ///
    /// If `store` does not own this table.
    pub fn size(&self, store: impl AsContext) -> u64 {
        self.definition(&store.as_context().0.opaque).1 as u64
    }

    /// Grow by `delta` elements set to `init`; returns the old size.
    ///
    /// # Errors
    ///
    /// If `init` has the wrong type or the table would exceed its maximum.
    pub fn grow(&self, mut store: impl AsContextMut, delta: u64, init: Ref) -> Result<u64> {
        let inner = store.as_context_mut().0;
        let ty = self.ty_opaque(&inner.opaque);
        let init = ref_ptr(&inner.opaque, init, ty.element())?;
        let instance: *mut keel_vm::Instance = &mut *inner.opaque.instances[self.instance].handle;
        // SAFETY: as in `Memory::grow`.
        let result =
            unsafe { (*instance).defined_table_grow(self.index, delta, init, Some(inner)) };
        match result {
            Ok(Some(old)) => Ok(old),
            Ok(None) => Err(anyhow::anyhow!("failed to grow table by {delta} elements")),
            Err(StoreTrap) => Err(inner.opaque.take_pending_error()),
        }
    }
}

impl Global {
    pub(crate) fn from_parts(store: StoreId, instance: usize, index: DefinedGlobalIndex) -> Self {
        Self {
            store,
            instance,
            index,
        }
    }

    /// A new global of type `ty` holding `val`.
    ///
    /// # Errors
    ///
    /// If `val` does not have the type's content type.
    pub fn new(mut store: impl AsContextMut, ty: GlobalType, val: Val) -> Result<Global> {
        let store = &mut store.as_context_mut().0.opaque;
        if !val.matches(store, ty.content()) {
            anyhow::bail!(
                "global of type {} cannot hold a value of type {}",
                ty.content(),
                val.ty()
            );
        }
        let raw = val.to_raw(store)?;
        let mut module = keel_translate::Module::default();
        module.globals.push(GlobalDef {
            ty: ty.0,
            init: keel_translate::ConstExpr::default(),
        });
        let instance = host_instance(store, module)?;
        let global = Global::from_parts(store.id, instance, DefinedGlobalIndex::new(0));
        let def = global.definition(store);
        // SAFETY: the definition lives in the new instance's VMContext.
        unsafe { (*def).bytes = raw.get_v128().to_le_bytes() };
        Ok(global)
    }

    pub(crate) fn definition(&self, store: &StoreOpaque) -> *mut VMGlobalDefinition {
        store.check(self.store);
        let handle = &store.instances[self.instance].handle;
        handle.global_ptr(handle.module().global_index(self.index))
    }

    pub(crate) fn ty_opaque(&self, store: &StoreOpaque) -> GlobalType {
        store.check(self.store);
        let handle = &store.instances[self.instance].handle;
        let mut ty = handle.module().globals[handle.module().global_index(self.index)].ty;
        ty.content = crate::types::engine_val_type(handle.type_ids(), ty.content);
        GlobalType(ty)
    }

    /// The global's type.
    ///
    /// # Panics
    ///
    /// If `store` does not own this global.
    pub fn ty(&self, store: impl AsContext) -> GlobalType {
        self.ty_opaque(&store.as_context().0.opaque)
    }

    /// The current value.
    ///
    /// # Panics
    ///
    /// If `store` does not own this global.
    pub fn get(&self, mut store: impl AsContextMut) -> Val {
        let store = &mut store.as_context_mut().0.opaque;
        let ty = self.ty_opaque(store);
        let def = self.definition(store);
        // SAFETY: the definition lives in a VMContext of this store.
        let raw = ValRaw::v128(u128::from_le_bytes(unsafe { (*def).bytes }));
        Val::from_raw(store, raw, ty.content()).unwrap_or(Val::default_for(ty.content()))
    }

    /// Set the value.
    ///
    /// # Errors
    ///
    /// If the global is immutable or `val` has the wrong type.
    pub fn set(&self, mut store: impl AsContextMut, val: Val) -> Result<()> {
        let store = &mut store.as_context_mut().0.opaque;
        let ty = self.ty_opaque(store);
        if ty.0.mutable {
            if !val.matches(store, ty.content()) {
                anyhow::bail!(
                    "global of type {} cannot hold a value of type {}",
                    ty.content(),
                    val.ty()
                );
            }
            let raw = val.to_raw(store)?;
            let def = self.definition(store);
            // SAFETY: the definition lives in a VMContext of this store.
            unsafe { (*def).bytes = raw.get_v128().to_le_bytes() };
            Ok(())
        } else {
            anyhow::bail!("cannot set an immutable global")
        }
    }
}
