;; expect: call stack exhausted
(module $traps
  (func $inner (export "inner") (param i64) (result i64)
    (i64.add (call $inner (i64.add (local.get 0) (i64.const 1))) (i64.const 1)))
  (func $middle (result i64) (call $inner (i64.const 0)))
  (func $main (export "main") (result i64) (call $middle)))
