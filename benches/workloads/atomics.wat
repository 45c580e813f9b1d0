;; A shared counter: `run(n)` adds 1 to the `i32` at address 0 of the
;; imported shared memory `n` times with `i32.atomic.rmw.add`, and returns
;; the counter. Run on two threads at once (two stores, one memory), the
;; increments contend for one cache line.
(module
  (import "env" "mem" (memory 1 1 shared))
  (func (export "run") (param $n i32) (result i32)
    (loop $l
      (drop (i32.atomic.rmw.add (i32.const 0) (i32.const 1)))
      (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
    (i32.atomic.load (i32.const 0))))
