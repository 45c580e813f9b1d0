//! keel's platform for this kernel: address space from the on-demand
//! region of [`crate::paging`], the exception vector as trap handler, one
//! CPU.
//!
//! * [`Platform::reserve`] bumps a cursor through the region and maps
//!   nothing, so reserved space faults until committed. Reservations are
//!   never reused (the region is 112 TiB).
//! * [`Platform::protect`] maps 4 KiB pages on demand to zeroed frames
//!   (present + writable for `ReadWrite`, present read-only for
//!   `ReadExecute`: NX is off, so present pages are executable), or clears
//!   the present bit for `None`, keeping the frame, with `invlpg`.
//! * [`Platform::release`] unmaps and frees the frames; the page-table
//!   pages of the released range stay allocated (they leak, a few KiB per
//!   reservation that was ever committed).
//! * The exception vector ([`crate::idt`]) calls [`trap_entry`] for #PF,
//!   #UD and #DE, so [`Platform::has_trap_handlers`] is true.

use crate::paging::{self, PAGE_SIZE, Protection, REGION_END, REGION_START};
use alloc::format;
use core::ptr::NonNull;
use keel::{Access, CpuLocal, Platform, PlatformError};

pub use keel::trap_entry;

/// The kernel's [`Platform`].
pub struct KernelPlatform;

/// The one platform instance.
pub static PLATFORM: KernelPlatform = KernelPlatform;

/// What `keel::Config::platform` takes: a `&'static &'static dyn Platform`.
pub static PLATFORM_REF: &dyn Platform = &PLATFORM;

/// keel's per-CPU state for the only CPU.
static CPU0: CpuLocal = CpuLocal::new();

/// Next free address of the on-demand region.
static NEXT_RESERVATION: spin::Mutex<u64> = spin::Mutex::new(REGION_START);

/// Hands out `len` bytes (rounded up to pages) of unmapped address space,
/// or `None` when the region is exhausted.
pub fn reserve_range(len: u64) -> Option<u64> {
    let len = len.checked_add(PAGE_SIZE - 1)? & !(PAGE_SIZE - 1);
    let mut next = NEXT_RESERVATION.lock();
    let start = *next;
    let end = start.checked_add(len).filter(|&end| end <= REGION_END)?;
    *next = end;
    Some(start)
}

/// Checks that `[addr, addr + len)` is page-aligned and inside the part of
/// the region handed out so far.
fn check_range(addr: NonNull<u8>, len: usize) -> Result<(u64, u64), PlatformError> {
    let start = addr.as_ptr() as u64;
    let len = len as u64;
    let reserved_end = *NEXT_RESERVATION.lock();
    let in_region = start >= REGION_START
        && start
            .checked_add(len)
            .is_some_and(|end| end <= reserved_end);
    if !in_region || !start.is_multiple_of(PAGE_SIZE) || !len.is_multiple_of(PAGE_SIZE) {
        return Err(PlatformError::new(format!(
            "range {start:#x}+{len:#x} is not page-aligned reserved space"
        )));
    }
    Ok((start, len))
}

// SAFETY: `reserve` hands out each part of the region once, unmapped;
// `protect` maps exactly the requested pages, with zeroed frames the
// first time (paging::protect), and refuses ranges outside reserved
// space; `cpu_local` returns the only CPU's state, which lives forever.
unsafe impl Platform for KernelPlatform {
    fn page_size(&self) -> usize {
        PAGE_SIZE as usize
    }

    fn reserve(&self, len: usize) -> Result<NonNull<u8>, PlatformError> {
        reserve_range(len as u64)
            .and_then(|addr| NonNull::new(addr as *mut u8))
            .ok_or_else(|| {
                PlatformError::new(format!("out of address space reserving {len:#x} bytes"))
            })
    }

    unsafe fn protect(
        &self,
        addr: NonNull<u8>,
        len: usize,
        access: Access,
    ) -> Result<(), PlatformError> {
        let (start, len) = check_range(addr, len)?;
        let protection = match access {
            Access::None => Protection::None,
            Access::ReadWrite => Protection::ReadWrite,
            Access::ReadExecute => Protection::ReadExecute,
        };
        // SAFETY: the range is page-aligned reserved space in the region
        // (checked above); the caller guarantees no reference points into
        // pages losing access.
        unsafe { paging::protect(start, len, protection) }.map_err(|_| {
            PlatformError::new(format!(
                "out of memory mapping {len:#x} bytes at {start:#x}"
            ))
        })
    }

    unsafe fn release(&self, addr: NonNull<u8>, len: usize) {
        if let Ok((start, len)) = check_range(addr, len) {
            // SAFETY: a whole reservation, unused from now on (caller).
            unsafe { paging::unmap(start, len) };
        }
    }

    fn has_virtual_memory(&self) -> bool {
        true
    }

    fn has_trap_handlers(&self) -> bool {
        true
    }

    fn cpu_local(&self) -> NonNull<CpuLocal> {
        NonNull::from(&CPU0)
    }

    /// `memory.atomic.wait` on the only CPU: a guest that waits holds the
    /// CPU (guests are synchronous calls or fibers of this CPU), so no
    /// other guest can notify it; it halts until each timer tick, ends at
    /// its timeout, and asks `interrupt` (the store's epoch deadline) at
    /// every tick.
    unsafe fn atomic_wait(
        &self,
        addr: *const u8,
        expected: u64,
        size: u8,
        timeout: Option<core::time::Duration>,
        mut interrupt: Option<&mut dyn FnMut() -> bool>,
    ) -> Result<u32, PlatformError> {
        // SAFETY: keel passes an address valid and aligned for a `size`-byte
        // atomic read.
        let current = unsafe {
            use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};
            if size == 4 {
                u64::from(AtomicU32::from_ptr(addr.cast_mut().cast()).load(Ordering::SeqCst))
            } else {
                AtomicU64::from_ptr(addr.cast_mut().cast()).load(Ordering::SeqCst)
            }
        };
        if current != expected {
            return Ok(1);
        }
        if !crate::timer::interrupts_enabled() {
            return Err(PlatformError::new(
                "memory.atomic.wait with interrupts off would halt forever",
            ));
        }
        let start = crate::timer::ticks();
        let ticks = timeout.map(|t| {
            t.as_nanos()
                .saturating_mul(u128::from(crate::timer::TICK_HZ))
                .div_ceil(1_000_000_000)
        });
        loop {
            crate::timer::wait_for_interrupt();
            if let Some(ticks) = ticks
                && u128::from(crate::timer::ticks() - start) >= ticks
            {
                return Ok(2);
            }
            if let Some(interrupt) = interrupt.as_mut()
                && interrupt()
            {
                return Ok(3);
            }
        }
    }
}
