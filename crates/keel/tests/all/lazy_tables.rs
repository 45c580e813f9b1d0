//! Lazily initialized funcref tables (issue 15): a defined funcref table
//! whose active segments all have constant offsets inside its minimum
//! leaves those slots zero and pending at instantiation; the first read
//! (`table.get`, `call_indirect`, `table.copy`'s source, the host's
//! `Table::get`) initializes a slot, and every write (`table.set`,
//! `table.fill`, `table.copy`'s destination, `table.init`, another
//! module's active segment, the host's `Table::set`) makes it no longer
//! pending. These tests check that every such path sees the spec's
//! values, in both memory modes, including a null written over a slot
//! that was never read.

use super::{engines, trap_code};
use keel::{Engine, Func, Linker, Module, Store, Trap, Val};

/// Slots 0..4 hold `$f0`..`$f3` (returning 10..13) from two segments, slot
/// 2 overwritten by a `ref.null` item of the second; slots 4..16 null.
const MODULE: &str = r#"(module
    (type $v2i (func (result i32)))
    (table $t (export "table") 16 funcref)
    (table $u 16 funcref)
    (elem (table $t) (i32.const 0) func $f0 $f1 $f2 $f3)
    (elem (table $t) (i32.const 2) funcref (ref.null func))
    (elem $passive funcref (ref.func $f3) (ref.null func))
    (func $f0 (type $v2i) (i32.const 10))
    (func $f1 (type $v2i) (i32.const 11))
    (func $f2 (type $v2i) (i32.const 12))
    (func $f3 (type $v2i) (i32.const 13))
    (func (export "call") (param i32) (result i32) (call_indirect $t (type $v2i) (local.get 0)))
    (func (export "call_u") (param i32) (result i32) (call_indirect $u (type $v2i) (local.get 0)))
    (func (export "is_null") (param i32) (result i32) (ref.is_null (table.get $t (local.get 0))))
    (func (export "set_null") (param i32) (table.set $t (local.get 0) (ref.null func)))
    (func (export "fill_null") (param i32 i32) (table.fill $t (local.get 0) (ref.null func) (local.get 1)))
    (func (export "copy_to_u") (param i32 i32 i32) (table.copy $u $t (local.get 0) (local.get 1) (local.get 2)))
    (func (export "copy_within") (param i32 i32 i32) (table.copy $t $t (local.get 0) (local.get 1) (local.get 2)))
    (func (export "init") (param i32 i32 i32) (table.init $t $passive (local.get 0) (local.get 1) (local.get 2)))
    (func (export "grow") (param i32) (result i32) (table.grow $t (ref.null func) (local.get 0))))"#;

struct Guest {
    store: Store<()>,
    instance: keel::Instance,
}

impl Guest {
    fn new(engine: &Engine) -> Self {
        let module = Module::new(engine, MODULE).unwrap();
        let mut store = Store::new(engine, ());
        let instance = Linker::new(engine)
            .instantiate(&mut store, &module)
            .unwrap();
        Self { store, instance }
    }

    fn func(&mut self, name: &str) -> Func {
        self.instance.get_func(&mut self.store, name).unwrap()
    }

    fn run(&mut self, name: &str, args: &[i32]) -> keel::Result<Option<i32>> {
        let f = self.func(name);
        let args: Vec<Val> = args.iter().map(|a| Val::I32(*a)).collect();
        let mut out = vec![Val::I32(0); f.ty(&self.store).results().len()];
        f.call(&mut self.store, &args, &mut out)?;
        Ok(out.first().map(Val::unwrap_i32))
    }

    /// `call_indirect` of slot `i`: its result, or the trap code.
    fn call(&mut self, table: &str, i: i32) -> Result<i32, Option<Trap>> {
        self.run(table, &[i])
            .map(|r| r.unwrap())
            .map_err(|e| trap_code(&e))
    }

    /// Every slot of `$t` as `call_indirect` sees it.
    fn slots(&mut self) -> Vec<Result<i32, Option<Trap>>> {
        (0..16).map(|i| self.call("call", i)).collect()
    }
}

