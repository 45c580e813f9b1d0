# keel-trap's riscv64 (LP64D) assembly, included by `riscv64.rs` through
# `global_asm!` and, to test it, assembled by GNU as into the C harness in
# crates/trap/tests/riscv64 (run under qemu-riscv64). No preprocessor: the
# same text must assemble in both.
#
# keel_setjmp_call(buf: *mut [usize; 26], callback, data) -> i32
#     Save ra, sp, s0-s11 and fs0-fs11 in buf, then return callback(data).
# keel_longjmp(buf) -> !
#     Restore what keel_setjmp_call saved and make it return 1.
# keel_fiber_switch(save_sp: *mut usize, new_sp: usize, arg: usize) -> usize
#     Save ra, s0-s11 and fs0-fs11 in a 208-byte frame on the current
#     stack, store the stack pointer in *save_sp, load new_sp and restore
#     the frame saved there: returns `arg` in the context that is resumed.
#     Frame layout (offsets from the saved sp): ra 0, s0 8, s1 16, ...,
#     s11 96, fs0 104, ..., fs11 192, 8 bytes of padding at 200.
# keel_fiber_start
#     Where a fresh fiber stack "returns" to on its first switch (its saved
#     ra); it calls entry(data, arg) with entry in s1 and data in s2, and
#     never returns. A fresh stack is one such frame, at the top of the
#     stack minus 208, with ra = keel_fiber_start, s0 = 0 (ending the
#     frame-pointer chain), s1 = entry, s2 = data.
# keel_unwind_stub(a0, a1, a2, target) -> !
#     Called by compiled wasm code (Cranelift's `tail` convention, whose
#     first integer arguments are LP64's) to start unwinding: tail-call
#     target(a0, a1, a2, target, pc, fp) with pc = the return address into
#     the caller (ra) and fp = the caller's frame pointer (s0, untouched).
# keel_resume(pc, sp, fp, payload0, payload1) -> !
#     Continue at an exception handler: load sp and s0, put the payload in
#     a0 and a1 (Cranelift's exception payload registers) and jump to pc.
#     Every other register is dead at a handler (Cranelift's `try_call`
#     treats all of them as clobbered on the exceptional edge).
# keel_lazy_trampoline
#     Jumped to (not called) by a lazily compiled module's stub for a
#     function not compiled yet, at the function's entry: the return
#     address in ra, the callee's VMContext in a0 (in a1 after a
#     return-area pointer in a0), the other arguments of Cranelift's
#     `tail` convention in a1-a7 and fa0-fa7 (vectors travel on the
#     stack), and the defined function's index (with
#     VMCTX_IN_SECOND_ARGUMENT set for the second case) in t0. Saves them,
#     calls keel_lazy_compile_entry(a0, a1, index) -> code (which compiles
#     the function, or leaves the activation with an error), restores
#     them and jumps to the code with sp and ra as they were at entry.

    # LLVM assembles global_asm! without the target's extensions, so it
    # refuses fsd/fld unless the file names D itself (GNU as, given
    # -march=rv64gc, already has it).
    .option push
    .option arch, +d

    .text

    .globl keel_setjmp_call
    .type keel_setjmp_call,@function
    .p2align 2
keel_setjmp_call:
    # a0 = buf, a1 = callback, a2 = data
    sd ra, 0(a0)
    sd sp, 8(a0)
    sd s0, 16(a0)
    sd s1, 24(a0)
    sd s2, 32(a0)
    sd s3, 40(a0)
    sd s4, 48(a0)
    sd s5, 56(a0)
    sd s6, 64(a0)
    sd s7, 72(a0)
    sd s8, 80(a0)
    sd s9, 88(a0)
    sd s10, 96(a0)
    sd s11, 104(a0)
    fsd fs0, 112(a0)
    fsd fs1, 120(a0)
    fsd fs2, 128(a0)
    fsd fs3, 136(a0)
    fsd fs4, 144(a0)
    fsd fs5, 152(a0)
    fsd fs6, 160(a0)
    fsd fs7, 168(a0)
    fsd fs8, 176(a0)
    fsd fs9, 184(a0)
    fsd fs10, 192(a0)
    fsd fs11, 200(a0)
    # Keep a frame record (ra, fp) for backtraces and call the callback.
    addi sp, sp, -16
    sd ra, 8(sp)
    sd s0, 0(sp)
    mv s0, sp
    mv a0, a2
    jalr a1
    ld ra, 8(sp)
    ld s0, 0(sp)
    addi sp, sp, 16
    ret
    .size keel_setjmp_call, . - keel_setjmp_call

    .globl keel_longjmp
    .type keel_longjmp,@function
    .p2align 2
keel_longjmp:
    ld ra, 0(a0)
    ld sp, 8(a0)
    ld s0, 16(a0)
    ld s1, 24(a0)
    ld s2, 32(a0)
    ld s3, 40(a0)
    ld s4, 48(a0)
    ld s5, 56(a0)
    ld s6, 64(a0)
    ld s7, 72(a0)
    ld s8, 80(a0)
    ld s9, 88(a0)
    ld s10, 96(a0)
    ld s11, 104(a0)
    fld fs0, 112(a0)
    fld fs1, 120(a0)
    fld fs2, 128(a0)
    fld fs3, 136(a0)
    fld fs4, 144(a0)
    fld fs5, 152(a0)
    fld fs6, 160(a0)
    fld fs7, 168(a0)
    fld fs8, 176(a0)
    fld fs9, 184(a0)
    fld fs10, 192(a0)
    fld fs11, 200(a0)
    li a0, 1
    ret
    .size keel_longjmp, . - keel_longjmp

    .globl keel_fiber_switch
    .type keel_fiber_switch,@function
    .p2align 2
