//! Traps (`wasm_trap_t`): spec "Traps" in wasm.h; the core spec's
//! [traps](https://webassembly.github.io/spec/core/intro/overview.html#trap).

use crate::prelude::*;

use crate::engine::wasm_store_t;
use crate::externs::HostTrap;
use crate::host_info::{Finalizer, HostInfo};
use crate::module::wasm_instance_t;
use crate::val::{Object, wasm_ref_t};
use crate::wasm_byte_vec_t;
use alloc::rc::Rc;
use core::ffi::c_void;
use keel_rt::{Instance, WasmBacktrace};

/// A trap: its message and the wasm frames it unwound through, owned by
/// the C side once returned. As every object of wasm.h it is a reference
/// (a transparent [`wasm_ref_t`] of an [`Object::Trap`]): copies are new
/// handles to the one trap, which they share with its host info.
#[repr(transparent)]
#[derive(Clone)]
pub struct wasm_trap_t {
    base: wasm_ref_t,
}

/// What a trap is (behind every handle of it).
pub struct TrapData {
    /// The message, without a terminating NUL.
    message: String,
    /// The frames, innermost (the trap's origin) first; empty for a trap
    /// made by `wasm_trap_new` that has not crossed wasm code.
    frames: Vec<wasm_frame_t>,
    /// The wasm trap code, for a trap wasm code raised.
    code: Option<keel_rt::Trap>,
    /// The exit status of a WASI `proc_exit`, which unwinds as a trap.
    exit_status: Option<i32>,
    /// Its host info, finalized when the last handle goes.
    pub(crate) info: spin::Mutex<Option<HostInfo>>,
}

impl core::ops::Deref for wasm_trap_t {
    type Target = TrapData;

    fn deref(&self) -> &TrapData {
        match &self.base.obj {
            Object::Trap(data) => data,
            // `from_data` and `wasm_ref_as_trap` make only traps.
            _ => unreachable!("a wasm_trap_t that is not a trap"),
        }
    }
}

impl TrapData {
    /// A trap saying `message`, without frames.
    fn new(message: String) -> Self {
        Self {
            message,
            frames: Vec::new(),
            code: None,
            exit_status: None,
            info: spin::Mutex::new(None),
        }
    }

    /// A copy of what the trap says and where (not its host info).
    fn copy(&self) -> Self {
        Self {
            message: self.message.clone(),
            frames: self.frames.clone(),
            code: self.code,
            exit_status: self.exit_status,
            info: spin::Mutex::new(None),
        }
    }
}

/// One wasm frame of a trap's trace: spec "Frames" in wasm.h.
#[derive(Clone)]
pub struct wasm_frame_t {
    /// The instance the frame ran in, when keel knows it.
    instance: Option<Box<wasm_instance_t>>,
    /// The function's index in its module's function index space.
    func_index: u32,
    /// Byte offset of the frame's instruction from its function body's
    /// start.
    func_offset: usize,
    /// Byte offset of the frame's instruction in the module binary.
    module_offset: usize,
}

/// The exit status of a WASI `proc_exit` that `error` is.
fn exit_status(error: &anyhow::Error) -> Option<i32> {
    #[cfg(feature = "std")]
    if let Some(&keel_wasi::I32Exit(status)) = error.downcast_ref::<keel_wasi::I32Exit>() {
        return Some(status);
    }
    let _ = error;
    None
}

impl core::fmt::Debug for TrapData {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("TrapData")
            .field("message", &self.message)
            .field("frames", &self.frames.len())
            .finish()
    }
}

impl core::fmt::Debug for wasm_trap_t {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        (**self).fmt(f)
    }
}

impl wasm_trap_t {
    /// The trap `data`, of `store` (null for none).
    fn from_data(store: *mut wasm_store_t, data: TrapData) -> Self {
        Self {
            base: wasm_ref_t {
                store,
                obj: Object::Trap(Rc::new(data)),
            },
        }
    }

    /// A trap saying `message`, without frames.
    pub(crate) fn new(message: String) -> Self {
        Self::from_data(core::ptr::null_mut(), TrapData::new(message))
    }

    /// Whether `error` is one a call hands back as a trap: a wasm trap, a
    /// host function's trap or a WASI exit (not a link or limit error).
    pub(crate) fn is_trap(error: &anyhow::Error) -> bool {
        #[cfg(feature = "std")]
        if error.is::<keel_wasi::I32Exit>() {
            return true;
        }
        error.is::<HostTrap>() || error.is::<keel_rt::Trap>()
    }

