//! [`Config`]: the settings an [`Engine`](crate::Engine) is created with
//! (what compiled code checks, how memories are laid out, which WebAssembly
//! features validate, where the code runs), with Wasmtime's method names.

use crate::Result;
use crate::prelude::*;

/// [`Config::max_gc_heap_size`]'s default.
const DEFAULT_MAX_GC_HEAP_SIZE: usize = if usize::BITS >= 64 { 4 << 30 } else { 1 << 30 };

/// [`Config::compilation_progress`]'s callback: `(done, total)`.
pub(crate) type CompilationProgress = alloc::sync::Arc<dyn Fn(usize, usize) + Send + Sync>;

/// Settings for an [`Engine`](crate::Engine).
#[derive(Clone)]
pub struct Config {
    pub(crate) max_wasm_stack: usize,
    pub(crate) max_gc_heap_size: usize,
    pub(crate) parallel_compilation: bool,
    pub(crate) nan_canonicalization: bool,
    pub(crate) heap_spectre: bool,
    pub(crate) table_spectre: bool,
    pub(crate) consume_fuel: bool,
    pub(crate) epoch_interruption: bool,
    pub(crate) memory: keel_translate::MemoryTunables,
    pub(crate) platform: Option<&'static &'static dyn keel_trap::Platform>,
    pub(crate) target: Option<String>,
    pub(crate) isa_flags: Vec<(String, String)>,
    pub(crate) host_trampolines_from_artifacts_only: bool,
    pub(crate) async_support: bool,
    pub(crate) async_stack_size: usize,
    pub(crate) memory_init_cow: bool,
    pub(crate) profiler: crate::ProfilingStrategy,
    pub(crate) allocation_strategy: crate::InstanceAllocationStrategy,
    /// The WebAssembly proposals modules may use (the `wasm_*` toggles).
    pub(crate) features: wasmparser::WasmFeatures,
    pub(crate) relaxed_simd_deterministic: bool,
    /// [`Config::lazy_compilation`].
    pub(crate) lazy_compilation: bool,
    /// [`Config::lazy_baseline`].
    pub(crate) lazy_baseline: bool,
    /// [`Config::lazy_background_compilation`].
    pub(crate) lazy_background_compilation: bool,
    /// [`Config::compilation_progress`]'s callback.
    pub(crate) compilation_progress: Option<CompilationProgress>,
    /// The compilation cache ([`Config::cache`]).
    #[cfg(feature = "cache")]
    pub(crate) cache: Option<crate::Cache>,
}

impl core::fmt::Debug for Config {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Config")
            .field("max_wasm_stack", &self.max_wasm_stack)
            .field("max_gc_heap_size", &self.max_gc_heap_size)
            .field("parallel_compilation", &self.parallel_compilation)
            .field("nan_canonicalization", &self.nan_canonicalization)
            .field("heap_access_spectre_mitigation", &self.heap_spectre)
            .field("table_access_spectre_mitigation", &self.table_spectre)
            .field("consume_fuel", &self.consume_fuel)
            .field("epoch_interruption", &self.epoch_interruption)
            .field("memory", &self.memory)
            .field("platform", &self.platform.is_some())
            .field("target", &self.target)
            .field("isa_flags", &self.isa_flags)
            .field("async_support", &self.async_support)
            .field("async_stack_size", &self.async_stack_size)
            .field("memory_init_cow", &self.memory_init_cow)
            .field("profiler", &self.profiler)
            .field("allocation_strategy", &self.allocation_strategy)
            .field("features", &self.features)
            .field(
                "relaxed_simd_deterministic",
                &self.relaxed_simd_deterministic,
            )
            .field("lazy_compilation", &self.lazy_compilation)
            .field("lazy_baseline", &self.lazy_baseline)
            .field(
                "lazy_background_compilation",
                &self.lazy_background_compilation,
            )
            .finish_non_exhaustive()
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            max_wasm_stack: 512 * 1024,
            max_gc_heap_size: DEFAULT_MAX_GC_HEAP_SIZE,
            parallel_compilation: true,
            nan_canonicalization: false,
            heap_spectre: true,
            table_spectre: true,
            consume_fuel: false,
            epoch_interruption: false,
            memory: keel_translate::MemoryTunables::default(),
            platform: None,
            target: None,
            isa_flags: Vec::new(),
            host_trampolines_from_artifacts_only: false,
            async_support: false,
            async_stack_size: 2 << 20,
            memory_init_cow: true,
            profiler: crate::ProfilingStrategy::None,
            allocation_strategy: crate::InstanceAllocationStrategy::OnDemand,
            features: keel_translate::wasm_features(),
            relaxed_simd_deterministic: true,
            lazy_compilation: false,
            lazy_baseline: false,
            lazy_background_compilation: true,
            compilation_progress: None,
            #[cfg(feature = "cache")]
            cache: None,
        }
    }
}

