//! keel's platform for this kernel: [`kernel_common::platform`] over the
//! on-demand region of [`crate::paging`], with the PIT tick and `hlt` for
//! `memory.atomic.wait`. The exception vector ([`crate::idt`]) calls
//! [`keel::trap_entry`] for #PF, #UD and #DE.

use crate::paging::{REGION_END, REGION_START, X86Pages};
use kernel_common::Machine;
use kernel_common::platform::KernelPlatform;

/// This machine, as the shared code sees it.
pub struct X86_64;

impl Machine for X86_64 {
    type Pages = X86Pages;

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
pub static PLATFORM: KernelPlatform<X86_64> = KernelPlatform::new(REGION_START..REGION_END);

/// What `keel::Config::platform` takes: a `&'static &'static dyn Platform`.
static PLATFORM_REF: &dyn keel::Platform = &PLATFORM;
