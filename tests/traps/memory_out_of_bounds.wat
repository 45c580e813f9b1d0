;; expect: out of bounds memory access
;; A load far past the one page: a guard-page fault with the default
;; 4 GiB reservation.
(module $traps
  (memory 1)
  (func $inner (param i32) (result i32) (i32.load offset=16 (local.get 0)))
  (func $middle (result i32) (call $inner (i32.const 0x7fff0000)))
  (func $main (export "main") (result i32) (call $middle)))
