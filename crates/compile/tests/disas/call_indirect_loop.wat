;;! vmctx_loads_in_loops = 0
;; A loop of `call_indirect`s: the expected signature id (VMContext ->
;; type-id array -> id) is loaded once per call, not per iteration, and so
;; are the base and length of a table that cannot grow (minimum = maximum,
;; as wasm-ld emits them).
(module
  (type $op (func (param i32) (result i32)))
  (table 2 2 funcref)
  (elem (i32.const 0) $inc $dbl)
  (func $inc (type $op) (i32.add (local.get 0) (i32.const 1)))
  (func $dbl (type $op) (i32.shl (local.get 0) (i32.const 1)))
  (func (export "run") (param $n i32) (result i32)
    (local $acc i32)
    (block $done
      (loop $l
        (br_if $done (i32.eqz (local.get $n)))
        (local.set $acc
          (call_indirect (type $op) (local.get $acc) (i32.and (local.get $n) (i32.const 1))))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $l)))
    (local.get $acc)))
;; ==== expected output (KEEL_BLESS=1 regenerates) ====
;; function 0:
;;     pushq %rbp
;;     movq %rsp, %rbp
;;   block0:
;;     jmp     label1
;;   block1:
;;     leal 1(%rdx), %eax
;;     movq %rbp, %rsp
;;     popq %rbp
;;     retq
;;   vmctx loads in loops: none
;; function 1:
;;     pushq %rbp
;;     movq %rsp, %rbp
;;   block0:
;;     jmp     label1
;;   block1:
;;     movq %rdx, %rax
;;     shll $1, %eax
;;     movq %rbp, %rsp
;;     popq %rbp
;;     retq
;;   vmctx loads in loops: none
;; function 2:
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
;;     movq %rdx, %rcx
;;     uninit  %rdx
;;     xorl %edx, %edx
;;     movq %rdx, <offset:1>+(%rsp)
;;     movq 0x30(%rdi), %r15
;;     movq 0x28(%rdi), %rbx
;;     movq 0x18(%rdi), %rax
;;     movl (%rax), %r12d
;;     movq %rcx, %r13
;;     jmp     label1
;;   block1:
;;     testl %r13d, %r13d
;;     jz      label6; j label2
;;   block2:
;;     movq %r13, %rax
;;     andl $0x1, %eax
;;     cmpq %r15, %rax
;;     jnb #trap=user3
;;     leaq (%rbx, %rax, 8), %rdx
;;     cmpq %r15, %rax
;;     cmovaeq %rbx, %rdx
;;     movq (%rdx), %rax
;;     testq %rax, %rax
;;     jnz     label3; j label4
;;   block3:
;;     movq %rdi, %r14
;;     jmp     label5
;;   block5:
;;     movl 0x18(%rax), %ecx
;;     cmpl %r12d, %ecx
;;     jnz #trap=user5
;;     movq 8(%rax), %rcx
;;     movq 0x10(%rax), %rdi
;;     movq <offset:1>+(%rsp), %rdx
;;     movq %r14, %rsi
;;     call    *%rcx
;;     subl $0x1, %r13d
;;     movq %r14, %rdi
;;     movq %rax, <offset:1>+(%rsp)
;;     jmp     label1
;;   block6:
;;     movq <offset:1>+(%rsp), %rdx
;;     jmp     label7
;;   block7:
;;     movq %rdx, %rax
;;     movq 0x10(%rsp), %rbx
;;     movq 0x18(%rsp), %r12
;;     movq 0x20(%rsp), %r13
;;     movq 0x28(%rsp), %r14
;;     movq 0x30(%rsp), %r15
;;     addq $0x40, %rsp
;;     movq %rbp, %rsp
;;     popq %rbp
;;     retq
;;   block4:
;;     movq %rdi, %r14
;;     movq 0x10(%r14), %rax
;;     movq 0x68(%rax), %rax
;;     uninit  %rsi
;;     xorl %esi, %esi
;;     call    *%rax
;;     testq %rax, %rax
;;     jz #trap=user4
;;     jmp     label5
;;   vmctx loads in loops: none