const NULL: Result<i32, Option<Trap>> = Err(Some(Trap::IndirectCallToNull));

/// The initial contents, read first through each path.
#[test]
fn initial_contents_through_every_reader() {
    for engine in engines() {
        let expected = [Ok(10), Ok(11), NULL, Ok(13)];
        // call_indirect first.
        let mut g = Guest::new(&engine);
        assert_eq!(g.slots()[..4], expected);
        assert_eq!(g.slots()[4..], [NULL; 12]);
        // table.get first.
        let mut g = Guest::new(&engine);
        let nulls: Vec<i32> = (0..5)
            .map(|i| g.run("is_null", &[i]).unwrap().unwrap())
            .collect();
        assert_eq!(nulls, [0, 0, 1, 0, 1]);
        assert_eq!(g.slots()[..4], expected);
        // The host's Table::get first: the same references as the guest's.
        let mut g = Guest::new(&engine);
        let table = g.instance.get_table(&mut g.store, "table").unwrap();
        let host: Vec<Option<Func>> = (0..5)
            .map(|i| table.get(&mut g.store, i).unwrap().funcref().unwrap())
            .collect();
        assert!(host[2].is_none() && host[4].is_none());
        let f1 = host[1].unwrap();
        let mut out = [Val::I32(0)];
        f1.call(&mut g.store, &[], &mut out).unwrap();
        assert_eq!(out[0].unwrap_i32(), 11);
        assert_eq!(
            table.get(&mut g.store, 1).unwrap().funcref().unwrap(),
            Some(f1)
        );
        assert_eq!(g.slots()[..4], expected);
        assert!(table.get(&mut g.store, 16).is_none());
    }
}

/// Writes of null over slots never read stay null.
#[test]
fn null_writes_over_pending_slots_stay_null() {
    for engine in engines() {
        let mut g = Guest::new(&engine);
        g.run("set_null", &[0]).unwrap();
        assert_eq!(g.call("call", 0), NULL);
        assert_eq!(g.call("call", 1), Ok(11));

        let mut g = Guest::new(&engine);
        g.run("fill_null", &[1, 3]).unwrap();
        assert_eq!(g.slots()[..5], [Ok(10), NULL, NULL, NULL, NULL]);

        let mut g = Guest::new(&engine);
        let table = g.instance.get_table(&mut g.store, "table").unwrap();
        table.set(&mut g.store, 3, keel::Ref::Func(None)).unwrap();
        assert_eq!(g.call("call", 3), NULL);
        assert_eq!(g.run("is_null", &[3]).unwrap(), Some(1));

        // table.init with the passive segment ($f3, null) at 0..2.
        let mut g = Guest::new(&engine);
        g.run("init", &[0, 0, 2]).unwrap();
        assert_eq!(g.slots()[..4], [Ok(13), NULL, NULL, Ok(13)]);

        // An out-of-bounds fill writes nothing and keeps slots pending.
        let mut g = Guest::new(&engine);
        let err = g.run("fill_null", &[0, 17]).unwrap_err();
        assert_eq!(trap_code(&err), Some(Trap::TableOutOfBounds));
        assert_eq!(g.slots()[..4], [Ok(10), Ok(11), NULL, Ok(13)]);
    }
}

/// `table.copy` copies values, not pending marks: from a lazy table to
/// another, and within one (overlapping both ways).
#[test]
fn copies_carry_values() {
    for engine in engines() {
        let mut g = Guest::new(&engine);
        g.run("copy_to_u", &[5, 0, 4]).unwrap();
        let u: Vec<_> = (4..10).map(|i| g.call("call_u", i)).collect();
        assert_eq!(u, [NULL, Ok(10), Ok(11), NULL, Ok(13), NULL]);

        let mut g = Guest::new(&engine);
        g.run("copy_within", &[1, 0, 4]).unwrap();
        assert_eq!(g.slots()[..5], [Ok(10), Ok(10), Ok(11), NULL, Ok(13)]);

        let mut g = Guest::new(&engine);
        g.run("copy_within", &[0, 1, 4]).unwrap();
        assert_eq!(g.slots()[..5], [Ok(11), NULL, Ok(13), NULL, NULL]);
    }
}

