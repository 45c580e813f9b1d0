//! Issue 10 ("Lost causes"): when the platform refuses memory, the error
//! says what keel was doing and keeps the platform's (operating system's)
//! error as its source. Its own test binary: it registers a platform whose
//! commits of more than 1 MiB fail the way `mprotect` fails without memory.

use core::ptr::NonNull;
use keel::{Access, Config, CpuLocal, Engine, HostedPlatform, Linker, Module, Platform};
use keel::{PlatformError, Store, VmError};

/// The hosted platform, refusing to commit more than 1 MiB at once.
struct Stingy;

const MAX_COMMIT: usize = 1 << 20;

// SAFETY: every method forwards to the hosted platform or fails without
// side effects.
unsafe impl Platform for Stingy {
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
        if access == Access::ReadWrite && len > MAX_COMMIT {
            return Err(PlatformError::with_source(
                "mprotect",
                std::io::Error::from_raw_os_error(libc_enomem()),
            ));
        }
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
        true
    }
    fn init_traps(&self) {
        HostedPlatform.init_traps()
    }
    fn cpu_local(&self) -> NonNull<CpuLocal> {
        HostedPlatform.cpu_local()
    }
}

/// ENOMEM on Linux.
fn libc_enomem() -> i32 {
    12
}

static STINGY: Stingy = Stingy;
static STINGY_REF: &dyn Platform = &STINGY;

#[test]
fn failed_commit_keeps_the_os_error() {
    let mut config = Config::new();
    config.platform(&STINGY_REF);
    let engine = Engine::new(&config).unwrap();
    // 100 pages = 6.4 MiB: the initial commit fails.
    let module = Module::new(&engine, "(module (memory 100))").unwrap();
    let mut store = Store::new(&engine, ());
    let err = Linker::new(&engine)
        .instantiate(&mut store, &module)
        .unwrap_err();
    let shown = format!("{err:#}");
    assert!(
        shown.contains("cannot commit the initial pages of a linear memory"),
        "{shown}"
    );
    assert!(matches!(
        err.downcast_ref::<VmError>(),
        Some(VmError::Platform { .. })
    ));
    let os = err
        .chain()
        .find_map(|e| e.downcast_ref::<std::io::Error>())
        .unwrap_or_else(|| panic!("no OS error in the chain: {shown}"));
    assert_eq!(os.raw_os_error(), Some(12));
    assert!(shown.contains("os error 12"), "{shown}");

    // `memory.grow` past what the platform gives returns -1 (no trap).
    let module = Module::new(
        &engine,
        r#"(module (memory 1)
             (func (export "grow") (param i32) (result i32) local.get 0 memory.grow))"#,
    )
    .unwrap();
    let instance = Linker::new(&engine)
        .instantiate(&mut store, &module)
        .unwrap();
    let grow = instance
        .get_typed_func::<i32, i32>(&mut store, "grow")
        .unwrap();
    assert_eq!(grow.call(&mut store, 100).unwrap(), -1);
    assert_eq!(grow.call(&mut store, 1).unwrap(), 1);
}
