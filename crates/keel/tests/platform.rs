//! Platform registration errors. Its own test binary: the platform is
//! registered once per process.

use core::ptr::NonNull;
use keel::{Access, Config, CpuLocal, Engine, HostedPlatform, Platform, PlatformError};

/// The hosted platform, but unable to deliver faults to keel.
struct NoFaults;

// SAFETY: every method forwards to the hosted platform.
unsafe impl Platform for NoFaults {
    fn page_size(&self) -> usize {
        HostedPlatform.page_size()
    }
    fn reserve(&self, len: usize) -> Result<NonNull<u8>, PlatformError> {
        HostedPlatform.reserve(len)
    }
    unsafe fn protect(
        &self,
        addr: NonNull<u8>,
        len: usize,
        access: Access,
    ) -> Result<(), PlatformError> {
        // SAFETY: our caller upholds the same contract.
        unsafe { HostedPlatform.protect(addr, len, access) }
    }
    unsafe fn release(&self, addr: NonNull<u8>, len: usize) {
        // SAFETY: our caller upholds the same contract.
        unsafe { HostedPlatform.release(addr, len) }
    }
    fn has_virtual_memory(&self) -> bool {
        true
    }
    fn has_trap_handlers(&self) -> bool {
        false
    }
    fn cpu_local(&self) -> NonNull<CpuLocal> {
        HostedPlatform.cpu_local()
    }
}

static NO_FAULTS: NoFaults = NoFaults;
static NO_FAULTS_REF: &dyn Platform = &NO_FAULTS;
static HOSTED: HostedPlatform = HostedPlatform;
static HOSTED_REF: &dyn Platform = &HOSTED;

#[test]
fn platforms_are_checked_at_engine_creation() {
    let mut config = Config::new();
    config.platform(&NO_FAULTS_REF);
    let err = Engine::new(&config).unwrap_err();
    assert!(err.to_string().contains("cannot deliver faults"), "{err}");
    // The first platform registered stays; another one is refused.
    let mut other = Config::new();
    other.platform(&HOSTED_REF);
    let err = Engine::new(&other).unwrap_err();
    assert!(err.to_string().contains("already registered"), "{err}");
    // Asking for the same one again is fine (and still refused for faults).
    let err = Engine::new(&config).unwrap_err();
    assert!(err.to_string().contains("cannot deliver faults"), "{err}");
}
