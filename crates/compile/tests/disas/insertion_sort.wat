;;! vmctx_loads_in_loops = 0
;; Insertion sort of n i32s at address 0: the memory base must be loaded
;; once per call, not in the loops (guard pages, no bounds checks).
(module
  (memory 1)
  (func (export "sort") (param $n i32)
    (local $i i32) (local $j i32) (local $x i32) (local $y i32)
    (local.set $i (i32.const 1))
    (block $done
      (loop $outer
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $x (i32.load (i32.shl (local.get $i) (i32.const 2))))
        (local.set $j (local.get $i))
        (block $placed
          (loop $inner
            (br_if $placed (i32.eqz (local.get $j)))
            (local.set $y (i32.load (i32.sub (i32.shl (local.get $j) (i32.const 2)) (i32.const 4))))
            (br_if $placed (i32.le_s (local.get $y) (local.get $x)))
            (i32.store (i32.shl (local.get $j) (i32.const 2)) (local.get $y))
            (local.set $j (i32.sub (local.get $j) (i32.const 1)))
            (br $inner)))
        (i32.store (i32.shl (local.get $j) (i32.const 2)) (local.get $x))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $outer)))))
;; ==== expected output (KEEL_BLESS=1 regenerates) ====
;; function 0:
;;     pushq %rbp
;;     movq %rsp, %rbp
;;   block0:
;;     movl $0x1, %esi
;;     movq 0x28(%rdi), %rax
;;     jmp     label1
;;   block1:
;;     cmpl %edx, %esi
;;     jnb     label9; j label2
;;   block2:
;;     movq %rsi, %rcx
;;     shll $0x2, %ecx
;;     movl (%rax, %rcx), %ecx
;;     movq %rsi, %rdi
;;     jmp     label3
;;   block3:
;;     testl %edi, %edi
;;     jz      label4; j label5
;;   block4:
;;     jmp     label8
;;   block5:
;;     movq %rdi, %r8
;;     shll $0x2, %r8d
;;     movq %r8, %r9
;;     subl $0x4, %r9d
;;     movl (%rax, %r9), %r9d
;;     cmpl %ecx, %r9d
;;     jle     label6; j label7
;;   block6:
;;     jmp     label8
;;   block7:
;;     movl %r9d, (%rax, %r8)
;;     subl $0x1, %edi
;;     jmp     label3
;;   block8:
;;     shll $0x2, %edi
;;     movl %ecx, (%rax, %rdi)
;;     leal 1(%rsi), %esi
;;     jmp     label1
;;   block9:
;;     jmp     label10
;;   block10:
;;     movq %rbp, %rsp
;;     popq %rbp
;;     retq
;;   vmctx loads in loops: none
