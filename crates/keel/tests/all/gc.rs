//! The GC proposal: declared subtyping, struct and array types, the
//! collector.

use keel::{Engine, Instance, Module, Store, Trap};

/// `call_indirect` to a non-final type accepts functions of its declared
/// subtypes (and traps on a type that only has the same structure), in
/// both memory modes.
#[test]
fn call_indirect_accepts_declared_subtypes() {
    let wat = r#"
        (module
          (type $a (sub (func (result i32))))
          (type $b (sub $a (func (result i32))))
          ;; The same structure as $a, but another recursion group: another type.
          (rec (type $c (sub (func (result i32)))) (type (struct)))
          (type $d (func (result i32)))
          (func $f (type $b) i32.const 7)
          (func $g (type $a) i32.const 8)
          (table 2 funcref)
          (elem (i32.const 0) $f $g)
          (func (export "as_a") (param i32) (result i32)
            (call_indirect (type $a) (local.get 0)))
          (func (export "as_b") (param i32) (result i32)
            (call_indirect (type $b) (local.get 0)))
          (func (export "as_c") (param i32) (result i32)
            (call_indirect (type $c) (local.get 0)))
          (func (export "as_d") (param i32) (result i32)
            (call_indirect (type $d) (local.get 0))))
    "#;
    for engine in crate::engines() {
        let module = Module::new(&engine, wat).unwrap();
        let mut store = Store::new(&engine, ());
        let instance = Instance::new(&mut store, &module, &[]).unwrap();
        let call = |store: &mut Store<()>, name: &str, i: i32| {
            instance
                .get_typed_func::<i32, i32>(&mut *store, name)
                .unwrap()
                .call(&mut *store, i)
        };
        assert_eq!(call(&mut store, "as_a", 0).unwrap(), 7, "$b <: $a");
        assert_eq!(call(&mut store, "as_a", 1).unwrap(), 8);
        assert_eq!(call(&mut store, "as_b", 0).unwrap(), 7);
        for (name, i) in [("as_b", 1), ("as_c", 0), ("as_c", 1), ("as_d", 0)] {
            let err = call(&mut store, name, i).unwrap_err();
            assert_eq!(
                crate::trap_code(&err),
                Some(Trap::BadSignature),
                "{name}({i}): {err:#}"
            );
        }
    }
}

/// A function import of a non-final type accepts a function of a
/// declared subtype, from another module; a final type with the same
/// structure does not.
#[test]
fn function_imports_match_declared_subtypes() {
    let engine = Engine::default();
    let exporter = Module::new(
        &engine,
        r#"(module
             (type $a (sub (func (result i32))))
             (type $b (sub $a (func (result i32))))
             (func (export "f") (type $b) i32.const 5))"#,
    )
    .unwrap();
    let mut store = Store::new(&engine, ());
    let exports = Instance::new(&mut store, &exporter, &[]).unwrap();
    let f = exports.get_func(&mut store, "f").unwrap();
    let importer = Module::new(
        &engine,
        r#"(module
             (type $a (sub (func (result i32))))
             (import "m" "f" (func $f (type $a)))
             (func (export "g") (result i32) call $f))"#,
    )
    .unwrap();
    let instance = Instance::new(&mut store, &importer, &[f.into()]).unwrap();
    let g = instance.get_typed_func::<(), i32>(&mut store, "g").unwrap();
    assert_eq!(g.call(&mut store, ()).unwrap(), 5);

    let final_type = Module::new(
        &engine,
        r#"(module
             (type $a (func (result i32)))
             (import "m" "f" (func (type $a))))"#,
    )
    .unwrap();
    let err = Instance::new(&mut store, &final_type, &[f.into()]).unwrap_err();
    assert!(err.downcast_ref::<keel::LinkError>().is_some(), "{err:#}");
}

