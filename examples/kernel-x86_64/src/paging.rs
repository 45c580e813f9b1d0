//! x86_64's page-table format for keel's region ([`kernel_common::paging`]
//! does the walking).
//!
//! The boot page tables identity-map the low 4 GiB with PML4 entry 0.
//! Everything keel reserves lies in [`REGION_START`, `REGION_END`), other
//! PML4 entries, which start out empty. NX is not enabled, so every
//! present page is executable.

use crate::cpu;
use kernel_common::paging::{PageFormat, Protection};

/// First address of the on-demand region (PML4 entry 32).
pub const REGION_START: u64 = 0x1000_0000_0000;
/// End of the on-demand region: the top of the lower canonical half.
pub const REGION_END: u64 = 0x8000_0000_0000;

const PRESENT: u64 = 1 << 0;
const WRITABLE: u64 = 1 << 1;
const ADDR_MASK: u64 = 0x000F_FFFF_FFFF_F000;

/// 4-level paging (PML4, PDPT, PD, PT), 4 KiB pages.
pub struct X86Pages;

// SAFETY: CR3 holds the active PML4; the entries are the architectural
// 4-level format (present, writable, address in bits 12..52); bit 9 is
// available to software; `invlpg` drops the page's translation.
unsafe impl PageFormat for X86Pages {
    const LEVELS: usize = 4;
    const BACKED: u64 = 1 << 9;

    fn root() -> u64 {
        cpu::read_cr3() & ADDR_MASK
    }

    fn is_valid(entry: u64) -> bool {
        entry & PRESENT != 0
    }

    fn address(entry: u64) -> u64 {
        entry & ADDR_MASK
    }

    fn table_entry(table: u64) -> u64 {
        table | PRESENT | WRITABLE
    }

    fn leaf_entry(frame: u64, protection: Protection) -> u64 {
        frame
            | Self::BACKED
            | match protection {
                Protection::None => 0,
                Protection::ReadWrite => PRESENT | WRITABLE,
                // Present and read-only; executable, as NX is off.
                Protection::ReadExecute => PRESENT,
            }
    }

    fn flush(virt: u64) {
        cpu::invlpg(virt);
    }
}
