//! The pooling instance allocator (issue 15): limits, slot reuse without
//! leaking data between instances, and concurrent use, in both memory
//! modes, with memory images on and off.

use keel::{
    Config, Engine, InstanceAllocationStrategy, Linker, Module, PoolingAllocationConfig, Store, Val,
};

fn pooled_engine(
    signals: bool,
    cow: bool,
    limits: impl Fn(&mut PoolingAllocationConfig),
) -> Engine {
    let mut pooling = PoolingAllocationConfig::new();
    pooling.max_memory_size(4 << 20).table_elements(100);
    limits(&mut pooling);
    let mut config = Config::new();
    config
        .signals_based_traps(signals)
        .memory_init_cow(cow)
        .allocation_strategy(InstanceAllocationStrategy::Pooling(pooling));
    Engine::new(&config).unwrap()
}

/// Every combination of memory mode and memory images: (name, signals, cow).
const MODES: [(&str, bool, bool); 4] = [
    ("guard pages, cow", true, true),
    ("guard pages, copy", true, false),
    ("explicit checks, cow", false, true),
    ("explicit checks, copy", false, false),
];

fn secret_module() -> String {
    // 8 KiB of data (enough for an image) at 1024.
    let data: String = (0..8192)
        .map(|i| format!("\\{:02x}", (i % 251) as u8))
        .collect();
    format!(
        r#"(module
            (memory (export "memory") 1 4)
            (table (export "table") 4 10 funcref)
            (data (i32.const 1024) "{data}")
            (elem (i32.const 0) $f)
            (func $f (result i32) i32.const 7)
            (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
            (func (export "set") (param i32) (table.set (local.get 0) (ref.func $f)))
            (func (export "tgrow") (param i32) (result i32)
                (table.grow (ref.null func) (local.get 0))))"#
    )
}

fn expected_first_page() -> Vec<u8> {
    let mut page = vec![0u8; 65536];
    for i in 0..8192 {
        page[1024 + i] = (i % 251) as u8;
    }
    page
}

fn call_i32(store: &mut Store<()>, instance: &keel::Instance, name: &str, arg: i32) -> i32 {
    let f = instance.get_func(&mut *store, name).unwrap();
    let mut out = [Val::I32(0)];
    f.call(&mut *store, &[Val::I32(arg)], &mut out).unwrap();
    out[0].unwrap_i32()
}

/// An instance writes a secret everywhere it can (its memory, grown, and
/// its table, grown), its store drops, and the next instance (in the same
/// slots: the pool has one of each) sees only its own initial state.
#[test]
fn pooled_slots_never_leak_data() -> keel::Result<()> {
    for (name, signals, cow) in MODES {
        let engine = pooled_engine(signals, cow, |p| {
            p.total_core_instances(1).total_memories(1).total_tables(1);
        });
        let module = Module::new(&engine, secret_module())?;
        for round in 0..3 {
            let mut store = Store::new(&engine, ());
            let instance = Linker::new(&engine).instantiate(&mut store, &module)?;
            let memory = instance.get_memory(&mut store, "memory").unwrap();
            assert_eq!(memory.data(&store).len(), 65536, "{name}, round {round}");
            assert!(
                memory.data(&store) == &expected_first_page()[..],
                "{name}, round {round}: memory not reset"
            );
            let table = instance.get_table(&mut store, "table").unwrap();
            assert_eq!(table.size(&store), 4, "{name}");
            assert!(
                table
                    .get(&mut store, 0)
                    .unwrap()
                    .funcref()
                    .unwrap()
                    .is_some()
            );
            for slot in 1..4 {
                assert!(
                    table
                        .get(&mut store, slot)
                        .unwrap()
                        .funcref()
                        .unwrap()
                        .is_none(),
                    "{name}, round {round}: table slot {slot} not reset"
                );
            }
            // Write the secret.
            assert_eq!(call_i32(&mut store, &instance, "grow", 2), 1);
            memory.data_mut(&mut store).fill(0x5e);
            assert_eq!(call_i32(&mut store, &instance, "tgrow", 6), 4);
            for slot in 0..10 {
                call_i32_void(&mut store, &instance, slot);
            }
            drop(store);
        }
    }
    Ok(())
}

