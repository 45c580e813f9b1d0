;; Throw and catch: `run(n)` throws n exceptions, each from DEPTH frames
;; below the function that catches it (peers.rs replaces DEPTH with 1, 10
;; and 100), and returns the sum of their payloads.
(module
  (tag $e (param i32))
  ;; `$down(d, v)` recurses d - 1 more times, then throws v.
  (func $down (param $d i32) (param $v i32) (result i32)
    (if (i32.le_u (local.get $d) (i32.const 1))
      (then (throw $e (local.get $v))))
    (i32.add
      (call $down (i32.sub (local.get $d) (i32.const 1)) (local.get $v))
      (i32.const 1)))
  (func (export "run") (param $n i32) (result i32)
    (local $i i32)
    (local $sum i32)
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (block $caught (result i32)
          (try_table (result i32) (catch $e $caught)
            (call $down (i32.const DEPTH) (local.get $i))))
        (local.set $sum (i32.add (local.get $sum)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (local.get $sum)))
