;; A chained hash map of i32 keys to i32 values built from GC structs and
;; arrays: buckets are an array of entry lists; the table doubles when it
;; holds more entries than buckets (rehashing every entry into a new
;; array). run($n) inserts $n pseudo-random keys (adding to the value of a
;; key seen before), then looks $n keys up again and returns the sum of
;; the values found.
(module
  (type $entry (struct (field $key i32) (field $value (mut i32)) (field $next (mut (ref null $entry)))))
  (type $buckets (array (mut (ref null $entry))))
  (type $map (struct (field $buckets (mut (ref $buckets))) (field $count (mut i32))))

  (func $hash (param $k i32) (result i32)
    (i32.mul (i32.xor (local.get $k) (i32.shr_u (local.get $k) (i32.const 16)))
             (i32.const 0x45d9f3b)))

  (func $slot (param $m (ref $map)) (param $k i32) (result i32)
    (i32.and (call $hash (local.get $k))
      (i32.sub (array.len (struct.get $map $buckets (local.get $m))) (i32.const 1))))

  (func $grow (param $m (ref $map))
    (local $old (ref $buckets)) (local $new (ref $buckets)) (local $i i32)
    (local $e (ref null $entry)) (local $next (ref null $entry)) (local $s i32)
    (local.set $old (struct.get $map $buckets (local.get $m)))
    (local.set $new (array.new_default $buckets
      (i32.shl (array.len (local.get $old)) (i32.const 1))))
    (struct.set $map $buckets (local.get $m) (local.get $new))
    (block $done
      (loop $each_bucket
        (br_if $done (i32.ge_u (local.get $i) (array.len (local.get $old))))
        (local.set $e (array.get $buckets (local.get $old) (local.get $i)))
        (block $empty
          (loop $each_entry
            (br_if $empty (ref.is_null (local.get $e)))
            (local.set $next (struct.get $entry $next (local.get $e)))
            (local.set $s (call $slot (local.get $m) (struct.get $entry $key (local.get $e))))
            (struct.set $entry $next (local.get $e) (array.get $buckets (local.get $new) (local.get $s)))
            (array.set $buckets (local.get $new) (local.get $s) (local.get $e))
            (local.set $e (local.get $next))
            (br $each_entry)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $each_bucket))))

  (func $find (param $m (ref $map)) (param $k i32) (result (ref null $entry))
    (local $e (ref null $entry))
    (local.set $e (array.get $buckets (struct.get $map $buckets (local.get $m))
                                      (call $slot (local.get $m) (local.get $k))))
    (block $found (result (ref null $entry))
      (loop $walk
        (br_if $found (local.get $e) (ref.is_null (local.get $e)))
        (br_if $found (local.get $e)
          (i32.eq (struct.get $entry $key (local.get $e)) (local.get $k)))
        (local.set $e (struct.get $entry $next (local.get $e)))
        (br $walk))
      (unreachable)))

  (func $add (param $m (ref $map)) (param $k i32) (param $v i32)
    (local $e (ref null $entry)) (local $s i32)
    (local.set $e (call $find (local.get $m) (local.get $k)))
    (if (ref.is_null (local.get $e))
      (then
        (if (i32.ge_u (struct.get $map $count (local.get $m))
                      (array.len (struct.get $map $buckets (local.get $m))))
          (then (call $grow (local.get $m))))
        (local.set $s (call $slot (local.get $m) (local.get $k)))
        (array.set $buckets (struct.get $map $buckets (local.get $m)) (local.get $s)
          (struct.new $entry (local.get $k) (local.get $v)
            (array.get $buckets (struct.get $map $buckets (local.get $m)) (local.get $s))))
        (struct.set $map $count (local.get $m)
          (i32.add (struct.get $map $count (local.get $m)) (i32.const 1))))
      (else
        (struct.set $entry $value (local.get $e)
          (i32.add (struct.get $entry $value (local.get $e)) (local.get $v))))))

  (func (export "run") (param $n i32) (result i32)
    (local $m (ref $map)) (local $i i32) (local $x i32) (local $sum i32) (local $e (ref null $entry))
    (local.set $m (struct.new $map (array.new_default $buckets (i32.const 16)) (i32.const 0)))
    (local.set $x (i32.const 12345))
    (loop $insert
      (local.set $x (i32.add (i32.mul (local.get $x) (i32.const 1103515245)) (i32.const 12345)))
      (call $add (local.get $m) (i32.and (i32.shr_u (local.get $x) (i32.const 8)) (i32.const 0xfffff))
                 (local.get $i))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $insert (i32.lt_u (local.get $i) (local.get $n))))
    (local.set $x (i32.const 12345))
    (local.set $i (i32.const 0))
    (loop $lookup
      (local.set $x (i32.add (i32.mul (local.get $x) (i32.const 1103515245)) (i32.const 12345)))
      (local.set $e (call $find (local.get $m)
        (i32.and (i32.shr_u (local.get $x) (i32.const 8)) (i32.const 0xfffff))))
      (if (i32.eqz (ref.is_null (local.get $e)))
        (then (local.set $sum (i32.add (local.get $sum) (struct.get $entry $value (local.get $e))))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $lookup (i32.lt_u (local.get $i) (local.get $n))))
    (local.get $sum))
)