fn call_i32_void(store: &mut Store<()>, instance: &keel::Instance, slot: i32) {
    let f = instance.get_func(&mut *store, "set").unwrap();
    f.call(&mut *store, &[Val::I32(slot)], &mut []).unwrap();
}

/// Each limit refuses with an error that names it, and a slot freed by a
/// dropped store serves the next instance.
#[test]
fn pool_limits_refuse_with_their_names() -> keel::Result<()> {
    for (name, signals, cow) in MODES {
        let engine = pooled_engine(signals, cow, |p| {
            p.total_core_instances(2).total_memories(3).total_tables(3);
        });
        let module = Module::new(&engine, secret_module())?;
        let mut stores: Vec<Store<()>> = Vec::new();
        for _ in 0..2 {
            let mut store = Store::new(&engine, ());
            Linker::new(&engine).instantiate(&mut store, &module)?;
            stores.push(store);
        }
        let mut third = Store::new(&engine, ());
        let err = Linker::new(&engine)
            .instantiate(&mut third, &module)
            .unwrap_err();
        assert!(
            format!("{err:#}").contains("total_core_instances"),
            "{name}: {err:#}"
        );
        stores.pop();
        Linker::new(&engine).instantiate(&mut third, &module)?;

        // Memories and tables counted apart from instances: with one of
        // each, a second live instance is refused, and fits once the first
        // store drops.
        type Limit = fn(&mut PoolingAllocationConfig);
        let limits: [(&str, Limit); 2] = [
            ("total_memories", |p| {
                p.total_memories(1);
            }),
            ("total_tables", |p| {
                p.total_tables(1);
            }),
        ];
        for (limit, set) in limits {
            let engine = pooled_engine(signals, cow, set);
            let module = Module::new(&engine, secret_module())?;
            let mut a = Store::new(&engine, ());
            Linker::new(&engine).instantiate(&mut a, &module)?;
            let mut b = Store::new(&engine, ());
            let err = Linker::new(&engine)
                .instantiate(&mut b, &module)
                .unwrap_err();
            assert!(format!("{err:#}").contains(limit), "{name}: {err:#}");
            drop(a);
            Linker::new(&engine).instantiate(&mut b, &module)?;
        }
    }
    Ok(())
}

/// Sizes: memories up to `max_memory_size` (at instantiation and when
/// growing), tables up to `table_elements`, one memory and one table per
/// module by default; at the limit and one past it.
#[test]
fn pool_size_limits_at_and_past_the_limit() -> keel::Result<()> {
    for (name, signals, cow) in MODES {
        // 4 MiB = 64 pages, 100 elements.
        let engine = pooled_engine(signals, cow, |_| {});
        let instantiate = |wat: &str| {
            let module = Module::new(&engine, wat).unwrap();
            let mut store = Store::new(&engine, ());
            let result = Linker::new(&engine).instantiate(&mut store, &module);
            (store, result)
        };
        let (_, ok) = instantiate("(module (memory 64))");
        ok.unwrap_or_else(|e| panic!("{name}: {e:#}"));
        let (_, err) = instantiate("(module (memory 65))");
        let err = err.unwrap_err();
        assert!(
            format!("{err:#}").contains("max_memory_size"),
            "{name}: {err:#}"
        );
        let (_, ok) = instantiate("(module (table 100 funcref))");
        ok.unwrap();
        let (_, err) = instantiate("(module (table 101 funcref))");
        let err = err.unwrap_err();
        assert!(
            format!("{err:#}").contains("table_elements"),
            "{name}: {err:#}"
        );
        let (_, err) = instantiate("(module (table 1 funcref) (table 1 funcref))");
        let err = err.unwrap_err();
        assert!(
            format!("{err:#}").contains("max_tables_per_module"),
            "{name}: {err:#}"
        );

        // Growth stops at the pool's limits (memory.grow / table.grow: -1).
        let (mut store, instance) = instantiate(
            r#"(module (memory 60) (table 90 funcref)
                (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
                (func (export "tgrow") (param i32) (result i32)
                    (table.grow (ref.null func) (local.get 0))))"#,
        );
        let instance = instance.unwrap();
        assert_eq!(call_i32(&mut store, &instance, "grow", 5), -1, "{name}");
        assert_eq!(call_i32(&mut store, &instance, "grow", 4), 60, "{name}");
        assert_eq!(call_i32(&mut store, &instance, "tgrow", 11), -1, "{name}");
        assert_eq!(call_i32(&mut store, &instance, "tgrow", 10), 90, "{name}");
    }
    Ok(())
}

