;; expect: null reference
(module $traps
  (type $t (func (result i32)))
  (func $inner (param (ref null $t)) (result i32) (call_ref $t (local.get 0)))
  (func $middle (result i32) (call $inner (ref.null $t)))
  (func $main (export "main") (result i32) (call $middle)))
