//! What keel's example kernels share, whatever their architecture.
//!
//! Each kernel (`examples/kernel-x86_64`, `examples/kernel-riscv64`) owns
//! its boot code, console, exception vector, page-table format and timer,
//! and describes them to this crate as a [`Machine`]. The rest is the same
//! idea on both and lives here once:
//!
//! * [`console`]: `kprintln!` over the kernel's console.
//! * [`memory`]: the kernel heap (`#[global_allocator]`) and the page-frame
//!   allocator.
//! * [`paging`]: 4 KiB mappings on demand in keel's region, for any radix
//!   page-table format of 512 entries per table (x86_64's four levels,
//!   riscv64's Sv39 three), as a [`paging::PageFormat`] describes it.
//! * [`platform`]: keel's [`keel::Platform`] over that paging.
//! * [`ticks`]: the timer-tick count and the engine epoch each tick
//!   advances.
//! * [`guest`], [`sched`]: the guests (`guest.wat`, `sched.wat`) and what
//!   the boot test checks: calls, traps with backtraces, exceptions, fuel,
//!   epochs, limits, and three guests scheduled round-robin on fibers.

#![no_std]

extern crate alloc;

#[macro_use]
pub mod console;

pub mod guest;
pub mod memory;
pub mod paging;
pub mod platform;
pub mod sched;
pub mod selftest;
mod target;
pub mod ticks;

pub use target::engine_target;

/// Runs everything the boot tests check, in order: the guest's calls and
/// traps ([`guest::run`]), guest control ([`guest::control`]) and the
/// scheduler ([`sched::run`]). On the first failure it prints which part
/// failed and why, and returns `false`.
pub fn run_guests<M: Machine>() -> bool {
    let parts: [(&str, fn() -> keel::Result<()>); 3] = [
        ("guest", guest::run::<M>),
        ("guest control", guest::control::<M>),
        ("scheduler", sched::run::<M>),
    ];
    for (name, part) in parts {
        if let Err(err) = part() {
            kprintln!("kernel: {name} failed: {err:?}");
            return false;
        }
    }
    true
}

/// The architecture-specific half of a kernel, as the shared code needs it.
pub trait Machine: Sized + Send + Sync + 'static {
    /// The page-table format keel's region is mapped with.
    type Pages: paging::PageFormat;

    /// keel's platform for this kernel, as `keel::Config::platform` takes
    /// it (a `static` holding `&PLATFORM`).
    fn platform_ref() -> &'static &'static dyn keel::Platform;

    /// Waits until the next interrupt (interrupts must be on).
    fn wait_for_interrupt();

    /// Whether the CPU takes interrupts now.
    fn interrupts_enabled() -> bool;
}
