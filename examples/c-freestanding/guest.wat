;; The freestanding example's guest: a recursive function, a call out to
;; the host, and three traps the host's fault handler turns into wasm
;; traps (an undefined instruction, an out-of-bounds load on a guard page,
;; a division by zero).
(module
  (import "host" "report" (func $report (param i32 i32)))
  (memory (export "memory") 1)
  (func $fib (export "fib") (param $n i32) (result i32)
    (if (result i32) (i32.lt_u (local.get $n) (i32.const 2))
      (then (local.get $n))
      (else (i32.add (call $fib (i32.sub (local.get $n) (i32.const 1)))
                     (call $fib (i32.sub (local.get $n) (i32.const 2)))))))
  (func (export "run") (param $n i32)
    (call $report (local.get $n) (call $fib (local.get $n))))
  (func (export "unreachable") unreachable)
  (func (export "load") (param $addr i32) (result i32) (i32.load (local.get $addr)))
  (func (export "div") (param i32 i32) (result i32) (i32.div_u (local.get 0) (local.get 1))))