impl Config {
    /// The default configuration.
    pub fn new() -> Self {
        Self::default()
    }

    /// The most stack, in bytes, that wasm code may use below the point
    /// where the host first calls into it; deeper recursion traps with
    /// [`Trap::StackOverflow`](crate::Trap::StackOverflow).
    /// Default: 512 KiB. On a thread whose stack is smaller, the limit is
    /// clamped to the thread's real stack (as the platform reports it,
    /// [`Platform::stack_bounds`](crate::Platform::stack_bounds)) minus a
    /// reserve for host frames, so deep recursion still traps instead of
    /// overflowing the host's stack.
    pub fn max_wasm_stack(&mut self, bytes: usize) -> &mut Self {
        self.max_wasm_stack = bytes;
        self
    }

    /// The most bytes a store's GC heap (structs, arrays, exceptions and
    /// host values behind `externref`s) may take. The heap grows on demand
    /// up to it, each growth asked of the store's
    /// [`ResourceLimiter`](crate::ResourceLimiter) as
    /// `memory_growing(current, desired, Some(max_gc_heap_size))`; an
    /// allocation that does not fit after a collection traps in wasm with
    /// [`Trap::AllocationTooLarge`](crate::Trap::AllocationTooLarge) and
    /// fails from the host with
    /// [`GcHeapOutOfMemory`](crate::GcHeapOutOfMemory). Default: 4 GiB
    /// (1 GiB on 32-bit hosts).
    pub fn max_gc_heap_size(&mut self, bytes: usize) -> &mut Self {
        self.max_gc_heap_size = bytes;
        self
    }

    /// Canonicalize NaNs: every float operation that produces a NaN
    /// produces the canonical one (the spec's
    /// [NaN Propagation](https://webassembly.github.io/spec/core/exec/numerics.html#nan-propagation)
    /// allows any arithmetic NaN), so results are the same bits on every host.
    /// Default: off.
    pub fn cranelift_nan_canonicalization(&mut self, enable: bool) -> &mut Self {
        self.nan_canonicalization = enable;
        self
    }

    /// Bytes of address space reserved for each linear memory. With at
    /// least 4 GiB (the default) and [`Config::signals_based_traps`], a
    /// 32-bit memory never moves and loads and stores whose static offset
    /// fits in the guard region need no explicit bounds check: an
    /// out-of-bounds access faults and becomes a `MemoryOutOfBounds` trap.
    /// Smaller values make every access check its bounds explicitly (the
    /// memory is then reserved at its declared maximum).
    pub fn memory_reservation(&mut self, bytes: u64) -> &mut Self {
        self.memory.reservation_bytes = bytes;
        self
    }

    /// Bytes of inaccessible address space after each memory's
    /// reservation (default 2 GiB). Accesses whose static offset plus size
    /// exceed it keep an explicit bounds check.
    pub fn memory_guard_size(&mut self, bytes: u64) -> &mut Self {
        self.memory.guard_bytes = bytes;
        self
    }

    /// Initialize linear memories copy-on-write from an image (as
    /// Wasmtime's `memory_init_cow`). Default: on. When a module is
    /// created, the active data segments of each memory it defines are laid
    /// out once in a page-aligned image (when every segment has a constant
    /// offset inside the memory's minimum size and there are at least
    /// 4 KiB of data); instantiation then maps the image copy-on-write
    /// instead of copying the segments, so its cost no longer grows with
    /// the data. Hosted, the image is a `memfd`; on other platforms it
    /// takes [`Platform::memory_image_new`](crate::Platform::memory_image_new),
    /// and without it (or with this off) the segments are copied.
    pub fn memory_init_cow(&mut self, enable: bool) -> &mut Self {
        self.memory_init_cow = enable;
        self
    }

    /// Where instances' memories and tables come from (as Wasmtime's
    /// `Config::allocation_strategy`): on demand (the default) or from a
    /// pool with fixed limits ([`InstanceAllocationStrategy::Pooling`](crate::InstanceAllocationStrategy::Pooling)),
    /// made by [`Engine::new`](crate::Engine::new) and shared by the engine's stores. Memories
    /// and tables the host creates (`Memory::new`, `Table::new`) are always
    /// allocated on demand.
    pub fn allocation_strategy(
        &mut self,
        strategy: crate::InstanceAllocationStrategy,
    ) -> &mut Self {
        self.allocation_strategy = strategy;
        self
    }

