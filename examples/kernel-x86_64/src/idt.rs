//! The interrupt descriptor table and the exception vector.
//!
//! All 32 CPU exception vectors and the 16 PIC interrupt vectors have an assembly stub (`isr_stub_N`) that
//! pushes a uniform [`TrapFrame`] (a dummy error code where the CPU pushes
//! none, the vector number, then every general-purpose register, `rbp`
//! among them, before any Rust code can change it), saves the x87/SSE
//! state with `fxsave64`, and calls [`exception_dispatch`] on an IST
//! stack (see [`crate::gdt`]).
//!
//! * #DE (0), #UD (6) and #PF (14) are offered to keel first
//!   (`keel::trap_entry(pc, fp, fault_address)`): when the pc is a trap
//!   site of wasm code running under `catch_traps`, keel records the trap
//!   and jumps back into `catch_traps`, abandoning the IST stack; the
//!   CPU keeps no state about an exception being "in progress" (only
//!   NMIs have that), so leaving the handler without `iretq` is sound.
//! * #BP (3, `int3`) prints and resumes, which the boot self-test uses.
//! * The PIC interrupts (32..48) go to [`crate::timer`]; the timer tick
//!   advances keel's engine epoch.
//! * Anything else, and anything keel declines, is a kernel fault: it
//!   prints a diagnostic and exits QEMU with a failure status.

use crate::gdt;
use crate::qemu::{self, ExitCode};
use core::arch::{asm, global_asm};
use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicU32, Ordering};

/// #DE, divide error.
pub const DIVIDE_ERROR: u64 = 0;
/// #BP, breakpoint.
pub const BREAKPOINT: u64 = 3;
/// #UD, invalid opcode.
pub const INVALID_OPCODE: u64 = 6;
/// #DF, double fault.
pub const DOUBLE_FAULT: u64 = 8;
/// #GP, general protection.
pub const GENERAL_PROTECTION: u64 = 13;
/// #PF, page fault.
pub const PAGE_FAULT: u64 = 14;

/// Registers at the time of the exception, as the stubs leave them on
/// the IST stack: pushed by `isr_common` (in reverse), then by the stub,
/// then by the CPU.
#[repr(C)]
#[derive(Debug)]
#[allow(missing_docs, reason = "register names")]
pub struct TrapFrame {
    pub r15: u64,
    pub r14: u64,
    pub r13: u64,
    pub r12: u64,
    pub r11: u64,
    pub r10: u64,
    pub r9: u64,
    pub r8: u64,
    pub rbp: u64,
    pub rdi: u64,
    pub rsi: u64,
    pub rdx: u64,
    pub rcx: u64,
    pub rbx: u64,
    pub rax: u64,
    /// Exception vector number (pushed by the stub).
    pub vector: u64,
    /// The CPU's error code, or 0 for vectors without one.
    pub error_code: u64,
    pub rip: u64,
    pub cs: u64,
    pub rflags: u64,
    pub rsp: u64,
    pub ss: u64,
}

global_asm!(
    r#"
    /* Vectors without an error code push a 0 in its place. */
    .macro isr_noerr vec
    .p2align 4
isr_stub_\vec:
    pushq $0
    pushq $\vec
    jmp isr_common
    .endm

    .macro isr_err vec
    .p2align 4
isr_stub_\vec:
    pushq $\vec
    jmp isr_common
    .endm

    .pushsection .text.isr, "ax"
    isr_noerr 0
    isr_noerr 1
    isr_noerr 2
    isr_noerr 3
    isr_noerr 4
    isr_noerr 5
    isr_noerr 6
    isr_noerr 7
    isr_err 8
    isr_noerr 9
    isr_err 10
    isr_err 11
    isr_err 12
    isr_err 13
    isr_err 14
    isr_noerr 15
    isr_noerr 16
    isr_err 17
    isr_noerr 18
    isr_noerr 19
    isr_noerr 20
    isr_err 21
    isr_noerr 22
    isr_noerr 23
    isr_noerr 24
    isr_noerr 25
    isr_noerr 26
    isr_noerr 27
    isr_noerr 28
    isr_err 29
    isr_err 30
    isr_noerr 31
    /* The PIC interrupts (vectors 32..48, see timer.rs). */
    .irp vec, 32,33,34,35,36,37,38,39,40,41,42,43,44,45,46,47
    isr_noerr \vec
    .endr

    /* The CPU pushed 5 quadwords onto a 16-byte aligned IST stack, the
       stub 2 (error code, vector), and 15 registers follow: 22 quadwords
       in all, so rsp is 16-byte aligned for fxsave and at the call, as
       the ABI wants. The x87/SSE state is saved too (the Rust handler may
       use SSE registers), so a handler that returns resumes the
       interrupted code with all of its registers. */
isr_common:
    pushq %rax
    pushq %rbx
    pushq %rcx
    pushq %rdx
    pushq %rsi
    pushq %rdi
    pushq %rbp
    pushq %r8
    pushq %r9
    pushq %r10
    pushq %r11
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    movq %rsp, %rdi
    subq $512, %rsp
    fxsave64 (%rsp)
    cld
    call exception_dispatch
    fxrstor64 (%rsp)
    addq $512, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %r11
    popq %r10
    popq %r9
    popq %r8
    popq %rbp
    popq %rdi
    popq %rsi
    popq %rdx
    popq %rcx
    popq %rbx
    popq %rax
    addq $16, %rsp
    iretq
    .popsection

    .pushsection .rodata.isr, "a"
    .p2align 3
    .global isr_stub_table
isr_stub_table:
    .irp vec, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31,32,33,34,35,36,37,38,39,40,41,42,43,44,45,46,47
    .quad isr_stub_\vec
    .endr
    .popsection
"#,
    options(att_syntax)
);

