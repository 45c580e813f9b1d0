//! Sv39 paging: the boot page table and the page-table format of keel's
//! region ([`kernel_common::paging`] does the walking).
//!
//! The root table maps, with 1 GiB pages, the first gigabyte (the virt
//! machine's devices: the test device, the UART; readable and writable)
//! and the 2 GiB from 0x8000_0000 (RAM: firmware, kernel, heap, frames;
//! readable, writable and executable), identity-mapped. Everything keel
//! reserves lies in [`REGION_START`, `REGION_END`), root entries 64..256,
//! which start out empty. Unlike the x86_64 kernel, pages keel maps
//! read-write are not executable.
//!
//! [Sv39](https://github.com/riscv/riscv-isa-manual/blob/main/src/supervisor.adoc#sv39):
//! three levels of 512 eight-byte entries, 4 KiB pages.

use core::arch::asm;
use core::cell::UnsafeCell;
use kernel_common::paging::{PageFormat, Protection};

/// First address of the on-demand region (root entry 64, 64 GiB).
pub const REGION_START: u64 = 0x10_0000_0000;
/// End of the on-demand region: the top of Sv39's lower half (256 GiB).
pub const REGION_END: u64 = 0x40_0000_0000;

const VALID: u64 = 1 << 0;
const READ: u64 = 1 << 1;
const WRITE: u64 = 1 << 2;
const EXECUTE: u64 = 1 << 3;
const ACCESSED: u64 = 1 << 6;
const DIRTY: u64 = 1 << 7;
/// The physical page number's bits in an entry (10..54).
const PPN_MASK: u64 = ((1 << 44) - 1) << 10;
/// `satp.MODE` for Sv39.
const SATP_SV39: u64 = 8 << 60;

/// A page table: 512 entries, 4 KiB aligned.
#[repr(C, align(4096))]
struct Table(UnsafeCell<[u64; 512]>);

// SAFETY: written once by `init` on the only hart before paging is on;
// later only read by the hardware and by `root()`'s users through raw
// pointers under `kernel_common::paging`'s lock.
unsafe impl Sync for Table {}

/// The root table (in `.bss`, zeroed at boot).
static ROOT: Table = Table(UnsafeCell::new([0; 512]));

/// An identity-mapped 1 GiB leaf at `base` with `flags`.
const fn gigapage(base: u64, flags: u64) -> u64 {
    ((base >> 12) << 10) | flags | VALID | ACCESSED | DIRTY
}

/// Builds the boot mappings and turns Sv39 paging on. The kernel keeps
/// running where it is: everything it uses is identity-mapped.
pub fn init() {
    let root = ROOT.0.get();
    // SAFETY: boot time, one hart, paging off: nothing else reads the
    // table yet.
    unsafe {
        (*root)[0] = gigapage(0, READ | WRITE);
        (*root)[2] = gigapage(0x8000_0000, READ | WRITE | EXECUTE);
        (*root)[3] = gigapage(0xC000_0000, READ | WRITE | EXECUTE);
    }
    let satp = SATP_SV39 | (root as u64 >> 12);
    // SAFETY: the table identity-maps the kernel's code, data, stack and
    // devices, so the next instruction fetch and every access after it
    // translate to the addresses they had with paging off.
    unsafe {
        asm!("csrw satp, {}", "sfence.vma", in(reg) satp, options(nostack));
    }
}

/// Sv39, 4 KiB pages.
pub struct Sv39;

// SAFETY: `satp` holds the active root table (`init`); the entries are
// Sv39's (V, R, W, X, A, D; the physical page number in bits 10..54; a
// valid entry with R, W and X clear points to the next table); bit 8 is
// one of the two bits reserved for software; `sfence.vma` with the
// address drops that page's translation on this hart.
unsafe impl PageFormat for Sv39 {
    const LEVELS: usize = 3;
    const BACKED: u64 = 1 << 8;

    fn root() -> u64 {
        ROOT.0.get() as u64
    }

    fn is_valid(entry: u64) -> bool {
        entry & VALID != 0
    }

    fn address(entry: u64) -> u64 {
        ((entry & PPN_MASK) >> 10) << 12
    }

    fn table_entry(table: u64) -> u64 {
        ((table >> 12) << 10) | VALID
    }

    fn leaf_entry(frame: u64, protection: Protection) -> u64 {
        ((frame >> 12) << 10)
            | Self::BACKED
            | match protection {
                Protection::None => 0,
                Protection::ReadWrite => VALID | READ | WRITE | ACCESSED | DIRTY,
                Protection::ReadExecute => VALID | READ | EXECUTE | ACCESSED,
            }
    }

    fn flush(virt: u64) {
        // SAFETY: only orders and drops cached translations.
        unsafe { asm!("sfence.vma {}, zero", in(reg) virt, options(nostack)) };
    }
}
