//! Ahead-of-time artifacts: `Engine::precompile_module`,
//! `Module::serialize` and the three ways to load them.

use keel::{ArtifactError, Config, Engine, Func, Instance, Linker, Module, Store, Trap};

#[path = "support/rerun.rs"]
mod rerun;

const FIB: &str = r#"(module
  (func $fib (export "fib") (param i32) (result i32)
    local.get 0 i32.const 2 i32.lt_u
    if (result i32) local.get 0
    else
      local.get 0 i32.const 1 i32.sub call $fib
      local.get 0 i32.const 2 i32.sub call $fib
      i32.add
    end))"#;

fn run_fib(engine: &Engine, module: &Module, n: i32) -> i32 {
    let mut store = Store::new(engine, ());
    let instance = Linker::new(engine).instantiate(&mut store, module).unwrap();
    let fib = instance
        .get_typed_func::<i32, i32>(&mut store, "fib")
        .unwrap();
    fib.call(&mut store, n).unwrap()
}

#[test]
fn precompiled_and_serialized_modules_run() {
    let engine = Engine::default();
    let artifact = engine.precompile_module(FIB.as_bytes()).unwrap();
    assert_eq!(&artifact[..4], b"\x7fELF");
    // SAFETY: keel just wrote these bytes.
    let module = unsafe { Module::deserialize(&engine, &artifact) }.unwrap();
    assert_eq!(run_fib(&engine, &module, 25), 75025);

    let compiled = Module::new(&engine, FIB).unwrap();
    let serialized = compiled.serialize().unwrap();
    assert_eq!(
        serialized, artifact,
        "serialize writes what precompile_module writes"
    );
    // A deserialized module serializes to the same bytes again.
    assert_eq!(module.serialize().unwrap(), artifact);

    let path = std::env::temp_dir().join(format!("keel-fib-{}.cwasm", std::process::id()));
    std::fs::write(&path, &artifact).unwrap();
    // SAFETY: as above.
    let from_file = unsafe { Module::deserialize_file(&engine, &path) }.unwrap();
    std::fs::remove_file(&path).unwrap();
    assert_eq!(run_fib(&engine, &from_file, 20), 6765);
}

/// A page-aligned buffer, as a kernel would place an artifact.
#[repr(C, align(4096))]
struct Aligned<const N: usize>([u8; N]);

#[test]
fn deserialize_raw_runs_code_in_place() {
    let engine = Engine::default();
    let artifact = engine.precompile_module(FIB.as_bytes()).unwrap();
    assert!(artifact.len() <= 64 * 1024);
    let aligned: &'static mut Aligned<{ 64 * 1024 }> = Box::leak(Box::new(Aligned([0; 64 * 1024])));
    aligned.0[..artifact.len()].copy_from_slice(&artifact);
    let bytes: &'static [u8] = &aligned.0[..artifact.len()];
    // Make the page(s) executable, as a kernel's linker script would.
    let page = bytes.as_ptr() as usize;
    // SAFETY: the leaked buffer is ours for the rest of the program and
    // never written again.
    let r = unsafe {
        libc::mprotect(
            page as *mut libc::c_void,
            bytes.len().next_multiple_of(4096),
            libc::PROT_READ | libc::PROT_EXEC,
        )
    };
    assert_eq!(r, 0);
    // SAFETY: keel wrote the bytes; they are executable and never written.
    let module = unsafe { Module::deserialize_raw(&engine, bytes) }.unwrap();
    assert_eq!(run_fib(&engine, &module, 25), 75025);

    // Misaligned code is refused, not run.
    let misaligned: &'static [u8] = Box::leak(vec![0u8; artifact.len() + 1].into_boxed_slice());
    let misaligned = {
        let start = if (misaligned.as_ptr() as usize).is_multiple_of(2) {
            1
        } else {
            0
        };
        let buf = &misaligned[start..start + artifact.len()];
        // SAFETY: the leaked buffer is only written here, before any use.
        unsafe {
            std::ptr::copy_nonoverlapping(
                artifact.as_ptr(),
                buf.as_ptr().cast_mut(),
                artifact.len(),
            )
        };
        buf
    };
    // SAFETY: refused before any code runs.
    let err = unsafe { Module::deserialize_raw(&engine, misaligned) }.unwrap_err();
    assert!(err.to_string().contains("not aligned"), "{err:#}");
}

#[test]
fn traps_and_backtraces_work_in_loaded_code() {
    let wat = r#"(module
      (func $inner (param i32) (result i32) local.get 0 i32.const 0 i32.div_s)
      (func (export "outer") (param i32) (result i32) local.get 0 call $inner)
      (func (export "oob") (result i32) i32.const 70000 i32.load)
      (memory 1))"#;
    let engine = Engine::default();
    let artifact = engine.precompile_module(wat.as_bytes()).unwrap();
    // SAFETY: keel wrote the bytes.
    let module = unsafe { Module::deserialize(&engine, &artifact) }.unwrap();
    let mut store = Store::new(&engine, ());
    let instance = Linker::new(&engine)
        .instantiate(&mut store, &module)
        .unwrap();
    let outer = instance
        .get_typed_func::<i32, i32>(&mut store, "outer")
        .unwrap();
    let err = outer.call(&mut store, 7).unwrap_err();
    let trap = err.downcast_ref::<Trap>().unwrap();
    assert_eq!(*trap, Trap::IntegerDivisionByZero);
    let bt = err.downcast_ref::<keel::WasmBacktrace>().unwrap();
    let indices: Vec<u32> = bt.frames().iter().map(|f| f.func_index).collect();
    assert_eq!(indices, [0, 1], "{err:?}");
    let oob = instance
        .get_typed_func::<(), i32>(&mut store, "oob")
        .unwrap();
    let err = oob.call(&mut store, ()).unwrap_err();
    assert_eq!(
        err.downcast_ref::<Trap>().copied().unwrap(),
        Trap::MemoryOutOfBounds
    );
}

