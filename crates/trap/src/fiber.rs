//! Fibers: running code on a stack of its own that can be suspended and
//! resumed later, possibly on another thread or CPU.
//!
//! A [`Fiber`] owns a [`FiberStack`] (allocated through the
//! [`Platform`](crate::Platform): reserved, then made accessible above a
//! guard page when the platform has virtual memory) and a closure. Each
//! [`Fiber::resume`] switches to the fiber's stack (the `arch` module's
//! `keel_fiber_switch`) and runs the closure until it returns or calls
//! [`Suspend::suspend`], which switches back to the resumer.
//!
//! # What a switch carries along
//!
//! * **The activation chain.** Code on the fiber enters wasm through
//!   [`catch_traps`](crate::catch_traps), which links
//!   [`Activation`]s into the running CPU's chain. When the fiber
//!   suspends, its activations (the innermost part of the chain) are
//!   unlinked and the chain is put back as the resumer had it; the next
//!   resume links them on top of the resuming CPU's chain, so traps and
//!   host unwinds on the fiber always find their own `catch_traps`
//!   (FIBER-1).
//! * **The stack bounds.** While a fiber runs, its stack is this CPU's
//!   current stack for [`wasm_stack_limit`](crate::wasm_stack_limit), so
//!   wasm's stack limit lies inside the fiber's stack.
//! * **Panics.** With `std`, a panic in the closure is caught at the base
//!   of the fiber and resumed in the caller of [`Fiber::resume`]; nothing
//!   unwinds off the top of a fiber's stack.
//!
//! # Invariants
//!
//! * **FIBER-1**: while a fiber is suspended, no activation on its stack
//!   is on any CPU's chain; while it runs, its activations are on the
//!   running CPU's chain, above the activations of its resumer.
//! * **FIBER-2**: the memory of a fiber's stack is released only when
//!   nothing on it is live: after the closure returned, or before it
//!   started. Dropping a suspended fiber leaks its stack instead.

use crate::platform::{Access, PlatformError, platform};
use crate::{Activation, arch, current};
use alloc::boxed::Box;
use core::ops::Range;
use core::ptr::NonNull;

/// Memory for one fiber's stack: `size` usable bytes above an
/// inaccessible guard page (when the platform has virtual memory).
pub struct FiberStack {
    base: NonNull<u8>,
    len: usize,
    guard: usize,
}

// SAFETY: the stack is plain memory owned by this value; which thread
// runs on it is decided by the `Fiber` that uses it.
unsafe impl Send for FiberStack {}
// SAFETY: `&FiberStack` only reads the bounds.
unsafe impl Sync for FiberStack {}

impl FiberStack {
    /// Reserve a stack of at least `size` bytes (rounded up to whole
    /// pages) plus a guard page below it, through the registered platform.
    ///
    /// # Errors
    ///
    /// When no platform is registered, the size overflows, or the platform
    /// cannot reserve or commit the memory.
    pub fn new(size: usize) -> Result<Self, PlatformError> {
        let platform =
            platform().ok_or_else(|| PlatformError::new("no keel platform is registered"))?;
        let page = platform.page_size();
        let size = size
            .max(1)
            .checked_next_multiple_of(page)
            .ok_or_else(|| PlatformError::new("fiber stack size overflows"))?;
        let guard = if platform.has_virtual_memory() {
            page
        } else {
            0
        };
        let len = size
            .checked_add(guard)
            .ok_or_else(|| PlatformError::new("fiber stack size overflows"))?;
        let base = platform.reserve(len)?;
        // SAFETY: the range lies in the reservation just made, which
        // nothing references yet.
        let committed = unsafe {
            platform.protect(
                NonNull::new_unchecked(base.as_ptr().add(guard)),
                size,
                Access::ReadWrite,
            )
        };
        if let Err(e) = committed {
            // SAFETY: exactly the reservation made above, unused.
            unsafe { platform.release(base, len) };
            return Err(e);
        }
        Ok(Self { base, len, guard })
    }

    /// The usable stack as raw addresses: `start` is its lowest byte, `end`
    /// one past its highest (the initial stack pointer).
    pub fn range(&self) -> Range<usize> {
        let start = self.base.as_ptr() as usize + self.guard;
        start..self.base.as_ptr() as usize + self.len
    }
}

impl Drop for FiberStack {
    fn drop(&mut self) {
        if let Some(platform) = platform() {
            // SAFETY: `base`/`len` are the reservation made in `new`;
            // FIBER-2: nothing runs on it any more.
            unsafe { platform.release(self.base, self.len) };
        }
    }
}

/// Where a fiber is in its life.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum State {
    NotStarted,
    Running,
    Suspended,
    Finished,
}

/// A fiber's closure.
type FiberFn<'a> = Box<dyn FnOnce(&Suspend) + 'a>;

