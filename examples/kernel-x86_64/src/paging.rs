//! 4 KiB mappings on demand in the region keel's memory lives in.
//!
//! The boot page tables identity-map the low 4 GiB with PML4 entry 0.
//! Everything keel reserves lies in [`REGION_START`, `REGION_END`), other
//! PML4 entries, which start out empty: reserved address space is simply
//! unmapped, so touching it faults (#PF), which is what keel's guard pages
//! and bounds-check elision rely on.
//!
//! A leaf entry that has a frame carries the software bit [`BACKED`].
//! Taking access away ([`Protection::None`]) clears only the present bit
//! and keeps the frame, so giving access back finds the old contents, as
//! `mprotect` does. [`unmap`] frees the frames; the page-table pages
//! themselves are kept (a few KiB per 2 MiB of address space ever
//! committed).
//!
//! NX is not enabled, so every present page is executable.

use crate::cpu;
use crate::memory;

/// First address of the on-demand region (PML4 entry 32).
pub const REGION_START: u64 = 0x1000_0000_0000;
/// End of the on-demand region: the top of the lower canonical half.
pub const REGION_END: u64 = 0x8000_0000_0000;
/// Page size.
pub const PAGE_SIZE: u64 = 4096;

const PRESENT: u64 = 1 << 0;
const WRITABLE: u64 = 1 << 1;
/// Software-available bit: the entry owns a frame (present or not).
const BACKED: u64 = 1 << 9;
const ADDR_MASK: u64 = 0x000F_FFFF_FFFF_F000;

/// Access to give a range of pages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protection {
    /// Not present: any access faults.
    None,
    /// Present and writable.
    ReadWrite,
    /// Present, read-only (and executable: NX is off).
    ReadExecute,
}

/// Failure to map: out of frames.
#[derive(Debug)]
pub struct OutOfFrames;

/// Serializes page-table edits (one CPU, but a lock keeps `&mut` honest).
static LOCK: spin::Mutex<()> = spin::Mutex::new(());

/// The four table levels' indices of `virt`: PML4, PDPT, PD, PT.
fn indices(virt: u64) -> [usize; 4] {
    [
        ((virt >> 39) & 0x1FF) as usize,
        ((virt >> 30) & 0x1FF) as usize,
        ((virt >> 21) & 0x1FF) as usize,
        ((virt >> 12) & 0x1FF) as usize,
    ]
}

/// Pointer to entry `index` of the table at physical `table`.
fn entry(table: u64, index: usize) -> *mut u64 {
    (table as *mut u64).wrapping_add(index)
}

/// The leaf entry of `virt`, creating missing tables when `create`.
/// Without `create`, a missing table gives [`Skip::To`] the first address
/// past the range it would cover, so walks over sparse ranges skip whole
/// tables.
///
/// # Safety
///
/// Hold [`LOCK`]; `virt` lies in the on-demand region.
unsafe fn leaf(virt: u64, create: bool) -> Result<*mut u64, Skip> {
    let idx = indices(virt);
    let mut table = cpu::read_cr3() & ADDR_MASK;
    // Bits of address space that one entry of each upper level covers.
    const SPAN_SHIFT: [u32; 3] = [39, 30, 21];
    for level in 0..3 {
        let e = entry(table, idx[level]);
        // SAFETY: `table` is a page table (the PML4 from CR3, or one
        // reached through present entries), identity-mapped.
        let value = unsafe { e.read() };
        if value & PRESENT == 0 {
            if !create {
                let span = 1u64 << SPAN_SHIFT[level];
                return Err(Skip::To((virt & !(span - 1)) + span));
            }
            let new = memory::alloc_frame().ok_or(Skip::OutOfFrames)?;
            // SAFETY: as above; the new zeroed frame becomes the table.
            unsafe { e.write(new | PRESENT | WRITABLE) };
            table = new;
        } else {
            table = value & ADDR_MASK;
        }
    }
    Ok(entry(table, idx[3]))
}

/// Why [`leaf`] found no entry.
enum Skip {
    /// No table covers the address; the next one that might starts here.
    To(u64),
    /// A table was needed and no frame was left.
    OutOfFrames,
}

/// Sets the access of the pages of `[addr, addr + len)`, mapping fresh
/// zeroed frames where a page has none yet.
///
/// # Safety
///
/// The range is page-aligned, inside [`REGION_START`]..[`REGION_END`], in
/// a live reservation; no Rust reference points into pages losing access.
pub unsafe fn protect(addr: u64, len: u64, protection: Protection) -> Result<(), OutOfFrames> {
    let _guard = LOCK.lock();
    let end = addr + len;
    let mut virt = addr;
    while virt < end {
        let create = protection != Protection::None;
        // SAFETY: the lock is held and the range is in the region.
        let pte = match unsafe { leaf(virt, create) } {
            Ok(pte) => pte,
            Err(Skip::To(next)) => {
                virt = next;
                continue;
            }
            Err(Skip::OutOfFrames) => return Err(OutOfFrames),
        };
        // SAFETY: `pte` is a leaf entry of our tables, identity-mapped.
        let old = unsafe { pte.read() };
        let new = match protection {
            Protection::None => old & !PRESENT,
            Protection::ReadWrite | Protection::ReadExecute => {
                let frame = if old & BACKED != 0 {
                    old & ADDR_MASK
                } else {
                    memory::alloc_frame().ok_or(OutOfFrames)?
                };
                let write = if protection == Protection::ReadWrite {
                    WRITABLE
                } else {
                    0
                };
                frame | BACKED | PRESENT | write
            }
        };
        if new != old {
            // SAFETY: as above; the stale translation is flushed next.
            unsafe { pte.write(new) };
            cpu::invlpg(virt);
        }
        virt += PAGE_SIZE;
    }
    Ok(())
}

/// Unmaps `[addr, addr + len)` and frees the frames behind it.
///
/// # Safety
///
/// As for [`protect`]; additionally nothing uses the range any more.
pub unsafe fn unmap(addr: u64, len: u64) {
    let _guard = LOCK.lock();
    let end = addr + len;
    let mut virt = addr;
    while virt < end {
        // SAFETY: the lock is held and the range is in the region.
        let pte = match unsafe { leaf(virt, false) } {
            Ok(pte) => pte,
            Err(Skip::To(next)) => {
                virt = next;
                continue;
            }
            Err(Skip::OutOfFrames) => unreachable!("leaf() without create allocates nothing"),
        };
        // SAFETY: `pte` is a leaf entry of our tables, identity-mapped.
        let old = unsafe { pte.read() };
        if old != 0 {
            // SAFETY: as above; the translation is flushed before the
            // frame is reused.
            unsafe { pte.write(0) };
            cpu::invlpg(virt);
            if old & BACKED != 0 {
                // SAFETY: the frame was ours (BACKED) and is now unmapped.
                unsafe { memory::free_frame(old & ADDR_MASK) };
            }
        }
        virt += PAGE_SIZE;
    }
}
