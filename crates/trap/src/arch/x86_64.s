# keel-trap's x86_64 (System V) assembly, Intel syntax, included by
# `x86_64.rs` through `global_asm!`.
#
# keel_setjmp_call(buf: *mut [usize; 8], callback, data) -> i32
#     Save rbx, rbp, r12-r15, the stack pointer after return and the
#     return address in buf, then return callback(data).
# keel_longjmp(buf) -> !
#     Restore what keel_setjmp_call saved and make it return 1.
# keel_fiber_switch(save_sp: *mut usize, new_sp: usize, arg: usize) -> usize
#     Push the callee-saved registers (rbp, rbx, r12-r15) on the current
#     stack, store the stack pointer in *save_sp, load new_sp and pop the
#     registers saved there: returns `arg` in the context that is resumed.
# keel_fiber_start
#     Where a fresh fiber stack "returns" to on its first switch; it calls
#     entry(data, arg) with entry in rbx and data in r12 (see
#     `fiber_init_stack` for the layout) and never returns.

    .text

    .globl keel_setjmp_call
    .type keel_setjmp_call,@function
    .p2align 4
keel_setjmp_call:
    # rdi = buf, rsi = callback, rdx = data
    mov [rdi], rbx
    mov [rdi + 8], rbp
    mov [rdi + 16], r12
    mov [rdi + 24], r13
    mov [rdi + 32], r14
    mov [rdi + 40], r15
    lea rax, [rsp + 8]
    mov [rdi + 48], rax
    mov rax, [rsp]
    mov [rdi + 56], rax
    # Align the stack and keep a frame-pointer chain for backtraces.
    push rbp
    mov rbp, rsp
    mov rdi, rdx
    call rsi
    pop rbp
    ret
    .size keel_setjmp_call, . - keel_setjmp_call

    .globl keel_longjmp
    .type keel_longjmp,@function
    .p2align 4
keel_longjmp:
    mov rbx, [rdi]
    mov rbp, [rdi + 8]
    mov r12, [rdi + 16]
    mov r13, [rdi + 24]
    mov r14, [rdi + 32]
    mov r15, [rdi + 40]
    mov rsp, [rdi + 48]
    mov eax, 1
    jmp qword ptr [rdi + 56]
    .size keel_longjmp, . - keel_longjmp

    .globl keel_fiber_switch
    .type keel_fiber_switch,@function
    .p2align 4
keel_fiber_switch:
    # rdi = save_sp, rsi = new_sp, rdx = arg
    push rbp
    push rbx
    push r12
    push r13
    push r14
    push r15
    mov [rdi], rsp
    mov rsp, rsi
    pop r15
    pop r14
    pop r13
    pop r12
    pop rbx
    pop rbp
    mov rax, rdx
    ret
    .size keel_fiber_switch, . - keel_fiber_switch

    .globl keel_fiber_start
    .type keel_fiber_start,@function
    .p2align 4
keel_fiber_start:
    .cfi_startproc
    # Nothing called from here returns past it: unwinders and debuggers
    # stop at this frame.
    .cfi_undefined rip
    # rsp is 16-byte aligned here (the layout puts this address just
    # below the aligned top); rbp is 0, ending the frame-pointer chain.
    mov rdi, r12
    mov rsi, rax
    call rbx
    ud2
    .cfi_endproc
    .size keel_fiber_start, . - keel_fiber_start
