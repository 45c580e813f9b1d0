//! The builtins compiled code calls, one per entry of
//! [`foreach_builtin!`](keel_translate::foreach_builtin).
//!
//! Bulk operations check bounds before touching anything (spec:
//! [Table Instructions](https://webassembly.github.io/spec/core/exec/instructions.html#table-instructions)
//! and
//! [Memory Instructions](https://webassembly.github.io/spec/core/exec/instructions.html#memory-instructions):
//! the whole range must fit, otherwise trap without writing) and
//! return non-zero for out of bounds; the compiled caller then traps with
//! the instruction's trap code, so the trap site is in the trap table.

use crate::{Instance, VMFuncRef, VMStore, VMStoreContext, ValRaw};
use keel_translate::builtin::GROW_TRAP;
use keel_translate::{
    DataIndex, ElemIndex, ElemItems, MemoryIndex, TableIndex, TagIndex, VMOffsets, WasmValType,
};

macro_rules! builtin_ty {
    (vmctx) => { *mut u8 };
    (ptr) => { *mut u8 };
    (i32) => { u32 };
    (i64) => { u64 };
    (f32) => { f32 };
    (f64) => { f64 };
}

macro_rules! builtins_array {
    ($($(#[$doc:meta])* $name:ident($($p:ident: $t:ident),*) -> $r:ident;)*) => {
        /// The table of builtin entry points every VMContext points to, in
        /// [`BuiltinFunctionIndex`](keel_translate::BuiltinFunctionIndex) order.
        #[repr(C)]
        pub struct VMBuiltinFunctionsArray {
            $($(#[$doc])* $name: unsafe extern "C" fn($(builtin_ty!($t)),*) -> builtin_ty!($r),)*
            /// [`UNWIND_STUB`](keel_translate::BuiltinFunctionIndex::UNWIND_STUB):
            /// `keel_unwind_stub` ([`keel_trap::unwind::unwind_stub_address`]).
            unwind_stub: unsafe extern "C" fn(),
        }

        /// The builtins of this runtime.
        pub static BUILTINS: VMBuiltinFunctionsArray = VMBuiltinFunctionsArray {
            $($name: impls::$name,)*
            unwind_stub: keel_trap::unwind::unwind_stub,
        };
    };
}
keel_translate::foreach_builtin!(builtins_array);

/// Whether `start..start + len` fits in `size`.
fn fits(start: u64, len: u64, size: usize) -> bool {
    start.checked_add(len).is_some_and(|end| end <= size as u64)
}

mod impls {
    use super::*;

    /// The instance of the calling code.
    ///
    /// # Safety
    ///
    /// `vmctx` must be the live VMContext compiled code passed to a builtin.
    unsafe fn instance<'a>(vmctx: *mut u8) -> &'a mut Instance {
        // SAFETY: per the caller's contract (VM-1).
        unsafe { Instance::from_vmctx(vmctx) }
    }

    /// The store running the calling code, if one is published.
    ///
    /// # Safety
    ///
    /// `vmctx` must be the live VMContext compiled code passed to a
    /// builtin; the returned store must only be used for the builtin's
    /// duration, and only for what [`VMStore`] offers (its implementation
    /// touches no instance, so it does not alias the builtin's instance).
    unsafe fn running_store<'a>(vmctx: *mut u8) -> Option<&'a mut dyn VMStore> {
        // SAFETY: the VMContext's store-context field was written at
        // instantiation and the context outlives the instance (VM-1); the
        // store is the one published by the call running this code (VM-5).
        unsafe {
            let ctx = *vmctx
                .add(VMOffsets::STORE_CONTEXT as usize)
                .cast::<*mut VMStoreContext>();
            (*ctx).store.map(|mut s| s.as_mut())
        }
    }

    pub(super) unsafe extern "C" fn memory_grow(vmctx: *mut u8, index: u32, delta: u64) -> u64 {
        // SAFETY: called by compiled code with its own VMContext.
        let (instance, store) = unsafe { (instance(vmctx), running_store(vmctx)) };
        match instance.memory_grow(MemoryIndex::from_u32(index), delta, store) {
            Ok(Some(old)) => old,
            Ok(None) => u64::MAX,
            Err(_) => GROW_TRAP,
        }
    }

    pub(super) unsafe extern "C" fn memory_fill(
        vmctx: *mut u8,
        mem: u32,
        dst: u64,
        value: u32,
        len: u64,
    ) -> u32 {
        // SAFETY: as above; the definition is live and `current_length`
        // bytes at `base` are accessible (VM-2); the range is checked.
        unsafe {
            let def = instance(vmctx).memory_definition(MemoryIndex::from_u32(mem));
            if !fits(dst, len, (*def).current_length) {
                return 1;
            }
            core::ptr::write_bytes((*def).base.add(dst as usize), value as u8, len as usize);
        }
        0
    }

    pub(super) unsafe extern "C" fn memory_copy(
        vmctx: *mut u8,
        dst_mem: u32,
        dst: u64,
        src_mem: u32,
        src: u64,
        len: u64,
    ) -> u32 {
        // SAFETY: as in `memory_fill`; `copy` allows overlap.
        unsafe {
            let instance = instance(vmctx);
            let d = instance.memory_definition(MemoryIndex::from_u32(dst_mem));
            let s = instance.memory_definition(MemoryIndex::from_u32(src_mem));
            if !fits(dst, len, (*d).current_length) || !fits(src, len, (*s).current_length) {
                return 1;
            }
            core::ptr::copy(
                (*s).base.add(src as usize),
                (*d).base.add(dst as usize),
                len as usize,
            );
        }
        0
    }

    pub(super) unsafe extern "C" fn memory_init(
        vmctx: *mut u8,
        mem: u32,
        data: u32,
        dst: u64,
        src: u32,
        len: u32,
    ) -> u32 {
        // SAFETY: as in `memory_fill`; the segment bytes are the module's.
        unsafe {
            let instance = instance(vmctx);
            let def = instance.memory_definition(MemoryIndex::from_u32(mem));
            let bytes = instance.data_segment(DataIndex::from_u32(data));
            if !fits(src.into(), len.into(), bytes.len())
                || !fits(dst, len.into(), (*def).current_length)
            {
                return 1;
            }
            core::ptr::copy_nonoverlapping(
                bytes.as_ptr().add(src as usize),
                (*def).base.add(dst as usize),
                len as usize,
            );
        }
        0
    }

    pub(super) unsafe extern "C" fn data_drop(vmctx: *mut u8, data: u32) -> u32 {
        // SAFETY: called by compiled code with its own VMContext.
        unsafe { instance(vmctx) }.drop_data(DataIndex::from_u32(data));
        0
    }

    pub(super) unsafe extern "C" fn table_grow(
        vmctx: *mut u8,
        table: u32,
        init: *mut u8,
        delta: u64,
    ) -> u64 {
        // SAFETY: called by compiled code with its own VMContext.
        let (instance, store) = unsafe { (instance(vmctx), running_store(vmctx)) };
        match instance.table_grow(
            TableIndex::from_u32(table),
            delta,
            init as *const VMFuncRef,
            store,
        ) {
            Ok(Some(old)) => old,
            Ok(None) => u64::MAX,
            Err(_) => GROW_TRAP,
        }
    }

    pub(super) unsafe extern "C" fn table_fill(
        vmctx: *mut u8,
        table: u32,
        dst: u64,
        value: *mut u8,
        len: u64,
    ) -> u32 {
        // SAFETY: the table definition is live and describes
        // `current_elements` slots; the range is checked.
        unsafe {
            let instance = instance(vmctx);
            let def = instance.table_definition(TableIndex::from_u32(table));
            if !fits(dst, len, (*def).current_elements) {
                return 1;
            }
            instance.table_written(TableIndex::from_u32(table), dst as usize, len as usize);
            let slots =
                core::slice::from_raw_parts_mut((*def).base.add(dst as usize), len as usize);
            slots.fill(value as *const VMFuncRef);
        }
        0
    }

    pub(super) unsafe extern "C" fn table_copy(
        vmctx: *mut u8,
        dst_table: u32,
        src_table: u32,
        dst: u64,
        src: u64,
        len: u64,
    ) -> u32 {
        // SAFETY: as in `table_fill`; `copy` allows overlap.
        unsafe {
            let instance = instance(vmctx);
            let d = instance.table_definition(TableIndex::from_u32(dst_table));
            let s = instance.table_definition(TableIndex::from_u32(src_table));
            if !fits(dst, len, (*d).current_elements) || !fits(src, len, (*s).current_elements) {
                return 1;
            }
            // Pending source slots are initialized first, so the copy is
            // of values; the destination's are written.
            instance.table_materialize(TableIndex::from_u32(src_table), src as usize, len as usize);
            instance.table_written(TableIndex::from_u32(dst_table), dst as usize, len as usize);
            core::ptr::copy(
                (*s).base.add(src as usize),
                (*d).base.add(dst as usize),
                len as usize,
            );
        }
        0
    }

    pub(super) unsafe extern "C" fn table_init(
        vmctx: *mut u8,
        table: u32,
        elem: u32,
        dst: u64,
        src: u32,
        len: u32,
    ) -> u32 {
        // SAFETY: as in `table_fill`.
        unsafe {
            let instance = instance(vmctx);
            let table = TableIndex::from_u32(table);
            let def = instance.table_definition(table);
            let elem = ElemIndex::from_u32(elem);
            let items_len = instance.elem_segment(elem).map_or(0, ElemItems::len);
            if !fits(src.into(), len.into(), items_len)
                || !fits(dst, len.into(), (*def).current_elements)
            {
                return 1;
            }
            instance.table_written(table, dst as usize, len as usize);
            for i in 0..len as usize {
                *(*def).base.add(dst as usize + i) = instance.segment_item(elem, src as usize + i);
            }
        }
        0
    }

    pub(super) unsafe extern "C" fn elem_drop(vmctx: *mut u8, elem: u32) -> u32 {
        // SAFETY: called by compiled code with its own VMContext.
        unsafe { instance(vmctx) }.drop_elem(ElemIndex::from_u32(elem));
        0
    }

    /// Leave the wasm call with an error (`message`, a `&'static str`
    /// the runtime reports as the call's error): for builtins that cannot
    /// return an error code, such as a `throw` whose exception cannot be
    /// allocated.
    fn abort_activation(message: &'static str) -> ! {
        let reason = keel_trap::UnwindReason::User(
            alloc::boxed::Box::new(message),
            keel_trap::RawBacktrace::default(),
        );
        // SAFETY: builtins run inside the activation that entered wasm.
        unsafe { keel_trap::raise(reason) }
    }

    pub(super) unsafe extern "C" fn exn_release(vmctx: *mut u8, exn: *mut u8) -> u32 {
        // SAFETY: called by compiled code with its own VMContext; `exn` is
        // the exception its handler caught, a live object of the running
        // store that only the caught throw refers to unless it escaped.
        unsafe {
            if let Some(store) = running_store(vmctx) {
                store.gc_heap().release(exn.cast());
            }
        }
        0
    }

    pub(super) unsafe extern "C" fn throw(
        vmctx: *mut u8,
        tag_index: u32,
        values: *mut u8,
        _target: *mut u8,
        pc: *mut u8,
        fp: *mut u8,
    ) -> u32 {
        let exn = {
            // SAFETY: called by compiled code with its own VMContext.
            let instance = unsafe { instance(vmctx) };
            let index = TagIndex::from_u32(tag_index);
            let module = instance.module();
            let Some(ty) = module.tags.get(index) else {
                abort_activation("throw of a tag the module does not have");
            };
            let params = &module.func_type_at(*ty).params;
            let tag = instance.tag_ptr(index);
            // SAFETY: compiled code stored one `ValRaw` per parameter of the
            // tag's type at `values`, in its frame.
            let payload =
                unsafe { core::slice::from_raw_parts(values.cast::<ValRaw>(), params.len()) };
            // SAFETY: as in `out_of_gas`.
            let Some(store) = (unsafe { running_store(vmctx) }) else {
                abort_activation("throw without a running store");
            };
            let size = crate::VMExnObject::size(payload.len()).unwrap_or(usize::MAX);
            // SAFETY: the stub passed this frame's return address and
            // frame pointer, so the walk starts at a call with a stack
            // map; the payload is about to be referenced.
            if !unsafe { make_room(store, size, payload, params, pc as usize, fp as usize) } {
                abort_activation("the GC heap cannot hold an exception");
            }
            // SAFETY: the tag is this instance's or an import's, which the
            // store keeps; the payload's references are live objects.
            match unsafe { store.gc_heap().alloc_exn(tag, payload, params) } {
                Ok(exn) => exn,
                Err(_) => abort_activation("out of memory allocating an exception"),
            }
        };
        // SAFETY: the stub passed the throwing frame's return address and
        // frame pointer; this frame holds nothing that must run.
        unsafe { crate::throw(exn, pc as usize, fp as usize) }
    }

    /// Collect the store's exception objects from inside a throw: the
    /// roots are the thrown `payload` (of types `types`), the `exnref`s in
    /// the wasm frames from `pc`/`fp` outwards, and the store's others.
    ///
    /// # Safety
    ///
    /// `pc`/`fp` must be the return address into a live wasm frame of the
    /// current activation, at a call, and that frame's frame pointer; the
    /// payload's non-null references live objects of the store's heap.
    unsafe fn collect_exceptions(
        store: &mut dyn VMStore,
        payload: &[ValRaw],
        types: &[WasmValType],
        pc: usize,
        fp: usize,
    ) {
        let mut roots = crate::GcRoots::default();
        for (value, ty) in payload.iter().zip(types) {
            if keel_translate::gc_layout::is_gc_ref(*ty) {
                roots.visit(value.get_ptr());
            }
        }
        let mut visit = |raw: usize| roots.visit(raw);
        // SAFETY: per the contract.
        unsafe { keel_trap::unwind::trace_stack_roots(pc, fp, &mut visit) };
        if !store.trace_gc_roots(&mut visit) {
            store.gc_heap().defer_collection();
            return;
        }
        // SAFETY: the roots are every place compiled code, the runtime or
        // the host can read an `exnref` from: this activation's frames
        // (above), the store's other activations, globals and tables
        // (`trace_gc_roots`), the pinned objects and the unescaped ones.
        unsafe { store.gc_heap().collect(&roots) };
    }

    pub(super) unsafe extern "C" fn throw_ref(
        _vmctx: *mut u8,
        exn: *mut u8,
        _unused: *mut u8,
        _target: *mut u8,
        pc: *mut u8,
        fp: *mut u8,
    ) -> u32 {
        let Some(exn) = core::ptr::NonNull::new(exn.cast::<crate::VMExnObject>()) else {
            abort_activation("throw_ref of null");
        };
        // SAFETY: a non-null exnref points to a live object of the running
        // store (validation types it; objects live as long as the store);
        // the stub passed the frame's return address and frame pointer.
        unsafe { crate::throw(exn, pc as usize, fp as usize) }
    }

    pub(super) unsafe extern "C" fn is_subtype(vmctx: *mut u8, actual: u32, expected: u32) -> u32 {
        use keel_translate::SharedTypeIndex;
        // SAFETY: called by compiled code with its own VMContext.
        match unsafe { running_store(vmctx) } {
            Some(store) => u32::from(store.is_subtype(
                SharedTypeIndex::from_u32(actual),
                SharedTypeIndex::from_u32(expected),
            )),
            None => 0,
        }
    }

    /// Allocate a struct (`len` ignored) or an array of `len` elements
    /// of engine type `ty` on the running store's heap, collecting first
    /// when the heap is due, and again when the heap is full; null when
    /// it cannot.
    ///
    /// # Safety
    ///
    /// `pc`/`fp` must be the return address into the calling wasm frame,
    /// at a call with a stack map, and its frame pointer.
    unsafe fn alloc_object(
        store: &mut dyn VMStore,
        ty: keel_translate::SharedTypeIndex,
        array: bool,
        len: u32,
        pc: usize,
        fp: usize,
    ) -> *mut u8 {
        let Some(size) = store.gc_heap().object_size(ty, len) else {
            return core::ptr::null_mut();
        };
        // SAFETY: per the contract.
        if !unsafe { make_room(store, size, &[], &[], pc, fp) } {
            return core::ptr::null_mut();
        }
        let heap = store.gc_heap();
        let r = if array {
            heap.alloc_array(ty, len)
        } else {
            heap.alloc_struct(ty)
        };
        r.map_or(core::ptr::null_mut(), |obj| obj.as_ptr())
    }

    /// Make room for `size` more bytes on the running store's heap:
    /// collect when due or full (the roots: `payload` of types `types`,
    /// the frames from `pc`/`fp`, the store's), then grow the heap as the
    /// store's limiter allows. Whether the bytes fit.
    ///
    /// # Safety
    ///
    /// As [`collect_exceptions`].
    unsafe fn make_room(
        store: &mut dyn VMStore,
        size: usize,
        payload: &[ValRaw],
        types: &[WasmValType],
        pc: usize,
        fp: usize,
    ) -> bool {
        let heap = store.gc_heap();
        if heap.should_collect() || !heap.has_room(size) {
            // SAFETY: per the contract.
            unsafe { collect_exceptions(store, payload, types, pc, fp) };
        }
        let heap = store.gc_heap();
        if heap.has_room(size) {
            return true;
        }
        let Some(target) = heap.growth_target(size) else {
            return false;
        };
        let (current, limit) = (heap.capacity(), heap.limit());
        match store.gc_heap_growing(current, target, Some(limit)) {
            Ok(true) => {
                store.gc_heap().set_capacity(target);
                true
            }
            _ => false,
        }
    }

    /// The engine type id of module type `index` of the calling instance,
    /// and whether it is an array type (else a struct type); `None` for
    /// any other.
    fn gc_type(instance: &Instance, index: u32) -> Option<(keel_translate::SharedTypeIndex, bool)> {
        let module = instance.module();
        let ty = module
            .types
            .get(keel_translate::TypeIndex::from_u32(index))?;
        let array = match ty.composite {
            keel_translate::WasmCompositeType::Struct(_) => false,
            keel_translate::WasmCompositeType::Array(_) => true,
            keel_translate::WasmCompositeType::Func(_) => return None,
        };
        Some((*instance.type_ids().get(index as usize)?, array))
    }

    pub(super) unsafe extern "C" fn gc_alloc(
        vmctx: *mut u8,
        type_index: u32,
        len: u32,
        _target: *mut u8,
        pc: *mut u8,
        fp: *mut u8,
    ) -> *mut u8 {
        // SAFETY: called by compiled code with its own VMContext.
        let (instance, store) = unsafe { (instance(vmctx), running_store(vmctx)) };
        let (Some((ty, array)), Some(store)) = (gc_type(instance, type_index), store) else {
            return core::ptr::null_mut();
        };
        // SAFETY: the stub passed the calling frame's return address and
        // frame pointer, at a call with a stack map.
        unsafe { alloc_object(store, ty, array, len, pc as usize, fp as usize) }
    }

    pub(super) unsafe extern "C" fn array_new_segment(
        vmctx: *mut u8,
        indices: u64,
        range: u64,
        _target: *mut u8,
        pc: *mut u8,
        fp: *mut u8,
    ) -> *mut u8 {
        use keel_translate::{WasmCompositeType, WasmStorageType};
        const OUT_OF_BOUNDS: *mut u8 = core::ptr::null_mut();
        // Status 1 (never an object: objects are 16-byte aligned).
        let full: *mut u8 = core::ptr::without_provenance_mut(1);
        let (type_index, segment) = (indices as u32, (indices >> 32) as u32);
        let (offset, len) = (range as u32, (range >> 32) as u32);
        // SAFETY: called by compiled code with its own VMContext.
        let (instance, store) = unsafe { (instance(vmctx), running_store(vmctx)) };
        let (Some((ty, true)), Some(store)) = (gc_type(instance, type_index), store) else {
            return full;
        };
        let WasmCompositeType::Array(field) =
            &instance.module().types[keel_translate::TypeIndex::from_u32(type_index)].composite
        else {
            return full;
        };
        let size = field.element.byte_size() as usize;
        let elems = vmgc_array_elems();
        if matches!(field.element, WasmStorageType::Val(t) if t.is_ref()) {
            let index = ElemIndex::from_u32(segment);
            let available = instance.elem_segment(index).map_or(0, |s| s.len());
            if !fits(u64::from(offset), u64::from(len), available) {
                return OUT_OF_BOUNDS;
            }
            // SAFETY: the stub passed the calling frame's return address
            // and frame pointer.
            let obj = unsafe { alloc_object(store, ty, true, len, pc as usize, fp as usize) };
            if obj.is_null() {
                return full;
            }
            {
                for i in 0..len as usize {
                    let item = instance.segment_item(index, offset as usize + i);
                    // SAFETY: a fresh array of `len` pointer-sized
                    // elements.
                    unsafe {
                        obj.add(elems + i * size)
                            .cast::<usize>()
                            .write(item as usize)
                    };
                }
            }
            obj
        } else {
            let bytes = len as u64 * size as u64;
            let data = instance.data_segment(DataIndex::from_u32(segment));
            if !fits(u64::from(offset), bytes, data.len()) {
                return OUT_OF_BOUNDS;
            }
            // SAFETY: as above.
            let obj = unsafe { alloc_object(store, ty, true, len, pc as usize, fp as usize) };
            if obj.is_null() {
                return full;
            }
            let data = instance.data_segment(DataIndex::from_u32(segment));
            let src = &data[offset as usize..offset as usize + bytes as usize];
            // SAFETY: a fresh array of `len` elements of `size` bytes.
            unsafe { core::ptr::copy_nonoverlapping(src.as_ptr(), obj.add(elems), src.len()) };
            obj
        }
    }

    /// The offset of an array's first element.
    fn vmgc_array_elems() -> usize {
        keel_translate::gc_layout::vmgc_array::ELEMS as usize
    }

    /// The length of a live array object.
    ///
    /// # Safety
    ///
    /// `array` must be a live array object.
    unsafe fn array_len(array: *mut u8) -> u32 {
        // SAFETY: per the contract.
        unsafe {
            *array
                .add(keel_translate::gc_layout::vmgc_array::LEN as usize)
                .cast::<u32>()
        }
    }

    pub(super) unsafe extern "C" fn array_fill(
        _vmctx: *mut u8,
        array: *mut u8,
        index: u32,
        value: *mut u8,
        len: u32,
        elem_size: u32,
    ) -> u32 {
        // SAFETY: compiled code passes a live (null-checked) array whose
        // elements are `elem_size` bytes, and a 16-byte slot holding the
        // value.
        unsafe {
            if !fits(u64::from(index), u64::from(len), array_len(array) as usize) {
                return 1;
            }
            let size = elem_size as usize;
            let first = array.add(vmgc_array_elems() + index as usize * size);
            for i in 0..len as usize {
                core::ptr::copy_nonoverlapping(value, first.add(i * size), size);
            }
        }
        0
    }

    pub(super) unsafe extern "C" fn array_copy(
        _vmctx: *mut u8,
        dst: *mut u8,
        dst_index: u32,
        src: *mut u8,
        src_index: u32,
        len: u32,
        elem_size: u32,
    ) -> u32 {
        // SAFETY: compiled code passes live (null-checked) arrays whose
        // elements are `elem_size` bytes; the ranges are checked.
        unsafe {
            if !fits(
                u64::from(dst_index),
                u64::from(len),
                array_len(dst) as usize,
            ) || !fits(
                u64::from(src_index),
                u64::from(len),
                array_len(src) as usize,
            ) {
                return 1;
            }
            let size = elem_size as usize;
            let from = src.add(vmgc_array_elems() + src_index as usize * size);
            let to = dst.add(vmgc_array_elems() + dst_index as usize * size);
            core::ptr::copy(from, to, len as usize * size);
        }
        0
    }

    pub(super) unsafe extern "C" fn array_init_segment(
        vmctx: *mut u8,
        array: *mut u8,
        indices: u64,
        dst: u32,
        src: u32,
        len: u32,
    ) -> u32 {
        use keel_translate::{WasmCompositeType, WasmStorageType};
        let (type_index, segment) = (indices as u32, (indices >> 32) as u32);
        // SAFETY: called by compiled code with its own VMContext and a
        // live (null-checked) array of module type `type_index`.
        let (instance, alen) = unsafe { (instance(vmctx), array_len(array)) };
        if !fits(u64::from(dst), u64::from(len), alen as usize) {
            return 1;
        }
        let Some(WasmCompositeType::Array(field)) = instance
            .module()
            .types
            .get(keel_translate::TypeIndex::from_u32(type_index))
            .map(|t| &t.composite)
        else {
            return 1;
        };
        let size = field.element.byte_size() as usize;
        let first = vmgc_array_elems() + dst as usize * size;
        if matches!(field.element, WasmStorageType::Val(t) if t.is_ref()) {
            let index = ElemIndex::from_u32(segment);
            let available = instance.elem_segment(index).map_or(0, |s| s.len());
            if !fits(u64::from(src), u64::from(len), available) {
                return 2;
            }
            {
                for i in 0..len as usize {
                    let item = instance.segment_item(index, src as usize + i);
                    // SAFETY: `dst + len` is within the array.
                    unsafe {
                        array
                            .add(first + i * size)
                            .cast::<usize>()
                            .write(item as usize);
                    }
                }
            }
        } else {
            let bytes = len as u64 * size as u64;
            let data = instance.data_segment(DataIndex::from_u32(segment));
            if !fits(u64::from(src), bytes, data.len()) {
                return 2;
            }
            let from = &data[src as usize..src as usize + bytes as usize];
            // SAFETY: `dst + len` elements are within the array.
            unsafe { core::ptr::copy_nonoverlapping(from.as_ptr(), array.add(first), from.len()) };
        }
        0
    }

    pub(super) unsafe extern "C" fn out_of_gas(vmctx: *mut u8) -> u32 {
        // SAFETY: called by compiled code with its own VMContext.
        match unsafe { running_store(vmctx) } {
            Some(store) => u32::from(store.out_of_gas().is_err()),
            None => 1,
        }
    }

    pub(super) unsafe extern "C" fn new_epoch(vmctx: *mut u8) -> u32 {
        // SAFETY: called by compiled code with its own VMContext.
        match unsafe { running_store(vmctx) } {
            Some(store) => u32::from(store.new_epoch().is_err()),
            None => 1,
        }
    }

    pub(super) unsafe extern "C" fn table_get_lazy(
        vmctx: *mut u8,
        table: u32,
        slot: *mut u8,
    ) -> *mut u8 {
        // SAFETY: called by compiled code with its own VMContext.
        let instance = unsafe { instance(vmctx) };
        let table = TableIndex::from_u32(table);
        let def = instance.table_definition(table);
        // SAFETY: the definition is live (VM-1). The slot's index is
        // recomputed from its address; an address that is not a slot of
        // the table (never, from compiled code) reads as out of bounds.
        let base = unsafe { (*def).base } as usize;
        let offset = (slot as usize).wrapping_sub(base);
        let size = core::mem::size_of::<*const VMFuncRef>();
        let index = if offset.is_multiple_of(size) {
            offset / size
        } else {
            usize::MAX
        };
        instance.table_get_lazy(table, index).cast_mut().cast()
    }

    pub(super) unsafe extern "C" fn table_clear_lazy(
        vmctx: *mut u8,
        table: u32,
        index: u32,
    ) -> u32 {
        // SAFETY: called by compiled code with its own VMContext.
        unsafe { instance(vmctx) }.table_written(TableIndex::from_u32(table), index as usize, 1);
        0
    }

    pub(super) unsafe extern "C" fn memory_atomic_wait(
        vmctx: *mut u8,
        addr: *mut u8,
        expected: u64,
        size: u32,
        timeout: u64,
    ) -> u32 {
        let timeout = i64::try_from(timeout)
            .ok()
            .map(|ns| core::time::Duration::from_nanos(ns as u64));
        // SAFETY: as in `out_of_gas`.
        let store = unsafe { running_store(vmctx) }.filter(|store| store.epoch_interruption());
        // With epoch interruption, the store's deadline ends the wait as
        // it ends a loop: the callback decides, or the code traps with
        // `Interrupt` (4).
        let mut check =
            store.map(|store| move || store.epoch_deadline_reached() && store.new_epoch().is_err());
        let check = check.as_mut().map(|c| c as &mut dyn FnMut() -> bool);
        // SAFETY: compiled code checked `addr` in bounds of a shared
        // memory (which never moves or shrinks) and aligned to `size`.
        // A platform that cannot block: 3, and the caller traps.
        match unsafe { crate::atomic_wait(addr, expected, size as u8, timeout, check) } {
            Ok(3) => 4,
            Ok(code) => code,
            Err(_) => 3,
        }
    }

    pub(super) unsafe extern "C" fn memory_atomic_notify(
        _vmctx: *mut u8,
        addr: *mut u8,
        count: u32,
    ) -> u32 {
        crate::atomic_notify(addr, count)
    }

    pub(super) unsafe extern "C" fn ref_func(vmctx: *mut u8, func: u32) -> *mut u8 {
        // SAFETY: called by compiled code with its own VMContext.
        let instance = unsafe { instance(vmctx) };
        // Validation checked the index against the module's functions.
        instance
            .func_ref(keel_translate::FuncIndex::from_u32(func))
            .cast_mut()
            .cast()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn builtins_array_has_one_pointer_per_builtin_and_the_unwind_stub() {
        use keel_translate::BuiltinFunctionIndex;
        assert_eq!(
            core::mem::size_of::<super::VMBuiltinFunctionsArray>(),
            (BuiltinFunctionIndex::COUNT as usize + 1) * core::mem::size_of::<usize>()
        );
        // Compiled code loads the stub from slot `UNWIND_STUB`.
        let table = (&super::BUILTINS as *const super::VMBuiltinFunctionsArray).cast::<usize>();
        // SAFETY: the table is `COUNT + 1` function pointers (checked above).
        let stub = unsafe { *table.add(BuiltinFunctionIndex::UNWIND_STUB as usize) };
        assert_eq!(stub, keel_trap::unwind::unwind_stub_address());
    }
}