    /// Describe compiled code to a profiler (as Wasmtime's
    /// `Config::profiler`): with [`ProfilingStrategy::PerfMap`](crate::ProfilingStrategy::PerfMap), every
    /// module's functions are appended to `/tmp/perf-PID.map` when it is
    /// created or loaded, so `perf report` names JIT code. Default:
    /// [`ProfilingStrategy::None`](crate::ProfilingStrategy::None). Without the `std` feature the map is
    /// not written.
    pub fn profiler(&mut self, strategy: crate::ProfilingStrategy) -> &mut Self {
        self.profiler = strategy;
        self
    }

    /// Whether keel may rely on hardware faults (signals on Linux, the
    /// kernel's exception vector on bare metal) to detect out-of-bounds
    /// memory accesses. Default: on. Off, every load and store checks its
    /// bounds explicitly: the choice for platforms without an MMU.
    pub fn signals_based_traps(&mut self, enable: bool) -> &mut Self {
        self.memory.signals_based_traps = enable;
        self
    }

    /// The [`Platform`](crate::Platform) keel runs on: where memory comes
    /// from, whether faults reach keel, the per-CPU slot for the current
    /// activation. Required without `std`; with `std` the hosted Linux
    /// platform is the default. Registered process-wide (kernel-wide) when
    /// the engine is created; all engines must use the same one.
    ///
    /// Every method of a platform, here wrapping the hosted one but
    /// declaring no MMU, so that keel checks every memory access
    /// explicitly instead of relying on guard pages:
    ///
    /// ```
    /// use core::ptr::NonNull;
    /// use keel::{Access, Config, CpuLocal, Engine, HostedPlatform, Linker, Module, Platform};
    /// use keel::{PlatformError, Store};
    ///
    /// struct NoGuardPages;
    ///
    /// // SAFETY: every method forwards to the hosted platform, which upholds
    /// // the contract; claiming no virtual memory only makes keel check more.
    /// unsafe impl Platform for NoGuardPages {
    ///     fn page_size(&self) -> usize {
    ///         HostedPlatform.page_size()
    ///     }
    ///     fn reserve(&self, len: usize) -> Result<NonNull<u8>, PlatformError> {
    ///         HostedPlatform.reserve(len)
    ///     }
    ///     unsafe fn protect(&self, addr: NonNull<u8>, len: usize, access: Access) -> Result<(), PlatformError> {
    ///         // SAFETY: our caller upholds the same contract.
    ///         unsafe { HostedPlatform.protect(addr, len, access) }
    ///     }
    ///     unsafe fn release(&self, addr: NonNull<u8>, len: usize) {
    ///         // SAFETY: our caller upholds the same contract.
    ///         unsafe { HostedPlatform.release(addr, len) }
    ///     }
    ///     fn has_virtual_memory(&self) -> bool {
    ///         false
    ///     }
    ///     fn has_trap_handlers(&self) -> bool {
    ///         true
    ///     }
    ///     fn init_traps(&self) {
    ///         // Installs the signal handlers that call `keel::trap_entry`.
    ///         HostedPlatform.init_traps();
    ///     }
    ///     fn cpu_local(&self) -> NonNull<CpuLocal> {
    ///         // A kernel returns its current CPU's `CpuLocal`.
    ///         HostedPlatform.cpu_local()
    ///     }
    /// }
    ///
    /// static NO_GUARD_PAGES: NoGuardPages = NoGuardPages;
    /// static PLATFORM: &dyn Platform = &NO_GUARD_PAGES;
    ///
    /// let mut config = Config::new();
    /// config.platform(&PLATFORM);
    /// let engine = Engine::new(&config)?;
    /// let module = Module::new(&engine, r#"(module (memory 1 1)
    ///     (func (export "peek") (param i32) (result i32) local.get 0 i32.load))"#)?;
    /// let mut store = Store::new(&engine, ());
    /// let instance = Linker::new(&engine).instantiate(&mut store, &module)?;
    /// let peek = instance.get_typed_func::<i32, i32>(&mut store, "peek")?;
    /// assert_eq!(peek.call(&mut store, 8)?, 0);
    /// let err = peek.call(&mut store, 65536).unwrap_err();
    /// assert_eq!(err.downcast_ref::<keel::Trap>(), Some(&keel::Trap::MemoryOutOfBounds));
    /// # Ok::<(), keel::Error>(())
    /// ```
    ///
    /// `examples/kernel-x86_64` is a kernel with a platform that maps pages
    /// on demand and delivers page faults to [`trap_entry`](crate::trap_entry).
    pub fn platform(&mut self, platform: &'static &'static dyn keel_trap::Platform) -> &mut Self {
        self.platform = Some(platform);
        self
    }

