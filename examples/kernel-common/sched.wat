;; The guests of the kernel's scheduler demo (src/sched.rs). Each runs
;; `worker`: `steps` steps, each busy for at least two timer ticks, printing
;; its progress through a host call; at step `sleep_at` it sleeps through
;; the async host call `kernel.sleep`. The timer's epoch yield preempts it
;; inside the busy loops, so the scheduler switches between the guests.
(module $sched
  (import "kernel" "progress" (func $progress (param i32 i32)))
  (import "kernel" "sleep" (func $sleep (param i32)))
  (import "kernel" "ticks" (func $ticks (result i64)))

  (func $busy (param $ticks i64) (result i32)
    (local $until i64)
    (local $spins i32)
    (local.set $until (i64.add (call $ticks) (local.get $ticks)))
    (loop $spin
      (local.set $spins (i32.add (local.get $spins) (i32.const 1)))
      (br_if $spin (i64.lt_u (call $ticks) (local.get $until))))
    (local.get $spins))

  ;; Returns the sum of steps done (0 + 1 + ... + steps - 1).
  (func (export "worker") (param $id i32) (param $steps i32) (param $sleep_at i32)
        (result i32)
    (local $step i32)
    (local $sum i32)
    (loop $next
      (drop (call $busy (i64.const 2)))
      (call $progress (local.get $id) (local.get $step))
      (if (i32.eq (local.get $step) (local.get $sleep_at))
        (then (call $sleep (i32.const 30))))
      (local.set $sum (i32.add (local.get $sum) (local.get $step)))
      (local.set $step (i32.add (local.get $step) (i32.const 1)))
      (br_if $next (i32.lt_u (local.get $step) (local.get $steps))))
    (local.get $sum)))
