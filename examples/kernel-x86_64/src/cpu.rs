//! Thin wrappers around the privileged x86_64 instructions the kernel uses.

use core::arch::asm;

/// Writes a byte to an I/O port.
///
/// # Safety
///
/// Port writes talk to devices; the caller must know what the device at
/// `port` does with `value`.
pub unsafe fn outb(port: u16, value: u8) {
    // SAFETY: the caller vouches for the device; `out` touches no memory.
    unsafe {
        asm!("out dx, al", in("dx") port, in("al") value, options(nomem, nostack, preserves_flags))
    };
}

/// Writes a 32-bit value to an I/O port.
///
/// # Safety
///
/// As for [`outb`].
pub unsafe fn outl(port: u16, value: u32) {
    // SAFETY: the caller vouches for the device; `out` touches no memory.
    unsafe {
        asm!("out dx, eax", in("dx") port, in("eax") value, options(nomem, nostack, preserves_flags))
    };
}

/// Reads a byte from an I/O port.
///
/// # Safety
///
/// Port reads can have side effects on the device at `port`.
pub unsafe fn inb(port: u16) -> u8 {
    let value: u8;
    // SAFETY: the caller vouches for the device; `in` touches no memory.
    unsafe {
        asm!("in al, dx", in("dx") port, out("al") value, options(nomem, nostack, preserves_flags))
    };
    value
}

/// The faulting linear address of the last page fault (CR2).
pub fn read_cr2() -> u64 {
    let value: u64;
    // SAFETY: reading CR2 has no side effects; the kernel runs in ring 0.
    unsafe { asm!("mov {}, cr2", out(reg) value, options(nomem, nostack, preserves_flags)) };
    value
}

/// The physical address of the current top-level page table (CR3).
pub fn read_cr3() -> u64 {
    let value: u64;
    // SAFETY: reading CR3 has no side effects; the kernel runs in ring 0.
    unsafe { asm!("mov {}, cr3", out(reg) value, options(nomem, nostack, preserves_flags)) };
    value
}

/// Drops the TLB entry for the page containing `addr`.
pub fn invlpg(addr: u64) {
    // SAFETY: invalidating a TLB entry only makes the next access walk
    // the page tables again; it cannot break memory safety.
    unsafe { asm!("invlpg [{}]", in(reg) addr, options(nostack, preserves_flags)) };
}

/// Stops the CPU for good: interrupts off, then `hlt` forever.
pub fn halt_forever() -> ! {
    loop {
        // SAFETY: with interrupts disabled `hlt` just stops the CPU; no
        // memory or register state is changed.
        unsafe { asm!("cli", "hlt", options(nomem, nostack)) };
    }
}