    /// Compile for target `triple` (e.g. `x86_64-unknown-none` in a
    /// kernel, or `riscv64gc-unknown-linux-gnu` to cross-compile) instead
    /// of the host, whose CPU is then not probed: give its features with
    /// [`Config::cranelift_flag_enable`]. Modules compiled for another
    /// architecture can only be precompiled ([`Engine::precompile_module`](crate::Engine::precompile_module)).
    ///
    /// # Errors
    ///
    /// If Cranelift does not know the triple.
    pub fn target(&mut self, triple: &str) -> Result<&mut Self> {
        let parsed: target_lexicon::Triple = triple
            .parse()
            .map_err(|e| anyhow::anyhow!("target `{triple}`: {e}"))?;
        self.target = Some(parsed.to_string());
        Ok(self)
    }

    /// Enable the Cranelift ISA setting `name` (e.g. `has_sse41`, `has_v`)
    /// for an explicit [`Config::target`].
    ///
    /// # Errors
    ///
    /// Unknown settings are reported by [`Engine::new`](crate::Engine::new); this cannot fail
    /// yet, and returns `Result` so that it can validate later.
    pub fn cranelift_flag_enable(&mut self, name: &str) -> Result<&mut Self> {
        self.isa_flags.push((name.to_string(), "true".to_string()));
        Ok(self)
    }

    /// Disable the Cranelift ISA setting `name` for an explicit
    /// [`Config::target`] (the opposite of
    /// [`Config::cranelift_flag_enable`]).
    ///
    /// # Errors
    ///
    /// As [`Config::cranelift_flag_enable`].
    pub fn cranelift_flag_disable(&mut self, name: &str) -> Result<&mut Self> {
        self.isa_flags.push((name.to_string(), "false".to_string()));
        Ok(self)
    }

    /// Guard explicit linear-memory bounds checks against speculative
    /// execution (Spectre v1): when a check fails, the address is also
    /// replaced by null with a conditional move, so a mispredicted branch
    /// cannot read outside the memory. Accesses covered by guard pages
    /// have no branch to mispredict. Like Wasmtime's
    /// `enable_heap_access_spectre_mitigation`. Default: on; turn it off
    /// only when guests cannot observe timing of other domains' data.
    pub fn heap_access_spectre_mitigation(&mut self, enable: bool) -> &mut Self {
        self.heap_spectre = enable;
        self
    }

    /// Guard table bounds checks (`call_indirect`, `table.get`,
    /// `table.set`) against speculative execution: an out-of-bounds index
    /// selects the table's first slot with a conditional move. Like
    /// Wasmtime's `enable_table_access_spectre_mitigation`. Default: on.
    pub fn table_access_spectre_mitigation(&mut self, enable: bool) -> &mut Self {
        self.table_spectre = enable;
        self
    }

    /// Meter execution with fuel, as Wasmtime's `consume_fuel`, with
    /// Wasmtime 48's cost model, so budgets port unchanged: every operator
    /// costs 1 unit except `nop`, `drop`, `block`, `loop`, `unreachable`,
    /// `return`, `else` and `end`, which cost 0; entering a function costs
    /// 1; `memory.fill`, `memory.copy`, `memory.init` cost 1 more per byte
    /// and `table.fill`, `table.copy`, `table.init`, `table.grow` 1 more
    /// per element. A store starts with 0
    /// fuel: give it some with [`Store::set_fuel`](crate::Store::set_fuel).
    /// Running out traps with
    /// [`Trap::OutOfFuel`](crate::Trap::OutOfFuel). The count is
    /// checked at function entry and loop headers, so a guest may run a
    /// few straight-line operators past the budget before it traps.
    /// Default: off. Changes the compiled code.
    pub fn consume_fuel(&mut self, enable: bool) -> &mut Self {
        self.consume_fuel = enable;
        self
    }

