//! `keel.h`'s platform registration (`keel_platform_t`,
//! `keel_platform_register`) and trap entry (`keel_trap_entry`): keel's
//! [`Platform`](keel_trap::Platform) as a table of C function pointers,
//! for kernels and other programs that give keel its memory and deliver
//! its faults themselves (the freestanding library has no other way).

use crate::error::keel_error_t;
use crate::prelude::*;
use core::ffi::{c_char, c_void};
use core::ops::Range;
use core::ptr::NonNull;
use core::sync::atomic::{AtomicPtr, Ordering};
use keel_rt::{Access, CpuLocal, Platform, PlatformError};

/// No access: touching the range faults.
pub const KEEL_ACCESS_NONE: u32 = 0;
/// Read and write.
pub const KEEL_ACCESS_READ_WRITE: u32 = 1;
/// Read and execute.
pub const KEEL_ACCESS_READ_EXECUTE: u32 = 2;

/// keel's platform as C function pointers (see `keel/platform.h` for each
/// member's contract).
#[repr(C)]
#[derive(Clone, Copy)]
pub struct keel_platform_t {
    /// Passed to every callback.
    pub env: *mut c_void,
    /// The page size in bytes (a power of two).
    pub page_size: usize,
    /// Reserve `len` bytes of inaccessible address space; null on failure.
    pub reserve: Option<unsafe extern "C" fn(env: *mut c_void, len: usize) -> *mut c_void>,
    /// Set the access of a range inside a reservation; false on failure.
    pub protect: Option<
        unsafe extern "C" fn(env: *mut c_void, addr: *mut c_void, len: usize, access: u32) -> bool,
    >,
    /// Release a whole reservation.
    pub release: Option<unsafe extern "C" fn(env: *mut c_void, addr: *mut c_void, len: usize)>,
    /// Whether inaccessible memory really faults (an MMU).
    pub has_virtual_memory: bool,
    /// Whether faults in wasm code reach `keel_trap_entry`.
    pub has_trap_handlers: bool,
    /// Optional: called once before the first entry into wasm.
    pub init_traps: Option<unsafe extern "C" fn(env: *mut c_void)>,
    /// The address of this CPU's (thread's) keel slot: a pointer-sized
    /// location, null at first, that keel fills with its per-CPU state.
    pub cpu_slot: Option<unsafe extern "C" fn(env: *mut c_void) -> *mut *mut c_void>,
    /// Optional: the calling thread's stack, `[*low, *high)`; false if
    /// unknown.
    pub stack_bounds:
        Option<unsafe extern "C" fn(env: *mut c_void, low: *mut usize, high: *mut usize) -> bool>,
    /// Optional: a line of diagnostics (`len` bytes of UTF-8, no NUL).
    pub log: Option<unsafe extern "C" fn(env: *mut c_void, message: *const c_char, len: usize)>,
}

/// The registered table, as keel's [`Platform`].
struct CPlatform(keel_platform_t);

// SAFETY: the table's contract (`keel/platform.h`): its callbacks may be
// called from any thread that runs keel, and `env` is shared as they are.
unsafe impl Send for CPlatform {}
// SAFETY: as for `Send`.
unsafe impl Sync for CPlatform {}

/// The registered platform's table, for [`log`].
static REGISTERED: AtomicPtr<CPlatform> = AtomicPtr::new(core::ptr::null_mut());

/// The registered platform as keel's `Config::platform` takes it.
static REGISTERED_DYN: spin::Once<&'static &'static dyn Platform> = spin::Once::new();

/// The platform `keel_platform_register` registered, if any: every
/// configuration made afterwards uses it.
pub(crate) fn registered() -> Option<&'static &'static dyn Platform> {
    REGISTERED_DYN.get().copied()
}

// SAFETY: `keel_platform_register`'s contract makes the C callbacks keep
// the promises `Platform` asks for (fresh address space, exact
// protection with zero-filled pages, per-CPU slots).
unsafe impl Platform for CPlatform {
    fn page_size(&self) -> usize {
        self.0.page_size
    }

    fn reserve(&self, len: usize) -> Result<NonNull<u8>, PlatformError> {
        let reserve = self
            .0
            .reserve
            .ok_or_else(|| PlatformError::new("no reserve callback"))?;
        // SAFETY: the table's contract.
        let p = unsafe { reserve(self.0.env, len) };
        NonNull::new(p.cast())
            .ok_or_else(|| PlatformError::new(format!("the platform cannot reserve {len} bytes")))
    }

    unsafe fn protect(
        &self,
        addr: NonNull<u8>,
        len: usize,
        access: Access,
    ) -> Result<(), PlatformError> {
        let protect = self
            .0
            .protect
            .ok_or_else(|| PlatformError::new("no protect callback"))?;
        let access = match access {
            Access::None => KEEL_ACCESS_NONE,
            Access::ReadWrite => KEEL_ACCESS_READ_WRITE,
            Access::ReadExecute => KEEL_ACCESS_READ_EXECUTE,
        };
        // SAFETY: the caller's contract (a range of a live reservation)
        // and the table's.
        if unsafe { protect(self.0.env, addr.as_ptr().cast(), len, access) } {
            Ok(())
        } else {
            Err(PlatformError::new(format!(
                "the platform cannot change the access of {len} bytes at {addr:p}"
            )))
        }
    }

    unsafe fn release(&self, addr: NonNull<u8>, len: usize) {
        if let Some(release) = self.0.release {
            // SAFETY: the caller's contract (a whole live reservation) and
            // the table's.
            unsafe { release(self.0.env, addr.as_ptr().cast(), len) }
        }
    }

