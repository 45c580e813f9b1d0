;; expect: interrupt
;; flags: -W timeout=200ms
(module $traps
  (func $inner (loop $l (br $l)))
  (func $middle (call $inner))
  (func $main (export "main") (call $middle)))