    /// The trap a failed call or instantiation in `store` returns for
    /// `error`: the host function's own trap if one unwound, else keel's
    /// message (a wasm trap's is its kind, e.g. "unreachable"); with the
    /// wasm frames the error unwound through.
    pub(crate) fn from_error(store: *mut wasm_store_t, error: anyhow::Error) -> Self {
        let mut trap = if let Some(HostTrap(trap)) = error.downcast_ref::<HostTrap>() {
            trap.copy()
        } else if let Some(&code) = error.downcast_ref::<keel_rt::Trap>() {
            TrapData {
                code: Some(code),
                ..TrapData::new(code.to_string())
            }
        } else if let Some(status) = exit_status(&error) {
            TrapData {
                exit_status: Some(status),
                ..TrapData::new(format!("exited with i32 exit status {status}"))
            }
        } else {
            TrapData::new(format!("{error:#}"))
        };
        if let Some(backtrace) = error.downcast_ref::<WasmBacktrace>() {
            // A host function's trap that came out of a nested call
            // already has that call's frames, which are inside (more
            // recent than) these.
            // SAFETY: the caller's store is valid and not in use.
            let keel_store = unsafe { &(*store).store };
            // Finding a frame's instance scans the store's instances: do
            // it once per module of the trace (a deep trace repeats a
            // few modules), not once per frame.
            let mut instances: Vec<(usize, Option<Instance>)> = Vec::new();
            trap.frames.extend(backtrace.frames().iter().map(|f| {
                let instance = match instances.iter().find(|(id, _)| *id == f.module_id) {
                    Some(&(_, instance)) => instance,
                    None => {
                        let instance = Instance::of_frame(keel_store, f);
                        instances.push((f.module_id, instance));
                        instance
                    }
                };
                wasm_frame_t {
                    instance: instance
                        .map(|instance| Box::new(wasm_instance_t::new(store, instance))),
                    func_index: f.func_index,
                    func_offset: f.func_offset.unwrap_or(0) as usize,
                    module_offset: f.module_offset.unwrap_or(0) as usize,
                }
            }));
        }
        Self::from_data(store, trap)
    }

    /// The message.
    pub(crate) fn message(&self) -> String {
        self.message.clone()
    }
}

/// Delete `t` (null is ignored).
///
/// # Safety
///
/// `t` is null or owned, made by keel, and not used afterwards.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_trap_delete(t: *mut wasm_trap_t) {
    if !t.is_null() {
        // SAFETY: per the contract.
        drop(unsafe { Box::from_raw(t) });
    }
}

/// A new handle to the trap `t` (the same trap, sharing its host info),
/// owned by the caller.
///
/// # Safety
///
/// `t` is valid.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_trap_copy(t: *const wasm_trap_t) -> *mut wasm_trap_t {
    // SAFETY: per the contract.
    Box::into_raw(Box::new(unsafe { (*t).clone() }))
}

/// A new trap with `message` (a NUL-terminated `wasm_message_t`: bytes
/// up to the first NUL are the text), for a host function to return.
///
/// # Safety
///
/// `message` is null or a valid byte vector.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_trap_new(
    store: *mut wasm_store_t,
    message: *const wasm_byte_vec_t,
) -> *mut wasm_trap_t {
    // SAFETY: per the contract.
    let bytes = match unsafe { message.as_ref() } {
        // SAFETY: per the contract, a valid vector.
        Some(m) => unsafe { m.as_slice() },
        None => &[],
    };
    let text = bytes.split(|&b| b == 0).next().unwrap_or_default();
    Box::into_raw(Box::new(wasm_trap_t::from_data(
        store,
        TrapData::new(String::from_utf8_lossy(text).into_owned()),
    )))
}

/// Make `*out` the message of `t`, NUL-terminated (as
/// `wasm_message_t`), owned by the caller.
///
/// # Safety
///
/// `t` is valid; `out` points at writable memory for a vector.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_trap_message(t: *const wasm_trap_t, out: *mut wasm_byte_vec_t) {
    // SAFETY: per the contract.
    let mut bytes = unsafe { &*t }.message.clone().into_bytes();
    bytes.push(0);
    // SAFETY: per the contract.
    unsafe { out.write(wasm_byte_vec_t::from_vec(bytes)) };
}

/// A copy of the trap's origin (its innermost frame), owned by the
/// caller; null if the trap has no frames (a host trap that has not
/// crossed wasm code).
///
/// # Safety
///
/// `t` is valid.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_trap_origin(t: *const wasm_trap_t) -> *mut wasm_frame_t {
    // SAFETY: per the contract.
    match unsafe { &*t }.frames.first() {
        Some(frame) => Box::into_raw(Box::new(frame.clone())),
        None => core::ptr::null_mut(),
    }
}

/// Make `*out` a copy of the trap's frames, innermost first, owned by the
/// caller (empty if it has none).
///
/// # Safety
///
/// `t` is valid; `out` points at writable memory for a vector.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_trap_trace(t: *const wasm_trap_t, out: *mut wasm_frame_vec_t) {
    // SAFETY: per the contract.
    let frames = unsafe { &*t }
        .frames
        .iter()
        .cloned()
        .map(Box::new)
        .collect();
    // SAFETY: per the contract.
    unsafe { out.write(wasm_frame_vec_t::from_boxes(frames)) };
}

crate::declare_vec!(
    /// `wasm_frame_vec_t`: owned frames (a trap's trace).
    wasm_frame_vec_t of owned wasm_frame_t,
    wasm_frame_vec_new_empty,
    wasm_frame_vec_new_uninitialized,
    wasm_frame_vec_new,
    wasm_frame_vec_copy,
    wasm_frame_vec_delete
);

