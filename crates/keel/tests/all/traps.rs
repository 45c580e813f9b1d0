//! Traps come back as errors holding a `Trap` with its code and a wasm
//! backtrace; nothing a guest does crashes the host.

use keel::{Config, Engine, Instance, Linker, Module, Store, Trap, Val, WasmBacktrace};
use std::panic::{self, AssertUnwindSafe};

fn engine(guard_pages: bool) -> Engine {
    let mut config = Config::new();
    config.signals_based_traps(guard_pages);
    Engine::new(&config).unwrap()
}

fn trap_code(err: &keel::Error) -> Trap {
    *err.downcast_ref::<Trap>()
        .unwrap_or_else(|| panic!("not a trap: {err:#}"))
}

fn trap_of(wat: &str, export: &str) -> Trap {
    let engine = Engine::default();
    let module = Module::new(&engine, wat).unwrap();
    let mut store = Store::new(&engine, ());
    let instance = Linker::new(&engine)
        .instantiate(&mut store, &module)
        .unwrap();
    let f = instance.get_func(&mut store, export).unwrap();
    trap_code(&f.call(&mut store, &[], &mut []).unwrap_err())
}

#[test]
fn each_trap_code() {
    assert_eq!(
        trap_of(r#"(module (func (export "f") unreachable))"#, "f"),
        Trap::UnreachableCodeReached
    );
    assert_eq!(
        trap_of(
            r#"(module (func (export "f") i32.const 1 i32.const 0 i32.div_s drop))"#,
            "f"
        ),
        Trap::IntegerDivisionByZero
    );
    assert_eq!(
        trap_of(
            r#"(module (func (export "f") i64.const 1 i64.const 0 i64.rem_u drop))"#,
            "f"
        ),
        Trap::IntegerDivisionByZero
    );
    assert_eq!(
        trap_of(
            r#"(module (func (export "f") i32.const 0x80000000 i32.const -1 i32.div_s drop))"#,
            "f"
        ),
        Trap::IntegerOverflow
    );
    assert_eq!(
        trap_of(
            r#"(module (func (export "f") f32.const nan i32.trunc_f32_s drop))"#,
            "f"
        ),
        Trap::BadConversionToInteger
    );
    assert_eq!(
        trap_of(
            r#"(module (func (export "f") f64.const 1e100 i64.trunc_f64_u drop))"#,
            "f"
        ),
        Trap::IntegerOverflow
    );
    assert_eq!(
        trap_of(
            r#"(module (memory 1) (func (export "f") i32.const 65535 i32.load drop))"#,
            "f"
        ),
        Trap::MemoryOutOfBounds
    );
    assert_eq!(
        trap_of(
            r#"(module (table 1 funcref) (func (export "f") i32.const 5 call_indirect))"#,
            "f"
        ),
        Trap::TableOutOfBounds
    );
    assert_eq!(
        trap_of(
            r#"(module (table 1 funcref) (func (export "f") i32.const 0 call_indirect))"#,
            "f"
        ),
        Trap::IndirectCallToNull
    );
    assert_eq!(
        trap_of(
            r#"(module (table 1 funcref) (elem (i32.const 0) $g) (func $g (param i32))
                (func (export "f") i32.const 0 call_indirect))"#,
            "f"
        ),
        Trap::BadSignature
    );
    assert_eq!(
        trap_of(r#"(module (func $f (export "f") call $f))"#, "f"),
        Trap::StackOverflow
    );
}

/// Width in bytes and the load/store instructions of every access width.
const ACCESSES: &[(u32, &str, &str)] = &[
    (1, "i32.load8_u", "i32.store8"),
    (1, "i32.load8_s", "i32.store8"),
    (2, "i32.load16_u", "i32.store16"),
    (2, "i64.load16_s", "i64.store16"),
    (4, "i32.load", "i32.store"),
    (4, "f32.load", "f32.store"),
    (4, "i64.load32_u", "i64.store32"),
    (8, "i64.load", "i64.store"),
    (8, "f64.load", "f64.store"),
    (16, "v128.load", "v128.store"),
];

/// Static offsets: none, small, past one page, past the 2 GiB guard
/// region (explicitly checked even with guard pages), near 4 GiB.
const OFFSETS: &[u64] = &[0, 7, 0x1_0000, 0x8000_0010, 0xffff_fff0];

fn access_module(pages: u32) -> String {
    let mut wat = format!("(module (memory (export \"mem\") {pages})\n");
    for (i, (_, load, store)) in ACCESSES.iter().enumerate() {
        let ty = load.split('.').next().unwrap();
        for (j, offset) in OFFSETS.iter().enumerate() {
            wat += &format!(
                "(func (export \"load{i}_{j}\") (param i32) local.get 0 {load} offset={offset} drop)\n\
                 (func (export \"store{i}_{j}\") (param i32) local.get 0 {ones} {store} offset={offset})\n",
                ones = match ty {
                    "v128" => "v128.const i64x2 -1 -1",
                    "f32" => "f32.const -nan:0x7fffff",
                    "f64" => "f64.const -nan:0xfffffffffffff",
                    "i64" => "i64.const -1",
                    _ => "i32.const -1",
                },
            );
        }
    }
    wat + ")"
}

#[test]
fn out_of_bounds_accesses_of_every_width_trap_in_both_modes() {
    for guard_pages in [true, false] {
        let engine = engine(guard_pages);
        for pages in [0u32, 1, 2] {
            let module = Module::new(&engine, access_module(pages)).unwrap();
            let mut store = Store::new(&engine, ());
            let instance = Linker::new(&engine)
                .instantiate(&mut store, &module)
                .unwrap();
            let memory = instance.get_memory(&mut store, "mem").unwrap();
            let size = i64::from(pages) * 65536;
            for (i, (width, load, store_op)) in ACCESSES.iter().enumerate() {
                for (j, offset) in OFFSETS.iter().enumerate() {
                    let load_f = instance
                        .get_func(&mut store, &format!("load{i}_{j}"))
                        .unwrap();
                    let store_f = instance
                        .get_func(&mut store, &format!("store{i}_{j}"))
                        .unwrap();
                    for addr in size - 16..=size + 16 {
                        let index = addr as i32;
                        // The effective address is the index as an
                        // unsigned 32-bit value plus the static offset.
                        let ea = u64::from(index as u32) + offset;
                        let in_bounds = ea + u64::from(*width) <= size as u64;
                        let before = memory.data(&store).to_vec();
                        let what = format!(
                            "{store_op}/{load} offset={offset} at {index} in {pages} pages (guard pages: {guard_pages})"
                        );
                        let loaded = load_f.call(&mut store, &[Val::I32(index)], &mut []);
                        let stored = store_f.call(&mut store, &[Val::I32(index)], &mut []);
                        if in_bounds {
                            loaded.unwrap_or_else(|e| panic!("{what}: load: {e:#}"));
                            stored.unwrap_or_else(|e| panic!("{what}: store: {e:#}"));
                            let after = memory.data(&store);
                            let ea = ea as usize;
                            assert!(
                                after[ea..ea + *width as usize].iter().all(|b| *b == 0xff),
                                "{what}"
                            );
                            // Restore for the next comparison.
                            memory.data_mut(&mut store)[ea..ea + *width as usize]
                                .copy_from_slice(&before[ea..ea + *width as usize]);
                        } else {
                            assert_eq!(
                                trap_code(&loaded.unwrap_err()),
                                Trap::MemoryOutOfBounds,
                                "{what}"
                            );
                            assert_eq!(
                                trap_code(&stored.unwrap_err()),
                                Trap::MemoryOutOfBounds,
                                "{what}"
                            );
                            assert!(
                                memory.data(&store) == before.as_slice(),
                                "{what}: a trapping store wrote memory"
                            );
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn recursion_to_exhaustion_traps_and_the_store_survives() {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module
            (func $down (export "down") (param i64) (result i64)
              local.get 0 i64.const 1 i64.add call $down)
            (func (export "ok") (result i32) i32.const 7))"#,
    )
    .unwrap();
    let mut store = Store::new(&engine, ());
    let instance = Linker::new(&engine)
        .instantiate(&mut store, &module)
        .unwrap();
    let down = instance
        .get_typed_func::<i64, i64>(&mut store, "down")
        .unwrap();
    for _ in 0..3 {
        let err = down.call(&mut store, 0).unwrap_err();
        assert_eq!(trap_code(&err), Trap::StackOverflow);
        let bt = err.downcast_ref::<WasmBacktrace>().unwrap();
        assert_eq!(bt.frames().len(), keel_trap::MAX_FRAMES);
    }
    let ok = instance
        .get_typed_func::<(), i32>(&mut store, "ok")
        .unwrap();
    assert_eq!(ok.call(&mut store, ()).unwrap(), 7);
}

#[test]
fn recursion_through_host_frames_traps() {
    // host -> wasm -> host -> wasm -> ... until the stack limit.
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module
            (import "h" "again" (func $again (param i32) (result i32)))
            (func (export "enter") (param i32) (result i32)
              local.get 0 i32.const 1 i32.add call $again))"#,
    )
    .unwrap();
    let mut store = Store::new(&engine, ());
    let mut linker = Linker::new(&engine);
    linker
        .func_wrap(
            "h",
            "again",
            |mut caller: keel::Caller<'_, ()>, depth: i32| -> keel::Result<i32> {
                let enter = caller.get_export("enter").unwrap().into_func().unwrap();
                let mut out = [Val::I32(0)];
                enter.call(&mut caller, &[Val::I32(depth)], &mut out)?;
                Ok(out[0].unwrap_i32())
            },
        )
        .unwrap();
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let enter = instance
        .get_typed_func::<i32, i32>(&mut store, "enter")
        .unwrap();
    let err = enter.call(&mut store, 0).unwrap_err();
    assert_eq!(trap_code(&err), Trap::StackOverflow);
    assert_eq!(
        enter.call(&mut store, -1000).map_err(|e| trap_code(&e)),
        Err(Trap::StackOverflow)
    );
}

#[test]
fn reentrant_calls_nest_a_thousand_deep() {
    // Each host -> wasm -> host level costs about 1.3-1.6 KiB of stack
    // (host closure, `Func::call`, `catch_traps`, trampolines), so 1,000
    // levels fit in a 2 MiB limit on an 8 MiB thread (a main thread's size).
    std::thread::Builder::new()
        .stack_size(8 << 20)
        .spawn(|| {
            let mut config = Config::new();
            config.max_wasm_stack(2 << 20);
            let engine = Engine::new(&config).unwrap();
            let module = Module::new(
                &engine,
                r#"(module
                    (import "h" "down" (func $down (param i32) (result i32)))
                    (func (export "f") (param i32) (result i32)
                      local.get 0 i32.eqz
                      if (result i32) i32.const 0
                      else local.get 0 i32.const 1 i32.sub call $down i32.const 1 i32.add end))"#,
            )
            .unwrap();
            let mut store = Store::new(&engine, ());
            let mut linker = Linker::new(&engine);
            linker
                .func_wrap(
                    "h",
                    "down",
                    |mut caller: keel::Caller<'_, ()>, n: i32| -> keel::Result<i32> {
                        let f = caller.get_export("f").unwrap().into_func().unwrap();
                        f.typed::<i32, i32>(&caller)?.call(&mut caller, n)
                    },
                )
                .unwrap();
            let instance = linker.instantiate(&mut store, &module).unwrap();
            let f = instance
                .get_typed_func::<i32, i32>(&mut store, "f")
                .unwrap();
            assert_eq!(f.call(&mut store, 1000).unwrap(), 1000);
        })
        .unwrap()
        .join()
        .unwrap();
}

#[test]
fn host_panic_resumes_in_the_caller() {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module (import "h" "p" (func $p (param i32)))
            (func $inner (param i32) local.get 0 call $p)
            (func (export "f") (param i32) local.get 0 call $inner))"#,
    )
    .unwrap();
    let mut store = Store::new(&engine, ());
    let mut linker = Linker::new(&engine);
    linker
        .func_wrap("h", "p", |x: i32| {
            if x == 1 {
                panic!("host panic {x}");
            }
        })
        .unwrap();
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let f = instance.get_typed_func::<i32, ()>(&mut store, "f").unwrap();
    let payload = panic::catch_unwind(AssertUnwindSafe(|| f.call(&mut store, 1))).unwrap_err();
    assert_eq!(
        payload.downcast_ref::<String>().map(String::as_str),
        Some("host panic 1")
    );
    // The store and the thread are still fine.
    f.call(&mut store, 0).unwrap();
}

