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
# keel_unwind_stub(a0, a1, a2, target) -> !
#     Called by compiled wasm code (Cranelift's `tail` convention, whose
#     first integer arguments are System V's) to start unwinding: tail-call
#     target(a0, a1, a2, target, pc, fp) with pc = the return address into
#     the caller and fp = the caller's frame pointer (rbp, untouched).
# keel_resume(pc, sp, fp, payload0, payload1) -> !
#     Continue at an exception handler: load rsp and rbp, put the payload in
#     rax and rdx (Cranelift's exception payload registers) and jump to pc.
#     Every other register is dead at a handler (Cranelift's `try_call`
#     treats all of them as clobbered on the exceptional edge).
# keel_lazy_trampoline
#     Jumped to (not called) by a lazily compiled module's stub for a
#     function not compiled yet, at the function's entry: the return
#     address on top of the stack, stack arguments above it, the callee's
#     VMContext in rdi (in rsi after a return-area pointer in rdi), the
#     other arguments of Cranelift's `tail` convention in rsi, rdx, rcx,
#     r8, r9 and xmm0-xmm7, and the defined function's index (with
#     VMCTX_IN_SECOND_ARGUMENT set for the second case) in r11d. Saves the
#     argument registers, calls keel_lazy_compile_entry(rdi, rsi, index)
#     -> code (which compiles the function, or leaves the activation with
#     an error), restores them and jumps to the code with the stack
#     exactly as it was at entry.

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

    .globl keel_unwind_stub
    .type keel_unwind_stub,@function
    .p2align 4
keel_unwind_stub:
    # rdi, rsi, rdx = arguments, rcx = target
    mov r8, [rsp]
    mov r9, rbp
    jmp rcx
    .size keel_unwind_stub, . - keel_unwind_stub

    .globl keel_resume
    .type keel_resume,@function
    .p2align 4
keel_resume:
    # rdi = pc, rsi = sp, rdx = fp, rcx = payload0, r8 = payload1
    mov rsp, rsi
    mov rbp, rdx
    mov rax, rcx
    mov rdx, r8
    jmp rdi
    .size keel_resume, . - keel_resume

    .globl keel_lazy_trampoline
    .type keel_lazy_trampoline,@function
    .p2align 4
keel_lazy_trampoline:
    # A frame record for backtraces; rsp is then 16-byte aligned.
    push rbp
    mov rbp, rsp
    sub rsp, 176
    mov [rsp], rdi
    mov [rsp + 8], rsi
    mov [rsp + 16], rdx
    mov [rsp + 24], rcx
    mov [rsp + 32], r8
    mov [rsp + 40], r9
    movdqu [rsp + 48], xmm0
    movdqu [rsp + 64], xmm1
    movdqu [rsp + 80], xmm2
    movdqu [rsp + 96], xmm3
    movdqu [rsp + 112], xmm4
    movdqu [rsp + 128], xmm5
    movdqu [rsp + 144], xmm6
    movdqu [rsp + 160], xmm7
    mov edx, r11d
    call keel_lazy_compile_entry
    mov r11, rax
    mov rdi, [rsp]
    mov rsi, [rsp + 8]
    mov rdx, [rsp + 16]
    mov rcx, [rsp + 24]
    mov r8, [rsp + 32]
    mov r9, [rsp + 40]
    movdqu xmm0, [rsp + 48]
    movdqu xmm1, [rsp + 64]
    movdqu xmm2, [rsp + 80]
    movdqu xmm3, [rsp + 96]
    movdqu xmm4, [rsp + 112]
    movdqu xmm5, [rsp + 128]
    movdqu xmm6, [rsp + 144]
    movdqu xmm7, [rsp + 160]
    mov rsp, rbp
    pop rbp
    jmp r11
    .size keel_lazy_trampoline, . - keel_lazy_trampoline