/// Host functions called from loaded code, with the engine unable to
/// compile trampolines (as without the `compiler` feature): directly as
/// imports, and through `call_indirect` of a table the host filled with a
/// function created before the module was loaded.
#[test]
fn host_functions_use_the_artifacts_trampolines() {
    let wat = r#"(module
      (import "host" "add" (func $add (param i32 i32) (result i32)))
      (type $t (func (param i64) (result i64)))
      (table (export "table") 1 funcref)
      (func (export "direct") (param i32) (result i32) local.get 0 i32.const 10 call $add)
      (func (export "indirect") (param i64) (result i64)
        local.get 0 i32.const 0 call_indirect (type $t)))"#;
    let mut config = Config::new();
    config.host_trampolines_from_artifacts_only(true);
    let compiler = Engine::new(&config).unwrap();
    let artifact = compiler.precompile_module(wat.as_bytes()).unwrap();

    let engine = Engine::new(&config).unwrap();
    let mut store = Store::new(&engine, ());
    // Created before any module of this engine is loaded: no trampoline yet.
    let double = Func::wrap(&mut store, |x: i64| x * 2);
    let add = Func::wrap(&mut store, |a: i32, b: i32| a + b);
    // SAFETY: keel wrote the bytes.
    let module = unsafe { Module::deserialize(&engine, &artifact) }.unwrap();
    let mut linker = Linker::new(&engine);
    linker.define(&store, "host", "add", add).unwrap();
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let direct = instance
        .get_typed_func::<i32, i32>(&mut store, "direct")
        .unwrap();
    assert_eq!(direct.call(&mut store, 5).unwrap(), 15);
    let table = instance.get_table(&mut store, "table").unwrap();
    table.set(&mut store, 0, double.into()).unwrap();
    let indirect = instance
        .get_typed_func::<i64, i64>(&mut store, "indirect")
        .unwrap();
    assert_eq!(indirect.call(&mut store, 21).unwrap(), 42);
    // A host function created after the module was loaded gets the
    // trampoline at once.
    let triple = Func::wrap(&mut store, |x: i64| x * 3);
    table.set(&mut store, 0, triple.into()).unwrap();
    assert_eq!(indirect.call(&mut store, 5).unwrap(), 15);
}

/// Trampolines are per distinct signature: a million types of two
/// signatures, a thousand imports and a hundred `call_indirect`s give two.
#[test]
fn a_million_duplicate_types_get_one_trampoline_per_signature() {
    use wasm_encoder::{
        CodeSection, EntityType, Function, FunctionSection, ImportSection, Instruction,
        Module as Encoder, RefType, TableSection, TableType, TypeSection, ValType,
    };
    let param = |i: u32| {
        if i.is_multiple_of(2) {
            ValType::I32
        } else {
            ValType::I64
        }
    };
    let mut types = TypeSection::new();
    for i in 0..1_000_000u32 {
        types.ty().function([param(i)], []);
    }
    let mut imports = ImportSection::new();
    for i in 0..1000u32 {
        imports.import("host", &format!("f{i}"), EntityType::Function(i));
    }
    let mut functions = FunctionSection::new();
    functions.function(0);
    let mut tables = TableSection::new();
    tables.table(TableType {
        element_type: RefType::FUNCREF,
        table64: false,
        minimum: 1,
        maximum: None,
        shared: false,
    });
    let mut f = Function::new([]);
    for ty in 0..100u32 {
        f.instruction(&if ty % 2 == 0 {
            Instruction::I32Const(0)
        } else {
            Instruction::I64Const(0)
        });
        f.instruction(&Instruction::I32Const(0));
        f.instruction(&Instruction::CallIndirect {
            type_index: ty,
            table_index: 0,
        });
    }
    f.instruction(&Instruction::End);
    let mut code = CodeSection::new();
    code.function(&f);
    let mut module = Encoder::new();
    module.section(&types);
    module.section(&imports);
    module.section(&functions);
    module.section(&tables);
    module.section(&code);
    let engine = Engine::default();
    let artifact = engine.precompile_module(&module.finish()).unwrap();
    let file = keel_vm::artifact::ArtifactFile::parse(&artifact).unwrap();
    let (_, text) = file.load().unwrap();
    let mut signatures: Vec<String> = text
        .wasm_to_array_trampolines
        .iter()
        .map(|(ty, _)| ty.to_string())
        .collect();
    signatures.sort();
    assert_eq!(signatures, ["(func (param i32))", "(func (param i64))"]);
}