unsafe extern "C" {
    /// Addresses of the stubs of the 32 exceptions and 16 PIC interrupts.
    static isr_stub_table: [u64; VECTORS];
}

/// One 16-byte interrupt gate.
#[repr(C)]
#[derive(Clone, Copy)]
struct IdtEntry {
    offset_low: u16,
    selector: u16,
    ist: u8,
    type_attr: u8,
    offset_mid: u16,
    offset_high: u32,
    reserved: u32,
}

impl IdtEntry {
    const MISSING: Self = Self {
        offset_low: 0,
        selector: 0,
        ist: 0,
        type_attr: 0,
        offset_mid: 0,
        offset_high: 0,
        reserved: 0,
    };

    /// A present, DPL 0, 64-bit interrupt gate (interrupts stay off in the
    /// handler) to `handler` on IST stack `ist`.
    fn interrupt_gate(handler: u64, ist: u8) -> Self {
        Self {
            offset_low: handler as u16,
            selector: gdt::KERNEL_CS,
            ist,
            type_attr: 0x8E,
            offset_mid: (handler >> 16) as u16,
            offset_high: (handler >> 32) as u32,
            reserved: 0,
        }
    }
}

/// Number of IDT entries: the 32 exceptions and the 16 PIC interrupts.
const VECTORS: usize = crate::timer::PIC_VECTORS_END as usize;

/// The IDT: the 32 exception vectors and the PIC interrupts.
#[repr(C, align(16))]
struct Idt(UnsafeCell<[IdtEntry; VECTORS]>);

// SAFETY: written once by `init` on the only CPU before `lidt`, then only
// read (by the CPU).
unsafe impl Sync for Idt {}

static IDT: Idt = Idt(UnsafeCell::new([IdtEntry::MISSING; VECTORS]));

/// Fills and loads the IDT. Call after [`gdt::init`] (the gates name its
/// code segment and IST stacks).
pub fn init() {
    // SAFETY: `isr_stub_table` is immutable data from the assembly above.
    let stubs = unsafe { isr_stub_table };
    let idt = IDT.0.get();
    for (vector, &stub) in stubs.iter().enumerate() {
        let ist = match vector as u64 {
            DOUBLE_FAULT => gdt::IST_DOUBLE_FAULT,
            PAGE_FAULT => gdt::IST_PAGE_FAULT,
            GENERAL_PROTECTION => gdt::IST_GENERAL_PROTECTION,
            v if v >= crate::timer::TIMER_VECTOR => gdt::IST_INTERRUPT,
            _ => gdt::IST_OTHER,
        };
        // SAFETY: boot-time, single CPU, the IDT is not loaded yet.
        unsafe { (*idt)[vector] = IdtEntry::interrupt_gate(stub, ist) };
    }
    let pointer = gdt::DescriptorTablePointer {
        limit: (core::mem::size_of::<[IdtEntry; VECTORS]>() - 1) as u16,
        base: idt as u64,
    };
    // SAFETY: the IDT is a static of valid gates to the stubs above, which
    // save the registers and call `exception_dispatch`.
    unsafe { asm!("lidt [{}]", in(reg) &pointer, options(readonly, nostack, preserves_flags)) };
}

/// How many #DE, #UD and #PF faults were handed to keel. A fault keel
/// declines ends the kernel, so while the kernel runs these are the
/// hardware faults that became wasm traps.
static KEEL_FAULTS: [AtomicU32; 3] = [AtomicU32::new(0), AtomicU32::new(0), AtomicU32::new(0)];

