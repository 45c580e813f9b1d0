;;! vmctx_loads_in_loops = 2
;; A loop of `call_indirect`s through a table that can grow: its base and
;; length are reloaded in each iteration (a callee may grow the table);
;; the expected signature id is loaded once per call.
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
;;     addq $0x30, %r10
;;     cmpq %rsp, %r10
;;     jnbe #trap=stk_ovf
;;     subq $0x20, %rsp
;;     movq %rbx, (%rsp)
;;     movq %r12, 8(%rsp)
;;     movq %r13, 0x10(%rsp)
;;     movq %r14, 0x18(%rsp)
;;   block0:
;;     movq %rdx, %rcx
;;     uninit  %rdx
;;     xorl %edx, %edx
;;     movq %rdx, %r14
;;     movq 0x18(%rdi), %rax
;;     movl (%rax), %r13d
;;     movq %rcx, %rbx
;;     jmp     label1
;;   block1:
;;     testl %ebx, %ebx
;;     jz      label6; j label2
;;   block2:
;;     movq %rdi, %r12
;;     movq 0x28(%r12), %rax
;;     movq 0x30(%r12), %rcx
;;     movq %rbx, %rsi
;;     andl $0x1, %esi
;;     cmpq %rcx, %rsi
;;     jnb #trap=user3
;;     leaq (%rax, %rsi, 8), %rdx
;;     cmpq %rcx, %rsi
;;     cmovaeq %rax, %rdx
;;     movq (%rdx), %rax
;;     testq %rax, %rax
;;     jnz     label3; j label4
;;   block3:
;;     jmp     label5
;;   block5:
;;     movl 0x18(%rax), %ecx
;;     cmpl %r13d, %ecx
;;     jnz #trap=user5
;;     movq 8(%rax), %rcx
;;     movq 0x10(%rax), %rdi
;;     movq %r14, %rdx
;;     movq %r12, %rsi
;;     call    *%rcx
;;     subl $0x1, %ebx
;;     movq %r12, %rdi
;;     movq %rax, %r14
;;     jmp     label1
;;   block6:
;;     movq %r14, %rdx
;;     jmp     label7
;;   block7:
;;     movq %rdx, %rax
;;     movq (%rsp), %rbx
;;     movq 8(%rsp), %r12
;;     movq 0x10(%rsp), %r13
;;     movq 0x18(%rsp), %r14
;;     addq $0x20, %rsp
;;     movq %rbp, %rsp
;;     popq %rbp
;;     retq
;;   block4:
;;     movq 0x10(%r12), %rax
;;     movq 0x68(%rax), %rax
;;     uninit  %rsi
;;     xorl %esi, %esi
;;     movq %r12, %rdi
;;     call    *%rax
;;     testq %rax, %rax
;;     jz #trap=user4
;;     jmp     label5
;;   vmctx loads in loops:
;;     block5: v12 = load.i64 notrap aligned v0+40
;;     block5: v13 = load.i64 notrap aligned v0+48