    /// Let the embedder interrupt guests with epochs, as Wasmtime's
    /// `epoch_interruption`: compiled code compares the engine's epoch
    /// ([`Engine::increment_epoch`](crate::Engine::increment_epoch)) with the store's deadline
    /// ([`Store::set_epoch_deadline`](crate::Store::set_epoch_deadline))
    /// at function entry and loop headers. Reaching it traps with
    /// [`Trap::Interrupt`](crate::Trap::Interrupt), or runs the
    /// store's
    /// [`epoch_deadline_callback`](crate::Store::epoch_deadline_callback).
    /// A store's deadline starts at 0, so a store must set one before it
    /// runs wasm. Default: off. Changes the compiled code.
    pub fn epoch_interruption(&mut self, enable: bool) -> &mut Self {
        self.epoch_interruption = enable;
        self
    }

    /// Testing aid: never compile a host-call trampoline on demand, as a
    /// build without the `compiler` feature cannot; host functions then
    /// only get the trampolines that loaded modules bring. Not part of
    /// the stable API.
    #[doc(hidden)]
    pub fn host_trampolines_from_artifacts_only(&mut self, enable: bool) -> &mut Self {
        self.host_trampolines_from_artifacts_only = enable;
        self
    }

    /// Allow async calls, as Wasmtime's `async_support`:
    /// [`Func::call_async`](crate::Func::call_async),
    /// [`TypedFunc::call_async`](crate::TypedFunc::call_async),
    /// [`Instance::new_async`](crate::Instance::new_async) and
    /// [`Linker::instantiate_async`](crate::Linker::instantiate_async) run
    /// the guest on a stack of its own (a fiber, allocated through the
    /// [`Platform`](keel_trap::Platform)), which async host functions
    /// ([`Linker::func_wrap_async`](crate::Linker::func_wrap_async)),
    /// epoch deadlines
    /// ([`Store::epoch_deadline_async_yield_and_update`](crate::Store::epoch_deadline_async_yield_and_update))
    /// and fuel
    /// ([`Store::fuel_async_yield_interval`](crate::Store::fuel_async_yield_interval))
    /// can suspend: the call's future returns `Pending`, and the guest
    /// goes on where it stopped when it is polled again, on any thread.
    /// The futures only use `core::future`, so any executor (or a kernel's
    /// own loop) can drive them, with or without `std`. Synchronous calls
    /// still work; one that reaches an async host function or an async
    /// yield fails with an error. Default: off. Does not change compiled
    /// code.
    pub fn async_support(&mut self, enable: bool) -> &mut Self {
        self.async_support = enable;
        self
    }

    /// The size in bytes of the stack each async call runs on (rounded up
    /// to whole pages; a guard page is added below it). It must be at
    /// least [`max_wasm_stack`](Config::max_wasm_stack) and at least
    /// 128 KiB ([`Engine::new`](crate::Engine::new) fails otherwise): wasm uses at most
    /// `max_wasm_stack` of it and always leaves 64 KiB for host frames.
    /// Each store keeps one stack for reuse. Default: 2 MiB, as Wasmtime's.
    pub fn async_stack_size(&mut self, bytes: usize) -> &mut Self {
        self.async_stack_size = bytes;
        self
    }

    fn wasm_feature(&mut self, feature: wasmparser::WasmFeatures, enable: bool) -> &mut Self {
        self.features.set(feature, enable);
        self
    }

    /// Accept the [bulk memory operations](https://github.com/WebAssembly/bulk-memory-operations)
    /// proposal (WebAssembly 2.0): `memory.copy`, `memory.fill`,
    /// `memory.init`, `data.drop`, `table.copy`, `table.init`,
    /// `elem.drop` and passive segments. Default: on, as in Wasmtime;
    /// [`Config::wasm_reference_types`] needs it.
    pub fn wasm_bulk_memory(&mut self, enable: bool) -> &mut Self {
        self.wasm_feature(wasmparser::WasmFeatures::BULK_MEMORY, enable)
    }

    /// Accept the [multi-value](https://github.com/WebAssembly/multi-value)
    /// proposal (WebAssembly 2.0): functions and blocks with several
    /// results, and blocks with parameters. Default: on, as in Wasmtime.
    pub fn wasm_multi_value(&mut self, enable: bool) -> &mut Self {
        self.wasm_feature(wasmparser::WasmFeatures::MULTI_VALUE, enable)
    }

    /// Accept the [fixed-width SIMD](https://github.com/WebAssembly/simd)
    /// proposal (WebAssembly 2.0): the `v128` type and its operators.
    /// Default: on, as in Wasmtime, except on targets without 128-bit
    /// vectors (riscv64 without the V extension, `has_v`), where the
    /// engine turns it and [`Config::wasm_relaxed_simd`] off: modules using
    /// `v128` are then invalid.
    pub fn wasm_simd(&mut self, enable: bool) -> &mut Self {
        self.wasm_feature(wasmparser::WasmFeatures::SIMD, enable)
    }

