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
;;     addq $0x40, %r10
;;     cmpq %rsp, %r10
;;     jnbe #trap=stk_ovf
;;     subq $0x30, %rsp
;;     movq %rbx, (%rsp)
;;     movq %r12, 8(%rsp)
;;     movq %r13, 0x10(%rsp)
;;     movq %r14, 0x18(%rsp)
;;     movq %r15, 0x20(%rsp)
;;   block0:
;;     movq %rdx, %rcx
;;     uninit  %rdx
;;     xorl %edx, %edx
;;     movq 0x30(%rdi), %r14
;;     movq 0x28(%rdi), %rbx
;;     movq 0x18(%rdi), %rax
;;     movq %rdi, %r15
;;     movl (%rax), %r12d
;;     movq %rcx, %r13
;;     jmp     label1
;;   block1:
;;     testl %r13d, %r13d
;;     jz      label3; j label2
;;   block2:
;;     movq %r13, %rcx
;;     andl $0x1, %ecx
;;     cmpq %r14, %rcx
;;     jnb #trap=user3
;;     leaq (%rbx, %rcx, 8), %rsi
;;     cmpq %r14, %rcx
;;     cmovaeq %rbx, %rsi
;;     movq (%rsi), %rcx
;;     testq %rcx, %rcx
;;     jz #trap=user4
;;     movl 0x18(%rcx), %eax
;;     cmpl %r12d, %eax
;;     jnz #trap=user5
;;     movq 8(%rcx), %rax
;;     movq 0x10(%rcx), %rdi
;;     movq %r15, %rsi
;;     call    *%rax
;;     subl $0x1, %r13d
;;     movq %rax, %rdx
;;     jmp     label1
;;   block3:
;;     jmp     label4
;;   block4:
;;     movq %rdx, %rax
;;     movq (%rsp), %rbx
;;     movq 8(%rsp), %r12
;;     movq 0x10(%rsp), %r13
;;     movq 0x18(%rsp), %r14
;;     movq 0x20(%rsp), %r15
;;     addq $0x30, %rsp
;;     movq %rbp, %rsp
;;     popq %rbp
;;     retq
;;   vmctx loads in loops: none
