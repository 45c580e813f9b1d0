;; expect: undefined element: out of bounds table access
(module $traps
  (type $t (func (result i32)))
  (table 2 funcref)
  (func $inner (param i32) (result i32) (call_indirect (type $t) (local.get 0)))
  (func $middle (result i32) (call $inner (i32.const 5)))
  (func $main (export "main") (result i32) (call $middle)))
