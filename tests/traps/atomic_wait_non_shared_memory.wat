;; expect: expected shared memory
(module $traps
  (memory 1)
  (func $inner (param i32) (result i32)
    (memory.atomic.wait32 (local.get 0) (i32.const 0) (i64.const 0)))
  (func $middle (result i32) (call $inner (i32.const 0)))
  (func $main (export "main") (result i32) (call $middle)))