/// What the fiber and its resumer share, boxed so its address is stable.
struct Shared<'a> {
    /// The resumer's stack pointer, saved by the switch into the fiber.
    resumer_sp: usize,
    /// The fiber's stack pointer while it is not running.
    fiber_sp: usize,
    state: State,
    func: Option<FiberFn<'a>>,
    /// The chain as the resumer had it (FIBER-1).
    outer: *mut Activation,
    /// The fiber's own activations while it is suspended: the innermost
    /// and the outermost one.
    saved_chain: Option<(NonNull<Activation>, NonNull<Activation>)>,
    /// The usable stack, (start, end).
    stack_range: (usize, usize),
    /// A panic that ended the closure, to resume in the resumer.
    #[cfg(feature = "std")]
    panic: Option<Box<dyn core::any::Any + Send>>,
}

/// A closure running on a stack of its own, which it can leave with
/// [`Suspend::suspend`] and come back to with [`Fiber::resume`].
pub struct Fiber<'a> {
    /// Owned (from `Box::into_raw`, freed in `Drop`) and only ever used
    /// through this raw pointer, which the fiber's side shares.
    shared: NonNull<Shared<'a>>,
    stack: Option<FiberStack>,
}

/// The handle a fiber's closure suspends itself with.
pub struct Suspend {
    shared: *mut Shared<'static>,
}

impl<'a> Fiber<'a> {
    /// A fiber that runs `func` on `stack` when first resumed.
    ///
    /// # Errors
    ///
    /// When the stack is too small to hold the first switch frame.
    pub fn new(stack: FiberStack, func: impl FnOnce(&Suspend) + 'a) -> Result<Self, PlatformError> {
        let range = stack.range();
        if range.len() < 4096 {
            return Err(PlatformError::new("fiber stack smaller than 4096 bytes"));
        }
        let shared = Box::into_raw(Box::new(Shared {
            resumer_sp: 0,
            fiber_sp: 0,
            state: State::NotStarted,
            func: Some(Box::new(func)),
            outer: core::ptr::null_mut(),
            saved_chain: None,
            stack_range: (range.start, range.end),
            #[cfg(feature = "std")]
            panic: None,
        }));
        // SAFETY: `shared` was just allocated; the top is 16-byte aligned
        // (the page-aligned end of the stack) and the whole stack is
        // writable.
        unsafe {
            (*shared).fiber_sp =
                arch::fiber_init_stack(range.end & !15, fiber_entry, shared.cast());
        }
        Ok(Self {
            // SAFETY: `Box::into_raw` never returns null.
            shared: unsafe { NonNull::new_unchecked(shared) },
            stack: Some(stack),
        })
    }

    fn state(&self) -> State {
        // SAFETY: `shared` is live while `self` is; the fiber is not
        // running while its owner can call this.
        unsafe { (*self.shared.as_ptr()).state }
    }

    /// The fiber's stack, for reuse, once the closure has returned or if
    /// it never started; `None` while it is suspended (FIBER-2).
    pub fn into_stack(mut self) -> Option<FiberStack> {
        match self.state() {
            State::Finished | State::NotStarted => self.stack.take(),
            State::Running | State::Suspended => None,
        }
    }

    /// Whether the closure has returned.
    pub fn is_finished(&self) -> bool {
        self.state() == State::Finished
    }

    /// Whether the closure has started and not yet returned: it is waiting
    /// in [`Suspend::suspend`].
    pub fn is_suspended(&self) -> bool {
        self.state() == State::Suspended
    }

    /// Run the fiber until its closure suspends itself or returns; `true`
    /// when it has returned.
    ///
    /// # Panics
    ///
    /// If the fiber has already finished, or (with `std`) resuming the
    /// closure's panic when it panicked.
    pub fn resume(&mut self) -> bool {
        let shared = self.shared.as_ptr();
        // SAFETY: `shared` is this fiber's, live while it is; the fiber is not running
        // (only the resumer, this thread, touches it now).
        unsafe {
            assert!(
                matches!((*shared).state, State::NotStarted | State::Suspended),
                "resumed a fiber that is running or has finished"
            );
            // FIBER-1: link the fiber's activations on top of ours.
            let chain = current();
            (*shared).outer = chain.get();
            if let Some((top, base)) = (*shared).saved_chain.take() {
                (*base.as_ptr()).prev = chain.get();
                chain.set(top.as_ptr());
            }
            let local = crate::cpu_local::cpu_local();
            let previous_bounds = local
                .as_ref()
                .fiber_stack
                .replace(Some((*shared).stack_range));
            (*shared).state = State::Running;
            arch::keel_fiber_switch(&mut (*shared).resumer_sp, (*shared).fiber_sp, 0);
            // Back on this thread's own stack: the fiber suspended or
            // finished, and put the chain back as we had it.
            local.as_ref().fiber_stack.replace(previous_bounds);
            #[cfg(feature = "std")]
            if let Some(payload) = (*shared).panic.take() {
                std::panic::resume_unwind(payload);
            }
            (*shared).state == State::Finished
        }
    }
}

