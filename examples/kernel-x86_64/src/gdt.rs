//! The kernel's GDT and TSS, and the interrupt stacks (IST) exceptions
//! run on.
//!
//! Every exception switches to one of these stacks. The kernel is built
//! for the host target, whose code uses the System V red zone: the 128
//! bytes below `rsp` may hold live data, which an exception frame pushed
//! on the same stack would overwrite. An IST stack never overlaps the
//! interrupted stack.
//!
//! Each IST stack is used from its top on every exception of its vectors,
//! so an exception inside a handler on the same stack overwrites the
//! outer handler's frame. The kernel's handlers only fault on a kernel
//! bug, and the inner handler then prints and ends the kernel without
//! returning to the outer one; #DF, #PF and #GP have stacks of their own
//! so that the diagnostic of a fault in a handler still gets printed.

use core::arch::asm;
use core::cell::UnsafeCell;

/// Selector of the 64-bit kernel code segment.
pub const KERNEL_CS: u16 = 0x08;
/// Selector of the kernel data segment.
pub const KERNEL_DS: u16 = 0x10;
/// Selector of the TSS (two GDT slots).
const TSS_SELECTOR: u16 = 0x18;

/// IST slot (1-based, as in the IDT) for #DF.
pub const IST_DOUBLE_FAULT: u8 = 1;
/// IST slot for #PF.
pub const IST_PAGE_FAULT: u8 = 2;
/// IST slot for #GP.
pub const IST_GENERAL_PROTECTION: u8 = 3;
/// IST slot for every other exception (#DE, #UD, ...).
pub const IST_OTHER: u8 = 4;
/// IST slot for the PIC interrupts (the timer): its own stack, because
/// interrupts come back on just before a keel trap leaves an exception
/// handler (see `idt::exception_dispatch`), and because the kernel's Rust
/// code uses the red zone below the interrupted stack pointer.
pub const IST_INTERRUPT: u8 = 5;
/// Number of IST stacks in use.
const IST_COUNT: usize = 5;
/// Size of each IST stack. A keel trap runs `keel::trap_entry` here
/// (frame walk into a preallocated buffer), a fatal fault formats a
/// diagnostic.
const IST_STACK_SIZE: usize = 64 * 1024;

/// Memory the CPU writes behind Rust's back (the TSS descriptor's busy
/// bit, the IST stacks): shared, but only touched by hardware after the
/// one-time setup in [`init`].
#[repr(C, align(16))]
struct HwCell<T>(UnsafeCell<T>);

// SAFETY: the kernel runs on one CPU; the contents are written only by
// `init` (once, before anything else reads them) and by the CPU itself.
unsafe impl<T> Sync for HwCell<T> {}

/// The 64-bit task state segment: only the IST pointers are used.
#[repr(C, packed(4))]
struct Tss {
    reserved0: u32,
    rsp: [u64; 3],
    reserved1: u64,
    ist: [u64; 7],
    reserved2: u64,
    reserved3: u16,
    iomap_base: u16,
}

/// The GDT: null, kernel code, kernel data, TSS (two slots).
type Gdt = [u64; 5];

/// The pointer operand of `lgdt`/`lidt`.
#[repr(C, packed(2))]
pub struct DescriptorTablePointer {
    /// Size of the table minus one.
    pub limit: u16,
    /// Linear address of the table.
    pub base: u64,
}

static TSS: HwCell<Tss> = HwCell(UnsafeCell::new(Tss {
    reserved0: 0,
    rsp: [0; 3],
    reserved1: 0,
    ist: [0; 7],
    reserved2: 0,
    reserved3: 0,
    // No I/O permission bitmap: the base points past the segment limit.
    iomap_base: core::mem::size_of::<Tss>() as u16,
}));

static GDT: HwCell<Gdt> = HwCell(UnsafeCell::new([
    0,
    0x00AF_9A00_0000_FFFF, // 64-bit code, present, DPL 0
    0x00CF_9200_0000_FFFF, // data, present, writable, DPL 0
    0,                     // TSS, filled in by `init`
    0,
]));

static IST_STACKS: HwCell<[[u8; IST_STACK_SIZE]; IST_COUNT]> =
    HwCell(UnsafeCell::new([[0; IST_STACK_SIZE]; IST_COUNT]));

/// Installs the GDT with the TSS, reloads the segment registers and the
/// task register. Call once, early, before [`crate::idt::init`].
pub fn init() {
    let stacks = IST_STACKS.0.get();
    let tss = TSS.0.get();
    let gdt = GDT.0.get();
    // SAFETY: runs once at boot on the only CPU, before any exception can
    // use the TSS; the raw pointers are to our own statics.
    unsafe {
        for i in 0..IST_COUNT {
            // Stacks grow down: the IST entry is the end of the array.
            let top = (&raw mut (*stacks)[i]) as u64 + IST_STACK_SIZE as u64;
            (*tss).ist[i] = top;
        }
        let base = tss as u64;
        let limit = (core::mem::size_of::<Tss>() - 1) as u64;
        (*gdt)[3] = (limit & 0xFFFF)
            | ((base & 0xFF_FFFF) << 16)
            | (0x89 << 40) // present, 64-bit available TSS
            | (((limit >> 16) & 0xF) << 48)
            | (((base >> 24) & 0xFF) << 56);
        (*gdt)[4] = base >> 32;
    }

    let pointer = DescriptorTablePointer {
        limit: (core::mem::size_of::<Gdt>() - 1) as u16,
        base: gdt as u64,
    };
    // SAFETY: the GDT is a static with valid descriptors at the selectors
    // the kernel already uses (0x08 code, 0x10 data), so reloading CS (by
    // a far return) and the data segments keeps the same flat segments;
    // `ltr` marks the TSS busy, a write into `GDT`, which is `UnsafeCell`.
    unsafe {
        asm!(
            "lgdt [{ptr}]",
            "push {cs}",
            "lea {tmp}, [rip + 2f]",
            "push {tmp}",
            "retfq",
            "2:",
            "mov ds, {ds:x}",
            "mov es, {ds:x}",
            "mov ss, {ds:x}",
            "ltr {tss:x}",
            ptr = in(reg) &pointer,
            cs = in(reg) u64::from(KERNEL_CS),
            tmp = out(reg) _,
            ds = in(reg) u64::from(KERNEL_DS),
            tss = in(reg) u64::from(TSS_SELECTOR),
        );
    }
}
