;;! vmctx_loads_in_loops = 1
;; An immutable global is loaded once per call; a mutable one is loaded
;; and stored in each iteration (the loop writes it).
(module
  (global $k i32 (i32.const 7))
  (global $counter (mut i32) (i32.const 0))
  (func (export "run") (param $n i32) (result i32)
    (block $done
      (loop $l
        (br_if $done (i32.eqz (local.get $n)))
        (global.set $counter (i32.add (global.get $counter) (global.get $k)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $l)))
    (global.get $counter)))
;; ==== expected output (KEEL_BLESS=1 regenerates) ====
;; function 0:
;;     pushq %rbp
;;     movq %rsp, %rbp
;;   block0:
;;     movl 0x30(%rdi), %esi
;;     jmp     label1
;;   block1:
;;     testl %edx, %edx
;;     jz      label3; j label2
;;   block2:
;;     addl %esi, 0x40(%rdi)
;;     subl $0x1, %edx
;;     jmp     label1
;;   block3:
;;     movl 0x40(%rdi), %eax
;;     jmp     label4
;;   block4:
;;     movq %rbp, %rsp
;;     popq %rbp
;;     retq
;;   vmctx loads in loops:
;;     block5: v8 = load.i32 notrap aligned v0+64
