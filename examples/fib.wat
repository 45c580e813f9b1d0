;; Fibonacci numbers, computed iteratively: fib(0) = 0, fib(1) = 1, ...
;;
;;   cargo run --release -- run examples/fib.wat --invoke fib 25   # prints 75025
(module
  (func $fib (export "fib") (param $n i32) (result i64)
    (local $a i64)   ;; fib(i)
    (local $b i64)   ;; fib(i + 1)
    (local $next i64)
    (local.set $b (i64.const 1))
    (block $done
      (loop $step
        ;; Stop once $n steps are taken; then $a holds fib(n).
        (br_if $done (i32.le_s (local.get $n) (i32.const 0)))
        (local.set $next (i64.add (local.get $a) (local.get $b)))
        (local.set $a (local.get $b))
        (local.set $b (local.get $next))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $step)))
    (local.get $a)))
