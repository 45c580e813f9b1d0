//! Runs `guest.wat` with keel: JIT compilation, calls, a host function, a
//! guest memory access out of bounds (a page fault turned into a keel
//! trap) and a call after it.

use crate::Machine;
use keel::{
    Config, Engine, Linker, Module, Store, StoreLimits, StoreLimitsBuilder, Trap, WasmBacktrace,
};

/// The guest module, assembled from `guest.wat` by build.rs.
static WASM: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/guest.wasm"));
/// The scheduler demo's guest, assembled from `sched.wat` by build.rs.
static SCHED_WASM: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/sched.wasm"));

/// A page-aligned wrapper, so that an artifact's page-aligned text
/// section lies at a page boundary.
#[cfg(not(feature = "compiler"))]
#[repr(C, align(4096))]
struct PageAligned<T: ?Sized>(T);

/// Declares a static holding a precompiled artifact of the guest, placed in
/// the kernel's text (mapped read + execute) so that its code runs where
/// it lies, loaded with `Module::deserialize_raw`.
#[cfg(not(feature = "compiler"))]
macro_rules! artifact {
    ($name:ident, $file:literal) => {
        #[unsafe(link_section = ".text.keel_artifacts")]
        static $name: PageAligned<[u8; include_bytes!(concat!(env!("OUT_DIR"), $file)).len()]> =
            PageAligned(*include_bytes!(concat!(env!("OUT_DIR"), $file)));
    };
}
#[cfg(not(feature = "compiler"))]
artifact!(GUEST, "/guest.cwasm");
#[cfg(not(feature = "compiler"))]
artifact!(GUEST_CONTROL, "/guest-control.cwasm");
#[cfg(not(feature = "compiler"))]
artifact!(SCHED, "/sched.cwasm");

/// Which guest module to load.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Guest {
    /// `guest.wat` for the plain engine.
    Plain,
    /// `guest.wat` for the engine with fuel and epochs.
    Control,
    /// `sched.wat`, for the engine with fuel and epochs.
    Sched,
}

/// The guest for `engine`: JIT-compiled from its wasm, or, without the
/// compiler, its artifact loaded in place.
pub fn load_guest(engine: &Engine, guest: Guest) -> keel::Result<Module> {
    let wasm = match guest {
        Guest::Plain | Guest::Control => WASM,
        Guest::Sched => SCHED_WASM,
    };
    #[cfg(feature = "compiler")]
    {
        let module = Module::from_binary(engine, wasm)?;
        let how = if module.is_lazy() {
            "validated guest, compiling each function at its first call"
        } else {
            "compiled guest"
        };
        kprintln!("keel: {how} ({} bytes of wasm)", wasm.len());
        Ok(module)
    }
    #[cfg(not(feature = "compiler"))]
    {
        let artifact: &'static [u8] = match guest {
            Guest::Plain => &GUEST.0,
            Guest::Control => &GUEST_CONTROL.0,
            Guest::Sched => &SCHED.0,
        };
        // SAFETY: build.rs wrote the artifact with keel's compiler; it lies
        // in the kernel's text, mapped executable and never written.
        let module = unsafe { Module::deserialize_raw(engine, artifact) }?;
        kprintln!(
            "keel: loaded precompiled guest ({} bytes of artifact, no compiler, {} bytes of wasm)",
            artifact.len(),
            wasm.len()
        );
        Ok(module)
    }
}

/// The engine settings for machine `M`: the kernel's platform, and the
/// bare-metal target with the CPU features of [`crate::engine_target`].
pub fn config<M: Machine>() -> keel::Result<Config> {
    let arch = if cfg!(target_arch = "x86_64") {
        "x86_64"
    } else if cfg!(target_arch = "riscv64") {
        "riscv64"
    } else {
        "this architecture"
    };
    let (target, flags) = crate::engine_target(arch)
        .ok_or_else(|| anyhow::anyhow!("no kernel for the architecture {arch}"))?;
    let mut config = Config::new();
    config.platform(M::platform_ref()).target(target)?;
    for flag in flags {
        config.cranelift_flag_enable(flag)?;
    }
    Ok(config)
}