/// Growing keeps pending slots pending and the new ones null.
#[test]
fn growth_keeps_pending_slots() {
    for engine in engines() {
        let mut g = Guest::new(&engine);
        assert_eq!(g.run("grow", &[1000]).unwrap(), Some(16));
        assert_eq!(g.slots()[..4], [Ok(10), Ok(11), NULL, Ok(13)]);
        assert_eq!(g.call("call", 1015), NULL);
    }
}

/// Another module that imports the table: its `call_indirect` initializes
/// the exporter's pending slots, and its active segments write over them
/// (a null included).
#[test]
fn importers_read_and_write_pending_slots() {
    for engine in engines() {
        let exporter = Module::new(&engine, MODULE).unwrap();
        let importer = Module::new(
            &engine,
            r#"(module
                (type $v2i (func (result i32)))
                (import "m" "table" (table $t 16 funcref))
                (elem (table $t) (i32.const 1) funcref (ref.null func) (ref.func $f))
                (func $f (type $v2i) (i32.const 99))
                (func (export "call") (param i32) (result i32)
                    (call_indirect $t (type $v2i) (local.get 0))))"#,
        )
        .unwrap();
        let mut store = Store::new(&engine, ());
        let mut linker = Linker::new(&engine);
        let a = linker.instantiate(&mut store, &exporter).unwrap();
        linker.instance(&mut store, "m", a).unwrap();
        let b = linker.instantiate(&mut store, &importer).unwrap();
        let mut g = Guest { store, instance: a };
        assert_eq!(g.slots()[..5], [Ok(10), NULL, Ok(99), Ok(13), NULL]);
        let call_b = b.get_func(&mut g.store, "call").unwrap();
        let mut out = [Val::I32(0)];
        call_b.call(&mut g.store, &[Val::I32(0)], &mut out).unwrap();
        assert_eq!(out[0].unwrap_i32(), 10);
    }
}

/// A segment that does not fit the table still traps at instantiation
/// (such a table is initialized eagerly), and a sparse segment far into a
/// big table is placed right.
#[test]
fn eager_fallbacks_keep_the_spec() {
    for engine in engines() {
        let oob = Module::new(
            &engine,
            r#"(module (table 2 funcref) (func $f) (elem (i32.const 1) func $f $f))"#,
        )
        .unwrap();
        let mut store = Store::new(&engine, ());
        let err = Linker::new(&engine)
            .instantiate(&mut store, &oob)
            .unwrap_err();
        assert_eq!(trap_code(&err), Some(Trap::TableOutOfBounds), "{err:?}");

        let sparse = Module::new(
            &engine,
            r#"(module (type $v2i (func (result i32)))
                (table 100000 funcref) (func $f (result i32) (i32.const 5))
                (elem (i32.const 99999) func $f)
                (func (export "call") (param i32) (result i32)
                    (call_indirect (type $v2i) (local.get 0))))"#,
        )
        .unwrap();
        let instance = Linker::new(&engine)
            .instantiate(&mut store, &sparse)
            .unwrap();
        let call = instance.get_func(&mut store, "call").unwrap();
        let mut out = [Val::I32(0)];
        call.call(&mut store, &[Val::I32(99999)], &mut out).unwrap();
        assert_eq!(out[0].unwrap_i32(), 5);
    }
}

/// Instances on four threads reading and writing their own lazy tables.
#[test]
fn lazy_tables_on_threads() {
    let engine = Engine::default();
    std::thread::scope(|s| {
        for t in 0..4 {
            let engine = &engine;
            s.spawn(move || {
                for i in 0..100 {
                    let mut g = Guest::new(engine);
                    if (i + t) % 2 == 0 {
                        g.run("set_null", &[1]).unwrap();
                        assert_eq!(g.call("call", 1), NULL);
                    } else {
                        assert_eq!(g.call("call", 1), Ok(11));
                    }
                    assert_eq!(g.call("call", 3), Ok(13));
                }
            });
        }
    });
}
