//! Workloads shared by keel's benchmarks.

/// A memory-heavy loop: fill `pages` of linear memory with i32 values,
/// then sum them back `passes` times, with byte, 32-bit and 64-bit loads
/// and stores at varying static offsets.
pub const MEMORY_LOOP_WAT: &str = r#"(module
  (memory 16)
  (func (export "run") (param $passes i32) (result i64)
    (local $i i32) (local $end i32) (local $sum i64)
    (local.set $end (i32.const 1048576))
    ;; fill
    (local.set $i (i32.const 0))
    (loop $fill
      (i32.store (local.get $i) (i32.mul (local.get $i) (i32.const 2654435761)))
      (local.set $i (i32.add (local.get $i) (i32.const 4)))
      (br_if $fill (i32.lt_u (local.get $i) (local.get $end))))
    ;; sum, `passes` times
    (loop $pass
      (local.set $i (i32.const 0))
      (loop $sum
        (local.set $sum (i64.add (local.get $sum) (i64.load offset=8 (local.get $i))))
        (local.set $sum (i64.add (local.get $sum) (i64.extend_i32_u (i32.load8_u offset=3 (local.get $i)))))
        (i32.store offset=4 (local.get $i) (i32.wrap_i64 (local.get $sum)))
        (local.set $i (i32.add (local.get $i) (i32.const 16)))
        (br_if $sum (i32.lt_u (local.get $i) (i32.const 1048560))))
      (local.tee $passes (i32.sub (local.get $passes) (i32.const 1)))
      (br_if $pass))
    (local.get $sum)))"#;
