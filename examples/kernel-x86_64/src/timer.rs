//! The periodic timer interrupt: the 8259 PICs remapped to vectors
//! 32..48, every line masked but IRQ 0, and the PIT (channel 0) firing it
//! at [`TICK_HZ`]. Each tick calls [`kernel_common::ticks::on_tick`], which
//! advances keel's engine epoch, so a guest with an epoch deadline is
//! preempted by the kernel's own timer, with interrupts on while wasm runs.

use crate::cpu::{inb, outb};
pub use kernel_common::ticks::TICK_HZ;

/// The first vector of the master PIC after remapping (IRQ 0, the PIT).
pub const TIMER_VECTOR: u64 = 32;
/// One past the last PIC vector (the slave PIC's IRQ 15 is 47).
pub const PIC_VECTORS_END: u64 = 48;
/// The PIT's input clock in Hz.
const PIT_CLOCK_HZ: u32 = 1_193_182;

const PIC1_COMMAND: u16 = 0x20;
const PIC1_DATA: u16 = 0x21;
const PIC2_COMMAND: u16 = 0xA0;
const PIC2_DATA: u16 = 0xA1;
const PIC_EOI: u8 = 0x20;
const PIT_CHANNEL0: u16 = 0x40;
const PIT_COMMAND: u16 = 0x43;

/// Remaps the PICs and starts the PIT. Interrupts stay off until
/// [`enable_interrupts`]; the IDT must have the PIC vectors
/// ([`crate::idt::init`]).
pub fn init() {
    let divisor = (PIT_CLOCK_HZ / TICK_HZ) as u16;
    // SAFETY: boot-time programming of the legacy PICs and the PIT, the
    // devices at these ports on every PC (and QEMU's `pc` machine).
    unsafe {
        // ICW1: edge-triggered, cascade, ICW4 follows.
        outb(PIC1_COMMAND, 0x11);
        outb(PIC2_COMMAND, 0x11);
        // ICW2: vector offsets 32 and 40 (above the CPU exceptions).
        outb(PIC1_DATA, TIMER_VECTOR as u8);
        outb(PIC2_DATA, TIMER_VECTOR as u8 + 8);
        // ICW3: the slave on the master's IRQ 2.
        outb(PIC1_DATA, 4);
        outb(PIC2_DATA, 2);
        // ICW4: 8086 mode.
        outb(PIC1_DATA, 0x01);
        outb(PIC2_DATA, 0x01);
        // Masks: only IRQ 0 (the PIT).
        outb(PIC1_DATA, 0xFE);
        outb(PIC2_DATA, 0xFF);
        // PIT channel 0, low then high byte, mode 2 (rate generator).
        outb(PIT_COMMAND, 0x34);
        outb(PIT_CHANNEL0, divisor as u8);
        outb(PIT_CHANNEL0, (divisor >> 8) as u8);
    }
}

/// Sets the CPU's interrupt flag.
pub fn enable_interrupts() {
    // SAFETY: the IDT handles every vector the PICs can raise, each on an
    // IST stack, and nothing the timer handler does takes a lock.
    unsafe { core::arch::asm!("sti", options(nomem, nostack)) };
}

/// Halts until the next interrupt (interrupts must be on).
pub fn wait_for_interrupt() {
    // SAFETY: `hlt` only waits; the caller keeps interrupts enabled, so
    // the next timer tick ends it.
    unsafe { core::arch::asm!("hlt", options(nomem, nostack)) };
}

/// Whether the CPU's interrupt flag is set.
pub fn interrupts_enabled() -> bool {
    let flags: u64;
    // SAFETY: reads RFLAGS through the stack; no other effect.
    unsafe { core::arch::asm!("pushfq", "pop {}", out(reg) flags, options(preserves_flags)) };
    flags & (1 << 9) != 0
}

/// The interrupt handler of the PIC vectors (interrupts are off inside).
/// It takes no lock and allocates nothing: it only counts, advances the
/// epoch (one atomic add) and acknowledges the PIC.
pub fn on_interrupt(vector: u64) {
    let irq = vector - TIMER_VECTOR;
    // SAFETY: reading the PICs' in-service registers (OCW3) to tell a
    // spurious IRQ 7/15 from a real one.
    let in_service = |command: u16| unsafe {
        outb(command, 0x0B);
        inb(command)
    };
    if irq == 7 && in_service(PIC1_COMMAND) & 0x80 == 0 {
        return;
    }
    if irq == 15 && in_service(PIC2_COMMAND) & 0x80 == 0 {
        // SAFETY: the master saw IRQ 2 and wants its EOI.
        unsafe { outb(PIC1_COMMAND, PIC_EOI) };
        return;
    }
    if irq == 0 {
        kernel_common::ticks::on_tick();
    }
    // SAFETY: end of interrupt for the PIC(s) that raised it.
    unsafe {
        if irq >= 8 {
            outb(PIC2_COMMAND, PIC_EOI);
        }
        outb(PIC1_COMMAND, PIC_EOI);
    }
}