#[test]
fn settings_that_differ_are_named_with_both_values() {
    let mut fuel = Config::new();
    fuel.consume_fuel(true).memory_guard_size(1 << 20);
    let artifact = Engine::new(&fuel)
        .unwrap()
        .precompile_module(FIB.as_bytes())
        .unwrap();
    let engine = Engine::default();
    // SAFETY: refused before any code runs.
    let err = unsafe { Module::deserialize(&engine, &artifact) }.unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains("consume_fuel: artifact true, engine false"),
        "{message}"
    );
    assert!(
        message.contains("memory_guard_size: artifact 1048576, engine 2147483648"),
        "{message}"
    );
    // The same, typed: each mismatch by name, with both values.
    match err.downcast_ref::<ArtifactError>() {
        Some(ArtifactError::Settings(mismatches)) => {
            assert!(
                mismatches.iter().any(|(name, artifact, engine)| {
                    name == "consume_fuel" && artifact == "true" && engine == "false"
                }),
                "{mismatches:?}"
            );
        }
        other => panic!("{other:?}"),
    }

    // An artifact for the other architecture names both.
    let foreign = if cfg!(target_arch = "riscv64") {
        "x86_64-unknown-linux-gnu"
    } else {
        "riscv64gc-unknown-linux-gnu"
    };
    let mut other = Config::new();
    other.target(foreign).unwrap();
    if foreign.starts_with("x86_64") {
        // The SSE levels x86_64 SIMD needs, which a bare triple lacks.
        for feature in ["has_sse3", "has_ssse3", "has_sse41", "has_sse42"] {
            other.cranelift_flag_enable(feature).unwrap();
        }
    }
    let artifact = Engine::new(&other)
        .unwrap()
        .precompile_module(FIB.as_bytes())
        .unwrap();
    // SAFETY: refused before any code runs.
    let err = unsafe { Module::deserialize(&engine, &artifact) }.unwrap_err();
    let message = err.to_string();
    let expected = format!(
        "target: artifact {foreign}, engine {}",
        std::env::consts::ARCH
    );
    assert!(message.contains(&expected), "{message}");
    assert!(
        matches!(
            err.downcast_ref::<ArtifactError>(),
            Some(ArtifactError::Target { artifact, .. }) if artifact == foreign
        ),
        "{err:?}"
    );
    // The target alone: another architecture's CPU features and settings
    // do not compare.
    assert!(!message.contains("ISA setting"), "{message}");
}

/// An artifact of another keel build (same version, other sources) is
/// refused as stale, naming both builds, and before anything after the
/// build identity is decoded: another build's layout is not corruption.
#[test]
fn artifacts_of_another_build_are_stale() {
    let engine = Engine::default();
    let artifact = engine.precompile_module(FIB.as_bytes()).unwrap();
    let prefix = format!("{}+", env!("CARGO_PKG_VERSION"));
    let at = artifact
        .windows(prefix.len())
        .position(|w| w == prefix.as_bytes())
        .expect("the artifact records the keel build");
    // The build id is the run of hex digits (or `release`) after `+`.
    let id = at + prefix.len();
    let mut other = artifact.clone();
    other[id] = if other[id] == b'0' { b'1' } else { b'0' };
    // SAFETY: refused before any code runs.
    let err = unsafe { Module::deserialize(&engine, &other) }.unwrap_err();
    let message = err.to_string();
    assert!(
        message.starts_with("stale artifact: written by keel 0."),
        "{message}"
    );
    assert!(
        matches!(
            err.downcast_ref::<ArtifactError>(),
            Some(ArtifactError::Build { .. })
        ),
        "{err:?}"
    );
    // The settings after the build identity in another layout: still
    // stale, not undecodable: 48 bytes of 0xff after the 16-digit id.
    let end = id + 16;
    for b in &mut other[end..end + 48] {
        *b = 0xff;
    }
    // SAFETY: refused before any code runs.
    let err = unsafe { Module::deserialize(&engine, &other) }.unwrap_err();
    assert!(
        matches!(
            err.downcast_ref::<ArtifactError>(),
            Some(ArtifactError::Build { .. })
        ),
        "{err:?}"
    );
}

/// An artifact validated with fewer WebAssembly features loads into an
/// engine with more (what a riscv64 artifact compiled without the V
/// extension, so without SIMD, meets on a riscv64 machine with V), and
/// not the other way round.
#[test]
fn artifacts_need_a_subset_of_the_engines_features() {
    const PLAIN: &str = r#"(module (func (export "f") (result i32) i32.const 7))"#;
    let mut without_simd = Config::new();
    without_simd.wasm_simd(false).wasm_relaxed_simd(false);
    let narrow = Engine::new(&without_simd).unwrap();
    let wide = Engine::default();

    let artifact = narrow.precompile_module(PLAIN.as_bytes()).unwrap();
    // SAFETY: keel wrote the artifact for this machine.
    let module = unsafe { Module::deserialize(&wide, &artifact) }.unwrap();
    let mut store = Store::new(&wide, ());
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    let f = instance.get_typed_func::<(), i32>(&mut store, "f").unwrap();
    assert_eq!(f.call(&mut store, ()).unwrap(), 7);

    let artifact = wide.precompile_module(PLAIN.as_bytes()).unwrap();
    // SAFETY: refused before any code runs.
    let err = unsafe { Module::deserialize(&narrow, &artifact) }.unwrap_err();
    let message = err.to_string();
    assert!(message.contains("wasm features: artifact"), "{message}");
    assert!(message.contains("lacks"), "{message}");
}