/// The number of #DE, #UD and #PF faults handed to keel so far.
pub fn keel_fault_counts() -> [u32; 3] {
    KEEL_FAULTS.each_ref().map(|c| c.load(Ordering::Relaxed))
}

/// The Rust side of the exception vector; `frame` is on the IST stack.
#[unsafe(no_mangle)]
extern "C" fn exception_dispatch(frame: &mut TrapFrame) {
    match frame.vector {
        BREAKPOINT => {
            kprintln!("idt: breakpoint at {:#x}, resuming", frame.rip);
        }
        DIVIDE_ERROR | INVALID_OPCODE | PAGE_FAULT => {
            let slot = match frame.vector {
                DIVIDE_ERROR => 0,
                INVALID_OPCODE => 1,
                _ => 2,
            };
            KEEL_FAULTS[slot].fetch_add(1, Ordering::Relaxed);
            let fault_address = if frame.vector == PAGE_FAULT {
                crate::cpu::read_cr2()
            } else {
                0
            };
            // A wasm trap does not return through `iretq`, which would
            // restore the interrupted code's interrupt flag: keel jumps
            // back to `catch_traps` from inside `trap_entry`. So turn
            // interrupts back on here if the faulting code had them on, so
            // that they stay on for the host code after the trap. The
            // timer interrupt has its own IST stack, so it cannot overwrite
            // this handler's.
            if frame.rflags & RFLAGS_IF != 0 {
                crate::timer::enable_interrupts();
            }
            // SAFETY: called from the exception vector with the interrupted
            // pc and frame pointer, exactly as keel's trap entry expects. If
            // the fault is a wasm trap it does not return (it jumps back to
            // `catch_traps` on the interrupted stack); otherwise it returns
            // and the fault is the kernel's.
            let handled = unsafe {
                keel::trap_entry(
                    frame.rip as usize,
                    frame.rbp as usize,
                    fault_address as usize,
                )
            };
            if !handled {
                fatal(frame, fault_address);
            }
            // `true`: the platform resolved the fault; retry the access.
        }
        v if (crate::timer::TIMER_VECTOR..crate::timer::PIC_VECTORS_END).contains(&v) => {
            crate::timer::on_interrupt(v);
        }
        _ => fatal(frame, crate::cpu::read_cr2()),
    }
}

/// The interrupt-enable flag in RFLAGS.
const RFLAGS_IF: u64 = 1 << 9;

/// The name of an exception vector.
fn vector_name(vector: u64) -> &'static str {
    match vector {
        0 => "divide error (#DE)",
        1 => "debug (#DB)",
        2 => "non-maskable interrupt",
        3 => "breakpoint (#BP)",
        4 => "overflow (#OF)",
        5 => "bound range exceeded (#BR)",
        6 => "invalid opcode (#UD)",
        7 => "device not available (#NM)",
        8 => "double fault (#DF)",
        10 => "invalid TSS (#TS)",
        11 => "segment not present (#NP)",
        12 => "stack-segment fault (#SS)",
        13 => "general protection (#GP)",
        14 => "page fault (#PF)",
        16 => "x87 floating-point (#MF)",
        17 => "alignment check (#AC)",
        18 => "machine check (#MC)",
        19 => "SIMD floating-point (#XM)",
        _ => "reserved exception",
    }
}

/// A fault the kernel cannot recover from: print what is known and leave
/// QEMU with a failure status.
fn fatal(frame: &TrapFrame, cr2: u64) -> ! {
    kprintln!(
        "fatal: {} (vector {}), error code {:#x}, not a keel trap",
        vector_name(frame.vector),
        frame.vector,
        frame.error_code
    );
    kprintln!(
        "  rip {:#018x}  rsp {:#018x}  rbp {:#018x}  rflags {:#x}",
        frame.rip,
        frame.rsp,
        frame.rbp,
        frame.rflags
    );
    if frame.vector == PAGE_FAULT {
        kprintln!("  fault address (cr2) {cr2:#018x}");
    }
    kprintln!(
        "  rax {:#x} rbx {:#x} rcx {:#x} rdx {:#x} rsi {:#x} rdi {:#x}",
        frame.rax,
        frame.rbx,
        frame.rcx,
        frame.rdx,
        frame.rsi,
        frame.rdi
    );
    kprintln!(
        "  r8 {:#x} r9 {:#x} r10 {:#x} r11 {:#x} r12 {:#x} r13 {:#x} r14 {:#x} r15 {:#x}",
        frame.r8,
        frame.r9,
        frame.r10,
        frame.r11,
        frame.r12,
        frame.r13,
        frame.r14,
        frame.r15
    );
    qemu::exit(ExitCode::Failure)
}
