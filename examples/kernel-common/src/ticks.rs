//! Timer ticks and the engine epoch they advance.
//!
//! Each kernel programs its own timer (the PIT on x86_64, the SBI timer on
//! riscv64) to interrupt [`TICK_HZ`] times a second and calls [`on_tick`]
//! from the interrupt. A tick counts and advances the epoch of the engine
//! registered with [`drive_epochs_of`] ([`keel::Engine::increment_epoch`]),
//! so a guest with an epoch deadline is preempted by the kernel's own
//! timer, with interrupts on while wasm runs.

use alloc::boxed::Box;
use core::sync::atomic::{AtomicPtr, AtomicU64, Ordering};
use keel::Engine;

/// Timer interrupts per second.
pub const TICK_HZ: u32 = 1000;

/// Timer interrupts taken so far.
static TICKS: AtomicU64 = AtomicU64::new(0);

/// The engine whose epoch each tick advances (a leaked clone), or null.
static EPOCH_ENGINE: AtomicPtr<Engine> = AtomicPtr::new(core::ptr::null_mut());

/// From now on each tick increments `engine`'s epoch.
pub fn drive_epochs_of(engine: &Engine) {
    let new = Box::into_raw(Box::new(engine.clone()));
    // The previous engine (if any) is leaked: a tick may be using it.
    EPOCH_ENGINE.store(new, Ordering::Release);
}

/// Timer interrupts so far.
pub fn ticks() -> u64 {
    TICKS.load(Ordering::Relaxed)
}

/// Counts one timer interrupt and advances the registered engine's
/// epoch. Call it from the timer interrupt: it takes no lock and
/// allocates nothing (two atomic adds).
pub fn on_tick() {
    TICKS.fetch_add(1, Ordering::Relaxed);
    let engine = EPOCH_ENGINE.load(Ordering::Acquire);
    if !engine.is_null() {
        // SAFETY: engines stored by `drive_epochs_of` are leaked, so the
        // pointer stays valid.
        unsafe { (*engine).increment_epoch() };
    }
}