/// Modules with recursive struct types and declared subtypes compile and
/// survive an artifact round trip.
#[test]
fn struct_types_compile_with_gc_on() {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module
             (rec (type $list (sub (struct (field i32) (field (ref null $list))))))
             (type $pair (sub final $list (struct (field i32) (field (ref null $list)) (field i64))))
             (func (export "f") (param (ref null $pair)) (result i32) i32.const 1))"#,
    )
    .unwrap();
    let bytes = module.serialize().unwrap();
    // SAFETY: the bytes were serialized by this engine just above.
    let back = unsafe { Module::deserialize(&engine, &bytes) }.unwrap();
    assert_eq!(back.exports().count(), 1);
}

/// Binary trees: a long-lived tree of 2^17 - 1 nodes (4 MB) stays intact
/// while `iters` short-lived trees of `2^(depth+1) - 1` nodes are built,
/// checked and dropped. The store's heap stays bounded by a small multiple
/// of the live set.
const TREES: &str = r#"
(module
  (type $node (struct (field (mut (ref null $node))) (field (mut (ref null $node))) (field i32)))
  (func $make (param $d i32) (result (ref $node))
    (if (result (ref $node)) (i32.eqz (local.get $d))
      (then (struct.new $node (ref.null $node) (ref.null $node) (i32.const 1)))
      (else (struct.new $node
              (call $make (i32.sub (local.get $d) (i32.const 1)))
              (call $make (i32.sub (local.get $d) (i32.const 1)))
              (local.get $d)))))
  (func $count (param $n (ref null $node)) (result i32)
    (if (result i32) (ref.is_null (local.get $n))
      (then (i32.const 0))
      (else (i32.add (i32.const 1)
              (i32.add (call $count (struct.get $node 0 (local.get $n)))
                       (call $count (struct.get $node 1 (local.get $n))))))))
  (func (export "run") (param $iters i32) (param $depth i32) (result i32)
    (local $long (ref null $node)) (local $sum i32)
    (local.set $long (call $make (i32.const 16)))
    (loop $l
      (local.set $sum (i32.add (local.get $sum) (call $count (call $make (local.get $depth)))))
      (local.set $iters (i32.sub (local.get $iters) (i32.const 1)))
      (br_if $l (local.get $iters)))
    (i32.add (local.get $sum) (call $count (local.get $long))))
)
"#;

/// Nodes of a tree of depth `d`.
fn tree_nodes(d: u32) -> i32 {
    (1 << (d + 1)) - 1
}

#[test]
fn short_lived_trees_are_collected_and_the_long_lived_one_survives() {
    for engine in crate::engines() {
        let module = Module::new(&engine, TREES).unwrap();
        let mut store = Store::new(&engine, ());
        let instance = Instance::new(&mut store, &module, &[]).unwrap();
        let run = instance
            .get_typed_func::<(i32, i32), i32>(&mut store, "run")
            .unwrap();
        // 22,000 trees of 2047 nodes of 24 bytes: 1.08 GB allocated in
        // all, through a live set of 3 MB.
        let (iters, depth) = (22_000, 10);
        let sum = run.call(&mut store, (iters, depth)).unwrap();
        assert_eq!(sum, iters * tree_nodes(depth as u32) + tree_nodes(16));
        let (_, bytes) = store.gc_heap_usage();
        assert!(
            bytes < 32 << 20,
            "{bytes} bytes on the heap after the run; the live set is 4 MB"
        );
        store.gc();
        let (objects, bytes) = store.gc_heap_usage();
        assert_eq!((objects, bytes), (0, 0), "nothing is live after the call");
    }
}

