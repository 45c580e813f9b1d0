;; expect: out of bounds memory access
;; An 8-byte store straddling the end of memory (on riscv64 keel first
;; loads its last byte, so that the store writes nothing; the spec
;; suites check the bytes).
(module $traps
  (memory 1)
  (func $inner (param i32) (i64.store (local.get 0) (i64.const -1)))
  (func $middle (call $inner (i32.const 65532)))
  (func $main (export "main") (result i32)
    (i32.store8 (i32.const 65531) (i32.const 7))
    (call $middle)
    (i32.load8_u (i32.const 65531))))