    /// Accept the [reference types](https://github.com/WebAssembly/reference-types)
    /// proposal (WebAssembly 2.0): `externref`, several tables, `table.*`
    /// instructions and typed `select`. Default: on, as in Wasmtime.
    /// [`Config::wasm_function_references`] needs it.
    pub fn wasm_reference_types(&mut self, enable: bool) -> &mut Self {
        self.wasm_feature(wasmparser::WasmFeatures::REFERENCE_TYPES, enable)
    }

    /// Accept the [tail calls](https://github.com/WebAssembly/tail-call)
    /// proposal (WebAssembly 3.0): `return_call`, `return_call_indirect`
    /// and, with [`Config::wasm_function_references`], `return_call_ref`.
    /// A tail call replaces the caller's frame, so unbounded tail
    /// recursion runs in constant stack. Default: on, as in Wasmtime.
    pub fn wasm_tail_call(&mut self, enable: bool) -> &mut Self {
        self.wasm_feature(wasmparser::WasmFeatures::TAIL_CALL, enable)
    }

    /// Accept the [typed function references](https://github.com/WebAssembly/function-references)
    /// proposal (WebAssembly 3.0): `(ref null? $t)` types, `call_ref`,
    /// `ref.as_non_null`, `br_on_null`, `br_on_non_null`, non-nullable
    /// locals and table initializer expressions. Default: on, as in
    /// Wasmtime.
    pub fn wasm_function_references(&mut self, enable: bool) -> &mut Self {
        self.wasm_feature(wasmparser::WasmFeatures::FUNCTION_REFERENCES, enable)
    }

    /// Accept the [multiple memories](https://github.com/WebAssembly/multi-memory)
    /// proposal (WebAssembly 3.0): any number of memories per module (up to
    /// [`limits::MAX_MEMORIES`](keel_translate::limits::MAX_MEMORIES)),
    /// imported or defined, each memory instruction naming its memory.
    /// Default: on, as in Wasmtime.
    pub fn wasm_multi_memory(&mut self, enable: bool) -> &mut Self {
        self.wasm_feature(wasmparser::WasmFeatures::MULTI_MEMORY, enable)
    }

    /// Accept the [memory64](https://github.com/WebAssembly/memory64)
    /// proposal (WebAssembly 3.0): memories and tables indexed by `i64`.
    /// Accesses to 64-bit memories always check their bounds explicitly.
    /// Default: on, as in Wasmtime.
    pub fn wasm_memory64(&mut self, enable: bool) -> &mut Self {
        self.wasm_feature(wasmparser::WasmFeatures::MEMORY64, enable)
    }

    /// Accept the [relaxed SIMD](https://github.com/WebAssembly/relaxed-simd)
    /// proposal (WebAssembly 3.0): SIMD operators whose result may depend
    /// on the host CPU within the bounds the spec sets; see
    /// [`Config::relaxed_simd_deterministic`]. Default: on, as in Wasmtime.
    pub fn wasm_relaxed_simd(&mut self, enable: bool) -> &mut Self {
        self.wasm_feature(wasmparser::WasmFeatures::RELAXED_SIMD, enable)
    }

    /// Lower every relaxed SIMD operator to its deterministic result (the
    /// one the spec lists first, the same on every host), instead of the
    /// fastest instruction sequence of the host CPU. Default: on (Wasmtime
    /// defaults to off): a guest then computes the same bits on x86_64 and
    /// riscv64. Changes the compiled code.
    pub fn relaxed_simd_deterministic(&mut self, enable: bool) -> &mut Self {
        self.relaxed_simd_deterministic = enable;
        self
    }

    /// Accept the [extended constant expressions](https://github.com/WebAssembly/extended-const)
    /// proposal (WebAssembly 3.0): `i32.add`, `i32.sub`, `i32.mul`,
    /// `i64.add`, `i64.sub` and `i64.mul` in constant expressions (global
    /// initializers, segment offsets, element items). Default: on, as in
    /// Wasmtime.
    pub fn wasm_extended_const(&mut self, enable: bool) -> &mut Self {
        self.wasm_feature(wasmparser::WasmFeatures::EXTENDED_CONST, enable)
    }

    /// Accept the [threads](https://github.com/WebAssembly/threads)
    /// proposal (WebAssembly 3.0): shared memories, atomic memory
    /// operators, `memory.atomic.wait32`/`wait64`/`notify` and
    /// `atomic.fence`. Default: on, as in Wasmtime.
    pub fn wasm_threads(&mut self, enable: bool) -> &mut Self {
        self.wasm_feature(wasmparser::WasmFeatures::THREADS, enable)
    }

