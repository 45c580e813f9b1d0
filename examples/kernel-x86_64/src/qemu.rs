//! Leaving QEMU through the `isa-debug-exit` device
//! (`-device isa-debug-exit,iobase=0xf4,iosize=0x04`): writing `v` to port
//! 0xf4 ends QEMU with exit status `(v << 1) | 1`.

use crate::cpu;

/// I/O port of the `isa-debug-exit` device.
const DEBUG_EXIT_PORT: u16 = 0xF4;

/// How the kernel ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum ExitCode {
    /// QEMU exits with status 33.
    Success = 0x10,
    /// QEMU exits with status 3.
    Failure = 0x01,
}

/// Ends QEMU with `code`. Without the debug-exit device (another
/// machine, or QEMU run without it), halts instead.
pub fn exit(code: ExitCode) -> ! {
    // SAFETY: port 0xf4 is the isa-debug-exit device, whose only effect is
    // ending the emulator; on a machine without it the write is ignored.
    unsafe { cpu::outl(DEBUG_EXIT_PORT, code as u32) };
    cpu::halt_forever()
}
