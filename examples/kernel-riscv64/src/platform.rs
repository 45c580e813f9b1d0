//! keel's platform for this kernel: [`kernel_common::platform`] over the
//! Sv39 region of [`crate::paging`], with the SBI timer's tick and `wfi`
//! for `memory.atomic.wait`. The trap vector ([`crate::trap`]) calls
//! [`keel::trap_entry`] for illegal instructions and page faults.

use crate::paging::{REGION_END, REGION_START, Sv39};
use kernel_common::Machine;
use kernel_common::platform::KernelPlatform;

/// This machine, as the shared code sees it.
pub struct Riscv64;

impl Machine for Riscv64 {
    type Pages = Sv39;

    fn platform_ref() -> &'static &'static dyn keel::Platform {
        &PLATFORM_REF
    }

    fn wait_for_interrupt() {
        crate::timer::wait_for_interrupt();
    }

    fn interrupts_enabled() -> bool {
        crate::timer::interrupts_enabled()
    }
}

/// The kernel's [`keel::Platform`].
pub static PLATFORM: KernelPlatform<Riscv64> = KernelPlatform::new(REGION_START..REGION_END);

/// What `keel::Config::platform` takes: a `&'static &'static dyn Platform`.
static PLATFORM_REF: &dyn keel::Platform = &PLATFORM;