    /// Accept the [exception handling](https://github.com/WebAssembly/exception-handling)
    /// proposal (WebAssembly 3.0): tags, `throw`, `throw_ref`, `try_table`
    /// and `exnref`. Default: on (keel implements it whole, host API
    /// included: [`Tag`](crate::Tag), [`ExnRef`](crate::ExnRef),
    /// [`ThrownException`](crate::ThrownException)).
    pub fn wasm_exceptions(&mut self, enable: bool) -> &mut Self {
        self.wasm_feature(wasmparser::WasmFeatures::EXCEPTIONS, enable)
    }

    /// Accept the [garbage collection](https://github.com/WebAssembly/gc)
    /// proposal (WebAssembly 3.0): struct and array types, declared
    /// subtyping, `i31`, the `any`/`eq`/`struct`/`array`/`none` reference
    /// types and their operators. Default: on, as in Wasmtime 49. It
    /// needs [`Config::wasm_function_references`].
    pub fn wasm_gc(&mut self, enable: bool) -> &mut Self {
        self.wasm_feature(wasmparser::WasmFeatures::GC, enable)
    }

    /// Accept the [wide arithmetic](https://github.com/WebAssembly/wide-arithmetic)
    /// proposal: `i64.add128`, `i64.sub128`, `i64.mul_wide_s` and
    /// `i64.mul_wide_u`. Default: on, as in Wasmtime 49.
    pub fn wasm_wide_arithmetic(&mut self, enable: bool) -> &mut Self {
        self.wasm_feature(wasmparser::WasmFeatures::WIDE_ARITHMETIC, enable)
    }

    /// Accept the [custom page sizes](https://github.com/WebAssembly/custom-page-sizes)
    /// proposal: memories whose page size is 1 byte instead of 64 KiB.
    /// Memories with 1-byte pages always check their bounds explicitly.
    /// Default: off, as in Wasmtime.
    pub fn wasm_custom_page_sizes(&mut self, enable: bool) -> &mut Self {
        self.wasm_feature(wasmparser::WasmFeatures::CUSTOM_PAGE_SIZES, enable)
    }

    /// Compile a module's functions on several threads. Default: on.
    pub fn parallel_compilation(&mut self, enable: bool) -> &mut Self {
        self.parallel_compilation = enable;
        self
    }
}

impl Config {
    /// Compile each function body when it is first called instead of all
    /// of them in [`Module::new`](crate::Module::new) (default: off).
    /// `Module::new` still validates the whole module (its errors are the
    /// same) and compiles the trampolines; a function's first call, from
    /// wasm or from the host, through a function reference, a table or a
    /// tail call, enters the compiler through a stub and then runs the
    /// code, which every later call reaches directly. Its code is
    /// identical to eager compilation's but for calls between the
    /// module's functions, which load their target from the module's call
    /// table (fuel and epoch checks are the same). Concurrent first calls
    /// compile once. A function that fails to compile (an implementation
    /// limit; the module is valid) makes that call fail with the
    /// compiler's error.
    ///
    /// Artifacts are always compiled whole:
    /// [`Engine::precompile_module`](crate::Engine::precompile_module)
    /// ignores this setting and [`Module::serialize`](crate::Module::serialize)
    /// compiles the whole module again. With [`Config::cache`], a module
    /// the cache does not have is compiled lazily to run at once, and
    /// whole on a background thread for the cache (so a later run loads
    /// all of its code); the entry is lost if the process ends before
    /// [`Cache::wait_for_background_writes`](crate::Cache::wait_for_background_writes).
    /// Needs the `compiler` feature; a module compiled lazily keeps its
    /// binary in memory. See also [`Config::lazy_baseline`].
    pub fn lazy_compilation(&mut self, enable: bool) -> &mut Self {
        self.lazy_compilation = enable;
        self
    }

    /// With [`Config::lazy_compilation`], compile a function at its first
    /// call without optimizations first (Cranelift's `opt_level=none` with
    /// single-pass register allocation, about twice as fast to compile,
    /// slower to run), then compile its optimized code on a background
    /// thread of the engine and switch later calls to it (default: off;
    /// experimental). Both tiers have the same semantics, traps,
    /// backtraces and fuel and epoch counts, but unoptimized frames are
    /// larger, so deep recursion exhausts the stack sooner (functions with
    /// bodies over 16 KiB are compiled optimized at once for that reason);
    /// calls already running the baseline code finish there. Off, or
    /// without the `std` feature (no threads), a first call compiles
    /// optimized code at once.
    /// [`Module::wait_for_optimized_code`](crate::Module::wait_for_optimized_code)
    /// waits for the background compiler.
    pub fn lazy_baseline(&mut self, enable: bool) -> &mut Self {
        self.lazy_baseline = enable;
        self
    }

