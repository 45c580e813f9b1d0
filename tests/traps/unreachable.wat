;; expect: unreachable
(module $traps
  (func $inner unreachable)
  (func $middle (call $inner))
  (func $main (export "main") (call $middle)))
