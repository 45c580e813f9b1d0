//! 4 KiB mappings on demand in the region keel's memory lives in.
//!
//! The kernel's boot page tables map the kernel; everything keel reserves
//! lies in a region of the address space whose top-level entries start
//! out empty: reserved address space is simply unmapped, so touching it
//! faults, which is what keel's guard pages and bounds-check elision rely
//! on. The walk is the same for every radix page-table format with 4 KiB
//! pages and 512 eight-byte entries per table (x86_64's four levels,
//! riscv64's Sv39 three); a [`PageFormat`] says how entries are encoded.
//!
//! A leaf entry that has a frame carries the format's software bit
//! [`PageFormat::BACKED`]. Taking access away ([`Protection::None`])
//! makes the entry invalid but keeps the frame, so giving access back
//! finds the old contents, as `mprotect` does. [`unmap`] frees the frames;
//! the page-table pages themselves are kept (a few KiB per 2 MiB of
//! address space ever committed).

use crate::memory;

/// Page size.
pub const PAGE_SIZE: u64 = 4096;

/// Access to give a range of pages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protection {
    /// Invalid: any access faults.
    None,
    /// Readable and writable.
    ReadWrite,
    /// Readable and executable, not writable.
    ReadExecute,
}

/// How one architecture encodes its page tables.
///
/// # Safety
///
/// [`root`](Self::root) is the active root table; the entries the other
/// functions build are what the hardware expects for the meaning given
/// here; [`flush`](Self::flush) makes a changed leaf entry take effect.
pub unsafe trait PageFormat {
    /// Levels of tables, the root included (each translates 9 bits).
    const LEVELS: usize;
    /// A software-available bit of leaf entries the hardware ignores: the
    /// entry owns a frame, whether or not it is valid now.
    const BACKED: u64;
    /// Physical (= identity-mapped) address of the active root table.
    fn root() -> u64;
    /// Whether the hardware uses `entry` (it points to a table or maps a
    /// page).
    fn is_valid(entry: u64) -> bool;
    /// The physical address `entry` holds.
    fn address(entry: u64) -> u64;
    /// A valid entry pointing to the next-level table at `table`.
    fn table_entry(table: u64) -> u64;
    /// A leaf entry mapping `frame` with `protection`, with
    /// [`BACKED`](Self::BACKED) set; invalid for [`Protection::None`].
    fn leaf_entry(frame: u64, protection: Protection) -> u64;
    /// Drops the stale translation of the page at `virt`.
    fn flush(virt: u64);
}

/// Failure to map: out of frames.
#[derive(Debug)]
pub struct OutOfFrames;

/// Serializes page-table edits (one CPU, but a lock keeps `&mut` honest).
static LOCK: spin::Mutex<()> = spin::Mutex::new(());

/// Pointer to entry `index` of the table at physical `table`.
fn entry(table: u64, index: usize) -> *mut u64 {
    (table as *mut u64).wrapping_add(index)
}

/// The index of `virt` in a table at `level` (0 is the root).
fn index<F: PageFormat>(virt: u64, level: usize) -> usize {
    ((virt >> shift::<F>(level)) & 0x1FF) as usize
}

/// Bits of address space one entry of a table at `level` covers.
fn shift<F: PageFormat>(level: usize) -> u32 {
    12 + 9 * (F::LEVELS - 1 - level) as u32
}

/// Why [`leaf`] found no entry.
enum Skip {
    /// No table covers the address; the next one that might starts here.
    To(u64),
    /// A table was needed and no frame was left.
    OutOfFrames,
}

/// The leaf entry of `virt`, creating missing tables when `create`.
/// Without `create`, a missing table gives [`Skip::To`] the first address
/// past the range it would cover, so walks over sparse ranges skip whole
/// tables.
///
/// # Safety
///
/// Hold [`LOCK`]; `virt` lies in keel's region, whose tables hold no
/// large-page leaves.
unsafe fn leaf<F: PageFormat>(virt: u64, create: bool) -> Result<*mut u64, Skip> {
    let mut table = F::root();
    for level in 0..F::LEVELS - 1 {
        let e = entry(table, index::<F>(virt, level));
        // SAFETY: `table` is a page table (the root, or one reached
        // through valid entries), identity-mapped.
        let value = unsafe { e.read() };
        if !F::is_valid(value) {
            if !create {
                let span = 1u64 << shift::<F>(level);
                return Err(Skip::To((virt & !(span - 1)) + span));
            }
            let new = memory::alloc_frame().ok_or(Skip::OutOfFrames)?;
            // SAFETY: as above; the new zeroed frame becomes the table.
            unsafe { e.write(F::table_entry(new)) };
            table = new;
        } else {
            table = F::address(value);
        }
    }
    Ok(entry(table, index::<F>(virt, F::LEVELS - 1)))
}

/// Sets the access of the pages of `[addr, addr + len)`, mapping fresh
/// zeroed frames where a page has none yet.
///
/// # Safety
///
/// The range is page-aligned, in keel's region, in a live reservation; no
/// Rust reference points into pages losing access.
pub unsafe fn protect<F: PageFormat>(
    addr: u64,
    len: u64,
    protection: Protection,
) -> Result<(), OutOfFrames> {
    let _guard = LOCK.lock();
    let end = addr + len;
    let mut virt = addr;
    while virt < end {
        let create = protection != Protection::None;
        // SAFETY: the lock is held and the range is in the region.
        let pte = match unsafe { leaf::<F>(virt, create) } {
            Ok(pte) => pte,
            Err(Skip::To(next)) => {
                virt = next;
                continue;
            }
            Err(Skip::OutOfFrames) => return Err(OutOfFrames),
        };
        // SAFETY: `pte` is a leaf entry of our tables, identity-mapped.
        let old = unsafe { pte.read() };
        let backed = old & F::BACKED != 0;
        let new = match protection {
            Protection::None if backed => F::leaf_entry(F::address(old), Protection::None),
            // Never mapped: it stays empty.
            Protection::None => old,
            Protection::ReadWrite | Protection::ReadExecute => {
                let frame = if backed {
                    F::address(old)
                } else {
                    memory::alloc_frame().ok_or(OutOfFrames)?
                };
                F::leaf_entry(frame, protection)
            }
        };
        if new != old {
            // SAFETY: as above; the stale translation is flushed next.
            unsafe { pte.write(new) };
            F::flush(virt);
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
pub unsafe fn unmap<F: PageFormat>(addr: u64, len: u64) {
    let _guard = LOCK.lock();
    let end = addr + len;
    let mut virt = addr;
    while virt < end {
        // SAFETY: the lock is held and the range is in the region.
        let pte = match unsafe { leaf::<F>(virt, false) } {
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
            F::flush(virt);
            if old & F::BACKED != 0 {
                // SAFETY: the frame was ours (BACKED) and is now unmapped.
                unsafe { memory::free_frame(F::address(old)) };
            }
        }
        virt += PAGE_SIZE;
    }
}
