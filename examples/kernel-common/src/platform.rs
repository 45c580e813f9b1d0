//! keel's platform for the kernels: address space from the on-demand
//! region of [`crate::paging`], the kernel's exception vector as trap
//! handler, one CPU.
//!
//! * [`Platform::reserve`] hands out unmapped address space of the region
//!   (first fit among released reservations, else a cursor moving up), so
//!   reserved space faults until committed.
//! * [`Platform::protect`] maps 4 KiB pages on demand to zeroed frames, or
//!   makes them invalid for `None`, keeping the frame.
//! * [`Platform::release`] unmaps and frees the frames and makes the
//!   address space reusable; the page-table pages of the released range
//!   stay allocated (a few KiB per reservation that was ever committed).
//! * The kernel's exception vector calls [`keel::trap_entry`] for faults
//!   in wasm, so [`Platform::has_trap_handlers`] is true.

use crate::Machine;
use crate::paging::{self, PAGE_SIZE, Protection};
use alloc::format;
use alloc::vec::Vec;
use core::marker::PhantomData;
use core::ops::Range;
use core::ptr::NonNull;
use keel::{Access, CpuLocal, Platform, PlatformError};

/// keel's per-CPU state for the only CPU.
static CPU0: CpuLocal = CpuLocal::new();

/// The address space handed out so far.
struct Reservations {
    /// The first address never handed out.
    next: u64,
    /// Released reservations, `[start, end)`, free for reuse.
    free: Vec<(u64, u64)>,
}

/// The kernel's [`Platform`] over the region `region` of machine `M`.
pub struct KernelPlatform<M: Machine> {
    region: Range<u64>,
    reservations: spin::Mutex<Reservations>,
    machine: PhantomData<M>,
}

impl<M: Machine> KernelPlatform<M> {
    /// The platform handing out `region` (page-aligned; its page-table
    /// entries start out empty).
    pub const fn new(region: Range<u64>) -> Self {
        Self {
            reservations: spin::Mutex::new(Reservations {
                next: region.start,
                free: Vec::new(),
            }),
            region,
            machine: PhantomData,
        }
    }

    /// Hands out `len` bytes (rounded up to pages) of unmapped address
    /// space, or `None` when the region is exhausted.
    pub fn reserve_range(&self, len: u64) -> Option<u64> {
        let len = len.checked_add(PAGE_SIZE - 1)? & !(PAGE_SIZE - 1);
        let mut reservations = self.reservations.lock();
        if let Some(i) = reservations
            .free
            .iter()
            .position(|&(start, end)| end - start >= len)
        {
            let (start, end) = reservations.free[i];
            if end - start == len {
                reservations.free.swap_remove(i);
            } else {
                reservations.free[i].0 = start + len;
            }
            return Some(start);
        }
        let start = reservations.next;
        let end = start
            .checked_add(len)
            .filter(|&end| end <= self.region.end)?;
        reservations.next = end;
        Some(start)
    }

    /// Checks that `[addr, addr + len)` is page-aligned and inside the part
    /// of the region handed out so far.
    fn check_range(&self, addr: NonNull<u8>, len: usize) -> Result<(u64, u64), PlatformError> {
        let start = addr.as_ptr() as u64;
        let len = len as u64;
        let reserved_end = self.reservations.lock().next;
        let in_region = start >= self.region.start
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
}

// SAFETY: `reserve` hands out each part of the region once until it is
// released, unmapped; `protect` maps exactly the requested pages, with
// zeroed frames the first time (paging::protect), and refuses ranges
// outside reserved space; `release` unmaps before the space is reused;
// `cpu_local` returns the only CPU's state, which lives forever.
unsafe impl<M: Machine> Platform for KernelPlatform<M> {
    fn page_size(&self) -> usize {
        PAGE_SIZE as usize
    }

    fn reserve(&self, len: usize) -> Result<NonNull<u8>, PlatformError> {
        self.reserve_range(len as u64)
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
        let (start, len) = self.check_range(addr, len)?;
        let protection = match access {
            Access::None => Protection::None,
            Access::ReadWrite => Protection::ReadWrite,
            Access::ReadExecute => Protection::ReadExecute,
        };
        // SAFETY: the range is page-aligned reserved space in the region
        // (checked above); the caller guarantees no reference points into
        // pages losing access.
        unsafe { paging::protect::<M::Pages>(start, len, protection) }.map_err(|_| {
            PlatformError::new(format!(
                "out of memory mapping {len:#x} bytes at {start:#x}"
            ))
        })
    }

    unsafe fn release(&self, addr: NonNull<u8>, len: usize) {
        if let Ok((start, len)) = self.check_range(addr, len) {
            // SAFETY: a whole reservation, unused from now on (caller).
            unsafe { paging::unmap::<M::Pages>(start, len) };
            self.reservations.lock().free.push((start, start + len));
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
    /// other guest can notify it; it waits for each timer tick, ends at
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
        if !M::interrupts_enabled() {
            return Err(PlatformError::new(
                "memory.atomic.wait with interrupts off would wait forever",
            ));
        }
        let start = crate::ticks::ticks();
        let ticks = timeout.map(|t| {
            t.as_nanos()
                .saturating_mul(u128::from(crate::ticks::TICK_HZ))
                .div_ceil(1_000_000_000)
        });
        loop {
            M::wait_for_interrupt();
            if let Some(ticks) = ticks
                && u128::from(crate::ticks::ticks() - start) >= ticks
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