/// A ring of structs kept in a global survives collections (allocation
/// churn between its creation and its check), and is freed once the
/// global lets go of it although every node is still referred to (a
/// cycle).
#[test]
fn cycles_survive_while_rooted_and_are_collected_after() {
    let wat = r#"
    (module
      (type $node (struct (field $next (mut (ref null $node))) (field $id i32)))
      (global $ring (mut (ref null $node)) (ref.null $node))
      (func (export "make") (param $n i32)
        (local $first (ref null $node)) (local $cur (ref null $node)) (local $i i32)
        (local.set $first (struct.new $node (ref.null $node) (i32.const 0)))
        (local.set $cur (local.get $first))
        (local.set $i (i32.const 1))
        (block $done (loop $l
          (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
          (struct.set $node $next (local.get $cur) (struct.new $node (ref.null $node) (local.get $i)))
          (local.set $cur (struct.get $node $next (local.get $cur)))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br $l)))
        (struct.set $node $next (local.get $cur) (local.get $first))
        (global.set $ring (local.get $first)))
      (func (export "churn") (param $n i32)
        (loop $l
          (drop (array.new_default $bytes (i32.const 1000)))
          (local.set $n (i32.sub (local.get $n) (i32.const 1)))
          (br_if $l (local.get $n))))
      (type $bytes (array (mut i8)))
      ;; Walks the ring once: the sum of the ids if they run 0..n in
      ;; order and the ring closes after n nodes, else -1.
      (func (export "check") (param $n i32) (result i32)
        (local $cur (ref null $node)) (local $i i32) (local $sum i32)
        (local.set $cur (global.get $ring))
        (block $bad (loop $l
          (br_if $bad (i32.ne (struct.get $node $id (local.get $cur)) (local.get $i)))
          (local.set $sum (i32.add (local.get $sum) (local.get $i)))
          (local.set $cur (struct.get $node $next (local.get $cur)))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br_if $l (i32.lt_u (local.get $i) (local.get $n))))
          (return (select (local.get $sum) (i32.const -1)
            (ref.eq (local.get $cur) (global.get $ring)))))
        (i32.const -1))
      (func (export "drop") (global.set $ring (ref.null $node))))
    "#;
    for engine in crate::engines() {
        let module = Module::new(&engine, wat).unwrap();
        let mut store = Store::new(&engine, ());
        let instance = Instance::new(&mut store, &module, &[]).unwrap();
        let make = instance
            .get_typed_func::<i32, ()>(&mut store, "make")
            .unwrap();
        let churn = instance
            .get_typed_func::<i32, ()>(&mut store, "churn")
            .unwrap();
        let check = instance
            .get_typed_func::<i32, i32>(&mut store, "check")
            .unwrap();
        let drop = instance
            .get_typed_func::<(), ()>(&mut store, "drop")
            .unwrap();
        let n = 10_000;
        make.call(&mut store, n).unwrap();
        // 100 MB of arrays, dropped at once: many collections.
        churn.call(&mut store, 100_000).unwrap();
        assert_eq!(check.call(&mut store, n).unwrap(), n * (n - 1) / 2);
        store.gc();
        let (ring_objects, _) = store.gc_heap_usage();
        assert_eq!(ring_objects, n as usize, "only the ring is live");
        drop.call(&mut store, ()).unwrap();
        store.gc();
        assert_eq!(store.gc_heap_usage(), (0, 0), "the cycle was collected");
    }
}

/// A guest that keeps every 64 KiB array it allocates (in a linked list
/// held by a global) until the heap is full: `grow(n)` allocates `n` more.
const HOARD: &str = r#"
(module
  (type $bytes (array (mut i8)))
  (type $cell (struct (field (ref $bytes)) (field (ref null $cell))))
  (global $list (mut (ref null $cell)) (ref.null $cell))
  (func (export "grow") (param $n i32)
    (loop $l
      (global.set $list
        (struct.new $cell (array.new_default $bytes (i32.const 65536)) (global.get $list)))
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br_if $l (local.get $n))))
  (func (export "churn") (param $n i32)
    (loop $l
      (drop (array.new_default $bytes (i32.const 65536)))
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br_if $l (local.get $n))))
  (func (export "release") (global.set $list (ref.null $cell)))
  (func (export "alive") (result i32) (i32.const 1)))
"#;