/// Threads instantiate from one small pool at once; each instance starts
/// clean and a full pool is an error, never a crash or a wait.
#[test]
fn pool_shared_by_threads() {
    let engine = pooled_engine(true, true, |p| {
        p.total_core_instances(3).total_memories(3).total_tables(3);
    });
    let module = Module::new(&engine, secret_module()).unwrap();
    let expected = expected_first_page();
    let refused = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|s| {
        for t in 0..4u8 {
            let (engine, module, expected, refused) = (&engine, &module, &expected, &refused);
            s.spawn(move || {
                for round in 0..100u8 {
                    let mut store = Store::new(engine, ());
                    let instance = match Linker::new(engine).instantiate(&mut store, module) {
                        Ok(i) => i,
                        Err(e) => {
                            assert!(format!("{e:#}").contains("pooling allocator"), "{e:#}");
                            refused.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                            continue;
                        }
                    };
                    let memory = instance.get_memory(&mut store, "memory").unwrap();
                    assert!(
                        memory.data(&store) == &expected[..],
                        "thread {t} round {round}"
                    );
                    memory.data_mut(&mut store).fill(t ^ round);
                }
            });
        }
    });
    // 4 threads, 3 slots: some attempts may be refused, most succeed.
    assert!(refused.into_inner() < 400);
}

/// One memory slot used in turn by modules with different images and
/// with none: each instance sees its own module's data and zeros
/// elsewhere, never the previous image or writes.
#[test]
fn one_slot_serves_modules_with_different_images() -> keel::Result<()> {
    for (name, signals, cow) in MODES {
        let engine = pooled_engine(signals, cow, |p| {
            p.total_core_instances(1).total_memories(1).total_tables(1);
        });
        let module = |fill: u8, at: usize| {
            let data: String = (0..6000).map(|_| format!("\\{fill:02x}")).collect();
            Module::new(
                &engine,
                format!(
                    r#"(module (memory (export "memory") 2) (data (i32.const {at}) "{data}"))"#
                ),
            )
            .unwrap()
        };
        let modules = [
            (module(0xaa, 0), Some((0xaa, 0))),
            (module(0xbb, 70000), Some((0xbb, 70000))),
            (
                Module::new(&engine, r#"(module (memory (export "memory") 2))"#)?,
                None,
            ),
        ];
        for round in 0..9 {
            let (module, data) = &modules[[0, 1, 1, 2, 0, 0, 2, 1, 0][round]];
            let mut store = Store::new(&engine, ());
            let instance = Linker::new(&engine).instantiate(&mut store, module)?;
            let memory = instance.get_memory(&mut store, "memory").unwrap();
            let bytes = memory.data(&store);
            for (i, b) in bytes.iter().enumerate() {
                let want = match data {
                    Some((fill, at)) if (*at..*at + 6000).contains(&i) => *fill,
                    _ => 0,
                };
                assert_eq!(*b, want, "{name}, round {round}, byte {i}");
            }
            memory.data_mut(&mut store).fill(0x11);
        }
    }
    Ok(())
}