#[test]
fn host_error_three_wasm_frames_deep_has_a_named_backtrace() {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module $app
            (import "h" "fail" (func $fail))
            (func $c call $fail)
            (func $b call $c)
            (func $a (export "a") call $b))"#,
    )
    .unwrap();
    let mut store = Store::new(&engine, ());
    let mut linker = Linker::new(&engine);
    linker
        .func_wrap("h", "fail", || -> keel::Result<()> {
            Err(anyhow::anyhow!("boom"))
        })
        .unwrap();
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let a = instance.get_typed_func::<(), ()>(&mut store, "a").unwrap();
    let err = a.call(&mut store, ()).unwrap_err();
    // The host's error is the source; the backtrace is its context.
    assert_eq!(err.root_cause().to_string(), "boom");
    let bt = err.downcast_ref::<WasmBacktrace>().expect("a backtrace");
    let names: Vec<_> = bt.frames().iter().map(|f| f.func_name.as_deref()).collect();
    assert_eq!(names, [Some("c"), Some("b"), Some("a")]);
    assert!(
        bt.frames()
            .iter()
            .all(|f| f.module_name.as_deref() == Some("app"))
    );
    assert!(bt.frames().iter().all(|f| f.module_offset.is_some()));
    let shown = format!("{err:?}");
    assert!(
        shown.contains("app!c") && shown.contains("app!a") && shown.contains("boom"),
        "{shown}"
    );
    // The store is usable and the error repeats.
    assert_eq!(
        a.call(&mut store, ()).unwrap_err().root_cause().to_string(),
        "boom"
    );
}