/// `Config::max_gc_heap_size` bounds the heap: live data past it traps
/// with `AllocationTooLarge` (the store stays usable), garbage past it is
/// collected, and the limit at the exact size of the live data holds.
#[test]
fn the_heap_limit_traps_at_live_data_past_it() {
    let mut config = keel::Config::new();
    config.max_gc_heap_size(4 << 20);
    let engine = Engine::new(&config).unwrap();
    let module = Module::new(&engine, HOARD).unwrap();
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    let grow = instance
        .get_typed_func::<i32, ()>(&mut store, "grow")
        .unwrap();
    let churn = instance
        .get_typed_func::<i32, ()>(&mut store, "churn")
        .unwrap();
    let release = instance
        .get_typed_func::<(), ()>(&mut store, "release")
        .unwrap();
    let alive = instance
        .get_typed_func::<(), i32>(&mut store, "alive")
        .unwrap();
    // 100 MB of garbage through a 4 MiB heap.
    churn.call(&mut store, 1600).unwrap();
    // 32 arrays (2 MiB) fit; 128 (8 MiB) do not.
    grow.call(&mut store, 32).unwrap();
    let err = grow.call(&mut store, 96).unwrap_err();
    assert_eq!(
        crate::trap_code(&err),
        Some(Trap::AllocationTooLarge),
        "{err:#}"
    );
    assert_eq!(alive.call(&mut store, ()).unwrap(), 1);
    let (_, bytes) = store.gc_heap_usage();
    assert!(bytes <= 4 << 20, "{bytes} bytes past the limit");
    release.call(&mut store, ()).unwrap();
    store.gc();
    assert_eq!(store.gc_heap_usage(), (0, 0));
    grow.call(&mut store, 32).unwrap();
}

/// The store's resource limiter is asked as the heap grows, as for a
/// linear memory: a refusal fails the allocation.
#[test]
fn the_resource_limiter_bounds_the_heap() {
    let engine = Engine::default();
    let module = Module::new(&engine, HOARD).unwrap();
    let mut store = Store::new(
        &engine,
        keel::StoreLimitsBuilder::new().memory_size(3 << 20).build(),
    );
    store.limiter(|limits| limits);
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    let grow = instance
        .get_typed_func::<i32, ()>(&mut store, "grow")
        .unwrap();
    grow.call(&mut store, 16).unwrap();
    let err = grow.call(&mut store, 64).unwrap_err();
    assert_eq!(
        crate::trap_code(&err),
        Some(Trap::AllocationTooLarge),
        "{err:#}"
    );
}

/// Host allocations past the limit fail with `GcHeapOutOfMemory`, after a
/// collection has freed what no root holds; objects the host keeps in
/// `OwnedRooted`s and reads back survive the collections.
#[test]
fn host_allocations_respect_the_limit_and_roots() {
    use keel::{
        ArrayRef, ArrayRefPre, ArrayType, FieldType, GcHeapOutOfMemory, Mutability, OwnedRooted,
        RootScope, StorageType, StructRef, StructRefPre, StructType, Val, ValType,
    };
    let mut config = keel::Config::new();
    config.max_gc_heap_size(2 << 20);
    let engine = Engine::new(&config).unwrap();
    let mut store = Store::new(&engine, ());
    let bytes_ty =
        ArrayType::new(&engine, FieldType::new(Mutability::Var, StorageType::I8)).unwrap();
    let bytes_pre = ArrayRefPre::new(&mut store, bytes_ty);
    let pair_ty = StructType::new(
        &engine,
        [
            FieldType::new(Mutability::Const, StorageType::ValType(ValType::I64)),
            FieldType::new(Mutability::Var, StorageType::I16),
        ],
    )
    .unwrap();
    let pair_pre = StructRefPre::new(&mut store, pair_ty);
    let mut kept: Vec<OwnedRooted<StructRef>> = Vec::new();
    for i in 0..1000i64 {
        let mut scope = RootScope::new(&mut store);
        // 64 KiB of garbage per step, and one small struct kept.
        ArrayRef::new(&mut scope, &bytes_pre, &Val::I32(7), 65536).unwrap();
        let s = StructRef::new(&mut scope, &pair_pre, &[Val::I64(i), Val::I32(0x1_2345)]).unwrap();
        kept.push(s.to_owned_rooted(&mut scope).unwrap());
    }
    let mut scope = RootScope::new(&mut store);
    for (i, owned) in kept.iter().enumerate() {
        let s = owned.to_rooted(&mut scope).unwrap();
        assert_eq!(s.field(&mut scope, 0).unwrap().unwrap_i64(), i as i64);
        // The i16 field kept the low 16 bits.
        assert_eq!(s.field(&mut scope, 1).unwrap().unwrap_i32(), 0x2345);
    }
    // 4 MiB kept alive does not fit in 2 MiB.
    let mut big = Vec::new();
    let err = loop {
        match ArrayRef::new(&mut scope, &bytes_pre, &Val::I32(0), 1 << 20) {
            Ok(a) => big.push(a.to_owned_rooted(&mut scope).unwrap()),
            Err(e) => break e,
        }
    };
    // The scope's roots end with it.
    drop(scope);
    assert!(
        err.downcast_ref::<GcHeapOutOfMemory<()>>().is_some(),
        "{err:#}"
    );
    assert!(big.len() < 2);
    drop(kept);
    drop(big);
    store.gc();
    assert_eq!(store.gc_heap_usage(), (0, 0));
}