/// Every truncation and every single-bit flip outside the machine code
/// gives `Ok` or `Err`, never a panic or an out-of-bounds read.
#[test]
fn truncated_or_corrupted_artifacts_are_errors() {
    let engine = Engine::default();
    let wat = r#"(module (memory 1) (data (i32.const 0) "hi")
        (global (mut i32) (i32.const 7)) (table 2 funcref) (elem (i32.const 0) $f)
        (func $f (export "f") (param i32) (result i32) local.get 0 i32.const 3 i32.div_u))"#;
    let artifact = engine.precompile_module(wat.as_bytes()).unwrap();
    let file = keel_vm::artifact::ArtifactFile::parse(&artifact).unwrap();
    let code = file.code.as_ptr() as usize - artifact.as_ptr() as usize;
    let code = code..code + file.code.len();
    for len in 0..artifact.len() {
        // SAFETY: the code of a truncated artifact is never run here.
        if let Ok(m) = unsafe { Module::deserialize(&engine, &artifact[..len]) } {
            drop(m);
        }
    }
    let mut errors = 0;
    for byte in (0..artifact.len()).filter(|i| !code.contains(i)) {
        for bit in 0..8 {
            let mut bytes = artifact.clone();
            bytes[byte] ^= 1 << bit;
            // SAFETY: the machine code is unchanged; a flip elsewhere is
            // either refused or gives metadata that passed every check.
            if unsafe { Module::deserialize(&engine, &bytes) }.is_err() {
                errors += 1;
            }
        }
    }
    assert!(errors > 0);
    for bad in [&b""[..], b"\x7fELF", b"\0asm\x01\0\0\0", &[0xff; 64]] {
        // SAFETY: refused before any code runs.
        let err = unsafe { Module::deserialize(&engine, bad) }.unwrap_err();
        assert!(err.to_string().contains("invalid keel artifact"), "{err:#}");
        assert!(err.downcast_ref::<ArtifactError>().is_some(), "{err:?}");
    }
    // SAFETY: refused before any code runs.
    let err = unsafe { Module::deserialize(&engine, b"\0asm\x01\0\0\0") }.unwrap_err();
    assert_eq!(err.downcast_ref(), Some(&ArtifactError::BadMagic));
}

