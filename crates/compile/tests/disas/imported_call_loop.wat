;;! vmctx_loads_in_loops = 0
;; Calls to an imported function in a loop: the import's code pointer and
;; VMContext are loaded once per call.
(module
  (import "env" "f" (func $f (param i32) (result i32)))
  (func (export "run") (param $n i32) (result i32)
    (local $acc i32)
    (block $done
      (loop $l
        (br_if $done (i32.eqz (local.get $n)))
        (local.set $acc (i32.add (local.get $acc) (call $f (local.get $n))))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $l)))
    (local.get $acc)))
;; ==== expected output (KEEL_BLESS=1 regenerates) ====
;; function 1:
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
;;     uninit  %rax
;;     xorl %eax, %eax
;;     movq %rax, %r14
;;     movq 0x28(%rdi), %r12
;;     movq 0x38(%rdi), %r13
;;     movq %rdi, %r15
;;     movq %rdx, %rbx
;;     jmp     label1
;;   block1:
;;     testl %ebx, %ebx
;;     jz      label3; j label2
;;   block2:
;;     movq %rbx, %rdx
;;     movq %r15, %rsi
;;     movq %r13, %rdi
;;     call    *%r12
;;     subl $0x1, %ebx
;;     movq %r14, %rcx
;;     leal (%rcx, %rax), %ecx
;;     movq %rcx, %r14
;;     jmp     label1
;;   block3:
;;     jmp     label4
;;   block4:
;;     movq %r14, %rax
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
