;; expect: unaligned atomic
(module $traps
  (memory 1 1 shared)
  (func $inner (param i32) (result i32) (i32.atomic.load (local.get 0)))
  (func $middle (result i32) (call $inner (i32.const 2)))
  (func $main (export "main") (result i32) (call $middle)))
