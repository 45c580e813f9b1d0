//! The supervisor trap vector (`stvec`, direct mode).
//!
//! Every exception and interrupt enters `trap_vector`, which saves a
//! [`TrapFrame`] on the interrupted stack (the kernel has no user mode,
//! and the RISC-V calling convention has no red zone, so the frame cannot
//! overwrite live data): `sepc`, every integer register (`s0`, the frame
//! pointer, among them, before any Rust code can change it), `sstatus`,
//! `scause`, `stval`, the floating-point registers and `fcsr` (the Rust
//! handler may use them). Then it calls [`trap_dispatch`] and, if that
//! returns, restores everything and `sret`s.
//!
//! * Illegal instructions (Cranelift's trap instruction, `unimp`, is one;
//!   OpenSBI hands them on from machine mode) and load, store and
//!   instruction page faults are offered to keel first
//!   (`keel::trap_entry(sepc, s0, stval)`): when the pc is a trap site of
//!   wasm code running under `catch_traps`, keel records the trap and
//!   jumps back into `catch_traps`, abandoning the frame; nothing in the
//!   hart records that a trap is "in progress", so leaving the handler
//!   without `sret` is sound, except for `sstatus.SIE`, which the trap
//!   cleared and which the handler sets again first if the interrupted
//!   code had it set.
//! * Breakpoints (`ebreak`) are offered to keel too; one that is not a
//!   wasm trap prints and resumes after the instruction, which the boot
//!   self-test uses.
//! * The supervisor timer interrupt goes to [`crate::timer`]; the tick
//!   advances keel's engine epoch.
//! * Anything else, and anything keel declines, is a kernel fault: it
//!   prints a diagnostic and ends QEMU with a failure status.

use crate::qemu::{self, ExitCode};
use core::arch::{asm, global_asm};
use core::sync::atomic::{AtomicU32, Ordering};

/// `scause` of an interrupt has this bit set.
const INTERRUPT: u64 = 1 << 63;
/// Interrupt cause: supervisor timer.
const SUPERVISOR_TIMER: u64 = 5;
/// Exception causes.
const INSTRUCTION_MISALIGNED: u64 = 0;
const ILLEGAL_INSTRUCTION: u64 = 2;
const BREAKPOINT: u64 = 3;
const INSTRUCTION_PAGE_FAULT: u64 = 12;
const LOAD_PAGE_FAULT: u64 = 13;
const STORE_PAGE_FAULT: u64 = 15;
/// `sstatus.SPIE`: interrupts were enabled before the trap.
const SSTATUS_SPIE: u64 = 1 << 5;

/// Registers at the time of the trap, as `trap_vector` saves them.
#[repr(C)]
#[derive(Debug)]
pub struct TrapFrame {
    /// `sepc` in slot 0 (where x0 would be), then x1..x31 (`regs[2]` is
    /// the interrupted `sp`, `regs[8]` is `s0`/`fp`).
    pub regs: [u64; 32],
    /// `sstatus` at the trap (restored by `sret`'s path).
    pub sstatus: u64,
    /// `scause`: interrupt bit and cause code.
    pub scause: u64,
    /// `stval`: the faulting address of a page fault, the instruction of
    /// an illegal-instruction trap, or 0.
    pub stval: u64,
    /// The floating-point control and status register.
    pub fcsr: u64,
    /// f0..f31.
    pub fregs: [u64; 32],
}

/// Bytes of [`TrapFrame`] (a multiple of 16, as the stack must stay).
const FRAME_SIZE: usize = core::mem::size_of::<TrapFrame>();
const _: () = assert!(FRAME_SIZE == 544 && FRAME_SIZE.is_multiple_of(16));

