;; expect: integer divide by zero
(module $traps
  (func $inner (param i32) (result i32) (i32.rem_u (i32.const 1) (local.get 0)))
  (func $middle (result i32) (call $inner (i32.const 0)))
  (func $main (export "main") (result i32) (call $middle)))
