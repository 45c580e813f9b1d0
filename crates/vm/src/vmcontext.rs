//! The `#[repr(C)]` structures compiled code reads and writes (VM-3).

use crate::store::VMStore;
use alloc::boxed::Box;
use core::any::Any;
use core::ptr::NonNull;
use core::sync::atomic::AtomicU64;
use keel_translate::{SharedTypeIndex, vmhost_func_context};

/// The array-call convention: `values` holds the parameters on entry and
/// the results on return, one 16-byte [`ValRaw`] each; `wasm_call` is the
/// callee's wasm-convention entry (trampolines call it; host functions
/// ignore it).
pub type VMArrayCallFn = unsafe extern "C" fn(
    callee_vmctx: *mut u8,
    caller_vmctx: *mut u8,
    wasm_call: *const u8,
    values: *mut ValRaw,
    values_len: usize,
);

/// A function reference: what tables hold and `call_indirect` calls.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct VMFuncRef {
    /// Entry with the array-call convention.
    pub array_call: Option<VMArrayCallFn>,
    /// Entry with the wasm convention.
    pub wasm_call: *const u8,
    /// The callee's VMContext or `VMHostFuncContext`.
    pub vmctx: *mut u8,
    /// The function's type in the engine's registry.
    pub type_index: SharedTypeIndex,
}

impl VMFuncRef {
    /// Whether the reference is built: it has a callee `vmctx`. A defined
    /// function's reference in its instance's VMContext is only written
    /// (and must only be read) once the runtime hands out its address
    /// ([`Instance::func_ref`](crate::Instance::func_ref)); a check that
    /// such a reference is complete.
    pub fn is_built(&self) -> bool {
        !self.vmctx.is_null()
    }
}

/// An imported function as stored in the importer's VMContext.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct VMFunctionImport {
    /// Entry with the wasm convention.
    pub wasm_call: *const u8,
    /// Entry with the array-call convention.
    pub array_call: Option<VMArrayCallFn>,
    /// The callee's VMContext or `VMHostFuncContext`.
    pub vmctx: *mut u8,
}

/// A linear memory as compiled code sees it.
#[repr(C)]
#[derive(Debug)]
pub struct VMMemoryDefinition {
    /// Start of the memory; never changes (VM-2).
    pub base: *mut u8,
    /// Accessible size in bytes.
    pub current_length: usize,
}

/// A table as compiled code sees it.
#[repr(C)]
#[derive(Debug)]
pub struct VMTableDefinition {
    /// Start of the element array (`*const VMFuncRef` each, null = null ref).
    pub base: *mut *const VMFuncRef,
    /// Number of elements.
    pub current_elements: usize,
}

/// Storage of one global: 16 bytes, enough for a v128.
#[repr(C, align(16))]
#[derive(Debug, Default, Clone, Copy)]
pub struct VMGlobalDefinition {
    /// The value's bytes, little-endian, starting at byte 0.
    pub bytes: [u8; 16],
}

/// Per-store state every VMContext points to.
#[repr(C)]
pub struct VMStoreContext {
    /// The lowest stack pointer wasm may use; function prologues trap with
    /// `StackOverflow` below it.
    pub stack_limit: usize,
    /// Frame pointer of the wasm frame that last called the host (written
    /// by wasm-to-host trampolines; the start of a host error's backtrace).
    pub last_wasm_exit_fp: usize,
    /// Return address into that frame.
    pub last_wasm_exit_pc: usize,
    /// Fuel consumed minus fuel injected: negative while fuel remains
    /// (read and written by compiled code when fuel is on).
    pub fuel_consumed: i64,
    /// The engine epoch at which compiled code calls `new_epoch` (when
    /// epoch interruption is on).
    pub epoch_deadline: u64,
    /// The engine's epoch counter; lives as long as the engine, which the
    /// store keeps alive.
    pub epoch_ptr: *const AtomicU64,
    /// The store currently running wasm (keel: its `StoreInner<T>`),
    /// published on each entry into wasm from the entering call's own
    /// exclusive borrow (VM-5), so that host functions and builtins reach
    /// the store through a pointer derived from the live borrow, never a
    /// stale one. `None` when no call is running. Compiled code never
    /// reads it.
    pub store: Option<NonNull<dyn VMStore>>,
}

impl Default for VMStoreContext {
    fn default() -> Self {
        Self {
            stack_limit: 0,
            last_wasm_exit_fp: 0,
            last_wasm_exit_pc: 0,
            fuel_consumed: 0,
            epoch_deadline: 0,
            epoch_ptr: core::ptr::null(),
            store: None,
        }
    }
}

impl core::fmt::Debug for VMStoreContext {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("VMStoreContext")
            .field("stack_limit", &self.stack_limit)
            .field("fuel_consumed", &self.fuel_consumed)
            .field("epoch_deadline", &self.epoch_deadline)
            .field("running", &self.store.is_some())
            .finish_non_exhaustive()
    }
}