global_asm!(
    r#"
    .option push
    /* LLVM assembles global_asm! without the target's extensions: name F
       and D for fsd/fld and frcsr/fscsr. */
    .option arch, +d
    .pushsection .text.trap, "ax"
    .p2align 2
    .global trap_vector
trap_vector:
    addi sp, sp, -{frame}
    sd x1, 8(sp)
    sd x3, 24(sp)
    sd x4, 32(sp)
    sd x5, 40(sp)
    sd x6, 48(sp)
    sd x7, 56(sp)
    sd x8, 64(sp)
    sd x9, 72(sp)
    sd x10, 80(sp)
    sd x11, 88(sp)
    sd x12, 96(sp)
    sd x13, 104(sp)
    sd x14, 112(sp)
    sd x15, 120(sp)
    sd x16, 128(sp)
    sd x17, 136(sp)
    sd x18, 144(sp)
    sd x19, 152(sp)
    sd x20, 160(sp)
    sd x21, 168(sp)
    sd x22, 176(sp)
    sd x23, 184(sp)
    sd x24, 192(sp)
    sd x25, 200(sp)
    sd x26, 208(sp)
    sd x27, 216(sp)
    sd x28, 224(sp)
    sd x29, 232(sp)
    sd x30, 240(sp)
    sd x31, 248(sp)
    addi t0, sp, {frame}
    sd t0, 16(sp)
    csrr t0, sepc
    sd t0, 0(sp)
    csrr t0, sstatus
    sd t0, 256(sp)
    csrr t0, scause
    sd t0, 264(sp)
    csrr t0, stval
    sd t0, 272(sp)
    frcsr t0
    sd t0, 280(sp)
    .irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    fsd f\n, (288 + 8 * \n)(sp)
    .endr
    mv a0, sp
    call trap_dispatch
    .irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    fld f\n, (288 + 8 * \n)(sp)
    .endr
    ld t0, 280(sp)
    fscsr t0
    ld t0, 0(sp)
    csrw sepc, t0
    ld t0, 256(sp)
    csrw sstatus, t0
    ld x1, 8(sp)
    ld x3, 24(sp)
    ld x4, 32(sp)
    ld x5, 40(sp)
    ld x6, 48(sp)
    ld x7, 56(sp)
    ld x8, 64(sp)
    ld x9, 72(sp)
    ld x10, 80(sp)
    ld x11, 88(sp)
    ld x12, 96(sp)
    ld x13, 104(sp)
    ld x14, 112(sp)
    ld x15, 120(sp)
    ld x16, 128(sp)
    ld x17, 136(sp)
    ld x18, 144(sp)
    ld x19, 152(sp)
    ld x20, 160(sp)
    ld x21, 168(sp)
    ld x22, 176(sp)
    ld x23, 184(sp)
    ld x24, 192(sp)
    ld x25, 200(sp)
    ld x26, 208(sp)
    ld x27, 216(sp)
    ld x28, 224(sp)
    ld x29, 232(sp)
    ld x30, 240(sp)
    ld x31, 248(sp)
    addi sp, sp, {frame}
    sret
    .popsection
    .option pop
"#,
    frame = const FRAME_SIZE,
);

unsafe extern "C" {
    /// The trap entry above; `stvec` holds its address.
    fn trap_vector();
}

/// Points `stvec` at the trap vector (direct mode: every trap enters at
/// its first instruction).
pub fn init() {
    let vector = trap_vector as unsafe extern "C" fn() as usize;
    // SAFETY: `trap_vector` is 4-byte aligned (direct mode needs the low
    // two bits clear) and handles every trap the kernel can take.
    unsafe { asm!("csrw stvec, {}", in(reg) vector, options(nomem, nostack)) };
}

/// How many illegal-instruction traps and page faults were handed to
/// keel. A fault keel declines ends the kernel, so while the kernel runs
/// these are the hardware traps that became wasm traps.
static KEEL_FAULTS: [AtomicU32; 2] = [AtomicU32::new(0), AtomicU32::new(0)];

/// The number of illegal-instruction traps and page faults handed to keel
/// so far.
pub fn keel_fault_counts() -> [u32; 2] {
    KEEL_FAULTS.each_ref().map(|c| c.load(Ordering::Relaxed))
}