/// A module that uses everything an artifact's metadata describes:
/// WASI-like function imports (two signatures), a memory with a data
/// segment, globals (one set by the start function), a table filled by an
/// active segment and called through with `call_indirect`, a declared
/// `ref.func`, tags, `try_table` with `catch`, `catch_ref`, `catch_all`
/// and `catch_all_ref`, `throw`, `throw_ref`, an `exnref` live across a
/// call (a stack map), and operators that trap (so that the calls of
/// [`EVERYTHING_CALLS`] use the trap table and the address map).
const EVERYTHING: &str = r#"(module
  (type $binop (func (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "clock_time_get"
    (func $clock_time_get (param i32 i64 i32) (result i32)))
  (tag $small (export "small") (param i32))
  (tag $big (param i64 i32))
  (tag $empty)
  (memory (export "memory") 1)
  (data (i32.const 64) "hello from keel\n")
  (global $calls (mut i32) (i32.const 0))
  (global $acc (export "acc") (mut i64) (i64.const 100))
  (global $k i32 (i32.const 7))
  (table $ops (export "ops") 8 funcref)
  (elem (table $ops) (i32.const 0) func $add $sub $mul $raise)
  (elem declare func $div)
  (func $add (type $binop)
    (global.set $calls (i32.add (global.get $calls) (i32.const 1)))
    (i32.add (local.get 0) (local.get 1)))
  (func $sub (type $binop) (i32.sub (local.get 0) (local.get 1)))
  (func $mul (type $binop) (i32.mul (local.get 0) (local.get 1)))
  (func $raise (type $binop) (throw $small (i32.add (local.get 0) (local.get 1))))
  (func $div (type $binop) (i32.div_s (local.get 0) (local.get 1)))
  (func (export "apply") (param $op i32) (param $a i32) (param $b i32) (result i32)
    (block $caught (result i32)
      (try_table (result i32) (catch $small $caught)
        (call_indirect $ops (type $binop) (local.get $a) (local.get $b) (local.get $op)))
      (return))
    (i32.const 1000)
    (i32.add))
  (func (export "divide") (param i32 i32) (result i32)
    (table.set $ops (i32.const 4) (ref.func $div))
    (call_indirect $ops (type $binop) (local.get 0) (local.get 1) (i32.const 4)))
  (func $wrap (param $x i64) (result exnref)
    (block $h (result exnref)
      (try_table (catch_all_ref $h)
        (throw $big (local.get $x) (i32.const 3)))
      (unreachable)))
  (func (export "rethrow") (param $x i64) (result i64)
    (local $e exnref)
    (local.set $e (call $wrap (local.get $x)))
    (drop (call $wrap (i64.const 1)))
    (block $h (result i64 i32)
      (try_table (catch $big $h)
        (throw_ref (local.get $e)))
      (unreachable))
    (i64.extend_i32_u)
    (i64.add))
  (func (export "nested") (param $which i32) (result i32)
    (local $r exnref)
    (block $all
      (block $ref (result i64 i32 exnref)
        (block $small (result i32)
          (try_table (catch $small $small) (catch_ref $big $ref) (catch_all $all)
            (if (i32.eq (local.get $which) (i32.const 0)) (then (throw $small (i32.const 5))))
            (if (i32.eq (local.get $which) (i32.const 1))
              (then (throw $big (i64.const 9) (i32.const 4))))
            (throw $empty))
          (unreachable))
        (return (i32.add (i32.const 10))))
      (local.set $r)
      (drop)
      (drop)
      (return (i32.const 20)))
    (i32.const 30))
  (func (export "greet") (result i32)
    (i32.store (i32.const 0) (i32.const 64))
    (i32.store (i32.const 4) (i32.const 16))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
    (i32.load (i32.const 8)))
  (func (export "time") (result i64)
    (drop (call $clock_time_get (i32.const 0) (i64.const 1) (i32.const 16)))
    (i64.load (i32.const 16)))
  (func (export "load") (param i32) (result i32) (i32.load (local.get 0)))
  (func (export "globals") (result i64)
    (i64.add (global.get $acc)
      (i64.extend_i32_u (i32.add (global.get $calls) (global.get $k)))))
  (func $init (global.set $acc (i64.add (global.get $acc) (i64.const 1))))
  (start $init))"#;

/// The calls [`run_everything`] makes, each `(export, arguments)`.
const EVERYTHING_CALLS: &[(&str, &[i64])] = &[
    ("apply", &[0, 20, 22]),
    ("apply", &[1, 20, 22]),
    ("apply", &[2, 6, 7]),
    ("apply", &[3, 1, 2]),
    ("apply", &[6, 1, 2]),
    ("apply", &[9, 1, 2]),
    ("divide", &[84, 2]),
    ("divide", &[1, 0]),
    ("load", &[65536]),
    ("rethrow", &[39]),
    ("nested", &[0]),
    ("nested", &[1]),
    ("nested", &[2]),
    ("greet", &[]),
    ("time", &[]),
    ("globals", &[]),
];

/// What the uncorrupted module gives for [`EVERYTHING_CALLS`] (the start
/// of it, for traps), then what it wrote with `fd_write`.
const EVERYTHING_RESULTS: &[&str] = &[
    "42",
    "-2",
    "42",
    "1003",
    "trap IndirectCallToNull",
    "trap TableOutOfBounds",
    "42",
    "trap IntegerDivisionByZero in [6 div",
    "trap MemoryOutOfBounds",
    "42",
    "15",
    "20",
    "30",
    "16",
    "123456789",
    "109",
    "\"hello from keel\\n\"",
];

/// How loading and running an artifact of [`EVERYTHING`] went.
#[derive(Debug, PartialEq)]
enum Outcome {
    /// `Module::deserialize` refused it.
    LoadError(String),
    /// It loaded; instantiating or a call failed cleanly.
    RunError(String),
    /// It ran: each call's result (or trap, with the backtrace, or
    /// error), then the output.
    Ran(Vec<String>),
}

/// What a call's error says: its trap code and the frames (function
/// index, name and module offset), or its message.
fn describe_error(e: &keel::Error) -> String {
    let Some(trap) = e.downcast_ref::<Trap>() else {
        return format!("error {e:#}");
    };
    let frames: Vec<String> = e
        .downcast_ref::<keel::WasmBacktrace>()
        .map(|bt| {
            bt.frames()
                .iter()
                .map(|f| {
                    format!(
                        "{} {}@{:?}",
                        f.func_index,
                        f.func_name.as_deref().unwrap_or("?"),
                        f.module_offset
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    format!("trap {trap:?} in [{}]", frames.join(", "))
}

/// Load `artifact` in a fresh engine that only has the host trampolines
/// artifacts bring (as keel without the compiler), instantiate it with
/// WASI-like host functions, and make [`EVERYTHING_CALLS`].
fn run_everything(artifact: &[u8]) -> Outcome {
    use keel::{Caller, Val};
    let mut config = Config::new();
    config.host_trampolines_from_artifacts_only(true);
    let engine = Engine::new(&config).unwrap();
    // SAFETY: the machine code is keel's, unchanged; only the metadata
    // may be corrupted, which loading must check.
    let module = match unsafe { Module::deserialize(&engine, artifact) } {
        Ok(module) => module,
        Err(e) => return Outcome::LoadError(format!("{e:#}")),
    };
    let mut store = Store::new(&engine, Vec::<u8>::new());
    let mut linker = Linker::new(&engine);
    linker
        .func_wrap(
            "wasi_snapshot_preview1",
            "fd_write",
            |mut caller: Caller<'_, Vec<u8>>, fd: i32, iovs: i32, n: i32, written: i32| {
                let Some(memory) = caller.get_export("memory").and_then(|e| e.into_memory()) else {
                    keel::bail!("no memory");
                };
                keel::ensure!(fd == 1 && n == 1, "fd_write({fd}, .., {n}, ..)");
                let mut iov = [0u8; 8];
                memory.read(&caller, iovs as u32 as usize, &mut iov)?;
                let ptr = u32::from_le_bytes(iov[..4].try_into().unwrap()) as usize;
                let len = u32::from_le_bytes(iov[4..].try_into().unwrap()) as usize;
                let mut buf = vec![0; len.min(4096)];
                memory.read(&caller, ptr, &mut buf)?;
                caller.data_mut().extend_from_slice(&buf);
                memory.write(
                    &mut caller,
                    written as u32 as usize,
                    &(buf.len() as u32).to_le_bytes(),
                )?;
                Ok(0)
            },
        )
        .unwrap()
        .func_wrap(
            "wasi_snapshot_preview1",
            "clock_time_get",
            |mut caller: Caller<'_, Vec<u8>>, _id: i32, _precision: i64, out: i32| {
                let Some(memory) = caller.get_export("memory").and_then(|e| e.into_memory()) else {
                    keel::bail!("no memory");
                };
                memory.write(
                    &mut caller,
                    out as u32 as usize,
                    &123456789u64.to_le_bytes(),
                )?;
                Ok(0i32)
            },
        )
        .unwrap();
    let instance = match linker.instantiate(&mut store, &module) {
        Ok(instance) => instance,
        Err(e) => return Outcome::RunError(format!("instantiating: {e:#}")),
    };
    let mut results = Vec::new();
    for (name, args) in EVERYTHING_CALLS {
        let Some(func) = instance.get_func(&mut store, name) else {
            return Outcome::RunError(format!("no export `{name}`"));
        };
        let ty = func.ty(&store);
        let params: Vec<Val> = ty
            .params()
            .zip(args.iter())
            .map(|(ty, &arg)| match ty {
                keel::ValType::I64 => Val::I64(arg),
                _ => Val::I32(arg as i32),
            })
            .collect();
        if params.len() != ty.params().len() || ty.results().len() != 1 {
            return Outcome::RunError(format!("`{name}` has type {ty:?}"));
        }
        let mut out = [Val::I32(0)];
        results.push(match func.call(&mut store, &params, &mut out) {
            Err(e) => describe_error(&e),
            Ok(()) => match out[0] {
                Val::I32(v) => v.to_string(),
                Val::I64(v) => v.to_string(),
                ref other => format!("{other:?}"),
            },
        });
    }
    results.push(format!("{:?}", String::from_utf8_lossy(store.data())));
    Outcome::Ran(results)
}

/// The byte ranges of an artifact's metadata sections (everything but
/// the machine code and the compatibility data), in file order, read
/// from its ELF section headers.
fn metadata_ranges(artifact: &[u8]) -> Vec<(&'static str, std::ops::Range<usize>)> {
    let u16_at = |at: usize| u16::from_le_bytes(artifact[at..at + 2].try_into().unwrap()) as usize;
    let u32_at = |at: usize| u32::from_le_bytes(artifact[at..at + 4].try_into().unwrap()) as usize;
    let u64_at = |at: usize| u64::from_le_bytes(artifact[at..at + 8].try_into().unwrap()) as usize;
    let (shoff, shentsize, shnum, shstrndx) =
        (u64_at(0x28), u16_at(0x3a), u16_at(0x3c), u16_at(0x3e));
    let header = |i: usize| shoff + i * shentsize;
    let strtab = u64_at(header(shstrndx) + 0x18);
    let mut out = Vec::new();
    for i in 0..shnum {
        let name = &artifact[strtab + u32_at(header(i))..];
        let name = &name[..name.iter().position(|&b| b == 0).unwrap()];
        let section = [
            ".keel.module",
            ".keel.functions",
            ".keel.traps",
            ".keel.address_map",
        ]
        .into_iter()
        .find(|s| s.as_bytes() == name);
        if let Some(section) = section {
            let (offset, size) = (u64_at(header(i) + 0x18), u64_at(header(i) + 0x20));
            out.push((section, offset..offset + size));
        }
    }
    out.sort_by_key(|(_, r)| r.start);
    assert_eq!(out.len(), 4, "{out:?}");
    out
}

/// A change the sweep makes to a byte: its name and the new byte.
type Pattern = (&'static str, fn(u8) -> u8);

/// The three changes the sweep makes to each byte.
const PATTERNS: [Pattern; 3] = [
    ("xor 0x01", |b| b ^ 0x01),
    ("xor 0x80", |b| b ^ 0x80),
    ("0xff", |_| 0xff),
];

/// Set in a child of [`corrupted_metadata_is_refused_or_runs_correctly`]:
/// `ARTIFACT_PATH:PATTERN:FIRST`, sweep pattern `PATTERN` over the
/// metadata bytes from the `FIRST`th on.
const SWEEP_CHILD: &str = "KEEL_ARTIFACT_SWEEP_CHILD";

/// Sweep in this process, reporting on stdout before and after each
/// byte, so that the parent knows which byte killed it.
fn sweep_child(spec: &str) {
    use std::io::Write;
    let mut parts = spec.rsplitn(3, ':');
    let first: usize = parts.next().unwrap().parse().unwrap();
    let pattern: usize = parts.next().unwrap().parse().unwrap();
    let artifact = std::fs::read(parts.next().unwrap()).unwrap();
    let positions: Vec<usize> = metadata_ranges(&artifact)
        .into_iter()
        .flat_map(|(_, r)| r)
        .collect();
    let Outcome::Ran(expected) = run_everything(&artifact) else {
        panic!("the artifact does not run");
    };
    // A corrupted artifact whose calls fail where the uncorrupted one's
    // returned (or fail otherwise) failed cleanly, whatever it wrote; one
    // whose call returns another value ran wrongly.
    let is_error = |r: &String| r.starts_with("trap ") || r.starts_with("error ");
    let failed_cleanly = |r: &[String]| {
        let n = expected.len() - 1;
        let calls = r.len() == expected.len()
            && r[..n]
                .iter()
                .zip(&expected[..n])
                .all(|(r, e)| r == e || is_error(r));
        calls && (r[n] == expected[n] || r[..n] != expected[..n])
    };
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout).unwrap();
    for (k, &at) in positions.iter().enumerate().skip(first) {
        let mut bytes = artifact.clone();
        bytes[at] = (PATTERNS[pattern].1)(bytes[at]);
        if bytes[at] == artifact[at] {
            writeln!(stdout, "@@sweep {k} same").unwrap();
            continue;
        }
        writeln!(stdout, "@@sweep {k} start").unwrap();
        stdout.flush().unwrap();
        let outcome = std::panic::catch_unwind(|| run_everything(&bytes));
        let line = match outcome {
            Err(_) => "panic".to_string(),
            Ok(Outcome::LoadError(e)) => format!("load-error {e:?}"),
            Ok(Outcome::RunError(e)) => format!("run-error {e:?}"),
            Ok(Outcome::Ran(r)) if r == expected => "ok".to_string(),
            Ok(Outcome::Ran(r)) if failed_cleanly(&r) => format!("run-error {r:?}"),
            Ok(Outcome::Ran(r)) => format!("wrong {r:?}"),
        };
        writeln!(stdout, "@@sweep {k} {line}").unwrap();
        stdout.flush().unwrap();
    }
    writeln!(stdout, "@@sweep end").unwrap();
}

/// Every byte of the metadata of an artifact of [`EVERYTHING`] (the
/// module metadata and the function, trap and address-map tables) changed
/// in three ways (xor 0x01, xor 0x80, 0xff): each corrupted artifact is
/// refused, or fails cleanly, or runs correctly; never a signal, a panic
/// or a hang.
///
/// Running correctly means the calls give what the uncorrupted artifact's
/// give. Failing cleanly means loading or instantiating it is an error,
/// or some calls are errors (traps, thrown exceptions, host errors) where
/// the others are right. An artifact can also load and compute other
/// values: what the metadata holds for instantiation (exports, element
/// and data segments, global initializers, names) is checked as
/// validation would and any value that passes is that of a valid module,
/// safe to run; the sweep lists those. What the code depends on (types,
/// trampolines, call sites, frames, trap sites) cannot change without
/// loading failing, which the digests ensure where no check can.
///
/// Each pattern is swept in a child process (this test binary again) that
/// reports each byte before and after it runs, so that one that kills the
/// child is known and the sweep goes on after it in a new child.
#[test]
fn corrupted_metadata_is_refused_or_runs_correctly() {
    use std::io::BufRead;
    use std::process::Stdio;
    use std::sync::mpsc;
    use std::time::{Duration, Instant};
    if let Ok(spec) = std::env::var(SWEEP_CHILD) {
        return sweep_child(&spec);
    }
    let began = Instant::now();
    let artifact = Engine::default()
        .precompile_module(EVERYTHING.as_bytes())
        .unwrap();
    let Outcome::Ran(results) = run_everything(&artifact) else {
        panic!("the artifact does not run");
    };
    assert_eq!(results.len(), EVERYTHING_RESULTS.len(), "{results:?}");
    for (result, expected) in results.iter().zip(EVERYTHING_RESULTS) {
        assert!(result.starts_with(expected), "{result} is not {expected}");
    }
    let ranges = metadata_ranges(&artifact);
    let positions: Vec<(&str, usize)> = ranges
        .iter()
        .flat_map(|(name, r)| r.clone().map(move |at| (*name, at)))
        .collect();
    let path = std::env::temp_dir().join(format!("keel-sweep-{}.cwasm", std::process::id()));
    std::fs::write(&path, &artifact).unwrap();

    /// What became of one corrupted artifact.
    #[derive(Debug)]
    enum Fate {
        Same,
        Ok,
        /// Refused; by a digest or seal (rather than a check) if `true`.
        LoadError(bool),
        RunError,
        Wrong(String),
        Panic,
        Killed(#[expect(dead_code, reason = "only shown")] String),
        Hung,
    }
    let sweep_pattern = |pattern: usize| -> Vec<Fate> {
        let mut fates: Vec<Option<Fate>> = (0..positions.len()).map(|_| None).collect();
        let mut first = 0;
        while first < positions.len() {
            let mut child = rerun::this_test_binary()
                .args([
                    "--exact",
                    "corrupted_metadata_is_refused_or_runs_correctly",
                    "--nocapture",
                    "--test-threads=1",
                ])
                .env(SWEEP_CHILD, format!("{}:{pattern}:{first}", path.display()))
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            let stdout = child.stdout.take().unwrap();
            let (tx, rx) = mpsc::channel();
            std::thread::spawn(move || {
                for line in std::io::BufReader::new(stdout).lines() {
                    let Ok(line) = line else { break };
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            });
            let mut running = None;
            let mut ended = false;
            loop {
                match rx.recv_timeout(Duration::from_secs(30)) {
                    Ok(line) => {
                        // The harness's own output may precede ours on a line.
                        let Some((_, rest)) = line.split_once("@@sweep ") else {
                            continue;
                        };
                        if rest == "end" {
                            ended = true;
                            continue;
                        }
                        let (k, what) = rest.split_once(' ').unwrap();
                        let k: usize = k.parse().unwrap();
                        let (kind, detail) = what.split_once(' ').unwrap_or((what, ""));
                        fates[k] = Some(match kind {
                            "start" => {
                                running = Some(k);
                                continue;
                            }
                            "same" => Fate::Same,
                            "ok" => Fate::Ok,
                            "load-error" => Fate::LoadError(
                                detail.contains("digest") || detail.contains("seal"),
                            ),
                            "run-error" => Fate::RunError,
                            "wrong" => Fate::Wrong(detail.to_string()),
                            "panic" => Fate::Panic,
                            other => panic!("child said {other:?}"),
                        });
                        running = None;
                    }
                    Err(mpsc::RecvTimeoutError::Timeout) => {
                        let k = running.expect("the child is stuck between bytes");
                        // Our own child, by its handle.
                        let _ = child.kill();
                        let _ = child.wait();
                        fates[k] = Some(Fate::Hung);
                        first = k + 1;
                        break;
                    }
                    Err(mpsc::RecvTimeoutError::Disconnected) => {
                        let status = child.wait().unwrap();
                        if let Some(k) = running {
                            fates[k] = Some(Fate::Killed(format!("{status}")));
                            first = k + 1;
                        } else {
                            assert!(
                                ended && status.success(),
                                "a sweep child failed outside any byte: {status}"
                            );
                            return fates.into_iter().map(Option::unwrap).collect();
                        }
                        break;
                    }
                }
            }
        }
        fates.into_iter().map(Option::unwrap).collect()
    };
    let sweeps: Vec<Vec<Fate>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..PATTERNS.len())
            .map(|p| s.spawn(move || sweep_pattern(p)))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    std::fs::remove_file(&path).unwrap();

    let mut failures = Vec::new();
    for (p, fates) in sweeps.iter().enumerate() {
        let count = |f: fn(&Fate) -> bool| fates.iter().filter(|x| f(x)).count();
        eprintln!(
            "{}: {} bytes: {} refused ({} by a digest), {} failed cleanly, {} ran correctly, {} ran with other results, {} unchanged",
            PATTERNS[p].0,
            fates.len(),
            count(|f| matches!(f, Fate::LoadError(_))),
            count(|f| matches!(f, Fate::LoadError(true))),
            count(|f| matches!(f, Fate::RunError)),
            count(|f| matches!(f, Fate::Ok)),
            count(|f| matches!(f, Fate::Wrong(_))),
            count(|f| matches!(f, Fate::Same)),
        );
        for (k, fate) in fates.iter().enumerate() {
            let (section, at) = positions[k];
            let offset = at - ranges.iter().find(|(n, _)| *n == section).unwrap().1.start;
            let place = format!(
                "{} of byte {offset:#x} of `{section}` ({:#04x})",
                PATTERNS[p].0, artifact[at]
            );
            match fate {
                // The digest covers the whole metadata: a corrupted
                // artifact that loads must behave as the original.
                Fate::Killed(_) | Fate::Hung | Fate::Panic => {
                    failures.push(format!("{place}: {fate:?}"))
                }
                Fate::Wrong(results) => {
                    failures.push(format!("{place}: ran with other results {results}"))
                }
                _ => {}
            }
        }
    }
    eprintln!("swept in {:.1?}", began.elapsed());
    assert!(
        failures.is_empty(),
        "{} corrupted artifacts crashed, panicked, hung or ran with other results:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// An error message without what varies between errors of one check:
/// numbers, names (in backticks), signatures and types (in parentheses or
/// braces).
fn error_kind(message: &str) -> String {
    let mut out = String::new();
    let mut depth = 0;
    let mut in_name = false;
    for c in message.chars() {
        match c {
            '(' | '{' => depth += 1,
            ')' | '}' => depth -= 1,
            '`' => in_name = !in_name,
            _ if depth > 0 || in_name => {}
            '0'..='9' if out.ends_with('#') => {}
            '0'..='9' => out.push('#'),
            c => out.push(c),
        }
    }
    out
}

/// Write the seeds of the `deserialize` fuzz target
/// (`fuzz/seeds/deserialize/everything*`): the artifact of [`EVERYTHING`]
/// as the fuzz target's engine writes it (`keel_fuzz::keel_engine`'s
/// settings), and the corrupted artifacts of the sweep of
/// [`corrupted_metadata_is_refused_or_runs_correctly`] reduced to one per
/// way of being refused (the error with its numbers left out) and one per
/// pattern that loads. The fuzz target uses inputs that are ELF files as
/// they are. Its engine checks the CPU features the code was compiled
/// for, so the seeds are only loaded (rather than refused at once) on
/// CPUs like the one that wrote them.
///
/// `cargo test -p keel --test artifact write_deserialize_fuzz_seeds -- --ignored`
#[test]
#[ignore = "writes fuzz/seeds/deserialize; run by hand after changing the artifact format"]
fn write_deserialize_fuzz_seeds() {
    let mut config = Config::new();
    config
        .parallel_compilation(false)
        .wasm_wide_arithmetic(true)
        .wasm_custom_page_sizes(true);
    let engine = Engine::new(&config).unwrap();
    let artifact = engine.precompile_module(EVERYTHING.as_bytes()).unwrap();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/seeds/deserialize");
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with("everything"))
        {
            std::fs::remove_file(path).unwrap();
        }
    }
    std::fs::write(dir.join("everything"), &artifact).unwrap();
    let mut kinds = std::collections::BTreeSet::new();
    let mut written = 0;
    for (p, (_, change)) in PATTERNS.iter().enumerate() {
        for (section, range) in metadata_ranges(&artifact) {
            for at in range.clone() {
                let mut bytes = artifact.clone();
                bytes[at] = change(bytes[at]);
                if bytes[at] == artifact[at] {
                    continue;
                }
                // SAFETY: dropped without running.
                let kind = match unsafe { Module::deserialize(&engine, &bytes) } {
                    Ok(_) => format!("loads ({p})"),
                    Err(e) => error_kind(&format!("{e:#}")),
                };
                if kinds.insert(kind) {
                    let name = format!(
                        "everything-{}-{}-{:04x}",
                        ["x01", "x80", "ff"][p],
                        section.trim_start_matches(".keel."),
                        at - range.start
                    );
                    std::fs::write(dir.join(name), &bytes).unwrap();
                    written += 1;
                }
            }
        }
    }
    eprintln!("{written} corrupted artifacts, one per way of being refused:");
    for kind in &kinds {
        eprintln!("  {kind}");
    }
}