/// `array.new` in a global's initializer fills every element, whatever
/// the element size and length (the evaluator fills by doubling copies:
/// a 4 MiB array costs a memset, not four million calls); a zero value
/// leaves the zeroed allocation as it is.
#[test]
fn constant_array_new_fills_every_element() {
    let wat = r#"
        (module
          (type $i8 (array (mut i8)))
          (type $i16 (array (mut i16)))
          (type $i64 (array (mut i64)))
          (type $v (array (mut v128)))
          (type $r (array (mut i31ref)))
          (global $a (ref $i8) (array.new $i8 (i32.const 0x1a5) (i32.const 4194301)))
          (global $b (ref $i16) (array.new $i16 (i32.const -2) (i32.const 3)))
          (global $c (ref $i64) (array.new $i64 (i64.const 0x0102030405060708) (i32.const 1000)))
          (global $d (ref $v) (array.new $v (v128.const i32x4 1 2 3 4) (i32.const 17)))
          (global $e (ref $r) (array.new $r (ref.i31 (i32.const 9)) (i32.const 5)))
          (global $z (ref $i64) (array.new $i64 (i64.const 0) (i32.const 1000)))
          (global $one (ref $i16) (array.new $i16 (i32.const 5) (i32.const 1)))
          (global $none (ref $i8) (array.new $i8 (i32.const 5) (i32.const 0)))
          (func (export "a") (param i32) (result i32) (array.get_u $i8 (global.get $a) (local.get 0)))
          (func (export "b") (param i32) (result i32) (array.get_s $i16 (global.get $b) (local.get 0)))
          (func (export "c") (param i32) (result i64) (array.get $i64 (global.get $c) (local.get 0)))
          (func (export "d") (param i32) (result i32)
            (i32x4.extract_lane 3 (array.get $v (global.get $d) (local.get 0))))
          (func (export "e") (param i32) (result i32)
            (i31.get_s (array.get $r (global.get $e) (local.get 0))))
          (func (export "z") (param i32) (result i64) (array.get $i64 (global.get $z) (local.get 0)))
          (func (export "one") (result i32) (array.get_u $i16 (global.get $one) (i32.const 0)))
          (func (export "lens") (result i32)
            (i32.add (array.len (global.get $none))
              (i32.add (array.len (global.get $a)) (array.len (global.get $d))))))
    "#;
    for engine in crate::engines() {
        let module = Module::new(&engine, wat).unwrap();
        let mut store = Store::new(&engine, ());
        let instance = Instance::new(&mut store, &module, &[]).unwrap();
        let get32 = |store: &mut Store<()>, name: &str, i: i32| {
            instance
                .get_typed_func::<i32, i32>(&mut *store, name)
                .unwrap()
                .call(&mut *store, i)
                .unwrap()
        };
        for i in [0, 1, 2, 1 << 20, 4194300] {
            assert_eq!(get32(&mut store, "a", i), 0xa5, "a[{i}]");
        }
        for i in 0..3 {
            assert_eq!(get32(&mut store, "b", i), -2, "b[{i}]");
        }
        for i in 0..17 {
            assert_eq!(get32(&mut store, "d", i), 4, "d[{i}]");
        }
        for i in 0..5 {
            assert_eq!(get32(&mut store, "e", i), 9, "e[{i}]");
        }
        let c = instance
            .get_typed_func::<i32, i64>(&mut store, "c")
            .unwrap();
        let z = instance
            .get_typed_func::<i32, i64>(&mut store, "z")
            .unwrap();
        for i in [0, 1, 511, 998, 999] {
            assert_eq!(c.call(&mut store, i).unwrap(), 0x0102030405060708, "c[{i}]");
            assert_eq!(z.call(&mut store, i).unwrap(), 0, "z[{i}]");
        }
        let trap = c.call(&mut store, 1000).unwrap_err();
        assert_eq!(trap.downcast_ref::<Trap>(), Some(&Trap::ArrayOutOfBounds));
        let one = instance
            .get_typed_func::<(), i32>(&mut store, "one")
            .unwrap();
        assert_eq!(one.call(&mut store, ()).unwrap(), 5);
        let lens = instance
            .get_typed_func::<(), i32>(&mut store, "lens")
            .unwrap();
        assert_eq!(lens.call(&mut store, ()).unwrap(), 4194301 + 17);
    }
}

