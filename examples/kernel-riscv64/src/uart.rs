//! The console: the virt machine's NS16550A UART at 0x1000_0000 (QEMU's
//! `-serial stdio`).
//!
//! Writing needs no state and no lock (the registers are at a fixed
//! address), so an exception handler can print even if it interrupted a
//! print; lines interleave at worst.

/// Base address of the UART's registers (byte-wide, one per address).
const UART: usize = 0x1000_0000;
/// Transmit holding register (write).
const THR: usize = 0;
/// Line status register; bit 5: the transmit holding register is empty.
const LSR: usize = 5;
const LSR_THR_EMPTY: u8 = 1 << 5;

/// Writes one byte, waiting until the transmitter can take it.
fn write_byte(byte: u8) {
    // SAFETY: the UART's registers, identity-mapped by the boot page
    // tables; reading LSR and writing THR have no effect besides sending.
    unsafe {
        while core::ptr::read_volatile((UART + LSR) as *const u8) & LSR_THR_EMPTY == 0 {
            core::hint::spin_loop();
        }
        core::ptr::write_volatile((UART + THR) as *mut u8, byte);
    }
}

/// Writes `s`, `\n` as CR LF: the kernel's console
/// ([`kernel_common::console::init`]). QEMU's UART needs no set-up.
pub fn write_str(s: &str) {
    for byte in s.bytes() {
        if byte == b'\n' {
            write_byte(b'\r');
        }
        write_byte(byte);
    }
}