impl Drop for Fiber<'_> {
    fn drop(&mut self) {
        if self.state() == State::Suspended {
            // FIBER-2: frames on the stack are live; keep its memory.
            core::mem::forget(self.stack.take());
        }
        // SAFETY: allocated by `Box::into_raw` in `new`; the fiber is not
        // running, so nothing else uses it any more.
        drop(unsafe { Box::from_raw(self.shared.as_ptr()) });
    }
}

impl Suspend {
    /// Switch back to the resumer, which sees [`Fiber::resume`] return
    /// `false`; returns when the fiber is resumed (possibly on another
    /// thread or CPU).
    ///
    /// # Panics
    ///
    /// If called on another stack than its fiber's (a `Suspend` lent to
    /// the closure of a fiber started inside this one).
    pub fn suspend(&self) {
        let shared = self.shared;
        // SAFETY: `shared` lives while the fiber's closure (which borrows
        // this `Suspend`) runs.
        let (start, end) = unsafe { (*shared).stack_range };
        assert!(
            running_stack() == Some(start..end),
            "Suspend::suspend called outside its own fiber"
        );
        // SAFETY: we run on the fiber (checked above), which is therefore
        // `Running`, and its resumer is waiting in `Fiber::resume`.
        unsafe {
            // FIBER-1: unlink our activations, innermost to outermost.
            let chain = current();
            let outer = (*shared).outer;
            let top = chain.get();
            (*shared).saved_chain = NonNull::new(top).filter(|_| top != outer).map(|top| {
                let mut base = top;
                while (*base.as_ptr()).prev != outer {
                    // The chain below `top` reaches `outer` (catch_traps
                    // pushes and pops in order).
                    base = NonNull::new_unchecked((*base.as_ptr()).prev);
                }
                (top, base)
            });
            chain.set(outer);
            (*shared).state = State::Suspended;
            arch::keel_fiber_switch(&mut (*shared).fiber_sp, (*shared).resumer_sp, 0);
            // Resumed: `Fiber::resume` linked our activations back.
        }
    }
}

/// The stack of the fiber running on this CPU, if one is.
pub(crate) fn running_stack() -> Option<Range<usize>> {
    // SAFETY: the CPU-local state outlives this CPU's keel code and only
    // this CPU uses it (the `Platform::cpu_local` contract).
    let bounds = unsafe { crate::cpu_local::cpu_local().as_ref() }
        .fiber_stack
        .get();
    bounds.map(|(start, end)| start..end)
}

/// The base of every fiber's stack: run the closure, then switch back for
/// the last time.
extern "C" fn fiber_entry(data: *mut u8, _arg: usize) -> ! {
    let shared = data.cast::<Shared<'static>>();
    // SAFETY: `data` is the fiber's `Shared` (set by `Fiber::new`), alive
    // while the fiber can run; the resumer waits in `Fiber::resume`.
    unsafe {
        let suspend = Suspend { shared };
        if let Some(func) = (*shared).func.take() {
            #[cfg(feature = "std")]
            if let Err(payload) =
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| func(&suspend)))
            {
                (*shared).panic = Some(payload);
            }
            #[cfg(not(feature = "std"))]
            func(&suspend);
        }
        (*shared).state = State::Finished;
        // Every catch_traps on the fiber has returned; the chain is the
        // resumer's again.
        current().set((*shared).outer);
        arch::keel_fiber_switch(&mut (*shared).fiber_sp, (*shared).resumer_sp, 0);
    }
    // A finished fiber is never resumed (`Fiber::resume` asserts it).
    unreachable!("a finished fiber was resumed")
}

#[cfg(all(test, feature = "std"))]
mod tests {
    use super::*;
    use crate::{UnwindReason, catch_traps, in_wasm, raise};
    use core::cell::Cell;

    fn stack() -> FiberStack {
        FiberStack::new(256 * 1024).unwrap()
    }

    #[test]
    fn runs_suspends_and_finishes() {
        let steps = Cell::new(0);
        let mut fiber = Fiber::new(stack(), |s| {
            steps.set(1);
            s.suspend();
            steps.set(2);
            s.suspend();
            steps.set(3);
        })
        .unwrap();
        assert_eq!(steps.get(), 0);
        assert!(!fiber.resume());
        assert_eq!(steps.get(), 1);
        assert!(fiber.is_suspended());
        assert!(!fiber.resume());
        assert_eq!(steps.get(), 2);
        assert!(fiber.resume());
        assert_eq!(steps.get(), 3);
        assert!(fiber.is_finished());
    }