#[test]
fn wasm_trap_backtrace_points_at_the_trapping_instruction() {
    let engine = Engine::default();
    let wat = r#"(module
        (func $div (param i32 i32) (result i32) local.get 0 local.get 1 i32.div_u)
        (func (export "main") (param i32) (result i32) i32.const 10 local.get 0 call $div))"#;
    let wasm = wat::parse_str(wat).unwrap();
    let module = Module::new(&engine, &wasm).unwrap();
    let mut store = Store::new(&engine, ());
    let instance = Linker::new(&engine)
        .instantiate(&mut store, &module)
        .unwrap();
    let main = instance
        .get_typed_func::<i32, i32>(&mut store, "main")
        .unwrap();
    assert_eq!(main.call(&mut store, 2).unwrap(), 5);
    let err = main.call(&mut store, 0).unwrap_err();
    assert_eq!(trap_code(&err), Trap::IntegerDivisionByZero);
    let frames = err
        .downcast_ref::<WasmBacktrace>()
        .unwrap()
        .frames()
        .to_vec();
    assert_eq!(frames.len(), 2);
    assert_eq!(
        (frames[0].func_index, frames[0].func_name.as_deref()),
        (0, Some("div"))
    );
    assert_eq!(
        (frames[1].func_index, frames[1].func_name.as_deref()),
        (1, None)
    );
    // Offsets point at `i32.div_u` (0x6e) and `call` (0x10) in the binary.
    assert_eq!(wasm[frames[0].module_offset.unwrap() as usize], 0x6e);
    assert_eq!(wasm[frames[1].module_offset.unwrap() as usize], 0x10);
    // Both bodies are a locals count (0) and four bytes of operators
    // before the trapping one.
    assert_eq!(frames[0].func_offset, Some(5));
    assert_eq!(frames[1].func_offset, Some(5));
    // The store holds one instance of the module: the frames ran there.
    assert_eq!(Instance::of_frame(&store, &frames[0]), Some(instance));
    // A second instance makes it ambiguous; another module's instance
    // does not.
    let other = Module::new(&engine, "(module)").unwrap();
    Instance::new(&mut store, &other, &[]).unwrap();
    assert_eq!(Instance::of_frame(&store, &frames[1]), Some(instance));
    Instance::new(&mut store, &module, &[]).unwrap();
    assert_eq!(Instance::of_frame(&store, &frames[1]), None);
    // Another store does not hold it at all.
    assert_eq!(
        Instance::of_frame(Store::new(&engine, ()), &frames[0]),
        None
    );
}

