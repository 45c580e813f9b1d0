;; expect: integer overflow
(module $traps
  (func $inner (param f64) (result i32) (i32.trunc_f64_s (local.get 0)))
  (func $middle (result i32) (call $inner (f64.const 3e9)))
  (func $main (export "main") (result i32) (call $middle)))