/// Compiles and runs the guest, printing each result on the serial port.
/// The JIT kernel compiles it lazily: each function when first called.
pub fn run<M: Machine>() -> keel::Result<()> {
    let mut config = config::<M>()?;
    #[cfg(feature = "compiler")]
    config.lazy_compilation(true);
    let engine = Engine::new(&config)?;
    let module = load_guest(&engine, Guest::Plain)?;

    let mut store = Store::new(&engine, ());
    let mut linker = Linker::new(&engine);
    linker.func_wrap("kernel", "twice", |x: i32| x.wrapping_mul(2))?;
    let instance = linker.instantiate(&mut store, &module)?;

    let add = instance.get_typed_func::<(i32, i32), i32>(&mut store, "add")?;
    let fib = instance.get_typed_func::<i32, i32>(&mut store, "fib")?;
    let sum = instance.get_typed_func::<i32, i32>(&mut store, "sum_via_memory")?;
    let call_host = instance.get_typed_func::<i32, i32>(&mut store, "call_host")?;
    let out_of_bounds = instance.get_typed_func::<(), ()>(&mut store, "store_out_of_bounds")?;

    kprintln!("add(2, 3) = {}", add.call(&mut store, (2, 3))?);
    kprintln!("fib(20) = {}", fib.call(&mut store, 20)?);
    kprintln!("sum(1..=100) via memory = {}", sum.call(&mut store, 100)?);
    kprintln!(
        "twice(21) via host call = {}",
        call_host.call(&mut store, 21)?
    );

    match out_of_bounds.call(&mut store, ()) {
        Ok(()) => anyhow::bail!("store_out_of_bounds returned instead of trapping"),
        Err(err) => {
            let trap = err
                .downcast_ref::<Trap>()
                .ok_or_else(|| anyhow::anyhow!("expected a trap, got: {err:?}"))?;
            kprintln!("trap: {trap:?}");
            kprintln!("backtrace:");
            match err.downcast_ref::<WasmBacktrace>() {
                Some(backtrace) => kprintln!("{}", backtrace.frames_text()),
                None => kprintln!("  (none)"),
            }
        }
    }

    kprintln!("after trap: fib(10) = {}", fib.call(&mut store, 10)?);

    let div_u = instance.get_typed_func::<(i32, i32), i32>(&mut store, "div_u")?;
    let unreachable = instance.get_typed_func::<(), ()>(&mut store, "unreachable")?;
    let recurse = instance.get_typed_func::<i32, i32>(&mut store, "recurse")?;
    kprintln!("div_u(7, 0): {}", trap_name(div_u.call(&mut store, (7, 0))));
    kprintln!(
        "unreachable(): {}",
        trap_name(unreachable.call(&mut store, ()))
    );
    kprintln!("recurse(0): {}", trap_name(recurse.call(&mut store, 0)));
    kprintln!(
        "after traps: add(40, 2) = {}",
        add.call(&mut store, (40, 2))?
    );

    // Exceptions: thrown in one guest function, caught in another; and one
    // that no guest function catches, read by the kernel.
    let catch_sum = instance.get_typed_func::<i32, i32>(&mut store, "catch_sum")?;
    let throw_uncaught = instance.get_typed_func::<i32, ()>(&mut store, "throw_uncaught")?;
    kprintln!("catch_sum(7) = {}", catch_sum.call(&mut store, 7)?);
    match throw_uncaught.call(&mut store, 5) {
        Ok(()) => anyhow::bail!("throw_uncaught returned"),
        Err(err) => {
            let thrown = err
                .downcast_ref::<keel::ThrownException>()
                .ok_or_else(|| anyhow::anyhow!("expected an exception, got: {err:?}"))?;
            let payload = thrown.exn().field(&mut store, 0)?;
            kprintln!(
                "throw_uncaught(5): exception with payload {}",
                payload.unwrap_i32()
            );
        }
    }
    let keep = instance.get_typed_func::<(i32, i32), i32>(&mut store, "keep_through_garbage")?;
    let kept = keep.call(&mut store, (42, 10_000))?;
    let (objects, _) = store.exception_heap_usage();
    kprintln!("keep_through_garbage(42, 10000) = {kept}, {objects} exception objects left");

    // GC: a linked list of 1000 structs, built and walked by the guest,
    // then dropped; the store's collector reclaims it.
    let build_list = instance.get_typed_func::<i32, i32>(&mut store, "build_list")?;
    let drop_list = instance.get_typed_func::<(), ()>(&mut store, "drop_list")?;
    let sum = build_list.call(&mut store, 1000)?;
    store.gc();
    let (_, before) = store.gc_heap_usage();
    drop_list.call(&mut store, ())?;
    store.gc();
    let (_, after) = store.gc_heap_usage();
    let reclaimed = before.saturating_sub(after);
    // Each node is a 24-byte object (header, reference, i32).
    anyhow::ensure!(
        reclaimed >= 1000 * 24,
        "the collector reclaimed {reclaimed} bytes of a 1000-node list"
    );
    kprintln!(
        "gc: list of 1000 structs, sum {sum}, heap {before} bytes; dropped: heap {after} bytes"
    );
    if module.is_lazy() {
        kprintln!(
            "lazy: compiled {} functions at their first call",
            module.compiled_functions()
        );
    } else {
        kprintln!("lazy: none, the guest is precompiled");
    }
    Ok(())
}

