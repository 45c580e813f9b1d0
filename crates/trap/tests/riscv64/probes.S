# Test probes for the riscv64 assembly of keel-trap (src/arch/riscv64.S),
# linked into harness.c. Each probe keeps the RISC-V calling convention
# towards its C caller (it saves and restores the callee-saved registers it
# uses) while putting known values or garbage into every callee-saved
# register around the routine under test.

    .text

# Save ra, s0-s11, fs0-fs11 of the C caller in a 208-byte frame.
.macro save_callee
    addi sp, sp, -208
    sd ra, 0(sp)
    .irp n, 0,1,2,3,4,5,6,7,8,9,10,11
    sd s\n, (8 + 8 * \n)(sp)
    fsd fs\n, (104 + 8 * \n)(sp)
    .endr
.endm

.macro restore_callee
    ld ra, 0(sp)
    .irp n, 0,1,2,3,4,5,6,7,8,9,10,11
    ld s\n, (8 + 8 * \n)(sp)
    fld fs\n, (104 + 8 * \n)(sp)
    .endr
    addi sp, sp, 208
.endm

# s0-s11 = base + n, fs0-fs11 = base + 0x100 + n (as raw bits); clobbers t0.
.macro fill base
    .irp n, 0,1,2,3,4,5,6,7,8,9,10,11
    li s\n, (\base + \n)
    li t0, (\base + 0x100 + \n)
    fmv.d.x fs\n, t0
    .endr
.endm

# out (in t1)[0..12] = s0-s11, [12..24] = fs0-fs11 (raw bits); clobbers t0.
.macro record
    .irp n, 0,1,2,3,4,5,6,7,8,9,10,11
    sd s\n, (8 * \n)(t1)
    fmv.x.d t0, fs\n
    sd t0, (96 + 8 * \n)(t1)
    .endr
.endm

# long probe_setjmp(buf, callback, data, out): fill the callee-saved
# registers with 0x5a000 + n, call keel_setjmp_call(buf, callback, data),
# record the registers after it returns into out, return its result.
    .globl probe_setjmp
    .type probe_setjmp,@function
probe_setjmp:
    save_callee
    addi sp, sp, -16
    sd a3, 0(sp)
    fill 0x5a000
    call keel_setjmp_call
    ld t1, 0(sp)
    record
    addi sp, sp, 16
    restore_callee
    ret
    .size probe_setjmp, . - probe_setjmp

# long probe_switch(save_sp, new_sp, arg, out): as probe_setjmp around
# keel_fiber_switch(save_sp, new_sp, arg), with 0x6b000 + n.
    .globl probe_switch
    .type probe_switch,@function
probe_switch:
    save_callee
    addi sp, sp, -16
    sd a3, 0(sp)
    fill 0x6b000
    call keel_fiber_switch
    ld t1, 0(sp)
    record
    addi sp, sp, 16
    restore_callee
    ret
    .size probe_switch, . - probe_switch

# noreturn clobber_longjmp(buf): garbage in every callee-saved register,
# then keel_longjmp(buf).
    .globl clobber_longjmp
    .type clobber_longjmp,@function
clobber_longjmp:
    fill 0xdead000
    tail keel_longjmp
    .size clobber_longjmp, . - clobber_longjmp

# long clobber_switch(save_sp, new_sp, arg): keel_fiber_switch with
# garbage in every callee-saved register at the switch; the caller's
# registers are restored from this probe's own frame afterwards.
    .globl clobber_switch
    .type clobber_switch,@function
clobber_switch:
    save_callee
    fill 0xbeef000
    call keel_fiber_switch
    restore_callee
    ret
    .size clobber_switch, . - clobber_switch

# void probe_unwind(target): call keel_unwind_stub(11, 22, 33, target) the
# way compiled wasm code does, with s0 = 0x12345678 as the caller's frame
# pointer; the return address it passes on is probe_unwind_ret. The target
# (C) continues with keel_resume at probe_unwind_landing, which records a0,
# a1, s0 and sp in probe_unwind_seen[0..4] and returns to the C caller.
# The stack pointer at the call is left in probe_unwind_sp.
    .globl probe_unwind
    .type probe_unwind,@function
probe_unwind:
    save_callee
    la t0, probe_unwind_sp
    sd sp, 0(t0)
    mv a3, a0
    li a0, 11
    li a1, 22
    li a2, 33
    li s0, 0x12345678
    call keel_unwind_stub
    .globl probe_unwind_ret
probe_unwind_ret:
    unimp
    .globl probe_unwind_landing
probe_unwind_landing:
    la t0, probe_unwind_seen
    sd a0, 0(t0)
    sd a1, 8(t0)
    sd s0, 16(t0)
    sd sp, 24(t0)
    restore_callee
    ret
    .size probe_unwind, . - probe_unwind

# void probe_lazy(void): call keel_lazy_trampoline the way a lazy stub
# enters it, with a0-a7 = 0x300 + n, fa0-fa7 = 0x400 + n (raw bits), t0 =
# 42 (the function index), s0-s11 = 0x7c000 + n; keel_lazy_compile_entry
# (harness.c) returns lazy_target, which records a0-a7, fa0-fa7, ra and
# sp in probe_lazy_seen[0..18] and returns. The stack pointer at the call
# is left in probe_lazy_sp; the callee-saved registers after the return go
# to probe_lazy_saved[0..24].
    .globl probe_lazy
    .type probe_lazy,@function
probe_lazy:
    save_callee
    fill 0x7c000
    .irp n, 0,1,2,3,4,5,6,7
    li a\n, (0x300 + \n)
    li t1, (0x400 + \n)
    fmv.d.x fa\n, t1
    .endr
    la t1, probe_lazy_sp
    sd sp, 0(t1)
    li t0, 42
    call keel_lazy_trampoline
    .globl probe_lazy_ret
probe_lazy_ret:
    la t1, probe_lazy_saved
    record
    restore_callee
    ret
    .size probe_lazy, . - probe_lazy

    .globl lazy_target
    .type lazy_target,@function
lazy_target:
    la t1, probe_lazy_seen
    .irp n, 0,1,2,3,4,5,6,7
    sd a\n, (8 * \n)(t1)
    fmv.x.d t2, fa\n
    sd t2, (64 + 8 * \n)(t1)
    .endr
    sd ra, 128(t1)
    sd sp, 136(t1)
    ret
    .size lazy_target, . - lazy_target
