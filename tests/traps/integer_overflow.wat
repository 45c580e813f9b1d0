;; expect: integer overflow
(module $traps
  (func $inner (param i64 i64) (result i64) (i64.div_s (local.get 0) (local.get 1)))
  (func $middle (result i64) (call $inner (i64.const 0x8000000000000000) (i64.const -1)))
  (func $main (export "main") (result i64) (call $middle)))
