;; expect: all fuel consumed by WebAssembly
;; flags: -W fuel=100000
(module $traps
  (func $inner (loop $l (br $l)))
  (func $middle (call $inner))
  (func $main (export "main") (call $middle)))