keel_fiber_switch:
    # a0 = save_sp, a1 = new_sp, a2 = arg
    addi sp, sp, -208
    sd ra, 0(sp)
    sd s0, 8(sp)
    sd s1, 16(sp)
    sd s2, 24(sp)
    sd s3, 32(sp)
    sd s4, 40(sp)
    sd s5, 48(sp)
    sd s6, 56(sp)
    sd s7, 64(sp)
    sd s8, 72(sp)
    sd s9, 80(sp)
    sd s10, 88(sp)
    sd s11, 96(sp)
    fsd fs0, 104(sp)
    fsd fs1, 112(sp)
    fsd fs2, 120(sp)
    fsd fs3, 128(sp)
    fsd fs4, 136(sp)
    fsd fs5, 144(sp)
    fsd fs6, 152(sp)
    fsd fs7, 160(sp)
    fsd fs8, 168(sp)
    fsd fs9, 176(sp)
    fsd fs10, 184(sp)
    fsd fs11, 192(sp)
    sd sp, 0(a0)
    mv sp, a1
    ld ra, 0(sp)
    ld s0, 8(sp)
    ld s1, 16(sp)
    ld s2, 24(sp)
    ld s3, 32(sp)
    ld s4, 40(sp)
    ld s5, 48(sp)
    ld s6, 56(sp)
    ld s7, 64(sp)
    ld s8, 72(sp)
    ld s9, 80(sp)
    ld s10, 88(sp)
    ld s11, 96(sp)
    fld fs0, 104(sp)
    fld fs1, 112(sp)
    fld fs2, 120(sp)
    fld fs3, 128(sp)
    fld fs4, 136(sp)
    fld fs5, 144(sp)
    fld fs6, 152(sp)
    fld fs7, 160(sp)
    fld fs8, 168(sp)
    fld fs9, 176(sp)
    fld fs10, 184(sp)
    fld fs11, 192(sp)
    addi sp, sp, 208
    mv a0, a2
    ret
    .size keel_fiber_switch, . - keel_fiber_switch

    .globl keel_fiber_start
    .type keel_fiber_start,@function
    .p2align 2
keel_fiber_start:
    .cfi_startproc
    # Nothing called from here returns past it: unwinders and debuggers
    # stop at this frame.
    .cfi_undefined ra
    mv a1, a0
    mv a0, s2
    jalr s1
    unimp
    .cfi_endproc
    .size keel_fiber_start, . - keel_fiber_start

    .globl keel_unwind_stub
    .type keel_unwind_stub,@function
    .p2align 2
keel_unwind_stub:
    # a0, a1, a2 = arguments, a3 = target
    mv a4, ra
    mv a5, s0
    jr a3
    .size keel_unwind_stub, . - keel_unwind_stub

    .globl keel_lazy_trampoline
    .type keel_lazy_trampoline,@function
    .p2align 2
keel_lazy_trampoline:
    # 16 saved words and a frame record (fp, ra) for backtraces.
    addi sp, sp, -144
    sd ra, 136(sp)
    sd s0, 128(sp)
    addi s0, sp, 128
    sd a0, 0(sp)
    sd a1, 8(sp)
    sd a2, 16(sp)
    sd a3, 24(sp)
    sd a4, 32(sp)
    sd a5, 40(sp)
    sd a6, 48(sp)
    sd a7, 56(sp)
    fsd fa0, 64(sp)
    fsd fa1, 72(sp)
    fsd fa2, 80(sp)
    fsd fa3, 88(sp)
    fsd fa4, 96(sp)
    fsd fa5, 104(sp)
    fsd fa6, 112(sp)
    fsd fa7, 120(sp)
    mv a2, t0
    call keel_lazy_compile_entry
    mv t1, a0
    ld a0, 0(sp)
    ld a1, 8(sp)
    ld a2, 16(sp)
    ld a3, 24(sp)
    ld a4, 32(sp)
    ld a5, 40(sp)
    ld a6, 48(sp)
    ld a7, 56(sp)
    fld fa0, 64(sp)
    fld fa1, 72(sp)
    fld fa2, 80(sp)
    fld fa3, 88(sp)
    fld fa4, 96(sp)
    fld fa5, 104(sp)
    fld fa6, 112(sp)
    fld fa7, 120(sp)
    ld ra, 136(sp)
    ld s0, 128(sp)
    addi sp, sp, 144
    jr t1
    .size keel_lazy_trampoline, . - keel_lazy_trampoline

    .globl keel_resume
    .type keel_resume,@function
    .p2align 2
keel_resume:
    # a0 = pc, a1 = sp, a2 = fp, a3 = payload0, a4 = payload1
    mv t0, a0
    mv sp, a1
    mv s0, a2
    mv a0, a3
    mv a1, a4
    jr t0
    .size keel_resume, . - keel_resume

    .option pop
