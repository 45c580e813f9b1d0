;; The guest the example kernel JIT-compiles with keel (build.rs turns it
;; into guest.wasm).
(module $guest
  ;; A host function the kernel provides through keel::Linker.
  (import "kernel" "twice" (func $twice (param i32) (result i32)))

  ;; One 64 KiB page. keel reserves 4 GiB + guard for it, so accesses past
  ;; the page hit unmapped address space: a page fault, a keel trap.
  (memory (export "memory") 1)

  (func $add (export "add") (param $a i32) (param $b i32) (result i32)
    (i32.add (local.get $a) (local.get $b)))

  (func $fib (export "fib") (param $n i32) (result i32)
    (if (result i32) (i32.lt_u (local.get $n) (i32.const 2))
      (then (local.get $n))
      (else
        (i32.add
          (call $fib (i32.sub (local.get $n) (i32.const 1)))
          (call $fib (i32.sub (local.get $n) (i32.const 2)))))))

  ;; Stores 1..=n as consecutive i32s at address 0, then sums them back.
  (func $sum_via_memory (export "sum_via_memory") (param $n i32) (result i32)
    (local $i i32)
    (local $acc i32)
    (block $stored
      (loop $store
        (br_if $stored (i32.ge_u (local.get $i) (local.get $n)))
        (i32.store
          (i32.shl (local.get $i) (i32.const 2))
          (i32.add (local.get $i) (i32.const 1)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $store)))
    (local.set $i (i32.const 0))
    (block $summed
      (loop $sum
        (br_if $summed (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $acc
          (i32.add (local.get $acc)
            (i32.load (i32.shl (local.get $i) (i32.const 2)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $sum)))
    (local.get $acc))

  (func $call_host (export "call_host") (param $x i32) (result i32)
    (call $twice (local.get $x)))

  ;; A store far past the one page: 0x20000 is in the guard region.
  (func $poke (param $addr i32) (param $value i32)
    (i32.store (local.get $addr) (local.get $value)))

  (func $store_out_of_bounds (export "store_out_of_bounds")
    (call $poke (i32.const 0x20000) (i32.const 42)))

  ;; More traps, each through another exception vector: unsigned division
  ;; by zero faults in the `div` itself (#DE; Cranelift tests a signed
  ;; divisor explicitly); `unreachable` and the stack-limit check in every
  ;; prologue execute `ud2` (#UD).
  (func (export "div_u") (param $a i32) (param $b i32) (result i32)
    (i32.div_u (local.get $a) (local.get $b)))

  (func (export "unreachable")
    unreachable)

  (func $recurse (export "recurse") (param $n i32) (result i32)
    (i32.add (call $recurse (i32.add (local.get $n) (i32.const 1))) (i32.const 1)))

  ;; Exception handling: $throw_deep throws from three calls down, and
  ;; catch_sum catches it in another function, adding its payload to 1000.
  ;; The unwinding walks the frame-pointer chain in the kernel exactly as
  ;; in a hosted process.
  (tag $oops (param i32))

  (func $throw_deep (param $depth i32) (param $value i32)
    (if (i32.eqz (local.get $depth))
      (then (throw $oops (local.get $value))))
    (call $throw_deep (i32.sub (local.get $depth) (i32.const 1)) (local.get $value)))

  (func (export "catch_sum") (param $value i32) (result i32)
    (block $caught (result i32)
      (try_table (catch $oops $caught)
        (call $throw_deep (i32.const 3) (local.get $value)))
      (i32.const -1))
    (i32.add (i32.const 1000)))

  (func (export "throw_uncaught") (param $value i32)
    (call $throw_deep (i32.const 2) (local.get $value)))

  ;; keep_through_garbage keeps one exception (payload $value) in a local
  ;; while it throws $n more that it drops at once, then rethrows the kept
  ;; one and returns its payload: the store's collector, run by the
  ;; throws, finds the local through the frame's stack map.
  (func $caught_ref (param $value i32) (result exnref)
    (local $exn exnref)
    (block $caught (result i32 exnref)
      (try_table (catch_ref $oops $caught)
        (call $throw_deep (i32.const 1) (local.get $value)))
      (unreachable))
    (local.set $exn) (drop) (local.get $exn))

  (func (export "keep_through_garbage") (param $value i32) (param $n i32) (result i32)
    (local $kept exnref)
    (local.set $kept (call $caught_ref (local.get $value)))
    (block $done
      (loop $again
        (br_if $done (i32.eqz (local.get $n)))
        (drop (call $caught_ref (local.get $n)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $again)))
    (block $caught (result i32)
      (try_table (catch $oops $caught) (throw_ref (local.get $kept)))
      (i32.const -1)))

  ;; GC: build_list makes a linked list of $n structs held by a global and
  ;; returns the sum of their values (walking it); drop_list lets it go,
  ;; for the store's collector to reclaim.
  (type $node (struct (field $value i32) (field $next (mut (ref null $node)))))
  (global $list (mut (ref null $node)) (ref.null $node))
  (func (export "build_list") (param $n i32) (result i32)
    (local $i i32) (local $cur (ref null $node)) (local $sum i32)
    (block $built
      (loop $cons
        (br_if $built (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (global.set $list (struct.new $node (local.get $i) (global.get $list)))
        (br $cons)))
    (local.set $cur (global.get $list))
    (block $walked
      (loop $walk
        (br_if $walked (ref.is_null (local.get $cur)))
        (local.set $sum
          (i32.add (local.get $sum) (struct.get $node $value (local.get $cur))))
        (local.set $cur (struct.get $node $next (local.get $cur)))
        (br $walk)))
    (local.get $sum))
  (func (export "drop_list")
    (global.set $list (ref.null $node)))

  ;; Guest control (run by an engine with fuel and epochs): a loop that
  ;; never ends by itself, and memory growth by a number of pages.
  ;; A shared memory and a wait on it that nothing will ever notify: only
  ;; the store's epoch deadline (the timer) ends it.
  (memory $shared 1 1 shared)
  (func (export "wait_forever") (result i32)
    (memory.atomic.wait32 $shared (i32.const 0) (i32.const 0) (i64.const -1)))

  (func $spin (export "spin")
    (loop $forever (br $forever)))

  (func (export "grow") (param $pages i32) (result i32)
    (memory.grow (local.get $pages)))
)
