//! Trap handling for compiled WebAssembly: the activation chain,
//! [`catch_traps`], the trap entry point ([`trap_entry`]) that a signal
//! handler or a kernel's exception vector calls, and the registry of
//! compiled code it consults.
//!
//! # How a trap travels
//!
//! 1. The runtime enters wasm through [`catch_traps`], which records the
//!    callee-saved registers in a jump buffer (the `arch` module's
//!    `keel_setjmp_call`) and pushes an [`Activation`] on this thread's chain.
//! 2. A trapping instruction (Cranelift emits `ud2` on x86_64; division
//!    faults with `#DE`) raises a signal. The handler passes the faulting
//!    pc to [`trap_entry`], which looks the pc up in the registered trap
//!    tables ([`register_code`]).
//! 3. If the pc is a trap site, the trap is recorded in the innermost
//!    activation and control jumps back into `catch_traps`, which returns
//!    `Err(UnwindReason::Trap(..))`. Otherwise the fault is not keel's and
//!    is passed on (the previous signal handler, or the kernel's own).
//!
//! Host functions unwind the same way with [`raise`]: an error or a caught
//! panic is stored in the activation and the wasm frames are skipped.
//!
//! # Invariants
//!
//! * **TRAP-1**: every frame between `keel_setjmp_call` and the point that
//!   jumps back is wasm code, a trampoline, or a Rust frame with nothing to
//!   drop at that point; jumping over them leaks nothing and skips no
//!   destructor.
//! * **TRAP-2**: an [`Activation`] is on the chain only while the
//!   `catch_traps` call that created it is running, so the pointer in
//!   the thread-local `CURRENT` slot is always valid or null.
//! * **TRAP-3**: compiled wasm code keeps frame pointers; at any trap site
//!   the frame pointer register holds the trapping function's frame.

#![no_std]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

pub mod arch;
mod backtrace;
mod cpu_local;
mod fiber;
#[cfg(feature = "std")]
mod hosted;
pub mod lazy;
#[cfg(feature = "std")]
mod parking_lot;
mod platform;
mod registry;
pub mod unwind;

pub use backtrace::{MAX_FRAMES, RawBacktrace};
pub use fiber::{Fiber, FiberStack, Suspend};
#[cfg(feature = "std")]
pub use hosted::HostedPlatform;
pub use platform::{
    ATOMIC_WAIT_INTERRUPT_PERIOD, Access, CpuLocal, MemoryImageSource, Platform, PlatformError,
    platform, set_platform,
};
pub use registry::{CodeInfo, CodeRegistration, lookup_code, lookup_trap, register_code};

use alloc::boxed::Box;
use core::any::Any;
use keel_translate::Trap;

/// A trap raised by compiled code.
#[derive(Debug, Clone)]
pub struct TrapRecord {
    /// Which trap.
    pub code: Trap,
    /// The pc of the trapping instruction (raw address).
    pub pc: usize,
    /// The frame pointer at the trap (raw address).
    pub fp: usize,
    /// The wasm frames at the trap.
    pub backtrace: RawBacktrace,
}

/// Why execution left wasm abnormally.
pub enum UnwindReason {
    /// A wasm trap.
    Trap(TrapRecord),
    /// A host function returned an error; the payload is the embedder's
    /// error value, the backtrace the wasm frames that called the host.
    User(Box<dyn Any + Send>, RawBacktrace),
    /// A host function panicked; the payload is the panic's.
    Panic(Box<dyn Any + Send>),
    /// A wasm exception no wasm frame of the activation caught: the raw
    /// exception reference (a `VMExnObject` of the running store), and
    /// the wasm frames from the throw outwards.
    Exception(usize, RawBacktrace),
}

impl core::fmt::Debug for UnwindReason {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            UnwindReason::Trap(t) => f.debug_tuple("Trap").field(t).finish(),
            UnwindReason::User(_, bt) => f.debug_tuple("User").field(bt).finish(),
            UnwindReason::Panic(_) => f.write_str("Panic(..)"),
            UnwindReason::Exception(exn, bt) => f
                .debug_tuple("Exception")
                .field(&format_args!("{exn:#x}"))
                .field(bt)
                .finish(),
        }
    }
}

/// One entry into wasm on this thread: the jump buffer to return to and
/// the reason, once something unwinds.
pub struct Activation {
    /// Written by `keel_setjmp_call` before anything can jump to it.
    jmp_buf: core::mem::MaybeUninit<arch::JmpBuf>,
    prev: *mut Activation,
    reason: Option<UnwindReason>,
    /// A trap recorded by [`trap_entry`] (code, pc, fp); its backtrace is
    /// in the thread's trap buffer.
    trap: Option<(Trap, usize, usize)>,
}

