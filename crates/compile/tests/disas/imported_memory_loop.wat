;;! vmctx_loads_in_loops = 0
;; A sum over an imported memory: the pointer to its definition and its
;; base are loaded once per call.
(module
  (import "env" "memory" (memory 1 1))
  (func (export "sum") (param $n i32) (result i64)
    (local $acc i64)
    (block $done
      (loop $l
        (br_if $done (i32.eqz (local.get $n)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (local.set $acc (i64.add (local.get $acc)
          (i64.load (i32.shl (local.get $n) (i32.const 3)))))
        (br $l)))
    (local.get $acc)))
;; ==== expected output (KEEL_BLESS=1 regenerates) ====
;; function 0:
;;     pushq %rbp
;;     movq %rsp, %rbp
;;   block0:
;;     uninit  %rax
;;     xorq %rax, %rax
;;     movq 0x28(%rdi), %rcx
;;     movq (%rcx), %rcx
;;     jmp     label1
;;   block1:
;;     testl %edx, %edx
;;     jz      label3; j label2
;;   block2:
;;     subl $0x1, %edx
;;     movq %rdx, %rsi
;;     shll $0x3, %esi
;;     addq (%rcx, %rsi), %rax
;;     jmp     label1
;;   block3:
;;     jmp     label4
;;   block4:
;;     movq %rbp, %rsp
;;     popq %rbp
;;     retq
;;   vmctx loads in loops: none
