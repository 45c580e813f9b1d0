//! Ahead-of-time artifacts: `Engine::precompile_module`,
//! `Module::serialize` and the three ways to load them.

use keel::{Config, Engine, Func, Linker, Module, Store, Trap, TrapCode};

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
    assert_eq!(trap.code(), TrapCode::IntegerDivisionByZero);
    let bt = err.downcast_ref::<keel::WasmBacktrace>().unwrap();
    let indices: Vec<u32> = bt.frames().iter().map(|f| f.func_index).collect();
    assert_eq!(indices, [0, 1], "{err:?}");
    let oob = instance
        .get_typed_func::<(), i32>(&mut store, "oob")
        .unwrap();
    let err = oob.call(&mut store, ()).unwrap_err();
    assert_eq!(
        err.downcast_ref::<Trap>().unwrap().code(),
        TrapCode::MemoryOutOfBounds
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

    let mut riscv = Config::new();
    riscv.target("riscv64gc-unknown-linux-gnu").unwrap();
    let artifact = Engine::new(&riscv)
        .unwrap()
        .precompile_module(FIB.as_bytes())
        .unwrap();
    // SAFETY: refused before any code runs.
    let err = unsafe { Module::deserialize(&engine, &artifact) }.unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains("target: artifact riscv64gc-unknown-linux-gnu, engine x86_64"),
        "{message}"
    );
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
    }
}
