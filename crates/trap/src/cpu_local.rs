//! Per-CPU state: a thread-local under `std`, the platform's per-CPU slot
//! in `no_std`.

/// Define an accessor `fn $name() -> NonNull<$ty>` for per-CPU state:
/// under `std` it is a `thread_local!`, in `no_std` it is the slot the
/// registered [`Platform`](crate::Platform) hands out per CPU.
macro_rules! cpu_local {
    ($(#[$doc:meta])* $vis:vis fn $name:ident() -> $ty:ty = $init:expr;) => {
        $(#[$doc])*
        ///
        /// Never inlined, and opaque to the optimizer: code on a
        /// [`Fiber`](crate::Fiber) can move to another thread inside any
        /// call, so two calls in one function must not be merged into one
        /// thread-local address.
        #[cfg(feature = "std")]
        #[inline(never)]
        $vis fn $name() -> core::ptr::NonNull<$ty> {
            std::thread_local!(static SLOT: $ty = const { $init });
            core::hint::black_box(SLOT.with(|slot| core::ptr::NonNull::from(slot)))
        }

        $(#[$doc])*
        #[cfg(not(feature = "std"))]
        $vis fn $name() -> core::ptr::NonNull<$ty> {
            match crate::platform::platform() {
                Some(platform) => platform.cpu_local(),
                // Without a platform nothing can have entered wasm; a
                // fresh, idle state answers every query correctly.
                None => core::ptr::NonNull::from(&IDLE),
            }
        }
    };
}

#[cfg(not(feature = "std"))]
static IDLE: crate::platform::CpuLocal = crate::platform::CpuLocal::new();

cpu_local! {
    /// This CPU's (thread's) keel state.
    pub(crate) fn cpu_local() -> crate::platform::CpuLocal = crate::platform::CpuLocal::new();
}
