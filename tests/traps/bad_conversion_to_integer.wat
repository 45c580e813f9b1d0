;; expect: invalid conversion to integer
(module $traps
  (func $inner (param f32) (result i64) (i64.trunc_f32_u (local.get 0)))
  (func $middle (result i64) (call $inner (f32.const nan)))
  (func $main (export "main") (result i64) (call $middle)))
