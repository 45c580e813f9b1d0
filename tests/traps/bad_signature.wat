;; expect: indirect call type mismatch
(module $traps
  (type $t (func (result i32)))
  (table funcref (elem $other))
  (func $other (param i64) (result i64) (local.get 0))
  (func $inner (param i32) (result i32) (call_indirect (type $t) (local.get 0)))
  (func $middle (result i32) (call $inner (i32.const 0)))
  (func $main (export "main") (result i32) (call $middle)))