    fn has_virtual_memory(&self) -> bool {
        self.0.has_virtual_memory
    }

    fn has_trap_handlers(&self) -> bool {
        self.0.has_trap_handlers
    }

    fn init_traps(&self) {
        if let Some(init) = self.0.init_traps {
            // SAFETY: the table's contract.
            unsafe { init(self.0.env) }
        }
    }

    fn cpu_local(&self) -> NonNull<CpuLocal> {
        // `keel_platform_register` refused a table without `cpu_slot`.
        let Some(cpu_slot) = self.0.cpu_slot else {
            panic!("keel_platform_t.cpu_slot is null");
        };
        // SAFETY: the table's contract: the slot is this CPU's.
        let slot = unsafe { cpu_slot(self.0.env) };
        let Some(slot) = NonNull::new(slot) else {
            panic!("keel_platform_t.cpu_slot returned null");
        };
        // SAFETY: the slot is a valid pointer-sized location of this CPU,
        // used by keel alone; it holds null or a leaked `CpuLocal` of ours.
        unsafe {
            let current = slot.as_ptr().read();
            if let Some(local) = NonNull::new(current.cast::<CpuLocal>()) {
                return local;
            }
            let local = NonNull::from(Box::leak(Box::new(CpuLocal::new())));
            slot.as_ptr().write(local.as_ptr().cast());
            local
        }
    }

    fn stack_bounds(&self) -> Option<Range<usize>> {
        let bounds = self.0.stack_bounds?;
        let (mut low, mut high) = (0, 0);
        // SAFETY: the table's contract; both pointers are valid.
        (unsafe { bounds(self.0.env, &mut low, &mut high) } && low < high).then_some(low..high)
    }
}

/// Write `message` through the registered platform's `log` callback, if
/// any.
#[cfg_attr(
    feature = "std",
    allow(dead_code, reason = "std builds report on standard error")
)]
pub(crate) fn log(message: &str) {
    let p = REGISTERED.load(Ordering::Acquire);
    // SAFETY: a registered table is leaked, so it lives forever.
    if let Some(platform) = unsafe { p.as_ref() }
        && let Some(log) = platform.0.log
    {
        // SAFETY: the table's contract.
        unsafe { log(platform.0.env, message.as_ptr().cast(), message.len()) }
    }
}

/// Register `platform` (copied) as keel's platform for the rest of the
/// process: once, before the first engine; every configuration made
/// afterwards (`wasm_config_new`, `wasm_engine_new`) uses it. Returns null
/// on success, else why not (a required callback is null, the page size
/// is not a power of two, or one is already registered). An engine made
/// with it fails if keel already runs on another platform (the hosted
/// library's own, which its first engine takes when none is registered).
///
/// # Safety
///
/// `platform` is valid, and its callbacks keep the contracts of
/// `keel/platform.h` for as long as the process runs keel: `reserve`
/// returns address space no one else uses, `protect` sets exactly the
/// access asked (pages first made accessible read as zero), `cpu_slot`
/// returns storage private to the calling CPU or thread. keel's memory
/// safety rests on them.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn keel_platform_register(
    platform: *const keel_platform_t,
) -> *mut keel_error_t {
    // SAFETY: per the contract.
    let table = unsafe { *platform };
    let missing = [
        (table.reserve.is_none(), "reserve"),
        (table.protect.is_none(), "protect"),
        (table.release.is_none(), "release"),
        (table.cpu_slot.is_none(), "cpu_slot"),
    ];
    if let Some((_, name)) = missing.iter().find(|(absent, _)| *absent) {
        return keel_error_t::boxed(format_args!("keel_platform_register: `{name}` is null"));
    }
    if !table.page_size.is_power_of_two() {
        return keel_error_t::boxed(format_args!(
            "keel_platform_register: page size {} is not a power of two",
            table.page_size
        ));
    }
    if REGISTERED_DYN.is_completed() {
        return keel_error_t::boxed("keel_platform_register: a platform is already registered");
    }
    let platform: &'static CPlatform = Box::leak(Box::new(CPlatform(table)));
    let dynamic: &'static &'static dyn Platform =
        Box::leak(Box::new(platform as &'static dyn Platform));
    let mut first = false;
    REGISTERED_DYN.call_once(|| {
        first = true;
        dynamic
    });
    if !first {
        return keel_error_t::boxed("keel_platform_register: a platform is already registered");
    }
    REGISTERED.store(core::ptr::from_ref(platform).cast_mut(), Ordering::Release);
    core::ptr::null_mut()
}

/// The trap entry a signal handler or exception vector calls when a fault
/// (a page fault, an undefined instruction, a division fault) happens:
/// with the faulting instruction's address `pc`, the frame pointer `fp`
/// at the fault and the faulting data address (0 if none). If the fault
/// is a trap of wasm running on this CPU, the wasm call ends with that
/// trap and this does not return. Otherwise it returns false: the fault
/// is not keel's.
///
/// # Safety
///
/// Called on the CPU (thread) that faulted, from its fault context, with
/// the registers of the faulting frame; every frame between the fault and
/// the wasm call is discarded (no destructors, no C cleanup run), so it
/// must be the handler's last act when it does not return, and the
/// handler must leave signal masks as they were (e.g. `SA_NODEFER`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn keel_trap_entry(pc: usize, fp: usize, fault_address: usize) -> bool {
    // SAFETY: per the contract.
    unsafe { keel_rt::trap_entry(pc, fp, fault_address) }
}
