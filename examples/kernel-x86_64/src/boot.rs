//! From QEMU's PVH entry to `kmain`.
//!
//! QEMU (`-kernel kernel.elf`) finds the Xen `PHYS32_ENTRY` ELF note,
//! loads the PT_LOAD segments at their physical addresses and enters
//! [`pvh_start32`] in 32-bit protected mode with paging off, flat
//! segments and `ebx` holding the physical address of an
//! [`HvmStartInfo`]. The entry code, before any Rust runs:
//!
//! 1. zeroes `.bss` (it holds the page tables and the boot stack);
//! 2. builds page tables that identity-map the low 4 GiB: 2 MiB pages,
//!    except the first 2 MiB, mapped with 4 KiB pages so that page 0 can
//!    be unmapped (null-pointer accesses fault) once the boot info in it
//!    has been copied;
//! 3. enables PAE, SSE (`CR4.OSFXSR`, `CR4.OSXMMEXCPT`; `CR0.EM` clear,
//!    `CR0.MP` set), long mode (`EFER.LME`) and paging, loads a 64-bit
//!    GDT and far-jumps into 64-bit code;
//! 4. there, enables the AVX register state when the CPU has it (Rust
//!    code built for the host target and Cranelift code may use SSE, and
//!    AVX once a configuration asks for it), sets up the 4 MiB boot stack
//!    and calls `kmain`.
//!
//! [`pvh_start32`]: https://xenbits.xen.org/docs/unstable/misc/pvh.html

use core::arch::global_asm;

/// `XEN_ELFNOTE_PHYS32_ENTRY`: the note type whose descriptor is the
/// 32-bit physical entry address of a PVH kernel.
const XEN_ELFNOTE_PHYS32_ENTRY: u32 = 18;

/// Size of the boot stack `kmain` runs on. keel checks the wasm stack
/// against `Config::max_wasm_stack` (512 KiB by default) below the entry
/// point, and Cranelift needs room while compiling.
const BOOT_STACK_SIZE: usize = 4 * 1024 * 1024;