#[test]
fn four_threads_trap_concurrently() {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module (memory 1)
            (func (export "oob") (param i32) (result i32) local.get 0 i32.load)
            (func (export "div") (param i32) (result i32) i32.const 1 local.get 0 i32.div_s)
            (func $r (export "rec") (param i32) (result i32) local.get 0 call $r)
            (func (export "ok") (param i32) (result i32) local.get 0 i32.const 1 i32.add))"#,
    )
    .unwrap();
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let engine = engine.clone();
            let module = module.clone();
            std::thread::spawn(move || {
                let mut store = Store::new(&engine, ());
                let instance = Linker::new(&engine)
                    .instantiate(&mut store, &module)
                    .unwrap();
                let (name, arg, code) = [
                    ("oob", 70_000, Trap::MemoryOutOfBounds),
                    ("div", 0, Trap::IntegerDivisionByZero),
                    ("rec", 0, Trap::StackOverflow),
                    ("oob", -4, Trap::MemoryOutOfBounds),
                ][t];
                let f = instance
                    .get_typed_func::<i32, i32>(&mut store, name)
                    .unwrap();
                let ok = instance
                    .get_typed_func::<i32, i32>(&mut store, "ok")
                    .unwrap();
                for i in 0..200 {
                    assert_eq!(trap_code(&f.call(&mut store, arg).unwrap_err()), code);
                    assert_eq!(ok.call(&mut store, i).unwrap(), i + 1);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
}

/// Runs in a child process (see `host_crash_stays_a_crash`): a segfault
/// in a host function called from wasm is not a wasm trap.
#[test]
fn host_crash_child() {
    if std::env::var_os("KEEL_HOST_CRASH_CHILD").is_none() {
        return;
    }
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module (import "h" "crash" (func $c)) (func (export "f") call $c))"#,
    )
    .unwrap();
    let mut store = Store::new(&engine, ());
    let mut linker = Linker::new(&engine);
    linker
        .func_wrap("h", "crash", || {
            let null = std::hint::black_box(std::ptr::null_mut::<u32>());
            // SAFETY: deliberately not: this test checks that a host
            // fault kills the process instead of becoming a trap.
            unsafe { null.write_volatile(1) };
        })
        .unwrap();
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let f = instance.get_typed_func::<(), ()>(&mut store, "f").unwrap();
    let _ = f.call(&mut store, ());
    unreachable!("the host fault should have killed the process");
}