/// The innermost activation on this CPU (thread), or null.
fn current() -> &'static core::cell::Cell<*mut Activation> {
    // SAFETY: the CPU-local state outlives this CPU's (thread's) keel
    // code and only this CPU uses it (the `Platform::cpu_local` contract).
    unsafe { &cpu_local::cpu_local().as_ref().current }
}

/// Whether this thread is currently running inside [`catch_traps`].
pub fn in_wasm() -> bool {
    !current().get().is_null()
}

/// Run `f` so that traps and host unwinds inside it come back as `Err`.
///
/// `f` normally calls compiled wasm code. A panic in `f` itself is caught
/// and returned as [`UnwindReason::Panic`]. The same as
/// [`ThisCpu::catch_traps`] on a freshly fetched [`ThisCpu`].
///
/// # Safety
///
/// * TRAP-1: `f` may only be jumped out of at points where it holds
///   nothing that needs dropping; in practice it must call compiled code
///   through raw function pointers and own no heap values.
pub unsafe fn catch_traps<F: FnOnce()>(f: F) -> Result<(), UnwindReason> {
    // SAFETY: used right away, before anything can suspend this code.
    // TRAP-1 is the caller's.
    unsafe { ThisCpu::get().catch_traps(f) }
}

/// This CPU's (thread's) keel state, fetched once so that one entry into
/// wasm ([`ThisCpu::wasm_stack_limit`], then [`ThisCpu::catch_traps`])
/// looks it up once: hosted, each lookup is a thread-local access that
/// cannot be cached across calls (see below).
///
/// Code on a [`Fiber`] can be suspended inside any call into wasm and
/// resumed on another thread, so a `ThisCpu` is only good until the code
/// holding it next calls something that could suspend it.
#[derive(Clone, Copy)]
pub struct ThisCpu(core::ptr::NonNull<CpuLocal>);

impl ThisCpu {
    /// The running CPU's (thread's) state.
    ///
    /// # Safety
    ///
    /// * CPU-1: the handle must only be used before the code that fetched
    ///   it next calls into wasm, resumes or suspends a fiber, or otherwise
    ///   lets itself be moved to another CPU; [`ThisCpu::catch_traps`] is
    ///   the exception, it fetches the state again where it has to.
    #[inline]
    pub unsafe fn get() -> Self {
        Self(cpu_local::cpu_local())
    }

    fn local(&self) -> &CpuLocal {
        // SAFETY: the CPU-local state outlives this CPU's keel code and
        // only this CPU uses it (the `Platform::cpu_local` contract); CPU-1
        // keeps this handle on the CPU that fetched it.
        unsafe { self.0.as_ref() }
    }

    /// As [`wasm_stack_limit`], for this CPU.
    #[inline]
    pub fn wasm_stack_limit(self, max_wasm_stack: usize) -> usize {
        let sp = stack_pointer();
        // Hosted, the per-CPU state is per thread, whose stack never
        // changes: the same stack pointer on the same stack gives the same
        // limit (a host calling wasm in a loop asks again and again).
        #[cfg(feature = "std")]
        {
            let local = self.local();
            if let Some(memo) = local.stack_limit.get()
                && memo.sp == sp
                && memo.max == max_wasm_stack
                && memo.fiber == local.fiber_stack.get()
            {
                return memo.limit;
            }
        }
        self.compute_stack_limit(sp, max_wasm_stack)
    }

    /// [`ThisCpu::wasm_stack_limit`] from the stack's bounds.
    #[cold]
    #[inline(never)]
    fn compute_stack_limit(self, sp: usize, max_wasm_stack: usize) -> usize {
        let local = self.local();
        let fiber = local.fiber_stack.get();
        let bounds = fiber
            .map(|(start, end)| start..end)
            .or_else(|| platform().and_then(|p| p.stack_bounds()));
        let mut limit = sp.saturating_sub(max_wasm_stack);
        if let Some(bounds) = bounds
            && bounds.contains(&sp)
        {
            let floor = bounds.start.saturating_add(HOST_STACK_RESERVE).min(sp);
            limit = limit.max(floor);
        }
        #[cfg(feature = "std")]
        local.stack_limit.set(Some(StackLimitMemo {
            sp,
            max: max_wasm_stack,
            fiber,
            limit,
        }));
        limit
    }