/// Arrays allocated by constant expressions at instantiation (a global's
/// initializer, an element segment) count against the store's resource
/// limiter: under a fixed limit the instantiation fails with
/// `AllocationTooLarge` without growing past it; a limiter without a
/// fixed size is asked afterwards and its refusal fails the
/// instantiation; an array within the limit instantiates.
#[test]
fn instantiation_allocations_respect_the_limiter() {
    let module_of = |elems: u32| {
        format!(
            r#"(module
                 (type $a (array (mut i8)))
                 (global (export "g") (ref $a) (array.new $a (i32.const 1) (i32.const {elems})))
                 (table 1 anyref)
                 (elem (table 0) (i32.const 0) anyref (array.new $a (i32.const 2) (i32.const {elems}))))"#
        )
    };
    let engine = Engine::default();
    let small = Module::new(&engine, module_of(1 << 10)).unwrap();
    let large = Module::new(&engine, module_of(64 << 20)).unwrap();

    // A fixed limit of 16 MiB: 64 MiB arrays fail, 1 KiB ones succeed.
    let mut store = Store::new(
        &engine,
        keel::StoreLimitsBuilder::new()
            .memory_size(16 << 20)
            .build(),
    );
    store.limiter(|limits| limits);
    let err = Instance::new(&mut store, &large, &[]).unwrap_err();
    assert_eq!(
        crate::trap_code(&err),
        Some(Trap::AllocationTooLarge),
        "{err:#}"
    );
    let (_, bytes) = store.gc_heap_usage();
    assert!(bytes <= 16 << 20, "the heap holds {bytes} bytes");
    Instance::new(&mut store, &small, &[]).unwrap();

    // A limiter that refuses any growth past 8 MiB but names no size.
    struct Refusing;
    impl keel::ResourceLimiter for Refusing {
        fn memory_growing(
            &mut self,
            _current: usize,
            desired: usize,
            _maximum: Option<usize>,
        ) -> keel::Result<bool> {
            Ok(desired <= 8 << 20)
        }
        fn table_growing(
            &mut self,
            _current: usize,
            _desired: usize,
            _maximum: Option<usize>,
        ) -> keel::Result<bool> {
            Ok(true)
        }
    }
    let mut store = Store::new(&engine, Refusing);
    store.limiter(|r| r);
    let err = Instance::new(&mut store, &large, &[]).unwrap_err();
    assert!(
        format!("{err:#}").contains("resource limiter refused"),
        "{err:#}"
    );
    Instance::new(&mut store, &small, &[]).unwrap();
}