    /// With [`Config::lazy_compilation`], compile ahead of their first
    /// call, on the engine's background threads (up to one less than the
    /// machine's cores, at least one), the functions that the module's
    /// call graph reaches from the ones already called: first the direct
    /// callees of the function a call just compiled, then further out
    /// while the threads are idle (default: on). A call that finds its
    /// function being compiled waits for it; a long-running guest ends
    /// with all its reachable code compiled. Without the `std` feature
    /// (no threads) it has no effect.
    pub fn lazy_background_compilation(&mut self, enable: bool) -> &mut Self {
        self.lazy_background_compilation = enable;
        self
    }

    /// Call `progress(done, total)` as the function bodies of a module
    /// compile ([`Module::new`](crate::Module::new),
    /// [`Engine::precompile_module`](crate::Engine::precompile_module)):
    /// after each body, with `done` counting from 1 to `total`, the
    /// module's number of defined functions. It is called from the
    /// compiling threads, possibly several at once, so it must be cheap
    /// and thread-safe; `keel run` draws a progress bar with it. Not
    /// called for modules loaded from artifacts or the cache.
    pub fn compilation_progress(
        &mut self,
        progress: impl Fn(usize, usize) + Send + Sync + 'static,
    ) -> &mut Self {
        self.compilation_progress = Some(alloc::sync::Arc::new(progress));
        self
    }

    /// Keep compiled modules in `cache` (feature `cache`), as Wasmtime's
    /// `Config::cache`: [`Module::new`](crate::Module::new) and
    /// [`Engine::precompile_module`](crate::Engine::precompile_module) of
    /// a module this keel build compiled before with the same settings
    /// load its artifact instead of compiling it. Off (`None`) by
    /// default; `keel run` turns it on. See [`Cache`](crate::Cache) for
    /// what an entry is and when one is trusted.
    #[cfg(feature = "cache")]
    pub fn cache(&mut self, cache: Option<crate::Cache>) -> &mut Self {
        self.cache = cache;
        self
    }

    /// The configuration an engine runs with: `self`, checked for settings
    /// that contradict each other and adjusted to what `platform` can do
    /// (without virtual memory, every memory access checks its bounds).
    ///
    /// # Errors
    ///
    /// If `max_wasm_stack` exceeds `async_stack_size`, `async_stack_size`
    /// leaves no room for the host's frames, function references are
    /// enabled without reference types, or reference types without bulk
    /// memory.
    pub(crate) fn validated(&self, platform: &dyn keel_trap::Platform) -> Result<Config> {
        let mut config = self.clone();
        if config.async_support {
            if config.max_wasm_stack > config.async_stack_size {
                anyhow::bail!(
                    "max_wasm_stack ({} bytes) cannot exceed async_stack_size ({} bytes)",
                    config.max_wasm_stack,
                    config.async_stack_size
                );
            }
            // The host frames of a call (keel's, the host functions') need
            // their reserve on the fiber's stack too.
            let minimum = 2 * keel_trap::HOST_STACK_RESERVE;
            if config.async_stack_size < minimum {
                anyhow::bail!(
                    "async_stack_size ({} bytes) must be at least {minimum} bytes",
                    config.async_stack_size
                );
            }
        }
        // Features that build on others, and what to say when one is on
        // without what it needs.
        use wasmparser::WasmFeatures as F;
        let needs = [
            (
                F::GC,
                F::FUNCTION_REFERENCES,
                "`wasm_gc` needs `wasm_function_references`: turn GC off too",
            ),
            (
                F::FUNCTION_REFERENCES,
                F::REFERENCE_TYPES,
                "`wasm_function_references` needs `wasm_reference_types`: turn both off or neither",
            ),
            (
                F::REFERENCE_TYPES,
                F::BULK_MEMORY,
                "`wasm_reference_types` needs `wasm_bulk_memory`: turn reference types off too",
            ),
        ];
        for (feature, needed, message) in needs {
            if config.features.contains(feature) && !config.features.contains(needed) {
                anyhow::bail!("{message}");
            }
        }
        // Without an MMU, every memory access checks its bounds.
        if !platform.has_virtual_memory() {
            config.memory.signals_based_traps = false;
        }
        Ok(config)
    }
}