    /// As [`catch_traps`], on this CPU.
    ///
    /// # Safety
    ///
    /// * TRAP-1, as [`catch_traps`].
    // Inlined: keel's call path runs it inside a function of its own
    // that cannot unwind (keel's `run_wasm_call`), where a second call
    // level would only add its cost.
    #[inline(always)]
    pub unsafe fn catch_traps<F: FnOnce()>(self, mut f: F) -> Result<(), UnwindReason> {
        let local = self.local();
        // Hosted, trap handling is set up once per thread (the per-CPU
        // state is per thread); a kernel's `init_traps` is asked every time.
        #[cfg(feature = "std")]
        if !local.traps_ready.get() {
            if let Some(platform) = platform() {
                platform.init_traps();
            }
            local.traps_ready.set(true);
        }
        #[cfg(not(feature = "std"))]
        if let Some(platform) = platform() {
            platform.init_traps();
        }
        // Hosted, only code on a fiber can move to another thread while
        // `f` runs; a thread's own stack stays on its thread.
        #[cfg(feature = "std")]
        let may_move = local.fiber_stack.get().is_some();
        let current = &local.current;
        let mut activation = Activation {
            jmp_buf: core::mem::MaybeUninit::uninit(),
            prev: current.get(),
            reason: None,
            trap: None,
        };
        let act_ptr: *mut Activation = &mut activation;
        current.set(act_ptr);

        struct Call<F> {
            f: *mut F,
            act: *mut Activation,
        }
        extern "C" fn call<F: FnOnce()>(data: *mut u8) -> i32 {
            // SAFETY: `data` is the `Call<F>` on `catch_traps`' stack
            // frame, alive for the duration of `keel_setjmp_call`, which
            // calls this exactly once; `f` is moved out here and
            // `catch_traps` forgets its own copy.
            let (f, _act) = unsafe {
                let call = &*data.cast::<Call<F>>();
                (call.f.read(), call.act)
            };
            #[cfg(feature = "std")]
            match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
                Ok(()) => 0,
                Err(payload) => {
                    // SAFETY: the activation outlives this call (TRAP-2).
                    unsafe { (*_act).reason = Some(UnwindReason::Panic(payload)) };
                    1
                }
            }
            // Without std, panics abort: nothing can unwind through here.
            #[cfg(not(feature = "std"))]
            {
                f();
                0
            }
        }
        // `f` stays where the caller passed it; the callback moves it out.
        let mut data = Call {
            f: &mut f,
            act: act_ptr,
        };
        // SAFETY: the jump buffer and `data` live in this frame for the
        // whole call; `call::<F>` matches the callback signature. If `f`
        // is jumped out of, it is never dropped (TRAP-1 says it need not).
        let ret = unsafe {
            arch::keel_setjmp_call(
                (*act_ptr).jmp_buf.as_mut_ptr(),
                call::<F>,
                (&mut data as *mut Call<F>).cast(),
            )
        };
        // Moved out by the callback (or jumped out of: TRAP-1).
        core::mem::forget(f);
        // On a fiber, `f` may have been suspended and resumed on another
        // CPU (thread), whose chain now holds this activation: fetch the
        // state again. A kernel may move any code between CPUs.
        #[cfg(feature = "std")]
        let current = if may_move { self::current() } else { current };
        #[cfg(not(feature = "std"))]
        let current = self::current();
        current.set(activation.prev);
        if ret == 0 {
            return Ok(());
        }
        if let Some((code, pc, fp)) = activation.trap {
            return Err(UnwindReason::Trap(TrapRecord {
                code,
                pc,
                fp,
                backtrace: backtrace::take_trap_buffer(),
            }));
        }
        Err(activation
            .reason
            .take()
            .unwrap_or(UnwindReason::Panic(Box::new(
                "wasm unwound without a reason",
            ))))
    }
}

/// Unwind to the innermost [`catch_traps`] with `reason`.
///
/// # Safety
///
/// * There must be an active [`catch_traps`] on this thread ([`in_wasm`]).
/// * TRAP-1: every frame between here and that `catch_traps` must hold
///   nothing that needs dropping, including the caller of `raise`.
pub unsafe fn raise(reason: UnwindReason) -> ! {
    let act = current().get();
    if act.is_null() {
        // Not inside wasm: there is nowhere to unwind to. Callers check
        // `in_wasm` first; reaching this is a keel bug.
        panic!("keel_trap::raise called outside of wasm");
    }
    // SAFETY: TRAP-2, the activation is live; the caller guarantees the
    // skipped frames are plain (TRAP-1).
    unsafe {
        (*act).reason = Some(reason);
        arch::keel_longjmp((*act).jmp_buf.as_ptr())
    }
}

