;;! signals_based_traps = false
;; Explicit bounds checks: the base of a memory with a maximum never moves
;; and is loaded once; its current length is reloaded in the loop, since a
;; callee could grow the memory.
(module
  (memory 1 16)
  (func (export "sum") (param $n i32) (result i32)
    (local $acc i32)
    (block $done
      (loop $l
        (br_if $done (i32.eqz (local.get $n)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (local.set $acc (i32.add (local.get $acc)
          (i32.load (i32.shl (local.get $n) (i32.const 2)))))
        (br $l)))
    (local.get $acc)))
;; ==== expected output (KEEL_BLESS=1 regenerates) ====
;; function 0:
;;     pushq %rbp
;;     movq %rsp, %rbp
;;   block0:
;;     uninit  %rax
;;     xorl %eax, %eax
;;     movq 0x28(%rdi), %rcx
;;     jmp     label1
;;   block1:
;;     testl %edx, %edx
;;     jz      label3; j label2
;;   block2:
;;     movq 0x30(%rdi), %rsi
;;     subl $0x1, %edx
;;     movq %rdx, %r9
;;     shll $0x2, %r9d
;;     leaq 4(%r9), %r8
;;     cmpq %rsi, %r8
;;     jnbe #trap=heap_oob
;;     leaq (%rcx, %r9), %r9
;;     uninit  %r10
;;     xorq %r10, %r10
;;     cmpq %rsi, %r8
;;     cmovaq %r10, %r9
;;     addl (%r9), %eax
;;     jmp     label1
;;   block3:
;;     jmp     label4
;;   block4:
;;     movq %rbp, %rsp
;;     popq %rbp
;;     retq
;;   vmctx loads in loops:
;;     block5: v16 = load.i64 notrap aligned v0+48
