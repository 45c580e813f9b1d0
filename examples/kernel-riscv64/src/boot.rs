//! From OpenSBI to `kmain`.
//!
//! OpenSBI enters `_start` in supervisor mode with the MMU off
//! (`satp` = 0), interrupts off, `a0` = the hart id and `a1` = the
//! physical address of the device tree. The entry code, before any Rust
//! runs:
//!
//! 1. points `sp` at the top of the 4 MiB boot stack;
//! 2. zeroes `.bss` (the boot stack, the root page table and every zeroed
//!    static lie there);
//! 3. turns the floating-point unit on (`sstatus.FS` = Initial): Rust
//!    code and Cranelift's code use the F and D registers, and with FS
//!    off their first use is an illegal instruction;
//! 4. calls `kmain(hart, dtb)`, which never returns.
//!

use core::arch::global_asm;

/// Size of the boot stack `kmain` runs on. keel checks the wasm stack
/// against `Config::max_wasm_stack` (512 KiB by default) below the entry
/// point, and Cranelift needs room while compiling.
const BOOT_STACK_SIZE: usize = 4 * 1024 * 1024;

global_asm!(
    r#"
    .pushsection .bss.boot, "aw", @nobits
    .p2align 12
boot_stack_bottom:
    .skip {stack_size}
boot_stack_top:
    .popsection

    .pushsection .text.boot, "ax"
    .global _start
_start:
    /* No gp-relative addressing is used (the linker does not relax to
       it), so gp stays whatever the firmware left. */
    la sp, boot_stack_top
    /* Zero .bss, 8 bytes at a time (both ends are 4 KiB aligned). The
       boot stack is in .bss, but nothing is on it yet. */
    la t0, __bss_start
    la t1, __bss_end
1:  bgeu t0, t1, 2f
    sd zero, 0(t0)
    addi t0, t0, 8
    j 1b
2:  /* sstatus.FS = Initial (bits 13..14 = 01). */
    li t0, 0x2000
    csrs sstatus, t0
    /* a0 (hart id) and a1 (device tree) are kmain's arguments. */
    call kmain
3:  wfi
    j 3b
    .popsection
"#,
    stack_size = const BOOT_STACK_SIZE,
);

unsafe extern "C" {
    static __kernel_start: u8;
    static __kernel_end: u8;
}

/// The kernel image's `[start, end)` (the end 2 MiB aligned).
pub fn kernel_image() -> (u64, u64) {
    // Only the symbols' addresses are taken, never their contents.
    (
        core::ptr::addr_of!(__kernel_start) as u64,
        core::ptr::addr_of!(__kernel_end) as u64,
    )
}

/// What the kernel keeps of the device tree.
pub struct BootInfo {
    /// The RAM range holding the kernel, `[start, end)`.
    pub ram: (u64, u64),
    /// The device tree's `[start, end)`, which must not be reused.
    pub dtb: (u64, u64),
    /// The `time` CSR's frequency in Hz (`/cpus/timebase-frequency`).
    pub timebase_hz: u64,
    /// Whether the command line (`/chosen/bootargs`, QEMU's `-append`)
    /// has the word `fault-test`.
    pub fault_test: bool,
}

/// Reads what the kernel needs from the device tree at `dtb`.
///
/// # Safety
///
/// `dtb` is the device tree OpenSBI passed in `a1`, identity-mapped.
pub unsafe fn boot_info(dtb: usize) -> Result<BootInfo, &'static str> {
    // SAFETY: the caller passes the firmware's device tree blob.
    let fdt = unsafe { fdt::Fdt::from_ptr(dtb as *const u8) }
        .map_err(|_| "the device tree in a1 is not valid")?;
    let (image_start, _) = kernel_image();
    let ram = fdt
        .memory()
        .regions()
        .filter_map(|r| {
            let start = r.starting_address as u64;
            Some((start, start + r.size? as u64))
        })
        .find(|&(start, end)| start <= image_start && image_start < end)
        .ok_or("no memory region of the device tree holds the kernel")?;
    let timebase_hz = fdt
        .cpus()
        .next()
        .map(|cpu| cpu.timebase_frequency() as u64)
        .ok_or("the device tree names no CPU")?;
    let fault_test = fdt
        .chosen()
        .bootargs()
        .is_some_and(|args| args.split_whitespace().any(|word| word == "fault-test"));
    Ok(BootInfo {
        ram,
        dtb: (dtb as u64, dtb as u64 + fdt.total_size() as u64),
        timebase_hz,
        fault_test,
    })
}
