;;! vmctx_loads_in_loops = 0
;; A loop of `call_indirect`s: the expected signature id (VMContext ->
;; type-id array -> id) is loaded once per call, not per iteration. The
;; table's base and length are reloaded (a callee may grow the table).
(module
  (type $op (func (param i32) (result i32)))
  (table 2 funcref)
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
;;     addq $0x20, %r10
;;     cmpq %rsp, %r10
;;     jnbe #trap=stk_ovf
;;     subq $0x10, %rsp
;;     movq %rbx, (%rsp)
;;     movq %r12, 8(%rsp)
;;   block0:
;;     movq %rdx, %rax
;;     uninit  %rdx
;;     xorl %edx, %edx
;;     movq %rax, %r12
;;     jmp     label1
;;   block1:
;;     testl %r12d, %r12d
;;     jz      label3; j label2
;;   block2:
;;     movq %rdi, %rbx
;;     movq 0x28(%rbx), %rcx
;;     movq 0x30(%rbx), %rsi
;;     movq %r12, %rdi
;;     andl $0x1, %edi
;;     cmpq %rsi, %rdi
;;     jnb #trap=user3
;;     leaq (%rcx, %rdi, 8), %r8
;;     cmpq %rsi, %rdi
;;     cmovaeq %rcx, %r8
;;     movq (%r8), %rcx
;;     testq %rcx, %rcx
;;     jz #trap=user4
;;     movl 0x18(%rcx), %eax
;;     movq 0x18(%rbx), %rsi
;;     cmpl (%rsi), %eax
;;     jnz #trap=user5
;;     movq 8(%rcx), %rax
;;     movq 0x10(%rcx), %rdi
;;     movq %rbx, %rsi
;;     call    *%rax
;;     subl $0x1, %r12d
;;     movq %rax, %rdx
;;     movq %rbx, %rdi
;;     jmp     label1
;;   block3:
;;     jmp     label4
;;   block4:
;;     movq %rdx, %rax
;;     movq (%rsp), %rbx
;;     movq 8(%rsp), %r12
;;     addq $0x10, %rsp
;;     movq %rbp, %rsp
;;     popq %rbp
;;     retq
;;   vmctx loads in loops:
;;     block5: v12 = load.i64 notrap aligned v0+40
;;     block5: v13 = load.i64 notrap aligned v0+48
;;     block5: v22 = load.i64 notrap aligned readonly v0+24
;;     block5: v23 = load.i32 notrap aligned readonly v22