    #[test]
    fn runs_on_its_own_stack_and_reports_it() {
        let s = stack();
        let range = s.range();
        let mut seen = (0usize, None);
        let mut fiber = Fiber::new(s, |_| {
            seen = (crate::stack_pointer(), running_stack());
        })
        .unwrap();
        assert!(fiber.resume());
        drop(fiber);
        let (sp, running) = seen;
        assert!(range.contains(&sp), "{sp:#x} not in {range:x?}");
        assert_eq!(running, Some(range.clone()));
        assert_eq!(running_stack(), None);
        // The stack limit wasm would get on the fiber lies inside it.
        let mut limit = 0;
        let mut fiber = Fiber::new(stack(), |_| limit = crate::wasm_stack_limit(1 << 30)).unwrap();
        assert!(fiber.resume());
        drop(fiber);
        assert!(limit > 0);
    }

    #[test]
    fn panics_come_out_of_resume() {
        let mut fiber = Fiber::new(stack(), |_| panic!("on the fiber")).unwrap();
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| fiber.resume()));
        let payload = r.unwrap_err();
        assert_eq!(payload.downcast_ref::<&str>(), Some(&"on the fiber"));
        assert!(fiber.is_finished());
    }

    #[test]
    fn activations_follow_the_fiber() {
        // A catch_traps on the fiber, suspended inside, then unwound by a
        // raise after the resume: the raise must land in the fiber's own
        // catch_traps, and the resumer's chain must be untouched.
        let outcome = Cell::new(None);
        let mut fiber = Fiber::new(stack(), |s| {
            // SAFETY: nothing in the closure needs dropping when raised over.
            let r = unsafe {
                catch_traps(|| {
                    s.suspend();
                    raise(UnwindReason::User(Box::new(7u32), Default::default()));
                })
            };
            outcome.set(Some(matches!(r, Err(UnwindReason::User(..)))));
        })
        .unwrap();
        assert!(!fiber.resume());
        assert!(!in_wasm(), "the fiber's activation stayed on the chain");
        // Resume from inside an activation of our own.
        // SAFETY: the closure holds nothing that needs dropping.
        let r = unsafe {
            catch_traps(|| {
                assert!(fiber.resume());
                assert!(in_wasm());
            })
        };
        assert!(r.is_ok());
        assert_eq!(outcome.get(), Some(true));
        assert!(!in_wasm());
    }

    #[test]
    fn resumes_on_another_thread() {
        struct SendFiber(Fiber<'static>);
        // SAFETY: the closure only uses thread-independent state.
        unsafe impl Send for SendFiber {}
        let mut fiber = SendFiber(
            Fiber::new(stack(), |s| {
                // SAFETY: nothing needs dropping when raised over.
                let r = unsafe {
                    catch_traps(|| {
                        s.suspend();
                        raise(UnwindReason::User(Box::new(1u8), Default::default()));
                    })
                };
                assert!(matches!(r, Err(UnwindReason::User(..))));
                assert!(!in_wasm());
            })
            .unwrap(),
        );
        assert!(!fiber.0.resume());
        let fiber = std::thread::spawn(move || {
            let mut fiber = fiber;
            assert!(fiber.0.resume());
            assert!(!in_wasm());
            fiber
        })
        .join()
        .unwrap();
        assert!(fiber.0.is_finished());
        assert!(!in_wasm());
    }

    #[test]
    fn dropping_fibers_in_any_state() {
        // Not started: the closure is dropped, the stack freed.
        let flag = std::sync::Arc::new(());
        let held = flag.clone();
        drop(Fiber::new(stack(), move |_| drop(held)).unwrap());
        assert_eq!(std::sync::Arc::strong_count(&flag), 1);
        // Suspended: the stack is kept (leaked), never freed under live frames.
        let mut fiber = Fiber::new(stack(), |s| s.suspend()).unwrap();
        assert!(!fiber.resume());
        drop(fiber);
    }

    #[test]
    fn suspend_checks_it_runs_on_its_own_fiber() {
        let mut outer = Fiber::new(stack(), |outer_suspend| {
            let mut inner = Fiber::new(stack(), |_| outer_suspend.suspend()).unwrap();
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| inner.resume()));
            assert!(r.is_err(), "suspending the outer fiber from the inner one");
            outer_suspend.suspend();
        })
        .unwrap();
        assert!(!outer.resume());
        assert!(outer.resume());
    }

    #[test]
    fn many_switches() {
        let count = Cell::new(0u32);
        let mut fiber = Fiber::new(stack(), |s| {
            for _ in 0..100_000 {
                count.set(count.get() + 1);
                s.suspend();
            }
        })
        .unwrap();
        let mut resumes = 0;
        while !fiber.resume() {
            resumes += 1;
        }
        assert_eq!(resumes, 100_000);
        assert_eq!(count.get(), 100_000);
    }
}
