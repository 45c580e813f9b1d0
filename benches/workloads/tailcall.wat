;; A bytecode interpreter in tail-call style (threaded code): every
;; handler ends by tail-calling the dispatcher, which tail-calls the next
;; opcode's handler through a table. The program, one byte per opcode, is
;; `acc = acc * 31; acc += i; i += 1; if i < n goto 0`; `run(n)` returns acc
;; (wrapping). 4 n tail calls through `return_call` and 4 n through
;; `return_call_indirect`, in constant stack.
(module
  (type $handler (func (param i32 i32 i32 i32) (result i32))) ;; pc acc i n
  (memory 1)
  (data (i32.const 0) "\00\01\02\03")
  (table 4 funcref)
  (elem (i32.const 0) $mul $add $inc $jump)
  (func $dispatch (type $handler)
    (return_call_indirect (type $handler)
      (local.get 0) (local.get 1) (local.get 2) (local.get 3)
      (i32.load8_u (local.get 0))))
  (func $mul (type $handler)
    (return_call $dispatch
      (i32.add (local.get 0) (i32.const 1))
      (i32.mul (local.get 1) (i32.const 31)) (local.get 2) (local.get 3)))
  (func $add (type $handler)
    (return_call $dispatch
      (i32.add (local.get 0) (i32.const 1))
      (i32.add (local.get 1) (local.get 2)) (local.get 2) (local.get 3)))
  (func $inc (type $handler)
    (return_call $dispatch
      (i32.add (local.get 0) (i32.const 1))
      (local.get 1) (i32.add (local.get 2) (i32.const 1)) (local.get 3)))
  (func $jump (type $handler)
    (if (result i32) (i32.lt_u (local.get 2) (local.get 3))
      (then (return_call $dispatch (i32.const 0) (local.get 1) (local.get 2) (local.get 3)))
      (else (local.get 1))))
  (func (export "run") (param $n i32) (result i32)
    (call $dispatch (i32.const 0) (i32.const 1) (i32.const 0) (local.get $n))))