/// Guest control: the same guest compiled by an engine with fuel and
/// epoch interruption, in a store with a memory budget. The timer's tick
/// handler advances the engine's epoch (see [`crate::ticks`]), so the endless
/// `spin` comes back as an `Interrupt` trap after a few ticks, with
/// interrupts on while it runs; with fuel it comes back as `OutOfFuel`;
/// growing memory past the budget gives -1.
pub fn control<M: Machine>() -> keel::Result<()> {
    let mut config = config::<M>()?;
    config.consume_fuel(true).epoch_interruption(true);
    let engine = Engine::new(&config)?;
    let module = load_guest(&engine, Guest::Control)?;
    crate::ticks::drive_epochs_of(&engine);

    // Two pages: the guest's one page and one more.
    let limits = StoreLimitsBuilder::new().memory_size(2 * 65536).build();
    let mut store: Store<StoreLimits> = Store::new(&engine, limits);
    store.limiter(|limits| limits);
    let mut linker = Linker::new(&engine);
    linker.func_wrap("kernel", "twice", |x: i32| x.wrapping_mul(2))?;
    store.set_fuel(u64::MAX)?;
    store.set_epoch_deadline(u64::MAX);
    let instance = linker.instantiate(&mut store, &module)?;
    let spin = instance.get_typed_func::<(), ()>(&mut store, "spin")?;
    let grow = instance.get_typed_func::<i32, i32>(&mut store, "grow")?;

    const DEADLINE_TICKS: u64 = 5;
    if !M::interrupts_enabled() {
        anyhow::bail!("interrupts are off before the guest runs");
    }
    let before = crate::ticks::ticks();
    store.set_epoch_deadline(DEADLINE_TICKS);
    let result = spin.call(&mut store, ());
    let ticks = crate::ticks::ticks() - before;
    kprintln!(
        "spin() with a deadline of {DEADLINE_TICKS} timer ticks: {} after {ticks} ticks",
        trap_name(result)
    );
    if !M::interrupts_enabled() {
        anyhow::bail!("interrupts are off after the guest trapped");
    }
    store.set_epoch_deadline(u64::MAX);

    // A wait nothing notifies ends at the deadline too.
    let wait = instance.get_typed_func::<(), i32>(&mut store, "wait_forever")?;
    let before = crate::ticks::ticks();
    store.set_epoch_deadline(DEADLINE_TICKS);
    let result = wait.call(&mut store, ());
    let ticks = crate::ticks::ticks() - before;
    kprintln!(
        "wait_forever() with a deadline of {DEADLINE_TICKS} timer ticks: {} after {ticks} ticks",
        trap_name(result)
    );
    store.set_epoch_deadline(u64::MAX);

    store.set_fuel(10_000)?;
    kprintln!(
        "spin() with 10000 fuel: {}, fuel left {}",
        trap_name(spin.call(&mut store, ())),
        store.get_fuel()?
    );
    store.set_fuel(u64::MAX)?;

    kprintln!(
        "grow(1) within a 2-page budget = {}",
        grow.call(&mut store, 1)?
    );
    kprintln!(
        "grow(1) past a 2-page budget = {}",
        grow.call(&mut store, 1)?
    );
    kprintln!(
        "kernel: {} timer ticks, interrupts on: {}",
        crate::ticks::ticks(),
        M::interrupts_enabled()
    );
    Ok(())
}

/// `trap <code>` for a call that trapped, or what happened instead.
fn trap_name<T: core::fmt::Debug>(result: keel::Result<T>) -> alloc::string::String {
    match result {
        Ok(value) => alloc::format!("returned {value:?} instead of trapping"),
        Err(err) => match err.downcast_ref::<Trap>() {
            Some(trap) => alloc::format!("trap {trap:?}"),
            None => alloc::format!("error {err:#}"),
        },
    }
}