global_asm!(
    r#"
    /* The PVH entry note. QEMU reads a 64-bit ELF's descriptor as a
       pointer-sized value, so it is a .quad (as in Linux); a 32-bit
       reader takes its low half. Name and descriptor are 4-aligned. */
    .pushsection .note.pvh, "a", @note
    .p2align 2
    .long pvh_note_name_end - pvh_note_name
    .long pvh_note_desc_end - pvh_note_desc
    .long {note_type}
pvh_note_name:
    .asciz "Xen"
pvh_note_name_end:
    .p2align 2
pvh_note_desc:
    .quad pvh_start32
pvh_note_desc_end:
    .p2align 2
    .popsection

    /* Page tables and the boot stack: zeroed by pvh_start32. */
    .pushsection .bss.boot, "aw", @nobits
    .p2align 12
    .global boot_pml4
boot_pml4:
    .skip 4096
boot_pdpt:
    .skip 4096
boot_pd:
    .skip 4 * 4096
    .global boot_pt0
boot_pt0:
    .skip 4096
    .p2align 4
boot_stack_bottom:
    .skip {stack_size}
boot_stack_top:
    .p2align 3
    .global pvh_start_info_paddr
pvh_start_info_paddr:
    .skip 8
    .popsection

    /* The GDT used to enter long mode: null, 64-bit code (0x08), data
       (0x10). gdt::init replaces it with one that also has a TSS. */
    .pushsection .rodata.boot, "a"
    .p2align 3
boot_gdt:
    .quad 0
    .quad 0x00AF9A000000FFFF
    .quad 0x00CF92000000FFFF
boot_gdt_end:
boot_gdt_ptr:
    .word boot_gdt_end - boot_gdt - 1
    .long boot_gdt
    .popsection

    .pushsection .text.boot, "ax"
    .code32
    .global pvh_start32
pvh_start32:
    cli
    cld

    /* Zero .bss; ebx (the start info) is left alone. */
    movl $__bss_start, %edi
    movl $__bss_end, %ecx
    subl %edi, %ecx
    shrl $2, %ecx
    xorl %eax, %eax
    rep stosl
    movl %ebx, pvh_start_info_paddr

    /* PML4[0] -> PDPT; PDPT[0..4] -> the four PDs. */
    movl $boot_pdpt, %eax
    orl $0x3, %eax
    movl %eax, boot_pml4
    movl $boot_pd, %eax
    orl $0x3, %eax
    movl %eax, boot_pdpt
    addl $0x1000, %eax
    movl %eax, boot_pdpt + 8
    addl $0x1000, %eax
    movl %eax, boot_pdpt + 16
    addl $0x1000, %eax
    movl %eax, boot_pdpt + 24

    /* 2048 PD entries: 2 MiB pages, present + writable + PS. */
    xorl %ecx, %ecx
pvh_fill_pd:
    movl %ecx, %eax
    shll $21, %eax
    orl $0x83, %eax
    movl %eax, boot_pd(,%ecx,8)
    incl %ecx
    cmpl $2048, %ecx
    jb pvh_fill_pd

    /* The first 2 MiB through boot_pt0, 4 KiB pages (boot::boot_info
       unmaps page 0 once it has read the loader's data there). */
    xorl %ecx, %ecx
pvh_fill_pt0:
    movl %ecx, %eax
    shll $12, %eax
    orl $0x3, %eax
    movl %eax, boot_pt0(,%ecx,8)
    incl %ecx
    cmpl $512, %ecx
    jb pvh_fill_pt0
    movl $boot_pt0, %eax
    orl $0x3, %eax
    movl %eax, boot_pd

    movl $boot_pml4, %eax
    movl %eax, %cr3

    /* CR4: PAE (5), OSFXSR (9), OSXMMEXCPT (10). */
    movl %cr4, %eax
    orl $0x620, %eax
    movl %eax, %cr4

    /* EFER.LME. */
    movl $0xC0000080, %ecx
    rdmsr
    orl $0x100, %eax
    wrmsr

    /* CR0: clear EM (2) and TS (3); set PE (0), MP (1), NE (5),
       WP (16), PG (31). */
    movl %cr0, %eax
    andl $0xFFFFFFF3, %eax
    orl $0x80010023, %eax
    movl %eax, %cr0

    lgdt boot_gdt_ptr
    ljmp $0x08, $pvh_start64

    .code64
pvh_start64:
    movw $0x10, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
    xorw %ax, %ax
    movw %ax, %fs
    movw %ax, %gs
    leaq boot_stack_top(%rip), %rsp

    /* With XSAVE: CR4.OSXSAVE (18) and XCR0 = x87 | SSE, plus AVX when
       the CPU supports that state component. */
    movl $1, %eax
    cpuid
    btl $26, %ecx
    jnc pvh_no_xsave
    movq %cr4, %rax
    orq $0x40000, %rax
    movq %rax, %cr4
    movl $0xD, %eax
    xorl %ecx, %ecx
    cpuid
    andl $0x4, %eax
    orl $0x3, %eax
    xorl %edx, %edx
    xorl %ecx, %ecx
    xsetbv
pvh_no_xsave:

    xorl %ebp, %ebp
    call kmain
pvh_halt:
    cli
    hlt
    jmp pvh_halt
    .popsection
"#,
    note_type = const XEN_ELFNOTE_PHYS32_ENTRY,
    stack_size = const BOOT_STACK_SIZE,
    options(att_syntax)
);

unsafe extern "C" {
    /// Physical address of the [`HvmStartInfo`], stored by `pvh_start32`
    /// from `ebx` (the upper half is zero).
    static pvh_start_info_paddr: u64;
    /// First byte of the kernel image (linker.ld).
    static __kernel_start: u8;
    /// End of the kernel image, `.bss` included, rounded up to 2 MiB
    /// (linker.ld).
    static __kernel_end: u8;
}

/// `hvm_start_info`, the PVH boot information (Xen's
/// `public/arch-x86/hvm/start_info.h`), as far as version 1.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct HvmStartInfo {
    /// [`HVM_START_MAGIC`].
    pub magic: u32,
    /// Version of the structure; the memory map exists from 1 on.
    pub version: u32,
    /// `SIF_*` flags.
    pub flags: u32,
    /// Number of modules in `modlist_paddr`.
    pub nr_modules: u32,
    /// Physical address of the module list.
    pub modlist_paddr: u64,
    /// Physical address of the NUL-terminated command line (0: none).
    pub cmdline_paddr: u64,
    /// Physical address of the ACPI RSDP.
    pub rsdp_paddr: u64,
    /// Physical address of the memory map (version 1).
    pub memmap_paddr: u64,
    /// Number of entries in the memory map (version 1).
    pub memmap_entries: u32,
    /// Must be zero.
    pub reserved: u32,
}

/// `hvm_memmap_table_entry`: one range of the E820-style memory map.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct HvmMemmapEntry {
    /// Physical start address.
    pub addr: u64,
    /// Length in bytes.
    pub size: u64,
    /// [`MEMMAP_TYPE_RAM`] for usable memory.
    pub kind: u32,
    /// Must be zero.
    pub reserved: u32,
}

/// `XEN_HVM_START_MAGIC_VALUE`.
pub const HVM_START_MAGIC: u32 = 0x336e_c578;
/// `XEN_HVM_MEMMAP_TYPE_RAM`.
pub const MEMMAP_TYPE_RAM: u32 = 1;

