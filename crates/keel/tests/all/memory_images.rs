//! Copy-on-write memory images (issue 15): memories whose data segments
//! make an image are mapped from it at instantiation. Each instance must
//! see exactly the bytes the spec's data-segment copy would give it, and
//! never another instance's writes, in both memory modes, with images on
//! and off, from several threads.

use keel::{Config, Engine, Linker, Module, Store, Trap, Val};

/// Engines in both memory modes, with images on and off: (name, engine).
fn engines() -> Vec<(&'static str, Engine)> {
    let mut out = Vec::new();
    for (name, signals, cow) in [
        ("guard pages, cow", true, true),
        ("explicit checks, cow", false, true),
        ("guard pages, copy", true, false),
        ("explicit checks, copy", false, false),
    ] {
        let mut config = Config::new();
        config.signals_based_traps(signals).memory_init_cow(cow);
        out.push((name, Engine::new(&config).unwrap()));
    }
    out
}

/// A pattern byte for address `i` of segment `seed`.
fn pattern(seed: u8, i: usize) -> u8 {
    (i as u8).wrapping_mul(31).wrapping_add(seed)
}

fn escape(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("\\{b:02x}")).collect()
}

/// Three segments: 20 KiB at 1000, 6 KiB at 70000 (second page), and one
/// overlapping the first at 5000: the later one wins.
fn segments() -> Vec<(usize, Vec<u8>)> {
    vec![
        (1000, (0..20 * 1024).map(|i| pattern(1, i)).collect()),
        (70000, (0..6 * 1024).map(|i| pattern(2, i)).collect()),
        (5000, (0..300).map(|i| pattern(3, i)).collect()),
    ]
}

fn expected_memory(pages: usize) -> Vec<u8> {
    let mut mem = vec![0u8; pages * 65536];
    for (start, data) in segments() {
        mem[start..start + data.len()].copy_from_slice(&data);
    }
    mem
}

fn module_text(memory: &str) -> String {
    let mut wat = format!("(module (memory (export \"memory\") {memory})");
    for (start, data) in segments() {
        wat += &format!("(data (i32.const {start}) \"{}\")", escape(&data));
    }
    wat += r#"(func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
        (func (export "poke") (param i32 i32) (i32.store8 (local.get 0) (local.get 1))))"#;
    wat
}

#[test]
fn instances_see_the_segments_and_not_each_others_writes() -> keel::Result<()> {
    for (name, engine) in engines() {
        for memory in ["2", "2 4"] {
            let module = Module::new(&engine, module_text(memory))?;
            let expected = expected_memory(2);
            let mut first = Store::new(&engine, ());
            let a = Linker::new(&engine).instantiate(&mut first, &module)?;
            let mem_a = a.get_memory(&mut first, "memory").unwrap();
            assert!(
                mem_a.data(&first) == &expected[..],
                "{name}: first instance"
            );
            // Write over image bytes and zero bytes, from the host and from wasm.
            mem_a.data_mut(&mut first)[1000..1100].fill(0xAA);
            mem_a.data_mut(&mut first)[100_000] = 0xBB;
            let poke = a.get_func(&mut first, "poke").unwrap();
            poke.call(&mut first, &[Val::I32(70001), Val::I32(0xCC)], &mut [])?;

            let mut second = Store::new(&engine, ());
            let b = Linker::new(&engine).instantiate(&mut second, &module)?;
            let mem_b = b.get_memory(&mut second, "memory").unwrap();
            assert!(
                mem_b.data(&second) == &expected[..],
                "{name}: writes leaked"
            );
            assert_eq!(mem_a.data(&first)[1050], 0xAA);
            assert_eq!(mem_a.data(&first)[70001], 0xCC);
            // Growing keeps the image's bytes and adds zero pages.
            let grow = b.get_func(&mut second, "grow").unwrap();
            let mut out = [Val::I32(0)];
            grow.call(&mut second, &[Val::I32(2)], &mut out)?;
            assert_eq!(out[0].unwrap_i32(), 2, "{name}");
            let grown = mem_b.data(&second);
            assert_eq!(grown.len(), 4 * 65536);
            assert!(grown[..2 * 65536] == expected[..], "{name}: after growth");
            assert!(grown[2 * 65536..].iter().all(|b| *b == 0));
            drop(first);
            let mut third = Store::new(&engine, ());
            let c = Linker::new(&engine).instantiate(&mut third, &module)?;
            let mem_c = c.get_memory(&mut third, "memory").unwrap();
            assert!(
                mem_c.data(&third) == &expected[..],
                "{name}: third instance"
            );
        }
    }
    Ok(())
}