/// The context of a host function: what its `vmctx` points to.
#[repr(C)]
pub struct VMHostFuncContext {
    magic: u32,
    _pad: u32,
    array_call: VMArrayCallFn,
    /// In a cell: its `wasm_call` may be filled in after creation
    /// ([`VMHostFuncContext::set_wasm_call`]).
    func_ref: core::cell::UnsafeCell<VMFuncRef>,
    host_state: Box<dyn Any + Send + Sync>,
    /// `host_state`'s data, for entry points that know its type.
    host_state_ptr: *const (),
}

impl VMHostFuncContext {
    /// Create a host function context. `wasm_call` is the wasm-to-array
    /// trampoline for its type; `host_state` is handed back to
    /// `array_call` through [`VMHostFuncContext::host_state`].
    pub fn new(
        array_call: VMArrayCallFn,
        wasm_call: *const u8,
        type_index: SharedTypeIndex,
        host_state: Box<dyn Any + Send + Sync>,
    ) -> Box<Self> {
        let mut ctx = Box::new(Self {
            magic: vmhost_func_context::VMHOST_FUNC_MAGIC,
            _pad: 0,
            array_call,
            func_ref: core::cell::UnsafeCell::new(VMFuncRef {
                array_call: Some(array_call),
                wasm_call,
                vmctx: core::ptr::null_mut(),
                type_index,
            }),
            host_state_ptr: core::ptr::null(),
            host_state,
        });
        ctx.host_state_ptr = (&*ctx.host_state as *const (dyn Any + Send + Sync)).cast::<()>();
        let self_ptr: *mut Self = &mut *ctx;
        ctx.func_ref.get_mut().vmctx = self_ptr.cast();
        ctx
    }

    /// The function reference of this host function.
    pub fn func_ref(&self) -> *const VMFuncRef {
        self.func_ref.get()
    }

    /// The entry through which wasm calls this function, or null while
    /// it has none (a build without the compiler that has not loaded a
    /// trampoline for its type yet).
    pub fn wasm_call(&self) -> *const u8 {
        // SAFETY: a plain read of a field only `set_wasm_call` writes, on
        // the thread that owns the store.
        unsafe { (*self.func_ref.get()).wasm_call }
    }

    /// Set the entry through which wasm calls this function.
    ///
    /// # Safety
    ///
    /// `wasm_call` must be a wasm-to-array trampoline for this function's
    /// type that stays alive as long as the context, and no other thread
    /// may be reading the function reference (the store's owner calls
    /// this, outside of wasm code that could be reading it).
    pub unsafe fn set_wasm_call(&self, wasm_call: *const u8) {
        // SAFETY: per the caller's contract no one else accesses the
        // field concurrently; no Rust reference into the cell exists.
        unsafe { (*self.func_ref.get()).wasm_call = wasm_call };
    }

    /// The embedder's state.
    pub fn host_state(&self) -> &(dyn Any + Send + Sync) {
        &*self.host_state
    }

    /// The embedder's state as a `&S`, without the `Any` type check: for
    /// the hot entry path.
    ///
    /// # Safety
    ///
    /// The state must be an `S` (the caller created this context with an
    /// `S` and an `array_call` that is the only reader of it).
    pub unsafe fn host_state_unchecked<S: 'static>(&self) -> &S {
        debug_assert!(self.host_state.is::<S>());
        // SAFETY: per the caller's contract the data is an `S`, owned by
        // this context for as long as `self` is borrowed.
        unsafe { &*self.host_state_ptr.cast::<S>() }
    }

    /// Recover the context from the `vmctx` a host function received.
    ///
    /// # Safety
    ///
    /// `vmctx` must be the `vmctx` of a [`VMFuncRef`] created by
    /// [`VMHostFuncContext::new`], and that context must still be alive.
    pub unsafe fn from_vmctx<'a>(vmctx: *mut u8) -> &'a VMHostFuncContext {
        // SAFETY: per the caller's contract.
        let ctx = unsafe { &*vmctx.cast::<VMHostFuncContext>() };
        debug_assert_eq!(ctx.magic, vmhost_func_context::VMHOST_FUNC_MAGIC);
        ctx
    }
}

/// One value in the array-call convention: 16 little-endian bytes.
#[repr(C, align(16))]
#[derive(Clone, Copy, Default, PartialEq, Eq)]
pub struct ValRaw([u8; 16]);

impl core::fmt::Debug for ValRaw {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "ValRaw({:#034x})", self.get_v128())
    }
}

