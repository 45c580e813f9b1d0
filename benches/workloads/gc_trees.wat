;; binary-trees (as in the Computer Language Benchmarks Game) on the GC
;; proposal's structs: a long-lived tree of depth $n survives while many
;; short-lived trees of depths 4, 6, ..., $n are built, checked (their
;; nodes counted) and dropped. run($n) returns the total node count.
(module
  (type $node (struct (field (ref null $node)) (field (ref null $node))))
  (func $make (param $d i32) (result (ref $node))
    (if (result (ref $node)) (i32.eqz (local.get $d))
      (then (struct.new $node (ref.null $node) (ref.null $node)))
      (else
        (struct.new $node
          (call $make (i32.sub (local.get $d) (i32.const 1)))
          (call $make (i32.sub (local.get $d) (i32.const 1)))))))
  (func $check (param $t (ref null $node)) (result i32)
    (if (result i32) (ref.is_null (struct.get $node 0 (local.get $t)))
      (then (i32.const 1))
      (else
        (i32.add (i32.const 1)
          (i32.add
            (call $check (struct.get $node 0 (local.get $t)))
            (call $check (struct.get $node 1 (local.get $t))))))))
  (func (export "run") (param $n i32) (result i32)
    (local $long (ref null $node)) (local $total i32) (local $d i32) (local $i i32)
    ;; The stretch tree, one deeper than the rest.
    (local.set $total (call $check (call $make (i32.add (local.get $n) (i32.const 1)))))
    (local.set $long (call $make (local.get $n)))
    (local.set $d (i32.const 4))
    (block $done
      (loop $depths
        (br_if $done (i32.gt_s (local.get $d) (local.get $n)))
        (local.set $i (i32.shl (i32.const 1)
          (i32.add (i32.sub (local.get $n) (local.get $d)) (i32.const 4))))
        (loop $trees
          (local.set $total
            (i32.add (local.get $total) (call $check (call $make (local.get $d)))))
          (local.set $i (i32.sub (local.get $i) (i32.const 1)))
          (br_if $trees (i32.gt_s (local.get $i) (i32.const 0))))
        (local.set $d (i32.add (local.get $d) (i32.const 2)))
        (br $depths)))
    (i32.add (local.get $total) (call $check (local.get $long))))
)