/// The trap entry point: call it from a signal handler or a kernel
/// exception vector with the faulting instruction's `pc`, the frame
/// pointer `fp` at the fault, and the faulting data address (or 0).
///
/// If this thread is running wasm and `pc` is a registered trap site, the
/// trap is recorded and control jumps back to the innermost
/// [`catch_traps`]: the call does not return. Otherwise it returns `false`
/// ("not mine") and the caller should treat the fault as a host fault.
///
/// It allocates nothing and takes no lock a trapping thread can hold.
///
/// # Safety
///
/// Must be called on the thread that faulted, from its fault context, with
/// the registers of the faulting frame (the jump discards all frames above
/// the activation).
pub unsafe fn trap_entry(pc: usize, fp: usize, _fault_address: usize) -> bool {
    let act = current().get();
    if act.is_null() {
        return false;
    }
    let Some(code) = lookup_trap(pc) else {
        return false;
    };
    // SAFETY: `pc` is a trap site of wasm code, so `fp` is its frame's
    // frame pointer (TRAP-3); one trap at a time uses the buffer.
    unsafe { backtrace::capture_into_trap_buffer(pc, fp) };
    // SAFETY: TRAP-2; the frames above the activation are wasm frames
    // (the pc is in registered code) and trampolines (TRAP-1).
    unsafe {
        (*act).trap = Some((code, pc, fp));
        arch::keel_longjmp((*act).jmp_buf.as_ptr())
    }
}

/// Bytes of stack kept free below wasm's stack limit for what runs on the
/// same stack after wasm stops: host functions wasm calls, the
/// trampolines, keel's own frames. Host functions that need more must
/// run with a larger thread stack or a smaller `max_wasm_stack`.
pub const HOST_STACK_RESERVE: usize = 64 * 1024;

/// The lowest stack address wasm may use when the host enters it here:
/// the current stack pointer minus `max_wasm_stack` bytes, raised to
/// [`HOST_STACK_RESERVE`] bytes above the bottom of the running
/// [`Fiber`]'s stack, or of the thread's real stack when the platform
/// knows it ([`Platform::stack_bounds`]), so that
/// exhausting a small stack traps instead of overflowing it. When the
/// stack has less than the reserve left, the limit is the stack pointer
/// itself and any wasm call traps with a stack overflow.
pub fn wasm_stack_limit(max_wasm_stack: usize) -> usize {
    // SAFETY: used right away (CPU-1).
    unsafe { ThisCpu::get() }.wasm_stack_limit(max_wasm_stack)
}

/// What [`wasm_stack_limit`] last computed on a thread, and from what.
#[cfg(feature = "std")]
#[derive(Clone, Copy, Debug)]
pub(crate) struct StackLimitMemo {
    sp: usize,
    max: usize,
    fiber: Option<(usize, usize)>,
    limit: usize,
}

/// The current stack pointer (approximately: the caller's frame).
#[inline(always)]
pub fn stack_pointer() -> usize {
    let marker = 0u8;
    core::hint::black_box(&marker) as *const u8 as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catch_traps_returns_ok_and_raised_reasons() {
        // SAFETY: the closures hold nothing that needs dropping.
        unsafe {
            assert!(catch_traps(|| {}).is_ok());
            let r =
                catch_traps(|| raise(UnwindReason::User(Box::new(42u32), RawBacktrace::default())));
            match r {
                Err(UnwindReason::User(v, _)) => assert_eq!(*v.downcast::<u32>().unwrap(), 42),
                other => panic!("unexpected {other:?}"),
            }
            assert!(!in_wasm());
            // Nested activations unwind to the innermost one.
            let outer = catch_traps(|| {
                let inner = catch_traps(|| {
                    raise(UnwindReason::User(Box::new(1u8), RawBacktrace::default()))
                });
                assert!(matches!(inner, Err(UnwindReason::User(..))));
                assert!(in_wasm());
            });
            assert!(outer.is_ok());
            let r = catch_traps(|| panic!("inside"));
            assert!(matches!(r, Err(UnwindReason::Panic(_))));
        }
    }

    #[test]
    fn handle_trap_ignores_unknown_pcs() {
        // SAFETY: not in wasm, so nothing jumps.
        unsafe {
            assert!(!trap_entry(0x1234, 0, 0));
            let r = catch_traps(|| assert!(!trap_entry(0x1234, 0, 0)));
            assert!(r.is_ok());
        }
    }
}