impl ValRaw {
    /// An `i32`.
    pub fn i32(v: i32) -> Self {
        Self::u128(v as u32 as u128)
    }
    /// An `i64`.
    pub fn i64(v: i64) -> Self {
        Self::u128(v as u64 as u128)
    }
    /// An `f32`, by bits.
    pub fn f32(bits: u32) -> Self {
        Self::u128(u128::from(bits))
    }
    /// An `f64`, by bits.
    pub fn f64(bits: u64) -> Self {
        Self::u128(u128::from(bits))
    }
    /// A `v128`.
    pub fn v128(v: u128) -> Self {
        Self::u128(v)
    }
    /// A reference, by address (0 = null).
    pub fn ptr(p: usize) -> Self {
        Self::u128(p as u128)
    }
    fn u128(v: u128) -> Self {
        Self(v.to_le_bytes())
    }
    /// Read as `i32`.
    pub fn get_i32(&self) -> i32 {
        self.get_v128() as u32 as i32
    }
    /// Read as `i64`.
    pub fn get_i64(&self) -> i64 {
        self.get_v128() as u64 as i64
    }
    /// Read as `f32` bits.
    pub fn get_f32(&self) -> u32 {
        self.get_v128() as u32
    }
    /// Read as `f64` bits.
    pub fn get_f64(&self) -> u64 {
        self.get_v128() as u64
    }
    /// Read as `v128`.
    pub fn get_v128(&self) -> u128 {
        u128::from_le_bytes(self.0)
    }
    /// Read as a reference address.
    pub fn get_ptr(&self) -> usize {
        self.get_v128() as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::mem::{offset_of, size_of};
    use keel_translate::{
        VMGLOBAL_DEFINITION_SIZE, vmfuncref, vmfunction_import, vmmemory_definition,
        vmstore_context, vmtable_definition,
    };

    #[test]
    fn layouts_match_vmoffsets() {
        assert_eq!(
            offset_of!(VMFuncRef, array_call),
            vmfuncref::ARRAY_CALL as usize
        );
        assert_eq!(
            offset_of!(VMFuncRef, wasm_call),
            vmfuncref::WASM_CALL as usize
        );
        assert_eq!(offset_of!(VMFuncRef, vmctx), vmfuncref::VMCTX as usize);
        assert_eq!(
            offset_of!(VMFuncRef, type_index),
            vmfuncref::TYPE_INDEX as usize
        );
        assert!(size_of::<VMFuncRef>() <= vmfuncref::SIZE as usize);
        assert_eq!(
            offset_of!(VMFunctionImport, wasm_call),
            vmfunction_import::WASM_CALL as usize
        );
        assert_eq!(
            offset_of!(VMFunctionImport, array_call),
            vmfunction_import::ARRAY_CALL as usize
        );
        assert_eq!(
            offset_of!(VMFunctionImport, vmctx),
            vmfunction_import::VMCTX as usize
        );
        assert_eq!(
            size_of::<VMFunctionImport>(),
            vmfunction_import::SIZE as usize
        );
        assert_eq!(
            offset_of!(VMMemoryDefinition, base),
            vmmemory_definition::BASE as usize
        );
        assert_eq!(
            offset_of!(VMMemoryDefinition, current_length),
            vmmemory_definition::CURRENT_LENGTH as usize
        );
        assert_eq!(
            size_of::<VMMemoryDefinition>(),
            vmmemory_definition::SIZE as usize
        );
        assert_eq!(
            offset_of!(VMTableDefinition, base),
            vmtable_definition::BASE as usize
        );
        assert_eq!(
            offset_of!(VMTableDefinition, current_elements),
            vmtable_definition::CURRENT_ELEMENTS as usize
        );
        assert_eq!(
            size_of::<VMTableDefinition>(),
            vmtable_definition::SIZE as usize
        );
        assert_eq!(
            size_of::<VMGlobalDefinition>(),
            VMGLOBAL_DEFINITION_SIZE as usize
        );
        assert_eq!(
            offset_of!(VMStoreContext, stack_limit),
            vmstore_context::STACK_LIMIT as usize
        );
        assert_eq!(
            offset_of!(VMStoreContext, last_wasm_exit_fp),
            vmstore_context::LAST_WASM_EXIT_FP as usize
        );
        assert_eq!(
            offset_of!(VMStoreContext, last_wasm_exit_pc),
            vmstore_context::LAST_WASM_EXIT_PC as usize
        );
        assert_eq!(
            offset_of!(VMStoreContext, fuel_consumed),
            vmstore_context::FUEL_CONSUMED as usize
        );
        assert_eq!(
            offset_of!(VMStoreContext, epoch_deadline),
            vmstore_context::EPOCH_DEADLINE as usize
        );
        assert_eq!(
            offset_of!(VMStoreContext, epoch_ptr),
            vmstore_context::EPOCH_PTR as usize
        );
        assert_eq!(
            offset_of!(VMStoreContext, store),
            vmstore_context::STORE as usize
        );
        assert_eq!(size_of::<VMStoreContext>(), vmstore_context::SIZE as usize);
        assert_eq!(
            offset_of!(VMHostFuncContext, magic),
            vmhost_func_context::MAGIC as usize
        );
        assert_eq!(
            offset_of!(VMHostFuncContext, array_call),
            vmhost_func_context::ARRAY_CALL as usize
        );
        assert_eq!(size_of::<ValRaw>(), 16);
    }

    #[test]
    fn val_raw_round_trips() {
        assert_eq!(ValRaw::i32(-5).get_i32(), -5);
        assert_eq!(ValRaw::i64(i64::MIN).get_i64(), i64::MIN);
        assert_eq!(ValRaw::f32(0x7fc0_0001).get_f32(), 0x7fc0_0001);
        assert_eq!(ValRaw::f64(u64::MAX).get_f64(), u64::MAX);
        assert_eq!(ValRaw::v128(u128::MAX - 1).get_v128(), u128::MAX - 1);
    }
}
