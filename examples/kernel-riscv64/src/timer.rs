//! The periodic timer interrupt: the SBI timer ([`crate::sbi::set_timer`])
//! programmed [`TICK_HZ`] times a second from the `time` CSR, delivered as
//! the supervisor timer interrupt. Each tick calls
//! [`kernel_common::ticks::on_tick`], which advances keel's engine epoch,
//! so a guest with an epoch deadline is preempted by the kernel's own
//! timer, with interrupts on while wasm runs.

use core::arch::asm;
use core::sync::atomic::{AtomicU64, Ordering};
pub use kernel_common::ticks::TICK_HZ;

/// `sie.STIE`: the supervisor timer interrupt is enabled.
const SIE_STIE: usize = 1 << 5;
/// `sstatus.SIE`: the hart takes supervisor interrupts.
const SSTATUS_SIE: usize = 1 << 1;

/// `time` CSR counts per tick (the timebase frequency / [`TICK_HZ`]).
static INTERVAL: AtomicU64 = AtomicU64::new(0);
/// The `time` value of the next tick.
static NEXT: AtomicU64 = AtomicU64::new(0);

/// The `time` CSR: the platform's constant-rate counter.
fn time() -> u64 {
    let now: u64;
    // SAFETY: reading `time` has no effect; OpenSBI lets supervisor mode
    // read it (`mcounteren.TM`).
    unsafe { asm!("rdtime {}", out(reg) now, options(nomem, nostack)) };
    now
}

/// Starts the timer for a `time` CSR running at `timebase_hz`, with the
/// timer interrupt enabled in `sie`. Interrupts stay off until
/// [`enable_interrupts`]; the trap vector must be installed.
pub fn init(timebase_hz: u64) {
    let interval = (timebase_hz / u64::from(TICK_HZ)).max(1);
    INTERVAL.store(interval, Ordering::Relaxed);
    let next = time() + interval;
    NEXT.store(next, Ordering::Relaxed);
    crate::sbi::set_timer(next);
    // SAFETY: enables one interrupt source whose handler (`on_interrupt`)
    // the trap vector calls.
    unsafe { asm!("csrs sie, {}", in(reg) SIE_STIE, options(nomem, nostack)) };
}

/// Sets `sstatus.SIE`: the hart takes interrupts.
pub fn enable_interrupts() {
    // SAFETY: the trap vector handles every interrupt that is enabled in
    // `sie` (the timer only), and nothing the timer handler does takes a
    // lock.
    unsafe { asm!("csrsi sstatus, {}", const SSTATUS_SIE, options(nomem, nostack)) };
}

/// Clears `sstatus.SIE`.
pub fn disable_interrupts() {
    // SAFETY: masking interrupts has no other effect.
    unsafe { asm!("csrci sstatus, {}", const SSTATUS_SIE, options(nomem, nostack)) };
}

/// Whether `sstatus.SIE` is set.
pub fn interrupts_enabled() -> bool {
    let sstatus: usize;
    // SAFETY: reading `sstatus` has no effect.
    unsafe { asm!("csrr {}, sstatus", out(reg) sstatus, options(nomem, nostack)) };
    sstatus & SSTATUS_SIE != 0
}

/// Waits until the next interrupt (interrupts must be on).
pub fn wait_for_interrupt() {
    // SAFETY: `wfi` only waits; the caller keeps interrupts enabled, so
    // the next timer tick ends it (OpenSBI leaves `mstatus.TW` clear, so
    // supervisor mode may execute it).
    unsafe { asm!("wfi", options(nomem, nostack)) };
}

/// The supervisor timer interrupt (interrupts are off inside). It takes no
/// lock and allocates nothing: it programs the next tick (which clears
/// the pending interrupt), counts and advances the epoch.
pub fn on_interrupt() {
    let interval = INTERVAL.load(Ordering::Relaxed);
    let mut next = NEXT.load(Ordering::Relaxed) + interval;
    let now = time();
    if next <= now {
        // Ticks were missed (a long stretch with interrupts off): the
        // next one is one interval from now, not a burst of catch-ups.
        next = now + interval;
    }
    NEXT.store(next, Ordering::Relaxed);
    crate::sbi::set_timer(next);
    kernel_common::ticks::on_tick();
}
