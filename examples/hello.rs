//! Embedding keel: a host function, a `Linker`, a typed call and linear
//! memory.
//!
//! The guest module below keeps the text "Hello, keel!" in its linear
//! memory and, when its `greet` export is called, hands a pointer and a
//! length to the host function `host.log`. The host reads the bytes out of
//! the guest's memory and prints them.
//!
//! Run it with `cargo run --example hello`.

use keel::{Caller, Engine, Linker, Module, Store};

/// The guest, in the WebAssembly text format (`Module::new` accepts text and
/// binary alike).
const GUEST: &str = r#"
(module
  ;; The host gives us a way to print: log(ptr, len) prints `len` bytes of
  ;; our memory starting at `ptr`.
  (import "host" "log" (func $log (param i32 i32)))

  ;; One 64 KiB page of linear memory, exported so the host can read it.
  (memory (export "memory") 1)

  ;; The greeting, placed at address 16 when the module is instantiated.
  (data (i32.const 16) "Hello, keel!")

  ;; greet(times) logs the greeting `times` times and returns its length.
  (func (export "greet") (param $times i32) (result i32)
    (block $done
      (loop $again
        (br_if $done (i32.eqz (local.get $times)))
        (call $log (i32.const 16) (i32.const 12))
        (local.set $times (i32.sub (local.get $times) (i32.const 1)))
        (br $again)))
    (i32.const 12)))
"#;

/// The host state kept in the store: how many lines the guest has logged.
/// Host functions reach it through their `Caller`.
struct Host {
    lines_logged: u32,
}

fn main() -> keel::Result<()> {
    // An engine holds configuration and compiled code; it can be shared by
    // many stores. A store owns instances and their memories, plus our data.
    let engine = Engine::default();
    let mut store = Store::new(&engine, Host { lines_logged: 0 });

    // The linker resolves imports by (module, name). `func_wrap` turns a
    // Rust closure into a WebAssembly function: its parameter types
    // (i32, i32) become the wasm signature. Taking a `Caller` first gives
    // access to the calling instance's exports and to the store's data.
    let mut linker = Linker::new(&engine);
    linker.func_wrap(
        "host",
        "log",
        |mut caller: Caller<'_, Host>, ptr: i32, len: i32| -> keel::Result<()> {
            let memory = caller
                .get_export("memory")
                .and_then(|export| export.into_memory())
                .ok_or_else(|| anyhow::anyhow!("the guest exports no memory"))?;

            // Guest pointers are unsigned 32-bit offsets into its memory.
            // Copy the bytes out; `read` fails (and so traps the guest)
            // if the range is outside the memory.
            let mut bytes = vec![0; len.cast_unsigned() as usize];
            memory.read(&mut caller, ptr.cast_unsigned() as usize, &mut bytes)?;
            let text = String::from_utf8_lossy(&bytes);

            caller.data_mut().lines_logged += 1;
            println!("guest says: {text}");
            Ok(())
        },
    )?;

    // Compile, then instantiate: the linker supplies `host.log`.
    let module = Module::new(&engine, GUEST)?;
    let instance = linker.instantiate(&mut store, &module)?;

    // A typed handle to `greet`: the signature is checked once here, and
    // each call passes plain Rust values without boxing.
    let greet = instance.get_typed_func::<i32, i32>(&mut store, "greet")?;
    let len = greet.call(&mut store, 2)?;

    // The host can read the guest's memory directly as well.
    let memory = instance
        .get_memory(&mut store, "memory")
        .ok_or_else(|| anyhow::anyhow!("no memory export"))?;
    let len = usize::try_from(len)?;
    let greeting = &memory.data(&store)[16..16 + len];
    println!(
        "memory[16..{}] = {:?}; the guest logged {} line(s)",
        16 + len,
        String::from_utf8_lossy(greeting),
        store.data().lines_logged
    );
    Ok(())
}