/// Longest command line kept.
const CMDLINE_MAX: usize = 256;
/// Most memory map entries kept.
const MEMMAP_MAX: usize = 32;

/// What the kernel learned from the boot loader, copied out of the
/// loader's memory (which lies in page 0, unmapped afterwards).
#[derive(Debug)]
pub struct BootInfo {
    /// The start info, when its magic was right.
    pub start_info: Option<HvmStartInfo>,
    cmdline: [u8; CMDLINE_MAX],
    cmdline_len: usize,
    memmap: [HvmMemmapEntry; MEMMAP_MAX],
    memmap_len: usize,
}

/// Physical range `[start, end)` of the kernel image.
pub fn kernel_image() -> (u64, u64) {
    // Only the addresses of the linker symbols are taken, never their
    // (nonexistent) contents.
    (
        &raw const __kernel_start as u64,
        &raw const __kernel_end as u64,
    )
}

/// Copies the PVH start info, its memory map and command line, then
/// unmaps page 0 so that null-pointer accesses fault. Call once, early:
/// it trusts the memory the loader left (identity-mapped, not yet reused).
pub fn boot_info() -> BootInfo {
    let mut boot = BootInfo {
        start_info: None,
        cmdline: [0; CMDLINE_MAX],
        cmdline_len: 0,
        memmap: [HvmMemmapEntry {
            addr: 0,
            size: 0,
            kind: 0,
            reserved: 0,
        }; MEMMAP_MAX],
        memmap_len: 0,
    };
    // SAFETY: `pvh_start_info_paddr` was written once by the entry code
    // before any Rust ran and is never written again.
    let paddr = unsafe { pvh_start_info_paddr };
    if paddr != 0 && paddr < 1 << 32 {
        // SAFETY: the loader put a `hvm_start_info` at `paddr`, below
        // 4 GiB, which the boot page tables identity-map (page 0
        // included, until `unmap_page0`); nothing has reused that memory
        // (the heap and frames lie above the kernel image).
        let info = unsafe { core::ptr::read_unaligned(paddr as *const HvmStartInfo) };
        if info.magic == HVM_START_MAGIC {
            boot.start_info = Some(info);
            if info.cmdline_paddr != 0 && info.cmdline_paddr < 1 << 32 {
                let mut p = info.cmdline_paddr as *const u8;
                while boot.cmdline_len < CMDLINE_MAX {
                    // SAFETY: the loader's NUL-terminated command line,
                    // identity-mapped; reading stops at the NUL.
                    let byte = unsafe { p.read() };
                    if byte == 0 {
                        break;
                    }
                    boot.cmdline[boot.cmdline_len] = byte;
                    boot.cmdline_len += 1;
                    p = p.wrapping_add(1);
                }
            }
            if info.version >= 1 && info.memmap_paddr < 1 << 32 {
                let count = (info.memmap_entries as usize).min(MEMMAP_MAX);
                for i in 0..count {
                    let entry =
                        info.memmap_paddr as usize + i * core::mem::size_of::<HvmMemmapEntry>();
                    // SAFETY: the loader's memory map has at least `count`
                    // entries at `memmap_paddr`, identity-mapped.
                    boot.memmap[i] =
                        unsafe { core::ptr::read_unaligned(entry as *const HvmMemmapEntry) };
                }
                boot.memmap_len = count;
            }
        }
    }
    unmap_page0();
    boot
}

/// Removes the identity mapping of page 0 (the boot loader's data, now
/// copied), so that null-pointer accesses fault.
fn unmap_page0() {
    unsafe extern "C" {
        /// The page table of the first 2 MiB (entry 0 maps page 0).
        static mut boot_pt0: [u64; 512];
    }
    // SAFETY: boot-time, single CPU; entry 0 of the first page table maps
    // only page 0, which the kernel does not use (the image starts at
    // 1 MiB, and the boot info was copied out above).
    unsafe { (&raw mut boot_pt0).cast::<u64>().write_volatile(0) };
    crate::cpu::invlpg(0);
}

impl BootInfo {
    /// The command line (`-append`), empty when there is none.
    pub fn cmdline(&self) -> &str {
        core::str::from_utf8(&self.cmdline[..self.cmdline_len]).unwrap_or("")
    }

    /// The entries of the memory map (empty before version 1).
    pub fn memory_map(&self) -> impl Iterator<Item = HvmMemmapEntry> + '_ {
        self.memmap[..self.memmap_len].iter().copied()
    }

    /// Whether the command line has the word `word`.
    pub fn has_option(&self, word: &str) -> bool {
        self.cmdline().split_ascii_whitespace().any(|w| w == word)
    }
}
