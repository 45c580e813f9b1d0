//! Embedding keel-wasi: run a WASI command (a C program built with
//! wasi-libc) with arguments, an environment variable, a preopened
//! directory, and stdout captured in memory instead of printed.
//!
//! The guest is `crates/wasi/tests/programs/files.wasm`, which creates,
//! writes, renames and lists files under `/sandbox` and prints what it
//! did. Here `/sandbox` is a fresh temporary directory on the host.
//!
//! Run it with `cargo run --example wasi`.

use keel::{Engine, Linker, Module, Store};
use keel_wasi::pipe::MemoryOutputPipe;
use keel_wasi::{DirPerms, FilePerms, I32Exit, WasiCtx, WasiCtxBuilder};

/// The store's data: here only the WASI context. Host functions of your
/// own would keep their state next to it.
struct State {
    wasi: WasiCtx,
}

fn main() -> keel::Result<()> {
    let engine = Engine::default();
    let program = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/crates/wasi/tests/programs/files.wasm"
    );
    let module = Module::from_file(&engine, program)?;

    // Define the 46 functions of `wasi_snapshot_preview1`; each finds the
    // WASI context in the store's data through the closure.
    let mut linker = Linker::new(&engine);
    keel_wasi::p1::add_to_linker_sync(&mut linker, |state: &mut State| &mut state.wasi)?;

    // The guest's world: argv, one variable, stdout into a buffer (up to
    // 1 MiB), and one host directory it knows as `/sandbox`. It cannot
    // reach anything outside that directory.
    let sandbox = std::env::temp_dir().join(format!("keel-wasi-example-{}", std::process::id()));
    std::fs::create_dir_all(&sandbox)?;
    let stdout = MemoryOutputPipe::new(1 << 20);
    let wasi = WasiCtxBuilder::new()
        .args(&["files.wasm"])
        .env("GREETING", "hello")
        .stdout(stdout.clone())
        .inherit_stderr()
        .preopened_dir(&sandbox, "/sandbox", DirPerms::all(), FilePerms::all())?
        .build();
    let mut store = Store::new(&engine, State { wasi });

    // A command's entry point is `_start`. It ends either by returning
    // (status 0) or through `proc_exit`, which arrives as an `I32Exit`
    // error.
    let instance = linker.instantiate(&mut store, &module)?;
    let start = instance.get_typed_func::<(), ()>(&mut store, "_start")?;
    let status = match start.call(&mut store, ()) {
        Ok(()) => 0,
        Err(e) => match e.downcast_ref::<I32Exit>() {
            Some(exit) => exit.0,
            None => return Err(e),
        },
    };

    let output = String::from_utf8_lossy(&stdout.contents()).into_owned();
    println!(
        "the guest exited with status {status} and printed {} lines; the last three:",
        output.lines().count()
    );
    for line in output
        .lines()
        .rev()
        .take(3)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
    {
        println!("  | {line}");
    }
    println!("files it left on the host in {}:", sandbox.display());
    for entry in std::fs::read_dir(sandbox.join("files.d"))? {
        println!("  {}", entry?.file_name().to_string_lossy());
    }
    std::fs::remove_dir_all(&sandbox)?;
    Ok(())
}