/// A segment past the memory's minimum makes no image: instantiation
/// traps as the spec says, even with enough data for an image.
#[test]
fn out_of_bounds_segments_still_trap() -> keel::Result<()> {
    for (name, engine) in engines() {
        let data = escape(&[7u8; 8192]);
        let wat = format!(
            r#"(module (memory 1) (data (i32.const 0) "{data}") (data (i32.const 65530) "{data}"))"#
        );
        let module = Module::new(&engine, wat)?;
        let mut store = Store::new(&engine, ());
        let err = Linker::new(&engine)
            .instantiate(&mut store, &module)
            .unwrap_err();
        let trap = err.downcast_ref::<Trap>().copied();
        assert_eq!(trap, Some(Trap::MemoryOutOfBounds), "{name}: {err:#}");
    }
    Ok(())
}

/// Offsets that are not constants (an imported global) are copied at
/// instantiation, per instance.
#[test]
fn segments_at_imported_offsets_are_copied() -> keel::Result<()> {
    for (name, engine) in engines() {
        let data = escape(&[9u8; 8192]);
        let wat = format!(
            r#"(module (import "env" "at" (global i32)) (memory (export "memory") 1)
                (data (global.get 0) "{data}"))"#
        );
        let module = Module::new(&engine, wat)?;
        for at in [0, 4096, 30000] {
            let mut store = Store::new(&engine, ());
            let mut linker = Linker::new(&engine);
            let global = keel::Global::new(
                &mut store,
                keel::GlobalType::new(keel::ValType::I32, keel::Mutability::Const),
                Val::I32(at),
            )?;
            linker.define(&mut store, "env", "at", global)?;
            let instance = linker.instantiate(&mut store, &module)?;
            let memory = instance.get_memory(&mut store, "memory").unwrap();
            let bytes = memory.data(&store);
            let at = at as usize;
            assert!(bytes[at..at + 8192].iter().all(|b| *b == 9), "{name}");
            assert!(bytes[..at].iter().all(|b| *b == 0), "{name}");
            assert!(bytes[at + 8192..].iter().all(|b| *b == 0), "{name}");
        }
    }
    Ok(())
}

/// With images on, the hosted platform maps them from a memfd: the
/// mapping shows in /proc/self/maps while an instance lives.
#[test]
fn hosted_images_are_memfd_mappings() -> keel::Result<()> {
    let maps = || std::fs::read_to_string("/proc/self/maps").unwrap();
    let count = |s: &str| s.matches("keel-memory-image").count();
    for cow in [true, false] {
        let mut config = Config::new();
        config.memory_init_cow(cow);
        let engine = Engine::new(&config)?;
        let module = Module::new(&engine, module_text("2"))?;
        let mut stores = Vec::new();
        for _ in 0..8 {
            let mut store = Store::new(&engine, ());
            Linker::new(&engine).instantiate(&mut store, &module)?;
            stores.push(store);
        }
        // Other tests run in parallel and map images too, so compare
        // with a lower bound only when images are on.
        if cow {
            assert!(count(&maps()) >= 8, "no image mappings:\n{}", maps());
        }
    }
    Ok(())
}

/// Many threads instantiate one module and write their own marks: each
/// sees the image and only its own writes.
#[test]
fn instances_on_threads_are_isolated() {
    let engine = Engine::default();
    let module = Module::new(&engine, module_text("2")).unwrap();
    let expected = expected_memory(2);
    std::thread::scope(|s| {
        for t in 0..4u8 {
            let (engine, module, expected) = (&engine, &module, &expected);
            s.spawn(move || {
                for round in 0..50u8 {
                    let mut store = Store::new(engine, ());
                    let instance = Linker::new(engine).instantiate(&mut store, module).unwrap();
                    let memory = instance.get_memory(&mut store, "memory").unwrap();
                    assert!(memory.data(&store) == &expected[..]);
                    let mark = t.wrapping_mul(50).wrapping_add(round);
                    memory.data_mut(&mut store)[2000..3000].fill(mark);
                    assert!(memory.data(&store)[2000..3000].iter().all(|b| *b == mark));
                }
            });
        }
    });
}
