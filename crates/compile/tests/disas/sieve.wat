;;! vmctx_loads_in_loops = 0
;; Sieve of Eratosthenes over bytes: loads and stores in nested loops.
(module
  (memory 2)
  (func (export "sieve") (param $n i32) (result i32)
    (local $i i32) (local $j i32) (local $count i32)
    (memory.fill (i32.const 0) (i32.const 1) (local.get $n))
    (local.set $i (i32.const 2))
    (block $done
      (loop $outer
        (br_if $done (i32.gt_u (i32.mul (local.get $i) (local.get $i)) (local.get $n)))
        (if (i32.load8_u (local.get $i))
          (then
            (local.set $j (i32.mul (local.get $i) (local.get $i)))
            (block $end
              (loop $mark
                (br_if $end (i32.ge_u (local.get $j) (local.get $n)))
                (i32.store8 (local.get $j) (i32.const 0))
                (local.set $j (i32.add (local.get $j) (local.get $i)))
                (br $mark)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $outer)))
    (local.set $i (i32.const 2))
    (block $done
      (loop $cnt
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $count (i32.add (local.get $count) (i32.load8_u (local.get $i))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $cnt)))
    (local.get $count)))
;; ==== expected output (KEEL_BLESS=1 regenerates) ====
;; function 0:
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
;;     movq %rdx, %r12
;;     movq 0x10(%rdi), %rax
;;     movq %rdi, %r9
;;     movq 8(%rax), %rax
;;     uninit  %rsi
;;     xorl %esi, %esi
;;     uninit  %rdx
;;     xorq %rdx, %rdx
;;     movl $0x1, %ecx
;;     movq %r12, %rdi
;;     movl %edi, %r8d
;;     movq %r9, %rbx
;;     movq %rbx, %rdi
;;     call    *%rax
;;     testl %eax, %eax
;;     jnz #trap=heap_oob
;;     movl $0x2, %ecx
;;     movq 0x28(%rbx), %rdi
;;     jmp     label1
;;   block1:
;;     movq %rcx, %rsi
;;     imull %ecx, %esi
;;     movq %r12, %rdx
;;     cmpl %edx, %esi
;;     jnbe    label9; j label2
;;   block2:
;;     movl %ecx, %eax
;;     movzbq (%rdi, %rax), %rax
;;     testl %eax, %eax
;;     jnz     label4; j label3
;;   block3:
;;     jmp     label8
;;   block4:
;;     jmp     label5
;;   block5:
;;     cmpl %edx, %esi
;;     jnb     label7; j label6
;;   block6:
;;     uninit  %rax
;;     xorl %eax, %eax
;;     movl %esi, %r8d
;;     movb %al, (%rdi, %r8)
;;     leal (%rsi, %rcx), %esi
;;     jmp     label5
;;   block7:
;;     jmp     label8
;;   block8:
;;     leal 1(%rcx), %ecx
;;     movq %rdx, %r12
;;     jmp     label1
;;   block9:
;;     movl $0x2, %ecx
;;     uninit  %rax
;;     xorl %eax, %eax
;;     jmp     label10
;;   block10:
;;     cmpl %edx, %ecx
;;     jnb     label12; j label11
;;   block11:
;;     movl %ecx, %esi
;;     movzbq (%rdi, %rsi), %rsi
;;     leal 1(%rcx), %ecx
;;     leal (%rax, %rsi), %eax
;;     jmp     label10
;;   block12:
;;     jmp     label13
;;   block13:
;;     movq (%rsp), %rbx
;;     movq 8(%rsp), %r12
;;     addq $0x10, %rsp
;;     movq %rbp, %rsp
;;     popq %rbp
;;     retq
;;   vmctx loads in loops: none