#[test]
#[cfg(target_os = "linux")]
fn host_crash_stays_a_crash() {
    use std::os::unix::process::ExitStatusExt;
    let status = crate::rerun::this_test_binary()
        .args([
            "--exact",
            "traps::host_crash_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("KEEL_HOST_CRASH_CHILD", "1")
        .stderr(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap();
    // SIGSEGV on Linux.
    assert_eq!(status.signal(), Some(11), "{status:?}");
}

/// Found by the `differential` fuzz target: an element segment that fits
/// no table (offset 2^32 - 1, even with no items) must fail instantiation
/// with a trap (spec:
/// [Instantiation](https://webassembly.github.io/spec/core/exec/modules.html#instantiation)
/// applies it with `table.init`, which checks bounds), and the store must
/// stay usable.
#[test]
fn fuzz_differential_elem_segment_past_the_table_traps() {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module (table 0 funcref) (elem (i32.const -1)) (func (export "f") (result i32) i32.const 1))"#,
    )
    .unwrap();
    let mut store = Store::new(&engine, ());
    let err = Linker::new(&engine)
        .instantiate(&mut store, &module)
        .unwrap_err();
    assert_eq!(trap_code(&err), Trap::TableOutOfBounds);
    let ok = Module::new(
        &engine,
        r#"(module (table 1 funcref) (elem (i32.const 1)))"#,
    )
    .unwrap();
    Linker::new(&engine).instantiate(&mut store, &ok).unwrap();
}

/// Found by the `differential` fuzz target: `table.grow` by nearly 2^32
/// elements on a table without a maximum tried to allocate 4 GB and would
/// abort the host. Growth past keel's table limit fails with -1; a table
/// declared larger than the limit fails instantiation with an error.
#[test]
fn fuzz_differential_huge_table_growth_fails_instead_of_aborting() {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module (table 1 funcref)
            (func (export "grow") (param i32) (result i32) ref.null func local.get 0 table.grow 0)
            (func (export "size") (result i32) table.size 0))"#,
    )
    .unwrap();
    let mut store = Store::new(&engine, ());
    let instance = Linker::new(&engine)
        .instantiate(&mut store, &module)
        .unwrap();
    let grow = instance
        .get_typed_func::<i32, i32>(&mut store, "grow")
        .unwrap();
    let size = instance
        .get_typed_func::<(), i32>(&mut store, "size")
        .unwrap();
    assert_eq!(grow.call(&mut store, -3).unwrap(), -1);
    assert_eq!(grow.call(&mut store, 100).unwrap(), 1);
    assert_eq!(size.call(&mut store, ()).unwrap(), 101);

    let huge = Module::new(&engine, "(module (table 0xffffffff funcref))").unwrap();
    let err = Linker::new(&engine)
        .instantiate(&mut store, &huge)
        .unwrap_err();
    assert!(err.to_string().contains("exceeds keel's limit"), "{err:#}");
}

/// Issue 10 ("Aborts"): recursion on a thread whose stack is smaller than
/// `max_wasm_stack` (512 KiB by default) must trap, not overflow the host
/// stack and abort the process.
#[test]
fn recursion_on_a_small_thread_stack_traps() {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module
             (func $f (export "f") (param i64) (result i64)
               local.get 0 i64.const 1 i64.add call $f))"#,
    )
    .unwrap();
    for stack_size in [128 * 1024, 256 * 1024, 400 * 1024] {
        let (engine, module) = (engine.clone(), module.clone());
        let code = std::thread::Builder::new()
            .stack_size(stack_size)
            .spawn(move || {
                let mut store = Store::new(&engine, ());
                let instance = Linker::new(&engine)
                    .instantiate(&mut store, &module)
                    .unwrap();
                let f = instance
                    .get_typed_func::<i64, i64>(&mut store, "f")
                    .unwrap();
                trap_code(&f.call(&mut store, 0).unwrap_err())
            })
            .unwrap()
            .join()
            .unwrap();
        assert_eq!(code, Trap::StackOverflow, "stack of {stack_size} bytes");
    }
}
