//! The COM1 serial console (16550 UART at I/O port 0x3F8), 115200 8N1.
//!
//! [`SerialPort`] has no state besides the port number, so every writer
//! is a fresh value: printing needs no lock, and an exception handler can
//! print even if it interrupted a print (the kernel runs on one CPU with
//! interrupts disabled; exceptions end the kernel or jump back into keel,
//! so lines interleave at worst).

use crate::cpu;
use core::fmt;

/// I/O base of COM1.
const COM1: u16 = 0x3F8;

/// A writer to the serial port; `writeln!`-able.
pub struct SerialPort {
    base: u16,
}

impl SerialPort {
    /// A writer to COM1. Call [`init`] once before the first write.
    pub const fn com1() -> Self {
        Self { base: COM1 }
    }

    /// Writes one byte, waiting until the transmitter can take it.
    pub fn write_byte(&mut self, byte: u8) {
        // SAFETY: the registers of the 16550 at `base`: the line status
        // register (base + 5) is read until the transmit holding register
        // is empty (bit 5), then the byte goes to the data register.
        unsafe {
            while cpu::inb(self.base + 5) & 0x20 == 0 {
                core::hint::spin_loop();
            }
            cpu::outb(self.base, byte);
        }
    }
}

impl fmt::Write for SerialPort {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for byte in s.bytes() {
            if byte == b'\n' {
                self.write_byte(b'\r');
            }
            self.write_byte(byte);
        }
        Ok(())
    }
}

/// Programs COM1: no interrupts, 115200 baud, 8 data bits, no parity, one
/// stop bit, FIFOs on.
pub fn init() {
    // SAFETY: the standard 16550 initialization sequence on COM1's
    // registers; nothing else in the kernel owns that device.
    unsafe {
        cpu::outb(COM1 + 1, 0x00); // interrupts off
        cpu::outb(COM1 + 3, 0x80); // DLAB on: divisor follows
        cpu::outb(COM1, 0x01); // divisor 1 = 115200 baud
        cpu::outb(COM1 + 1, 0x00);
        cpu::outb(COM1 + 3, 0x03); // 8N1, DLAB off
        cpu::outb(COM1 + 2, 0xC7); // FIFOs on, cleared, 14-byte threshold
        cpu::outb(COM1 + 4, 0x03); // DTR + RTS
    }
}

/// Writes `s` to COM1, `\n` as CR LF: the kernel's console
/// ([`kernel_common::console::init`]).
pub fn write_str(s: &str) {
    use fmt::Write as _;
    // Writing to the UART cannot fail.
    let _ = SerialPort::com1().write_str(s);
}