/// Delete `f` (null is ignored).
///
/// # Safety
///
/// `f` is null or owned, made by keel, and not used afterwards.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_frame_delete(f: *mut wasm_frame_t) {
    if !f.is_null() {
        // SAFETY: per the contract.
        drop(unsafe { Box::from_raw(f) });
    }
}

/// A copy of `f`, owned by the caller.
///
/// # Safety
///
/// `f` is valid.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_frame_copy(f: *const wasm_frame_t) -> *mut wasm_frame_t {
    // SAFETY: per the contract.
    Box::into_raw(Box::new(unsafe { (*f).clone() }))
}

/// The instance the frame ran in (owned by the frame, living as long as
/// it), or null when keel does not know it: a frame records its module,
/// so the instance is known when the store holds exactly one instance of
/// that module (also one whose start function trapped).
///
/// # Safety
///
/// `f` is valid.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_frame_instance(f: *const wasm_frame_t) -> *mut wasm_instance_t {
    // SAFETY: per the contract.
    match &unsafe { &*f }.instance {
        Some(instance) => (&raw const **instance).cast_mut(),
        None => core::ptr::null_mut(),
    }
}

/// The frame's function: its index in the module's function index space
/// (imports first).
///
/// # Safety
///
/// `f` is valid.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_frame_func_index(f: *const wasm_frame_t) -> u32 {
    // SAFETY: per the contract.
    unsafe { &*f }.func_index
}

/// Byte offset of the frame's instruction (the trapping one, or the call
/// the frame is suspended in) from the start of its function's body in
/// the module binary (the body's locals declaration, after its size).
///
/// # Safety
///
/// `f` is valid.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_frame_func_offset(f: *const wasm_frame_t) -> usize {
    // SAFETY: per the contract.
    unsafe { &*f }.func_offset
}

/// Byte offset of the frame's instruction in the module binary.
///
/// # Safety
///
/// `f` is valid.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_frame_module_offset(f: *const wasm_frame_t) -> usize {
    // SAFETY: per the contract.
    unsafe { &*f }.module_offset
}

/// Whether `t` is a trap wasm code raised; if so, `*code` is its code:
/// keel's trap discriminant, `KEEL_TRAP_CODE_*` in `keel/trap.h`
/// (1 stack overflow, 2 memory out of bounds, ..., 11 out of fuel, 12
/// interrupt). False for a host function's trap and a WASI exit.
///
/// # Safety
///
/// `t` is valid; `code` points at writable memory.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn keel_trap_code(t: *const wasm_trap_t, code: *mut u8) -> bool {
    // SAFETY: per the contract.
    match unsafe { &*t }.code {
        Some(c) => {
            // SAFETY: per the contract.
            unsafe { code.write(c as u8) };
            true
        }
        None => false,
    }
}

/// Whether `t` is a WASI program's exit (`proc_exit`, which unwinds the
/// call as a trap); if so, `*status` is its exit status.
///
/// # Safety
///
/// `t` is valid; `status` points at writable memory.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn keel_trap_exit_status(t: *const wasm_trap_t, status: *mut i32) -> bool {
    // SAFETY: per the contract.
    match unsafe { &*t }.exit_status {
        Some(s) => {
            // SAFETY: per the contract.
            unsafe { status.write(s) };
            true
        }
        None => false,
    }
}

/// Whether `a` and `b` are handles to the same trap.
///
/// # Safety
///
/// `a` and `b` are valid.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_trap_same(a: *const wasm_trap_t, b: *const wasm_trap_t) -> bool {
    // SAFETY: per the contract.
    let (a, b) = unsafe { (&*a, &*b) };
    core::ptr::eq::<TrapData>(&**a, &**b)
}

/// The host info of the trap `t`, or null.
///
/// # Safety
///
/// `t` is valid.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_trap_get_host_info(t: *const wasm_trap_t) -> *mut c_void {
    // SAFETY: per the contract.
    unsafe { &*t }
        .info
        .lock()
        .as_ref()
        .map_or(core::ptr::null_mut(), HostInfo::info)
}

/// Set the host info of the trap `t`, without a finalizer.
///
/// # Safety
///
/// `t` is valid.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_trap_set_host_info(t: *mut wasm_trap_t, info: *mut c_void) {
    // SAFETY: per the contract.
    unsafe { wasm_trap_set_host_info_with_finalizer(t, info, None) }
}

/// Set the host info of the trap `t`; `finalizer` (if not null) is
/// called with `info` when it is replaced or the last handle of the trap
/// is deleted.
///
/// # Safety
///
/// `t` is valid.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn wasm_trap_set_host_info_with_finalizer(
    t: *mut wasm_trap_t,
    info: *mut c_void,
    finalizer: Finalizer,
) {
    // SAFETY: per the contract.
    let old = unsafe { &*t }
        .info
        .lock()
        .replace(HostInfo::new(info, finalizer));
    drop(old);
}

crate::externs::ref_conversions!(
    wasm_trap_t,
    |obj| matches!(obj, Object::Trap(_)),
    wasm_trap_as_ref,
    wasm_trap_as_ref_const,
    wasm_ref_as_trap,
    wasm_ref_as_trap_const
);
