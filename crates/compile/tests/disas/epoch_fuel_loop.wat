;;! consume_fuel = true
;;! epoch_interruption = true
;; A loop with fuel metering and epoch checks: the fuel counter and the
;; epoch deadline live in the store and are reloaded; the pointers to them
;; are loaded once.
(module
  (func (export "count") (param $n i32) (result i32)
    (local $acc i32)
    (block $done
      (loop $l
        (br_if $done (i32.eqz (local.get $n)))
        (local.set $acc (i32.add (local.get $acc) (local.get $n)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $l)))
    (local.get $acc)))
;; ==== expected output (KEEL_BLESS=1 regenerates) ====
;; function 0:
;;     pushq %rbp
;;     movq %rsp, %rbp
;;     movq 8(%rdi), %r10
;;     movq (%r10), %r10
;;     addq $0x50, %r10
;;     cmpq %rsp, %r10
;;     jnbe #trap=stk_ovf
;;     subq $0x40, %rsp
;;     movq %rbx, 0x10(%rsp)
;;     movq %r12, 0x18(%rsp)
;;     movq %r13, 0x20(%rsp)
;;     movq %r14, 0x28(%rsp)
;;     movq %r15, 0x30(%rsp)
;;   block0:
;;     movq %rdx, <offset:1>+(%rsp)
;;     movq 8(%rdi), %r14
;;     movq 0x18(%r14), %rax
;;     leaq 1(%rax), %r12
;;     testq %r12, %r12
;;     jnl     label2; j label1
;;   block1:
;;     movq %rdi, %rbx
;;     jmp     label3
;;   block3:
;;     movq 0x28(%r14), %r13
;;     movq (%r13), %rax
;;     movq 0x20(%r14), %r15
;;     cmpq %r15, %rax
;;     jnb     label5; j label4
;;   block4:
;;     jmp     label6
;;   block6:
;;     uninit  %rax
;;     xorl %eax, %eax
;;     movq %rax, <offset:1>+8(%rsp)
;;     jmp     label7
;;   block7:
;;     testq %r12, %r12
;;     jnl     label9; j label8
;;   block8:
;;     jmp     label10
;;   block10:
;;     movq (%r13), %rcx
;;     cmpq %r15, %rcx
;;     jnb     label12; j label11
;;   block11:
;;     movq <offset:1>+(%rsp), %rdx
;;     jmp     label15
;;   block13:
;;     movq <offset:1>+(%rsp), %rdx
;;     jmp     label15
;;   block15:
;;     testl %edx, %edx
;;     jz      label17; j label16
;;   block16:
;;     leaq 0xc(%r12), %r12
;;     movq %rdx, %r11
;;     subl $0x1, %r11d
;;     movq <offset:1>+8(%rsp), %rax
;;     leal (%rax, %rdx), %eax
;;     movq %r11, <offset:1>+(%rsp)
;;     movq %rax, <offset:1>+8(%rsp)
;;     jmp     label7
;;   block17:
;;     movq <offset:1>+8(%rsp), %rax
;;     jmp     label18
;;   block18:
;;     leaq 4(%r12), %rcx
;;     movq %rcx, 0x18(%r14)
;;     movq 0x10(%rsp), %rbx
;;     movq 0x18(%rsp), %r12
;;     movq 0x20(%rsp), %r13
;;     movq 0x28(%rsp), %r14
;;     movq 0x30(%rsp), %r15
;;     addq $0x40, %rsp
;;     movq %rbp, %rsp
;;     popq %rbp
;;     retq
;;   block2:
;;     leaq 1(%rax), %rax
;;     movq %rax, 0x18(%r14)
;;     movq 0x10(%rdi), %rax
;;     movq 0x50(%rax), %rax
;;     movq %rdi, %rbx
;;     call    *%rax
;;     testl %eax, %eax
;;     jnz #trap=user11
;;     movq 0x18(%r14), %r12
;;     jmp     label3
;;   block5:
;;     movq 0x10(%rbx), %rax
;;     movq 0x58(%rax), %rax
;;     movq %rbx, %rdi
;;     call    *%rax
;;     testl %eax, %eax
;;     jnz #trap=user12
;;     movq 0x20(%r14), %r15
;;     jmp     label6
;;   block9:
;;     movq %r12, 0x18(%r14)
;;     movq 0x10(%rbx), %rcx
;;     movq 0x50(%rcx), %rcx
;;     movq %rbx, %rdi
;;     call    *%rcx
;;     testl %eax, %eax
;;     jnz #trap=user11
;;     movq 0x18(%r14), %r12
;;     jmp     label10
;;   block12:
;;     movq 0x20(%r14), %r15
;;     cmpq %r15, %rcx
;;     jnb     label14; j label13
;;   block14:
;;     movq 0x10(%rbx), %rsi
;;     movq 0x58(%rsi), %rsi
;;     movq %rbx, %rdi
;;     call    *%rsi
;;     testl %eax, %eax
;;     jnz #trap=user12
;;     movq 0x20(%r14), %r15
;;     movq <offset:1>+(%rsp), %rdx
;;     jmp     label15
;;   vmctx loads in loops: none