/// The Rust side of the trap vector; `frame` is on the interrupted stack.
#[unsafe(no_mangle)]
extern "C" fn trap_dispatch(frame: &mut TrapFrame) {
    let pc = frame.regs[0];
    if frame.scause & INTERRUPT != 0 {
        match frame.scause & !INTERRUPT {
            SUPERVISOR_TIMER => crate::timer::on_interrupt(),
            _ => fatal(frame),
        }
        return;
    }
    match frame.scause {
        BREAKPOINT => {
            // An `ebreak` at a trap site of wasm code is a wasm trap (keel
            // registers none today: Cranelift's traps are `unimp`); any
            // other is the kernel's, which resumes.
            // SAFETY: as for the faults below: the interrupted pc and
            // frame pointer; a wasm trap does not return.
            if unsafe { keel::trap_entry(pc as usize, frame.regs[8] as usize, 0) } {
                return;
            }
            kprintln!("trap: breakpoint at {pc:#x}, resuming");
            // Resume after the `ebreak` (4 bytes) or `c.ebreak` (2): an
            // instruction whose low two bits are 0b11 is 32 bits long.
            // SAFETY: the pc of the breakpoint is mapped, executable code.
            let low = unsafe { core::ptr::read_volatile(pc as *const u16) };
            frame.regs[0] = pc + if low & 0b11 == 0b11 { 4 } else { 2 };
        }
        ILLEGAL_INSTRUCTION | INSTRUCTION_PAGE_FAULT | LOAD_PAGE_FAULT | STORE_PAGE_FAULT => {
            let slot = usize::from(frame.scause != ILLEGAL_INSTRUCTION);
            KEEL_FAULTS[slot].fetch_add(1, Ordering::Relaxed);
            let fault_address = if slot == 1 { frame.stval } else { 0 };
            // A wasm trap does not return through `sret`, which would
            // restore the interrupted code's interrupt enable: keel jumps
            // back to `catch_traps` from inside `trap_entry`. So turn
            // interrupts back on here if the trapping code had them on,
            // so that they stay on for the host code after the trap. A
            // timer interrupt from here on nests below this frame.
            if frame.sstatus & SSTATUS_SPIE != 0 {
                crate::timer::enable_interrupts();
            }
            // SAFETY: called from the trap vector with the interrupted pc
            // and frame pointer, exactly as keel's trap entry expects. If
            // the trap is a wasm trap it does not return (it jumps back to
            // `catch_traps` on the interrupted stack); otherwise it
            // returns and the fault is the kernel's.
            let handled = unsafe {
                keel::trap_entry(pc as usize, frame.regs[8] as usize, fault_address as usize)
            };
            if !handled {
                crate::timer::disable_interrupts();
                fatal(frame);
            }
            // `true`: the platform resolved the fault; retry the access.
        }
        _ => fatal(frame),
    }
}

/// The name of a trap cause.
fn cause_name(scause: u64) -> &'static str {
    if scause & INTERRUPT != 0 {
        return "unexpected interrupt";
    }
    match scause {
        INSTRUCTION_MISALIGNED => "instruction address misaligned",
        1 => "instruction access fault",
        ILLEGAL_INSTRUCTION => "illegal instruction",
        BREAKPOINT => "breakpoint",
        4 => "load address misaligned",
        5 => "load access fault",
        6 => "store address misaligned",
        7 => "store access fault",
        8 => "environment call from U-mode",
        9 => "environment call from S-mode",
        INSTRUCTION_PAGE_FAULT => "instruction page fault",
        LOAD_PAGE_FAULT => "load page fault",
        STORE_PAGE_FAULT => "store page fault",
        _ => "reserved exception",
    }
}

/// A trap the kernel cannot recover from: print what is known and leave
/// QEMU with a failure status.
fn fatal(frame: &TrapFrame) -> ! {
    kprintln!(
        "fatal: {} (scause {:#x}), not a keel trap",
        cause_name(frame.scause),
        frame.scause
    );
    kprintln!(
        "  sepc {:#018x}  sp {:#018x}  fp {:#018x}  ra {:#018x}  sstatus {:#x}",
        frame.regs[0],
        frame.regs[2],
        frame.regs[8],
        frame.regs[1],
        frame.sstatus
    );
    kprintln!("  stval {:#018x}", frame.stval);
    // x1..x31, four a line; no allocation (the heap's lock may be held).
    for (row, chunk) in frame.regs[1..].chunks(4).enumerate() {
        let n = 1 + 4 * row;
        match *chunk {
            [a, b, c, d] => kprintln!(
                "  x{n} {a:#x}  x{} {b:#x}  x{} {c:#x}  x{} {d:#x}",
                n + 1,
                n + 2,
                n + 3
            ),
            [a, b, c] => kprintln!("  x{n} {a:#x}  x{} {b:#x}  x{} {c:#x}", n + 1, n + 2),
            _ => {}
        }
    }
    qemu::exit(ExitCode::Failure)
}
