//! [`Config`] and [`Engine`]: compilation settings, the compiler and the
//! engine-wide registry of function types.

use crate::Result;
use crate::prelude::*;
use alloc::sync::Arc;
use core::sync::atomic::{AtomicU64, Ordering};
use hashbrown::HashMap;
use keel_translate::artifact::Compatibility;
use keel_translate::{EntityRef, SharedTypeIndex, WasmFuncType};
use keel_vm::CodeMemory;
use spin::Mutex;

/// Settings for an [`Engine`].
#[derive(Clone)]
pub struct Config {
    pub(crate) max_wasm_stack: usize,
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
}

impl core::fmt::Debug for Config {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Config")
            .field("max_wasm_stack", &self.max_wasm_stack)
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
            .finish()
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            max_wasm_stack: 512 * 1024,
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
    /// [`TrapCode::StackOverflow`](crate::TrapCode::StackOverflow).
    /// Default: 512 KiB. On a thread whose stack is smaller, the limit is
    /// clamped to the thread's real stack (as the platform reports it,
    /// [`Platform::stack_bounds`](crate::Platform::stack_bounds)) minus a
    /// reserve for host frames, so deep recursion still traps instead of
    /// overflowing the host's stack.
    pub fn max_wasm_stack(&mut self, bytes: usize) -> &mut Self {
        self.max_wasm_stack = bytes;
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
    /// made by [`Engine::new`] and shared by the engine's stores. Memories
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
    /// assert_eq!(err.downcast_ref::<keel::Trap>().unwrap().code(), keel::TrapCode::MemoryOutOfBounds);
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
    /// architecture can only be precompiled ([`Engine::precompile_module`]).
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
    /// Unknown settings are reported by [`Engine::new`]; this cannot fail
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
    /// [`TrapCode::OutOfFuel`](crate::TrapCode::OutOfFuel). The count is
    /// checked at function entry and loop headers, so a guest may run a
    /// few straight-line operators past the budget before it traps.
    /// Default: off. Changes the compiled code.
    pub fn consume_fuel(&mut self, enable: bool) -> &mut Self {
        self.consume_fuel = enable;
        self
    }

    /// Let the embedder interrupt guests with epochs, as Wasmtime's
    /// `epoch_interruption`: compiled code compares the engine's epoch
    /// ([`Engine::increment_epoch`]) with the store's deadline
    /// ([`Store::set_epoch_deadline`](crate::Store::set_epoch_deadline))
    /// at function entry and loop headers. Reaching it traps with
    /// [`TrapCode::Interrupt`](crate::TrapCode::Interrupt), or runs the
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
    /// 128 KiB ([`Engine::new`] fails otherwise): wasm uses at most
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

    /// Accept the [wide arithmetic](https://github.com/WebAssembly/wide-arithmetic)
    /// proposal: `i64.add128`, `i64.sub128`, `i64.mul_wide_s` and
    /// `i64.mul_wide_u`. Default: off, as in Wasmtime.
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

/// A compilation error as keel reports it: validation errors, unsupported
/// features and implementation limits as the one [`WasmError`](crate::WasmError)
/// type (downcastable), code generator failures as
/// [`CompileError`](crate::CompileError).
#[cfg(feature = "compiler")]
pub(crate) fn compile_error(e: keel_compile::CompileError) -> anyhow::Error {
    match e {
        keel_compile::CompileError::Translate(e) => anyhow::Error::new(e),
        e => anyhow::Error::new(e),
    }
}

/// The engine-wide function type registry: equal types get equal ids, so
/// `call_indirect` and import matching compare one integer.
///
/// Types are registered a recursion group at a time and are equal when
/// their groups are (spec:
/// [Type Equivalence](https://webassembly.github.io/spec/core/valid/conventions.html#type-equivalence)):
/// a group's key is its types with every reference to a type outside the
/// group replaced by that type's id ([`TypeRef::Engine`]) and every
/// reference inside it by its position ([`TypeRef::RecGroup`]). The
/// members of a group get consecutive ids.
#[derive(Default)]
struct TypeRegistry {
    groups: HashMap<Box<[WasmFuncType]>, SharedTypeIndex>,
    /// Each id's type, its references as engine ids.
    types: Vec<WasmFuncType>,
}

pub(crate) struct EngineInner {
    pub(crate) config: Config,
    #[cfg(feature = "compiler")]
    pub(crate) compiler: keel_compile::Compiler,
    types: Mutex<TypeRegistry>,
    /// The epoch counter ([`Engine::increment_epoch`]); stores point their
    /// store context at it.
    pub(crate) epoch: AtomicU64,
    host_trampolines: Mutex<HashMap<WasmFuncType, (Arc<CodeMemory>, usize)>>,
    /// What artifacts must have been compiled with, and its encoding
    /// (computed once: it formats every Cranelift setting).
    compatibility: spin::Once<(Compatibility, Vec<u8>)>,
    /// The pooling allocator, with [`InstanceAllocationStrategy::Pooling`](crate::InstanceAllocationStrategy::Pooling)(crate::InstanceAllocationStrategy::Pooling).
    pub(crate) pool: Option<Arc<keel_vm::InstancePool>>,
}

/// Compiles modules and owns what they share: the code generator, the
/// function type registry and host-call trampolines. Cheap to clone.
#[derive(Clone)]
pub struct Engine {
    pub(crate) inner: Arc<EngineInner>,
}

impl core::fmt::Debug for Engine {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Engine")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

impl Default for Engine {
    /// An engine with the default [`Config`].
    ///
    /// # Panics
    ///
    /// If the host CPU is not supported by Cranelift; use [`Engine::new`]
    /// to get that as an error.
    fn default() -> Self {
        match Engine::new(&Config::default()) {
            Ok(e) => e,
            Err(e) => panic!("cannot create the default keel engine: {e:#}"),
        }
    }
}

impl Engine {
    /// An engine with settings `config`.
    ///
    /// # Errors
    ///
    /// If the code generator does not support the host CPU (or the
    /// configured target), the CPU lacks a feature that WebAssembly SIMD
    /// needs (on x86_64: SSE3, SSSE3, SSE4.1 and SSE4.2), no platform is
    /// registered (without `std`), a different platform is already
    /// registered, or the platform cannot deliver faults to keel.
    pub fn new(config: &Config) -> Result<Engine> {
        let mut config = config.clone();
        if let Some(platform) = config.platform {
            keel_trap::set_platform(platform)?;
        }
        let platform = keel_trap::platform().ok_or_else(|| {
            anyhow::anyhow!("no keel platform: without `std`, pass one with `Config::platform`")
        })?;
        // Compiled code raises every trap through the hardware (`ud2`,
        // division faults), so faults must reach `trap_entry`.
        if !platform.has_trap_handlers() {
            anyhow::bail!(
                "this platform cannot deliver faults to keel (`Platform::has_trap_handlers` is false); \
                 keel's compiled code raises traps as hardware faults and needs them"
            );
        }
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
        if config
            .features
            .contains(wasmparser::WasmFeatures::FUNCTION_REFERENCES)
            && !config
                .features
                .contains(wasmparser::WasmFeatures::REFERENCE_TYPES)
        {
            anyhow::bail!(
                "`wasm_function_references` needs `wasm_reference_types`: turn both off or neither"
            );
        }
        // Without an MMU, every memory access checks its bounds.
        if !platform.has_virtual_memory() {
            config.memory.signals_based_traps = false;
        }
        #[cfg(feature = "compiler")]
        let compiler = {
            let mut options = keel_compile::CompilerOptions::default();
            if !config.parallel_compilation {
                options.parallelism = 1;
            }
            options.nan_canonicalization = config.nan_canonicalization;
            options.memory = config.memory;
            options.heap_access_spectre_mitigation = config.heap_spectre;
            options.table_access_spectre_mitigation = config.table_spectre;
            options.consume_fuel = config.consume_fuel;
            options.epoch_interruption = config.epoch_interruption;
            options.relaxed_simd_deterministic = config.relaxed_simd_deterministic;
            match &config.target {
                Some(triple) => {
                    keel_compile::Compiler::for_target(options, triple, &config.isa_flags)?
                }
                #[cfg(feature = "std")]
                None => keel_compile::Compiler::new(options)?,
                #[cfg(not(feature = "std"))]
                None => anyhow::bail!(
                    "without `std` the host CPU cannot be probed: set `Config::target` and its features"
                ),
            }
        };
        // A target without 128-bit vectors cannot run SIMD: validate
        // without it, so modules using `v128` are refused as invalid.
        #[cfg(feature = "compiler")]
        let simd = compiler.supports_simd();
        #[cfg(not(feature = "compiler"))]
        let simd = config
            .target
            .as_deref()
            .is_none_or(|t| !t.starts_with("riscv64"))
            || config
                .isa_flags
                .iter()
                .any(|(name, value)| name == "has_v" && value == "true");
        if !simd {
            config
                .features
                .remove(wasmparser::WasmFeatures::SIMD | wasmparser::WasmFeatures::RELAXED_SIMD);
        }
        let pool = match &config.allocation_strategy {
            crate::InstanceAllocationStrategy::Pooling(pooling) => Some(Arc::new(
                keel_vm::InstancePool::new(pooling.limits.clone(), &config.memory)?,
            )),
            crate::InstanceAllocationStrategy::OnDemand => None,
        };
        Ok(Engine {
            inner: Arc::new(EngineInner {
                pool,
                config,
                #[cfg(feature = "compiler")]
                compiler,
                types: Mutex::new(TypeRegistry::default()),
                epoch: AtomicU64::new(0),
                host_trampolines: Mutex::new(HashMap::new()),
                compatibility: spin::Once::new(),
            }),
        })
    }

    /// Whether this engine's code runs on this machine's architecture.
    pub(crate) fn targets_host(&self) -> bool {
        #[cfg(feature = "compiler")]
        let architecture = self.inner.compiler.isa().triple().architecture;
        #[cfg(not(feature = "compiler"))]
        let Ok(target_lexicon::Triple { architecture, .. }) = self.target().parse() else {
            return false;
        };
        matches!(
            (
                architecture,
                cfg!(target_arch = "x86_64"),
                cfg!(target_arch = "riscv64")
            ),
            (target_lexicon::Architecture::X86_64, true, _)
                | (target_lexicon::Architecture::Riscv64(_), _, true)
        )
    }

    /// Validate and compile `bytes` (the binary format, or the text format
    /// with the `wat` feature) for this engine's target and write the
    /// result as an artifact: an ELF file holding the code, its tables,
    /// the module's metadata and this engine's settings, which
    /// [`Module::deserialize`](crate::Module::deserialize) loads without
    /// compiling, in this process or another, with or without the
    /// `compiler` feature. The way to compile for another architecture
    /// ([`Config::target`]). Like Wasmtime's `Engine::precompile_module`.
    ///
    /// # Errors
    ///
    /// As [`Module::new`](crate::Module::new).
    #[cfg(feature = "compiler")]
    pub fn precompile_module(&self, bytes: &[u8]) -> Result<Vec<u8>> {
        #[cfg(feature = "wat")]
        let bytes = &wat::parse_bytes(bytes)?;
        let translation = keel_translate::translate_module(bytes, self.inner.config.features)?;
        let text = self
            .inner
            .compiler
            .compile_module(&translation)
            .map_err(compile_error)?;
        keel_compile::artifact::write_artifact(
            &translation.module,
            &text.text,
            &text,
            self.compatibility(),
        )
        .map_err(compile_error)
    }

    /// The target this engine's code is for: [`Config::target`], or the
    /// host's triple.
    pub(crate) fn target(&self) -> String {
        #[cfg(feature = "compiler")]
        {
            self.inner.compiler.triple()
        }
        #[cfg(not(feature = "compiler"))]
        {
            match &self.inner.config.target {
                Some(t) => t.clone(),
                None => target_lexicon::HOST.to_string(),
            }
        }
    }

    /// What an artifact must have been compiled with to run on this
    /// engine. Without the compiler the Cranelift and ISA settings are
    /// unknown and left empty (see [`Engine::check_compatible`]).
    #[cfg(feature = "compiler")]
    pub(crate) fn compatibility(&self) -> &Compatibility {
        &self.compatibility_and_bytes().0
    }

    fn compatibility_and_bytes(&self) -> &(Compatibility, Vec<u8>) {
        self.inner.compatibility.call_once(|| {
            let compat = self.compute_compatibility();
            // Only compared with artifacts' encodings; an encoding error
            // (impossible for these types) just disables the fast path.
            let bytes = postcard::to_allocvec(&compat).unwrap_or_default();
            (compat, bytes)
        })
    }

    fn compute_compatibility(&self) -> Compatibility {
        let config = &self.inner.config;
        #[cfg(feature = "compiler")]
        let (cranelift_flags, isa_flags) = self.inner.compiler.settings();
        #[cfg(not(feature = "compiler"))]
        let (cranelift_flags, isa_flags) = (Vec::new(), Vec::new());
        Compatibility {
            keel_version: env!("CARGO_PKG_VERSION").to_string(),
            target: self.target(),
            cranelift_flags,
            isa_flags,
            memory: config.memory,
            consume_fuel: config.consume_fuel,
            epoch_interruption: config.epoch_interruption,
            nan_canonicalization: config.nan_canonicalization,
            heap_access_spectre_mitigation: config.heap_spectre,
            table_access_spectre_mitigation: config.table_spectre,
            wasm_features: config.features.bits(),
            relaxed_simd_deterministic: config.relaxed_simd_deterministic,
        }
    }

    /// Check that code compiled with `artifact`'s settings can run on this
    /// engine.
    ///
    /// With the compiler, every setting must be equal. Without it, the
    /// Cranelift settings are implied by the keel version and the options
    /// compared here, and each CPU feature the artifact's code uses
    /// (an ISA flag `has_*` set to `true`) must be one this CPU has: on
    /// x86_64 with `std` as detected at run time, on riscv64 as the
    /// target's name implies (`riscv64gc`: G and C), otherwise as declared
    /// with [`Config::cranelift_flag_enable`].
    ///
    /// # Errors
    ///
    /// One error listing every mismatch as `setting: artifact value,
    /// engine value`; or, if the engine's code cannot run on this machine
    /// (it compiles for another target), that.
    pub(crate) fn check_compatible(
        &self,
        file: &keel_vm::artifact::ArtifactFile<'_>,
    ) -> Result<()> {
        let (expected, expected_bytes) = self.compatibility_and_bytes();
        // Equal encodings are equal settings: no need to decode.
        if file.compat_bytes == expected_bytes.as_slice() && self.targets_host() {
            return Ok(());
        }
        let artifact = &file.compat()?;
        #[cfg(not(feature = "compiler"))]
        let expected = &Compatibility {
            cranelift_flags: artifact.cranelift_flags.clone(),
            isa_flags: artifact.isa_flags.clone(),
            ..expected.clone()
        };
        if artifact.target != expected.target {
            anyhow::bail!(
                "the artifact is code for another machine: target: artifact {}, engine {}; \
                 load it where {} code runs, or compile the module for {}",
                artifact.target,
                expected.target,
                artifact.target,
                expected.target
            );
        }
        let mut mismatches = artifact.mismatches(expected);
        // A CPU feature the artifact does not use but this engine's CPU
        // has is no obstacle: code for a baseline CPU (an artifact made on
        // another machine for `riscv64gc-unknown-linux-gnu`) runs on one
        // with more extensions. One it uses must be here.
        mismatches.retain(|(name, a, b)| {
            !(name.starts_with("ISA setting `has_") && a == "false" && b == "true")
        });
        // CPU features of another target are beside the point.
        #[cfg(not(feature = "compiler"))]
        for (name, value) in artifact
            .isa_flags
            .iter()
            .filter(|_| artifact.target == expected.target)
        {
            if value == "true" && name.starts_with("has_") && !self.cpu_has(name) {
                mismatches.push((
                    format!("ISA setting `{name}`"),
                    value.clone(),
                    "false (this CPU lacks it, or it is not declared with `Config::cranelift_flag_enable`)".into(),
                ));
            }
        }
        if !mismatches.is_empty() {
            let list: Vec<String> = mismatches
                .iter()
                .map(|(name, a, b)| format!("{name}: artifact {a}, engine {b}"))
                .collect();
            anyhow::bail!(
                "the artifact was compiled with settings this engine does not have: {}",
                list.join("; ")
            );
        }
        if !self.targets_host() {
            anyhow::bail!(
                "this engine's target `{}` is not this machine's: its artifacts can be written, not run",
                expected.target
            );
        }
        Ok(())
    }

    /// Whether this CPU has Cranelift ISA feature `name` (e.g.
    /// `has_avx2`), for an engine without the compiler.
    #[cfg(not(feature = "compiler"))]
    fn cpu_has(&self, name: &str) -> bool {
        if self
            .inner
            .config
            .isa_flags
            .iter()
            .any(|(n, v)| n == name && v == "true")
        {
            return true;
        }
        if riscv64_baseline_has(&self.target(), name) {
            return true;
        }
        #[cfg(all(feature = "std", target_arch = "x86_64"))]
        {
            let detected = match name {
                "has_sse3" => std::is_x86_feature_detected!("sse3"),
                "has_ssse3" => std::is_x86_feature_detected!("ssse3"),
                "has_sse41" => std::is_x86_feature_detected!("sse4.1"),
                "has_sse42" => std::is_x86_feature_detected!("sse4.2"),
                "has_popcnt" => std::is_x86_feature_detected!("popcnt"),
                "has_avx" => std::is_x86_feature_detected!("avx"),
                "has_avx2" => std::is_x86_feature_detected!("avx2"),
                "has_fma" => std::is_x86_feature_detected!("fma"),
                "has_bmi1" => std::is_x86_feature_detected!("bmi1"),
                "has_bmi2" => std::is_x86_feature_detected!("bmi2"),
                "has_lzcnt" => std::is_x86_feature_detected!("lzcnt"),
                "has_cmpxchg16b" => std::is_x86_feature_detected!("cmpxchg16b"),
                "has_avx512bitalg" => std::is_x86_feature_detected!("avx512bitalg"),
                "has_avx512dq" => std::is_x86_feature_detected!("avx512dq"),
                "has_avx512f" => std::is_x86_feature_detected!("avx512f"),
                "has_avx512vl" => std::is_x86_feature_detected!("avx512vl"),
                "has_avx512vbmi" => std::is_x86_feature_detected!("avx512vbmi"),
                "has_avx512vnni" => std::is_x86_feature_detected!("avx512vnni"),
                "has_avx_vnni" => std::is_x86_feature_detected!("avxvnni"),
                _ => false,
            };
            if detected {
                return true;
            }
        }
        false
    }

    /// Advance the engine's epoch by one, as Wasmtime's
    /// `Engine::increment_epoch`: running guests of every store of this
    /// engine see it at their next function entry or loop header and stop
    /// or call back once the epoch reaches their store's deadline
    /// ([`Config::epoch_interruption`]).
    ///
    /// One relaxed atomic add: no lock, no allocation, so it may be called
    /// from any thread, a signal handler or a kernel interrupt handler.
    pub fn increment_epoch(&self) {
        self.inner.epoch.fetch_add(1, Ordering::Relaxed);
    }

    /// The engine's current epoch (the number of
    /// [`increment_epoch`](Engine::increment_epoch) calls so far).
    pub fn current_epoch(&self) -> u64 {
        self.inner.epoch.load(Ordering::Relaxed)
    }

    /// Whether two handles refer to the same engine.
    pub fn same(a: &Engine, b: &Engine) -> bool {
        Arc::ptr_eq(&a.inner, &b.inner)
    }

    pub(crate) fn config(&self) -> &Config {
        &self.inner.config
    }

    /// The engine-wide id of function type `ty`, whose references to
    /// other types are engine ids (as in the types the engine hands out).
    pub(crate) fn register_type(&self, ty: &WasmFuncType) -> SharedTypeIndex {
        let mut reg = self.inner.types.lock();
        let key: Box<[WasmFuncType]> = Box::new([ty.clone()]);
        if let Some(id) = reg.groups.get(&key) {
            return *id;
        }
        let id = SharedTypeIndex::new(reg.types.len());
        reg.types.push(ty.clone());
        reg.groups.insert(key, id);
        id
    }

    /// The engine-wide ids of `module`'s types, registering its recursion
    /// groups in order.
    ///
    /// # Errors
    ///
    /// If the groups do not cover the types or a type refers to a later
    /// group (only in metadata that bypassed validation).
    pub(crate) fn register_module_types(
        &self,
        module: &keel_translate::Module,
    ) -> Result<Vec<SharedTypeIndex>> {
        use keel_translate::{TypeIndex, TypeRef};
        let mut ids: Vec<SharedTypeIndex> = Vec::with_capacity(module.types.len());
        let mut reg = self.inner.types.lock();
        for &(start, len) in &module.rec_groups {
            if start as usize != ids.len() {
                anyhow::bail!("type {start} is not where its recursion group starts");
            }
            let mut bad = false;
            let key: Box<[WasmFuncType]> = (start..start.saturating_add(len))
                .map(|i| {
                    let ty = module.types.get(TypeIndex::from_u32(i));
                    let Some(ty) = ty else {
                        bad = true;
                        return WasmFuncType::default();
                    };
                    ty.map_type_refs(|r| match r {
                        TypeRef::Module(t) if t.as_u32() < start => TypeRef::Engine(ids[t.index()]),
                        TypeRef::Module(t) if t.as_u32() - start < len => {
                            TypeRef::RecGroup(t.as_u32() - start)
                        }
                        other => {
                            bad = true;
                            other
                        }
                    })
                })
                .collect();
            if bad {
                anyhow::bail!("a type of recursion group {start} refers to a later type");
            }
            let base = match reg.groups.get(&key) {
                Some(base) => *base,
                None => {
                    let base = reg.types.len();
                    for ty in key.iter() {
                        let ty = ty.map_type_refs(|r| match r {
                            TypeRef::RecGroup(n) => {
                                TypeRef::Engine(SharedTypeIndex::new(base + n as usize))
                            }
                            other => other,
                        });
                        reg.types.push(ty);
                    }
                    let base = SharedTypeIndex::new(base);
                    reg.groups.insert(key, base);
                    base
                }
            };
            ids.extend((0..len as usize).map(|n| SharedTypeIndex::new(base.index() + n)));
        }
        if ids.len() != module.types.len() {
            anyhow::bail!("the recursion groups do not cover the module's types");
        }
        Ok(ids)
    }

    /// The function type with engine-wide id `id`.
    pub(crate) fn lookup_type(&self, id: SharedTypeIndex) -> Option<WasmFuncType> {
        let reg = self.inner.types.lock();
        reg.types.get(id.index()).cloned()
    }

    /// The wasm-to-array trampoline for host functions of type `ty`: one
    /// a loaded module brought ([`Engine::register_host_trampolines`]) or,
    /// with the compiler, one compiled now. `None` without the compiler
    /// when no module loaded so far has one; the store fills it in when a
    /// module that can call such a function is instantiated.
    ///
    /// # Errors
    ///
    /// If compiling or mapping the trampoline fails.
    pub(crate) fn host_trampoline(&self, ty: &WasmFuncType) -> Result<Option<*const u8>> {
        // Trampolines are keyed by machine-level signature.
        let ty = &ty.signature();
        #[cfg_attr(
            not(feature = "compiler"),
            expect(unused_mut, reason = "only the compiler inserts")
        )]
        let mut cache = self.inner.host_trampolines.lock();
        if let Some((_, addr)) = cache.get(ty) {
            return Ok(Some(*addr as *const u8));
        }
        #[cfg(feature = "compiler")]
        if !self.inner.config.host_trampolines_from_artifacts_only {
            let mut text = self
                .inner
                .compiler
                .compile_host_trampolines(core::slice::from_ref(ty))?;
            let loc = text.wasm_to_array_trampolines[0].1;
            let code = core::mem::take(&mut text.text);
            let code = Arc::new(CodeMemory::new(&code, Arc::new(text), None)?);
            let addr = code
                .resolve(loc)
                .ok_or_else(|| anyhow::anyhow!("host trampoline outside its code"))?
                as usize;
            self.profile_host_trampoline(ty, addr, loc.length)?;
            cache.insert(ty.clone(), (code, addr));
            return Ok(Some(addr as *const u8));
        }
        Ok(None)
    }

    /// Describe a host trampoline of type `ty`, `len` bytes at `addr`, to
    /// the configured profiler (`Config::profiler`).
    ///
    /// # Errors
    ///
    /// When the perf map cannot be written.
    fn profile_host_trampoline(&self, ty: &WasmFuncType, addr: usize, len: u32) -> Result<()> {
        #[cfg(feature = "std")]
        if self.inner.config.profiler == crate::ProfilingStrategy::PerfMap {
            crate::profiling::write_perf_map_host_trampoline(ty, addr, len)?;
        }
        #[cfg(not(feature = "std"))]
        let _ = (ty, addr, len);
        Ok(())
    }

    /// Make the wasm-to-array trampolines of a module's `code` available
    /// to host functions of their types (so that a build without the
    /// compiler can call the host): those of signatures the engine has no
    /// trampoline for yet are copied into code memory of their own, so
    /// that the engine does not keep the module's code alive.
    ///
    /// # Errors
    ///
    /// If mapping the copy fails.
    pub(crate) fn register_host_trampolines(&self, code: &CodeMemory) -> Result<()> {
        let mut cache = self.inner.host_trampolines.lock();
        let mut text = keel_translate::CompiledText::default();
        let mut bytes = Vec::new();
        for (ty, loc) in &code.text().wasm_to_array_trampolines {
            // A module's trampolines have distinct signatures.
            if cache.contains_key(ty) {
                continue;
            }
            let (start, end) = (loc.start as usize, (loc.start + loc.length) as usize);
            let Some(body) = code.code().get(start..end) else {
                anyhow::bail!("a trampoline lies outside its module's code");
            };
            // At least the alignment it had in the module's text (16, or
            // more for a constant pool), so pc-relative constants keep
            // theirs.
            bytes.resize(bytes.len().next_multiple_of(64), 0);
            let start = u32::try_from(bytes.len())?;
            bytes.extend_from_slice(body);
            text.wasm_to_array_trampolines.push((
                ty.clone(),
                keel_translate::FunctionLoc {
                    start,
                    length: loc.length,
                },
            ));
        }
        if text.wasm_to_array_trampolines.is_empty() {
            return Ok(());
        }
        let text = Arc::new(text);
        let copy = Arc::new(CodeMemory::new(&bytes, text.clone(), None)?);
        for (ty, loc) in &text.wasm_to_array_trampolines {
            let addr = copy
                .resolve(*loc)
                .ok_or_else(|| anyhow::anyhow!("host trampoline outside its code"))?;
            self.profile_host_trampoline(ty, addr as usize, loc.length)?;
            cache.insert(ty.clone(), (copy.clone(), addr as usize));
        }
        Ok(())
    }
}

/// Whether the architecture of the target triple `target` implies the
/// riscv64 extension behind the Cranelift ISA flag `name`, as Rust's
/// targets of that name assume every CPU has it: `riscv64gc` is RV64G
/// (I, M, A, F, D, Zicsr, Zifencei) plus C; `riscv64imac` is I, M, A, C.
/// An engine without the compiler counts these as present, so artifacts
/// compiled for the target's baseline load without declaring each one.
/// False for every other target and flag.
#[cfg_attr(
    feature = "compiler",
    allow(dead_code, reason = "used by engines without the compiler, and tested")
)]
fn riscv64_baseline_has(target: &str, name: &str) -> bool {
    let Some(letters) = target
        .split('-')
        .next()
        .and_then(|arch| arch.strip_prefix("riscv64"))
    else {
        return false;
    };
    let g = letters.contains('g');
    let has = |c: char| letters.contains(c) || (g && "imafd".contains(c));
    match name {
        "has_m" => has('m'),
        "has_a" => has('a'),
        "has_f" => has('f'),
        "has_d" => has('d'),
        "has_zicsr" | "has_zifencei" => g,
        "has_c" | "has_zca" => has('c'),
        "has_zcd" => has('c') && has('d'),
        _ => false,
    }
}

#[cfg(test)]
mod riscv64_baseline_tests {
    use super::riscv64_baseline_has;

    #[test]
    fn riscv64gc_implies_g_and_c_and_nothing_more() {
        for flag in [
            "has_m",
            "has_a",
            "has_f",
            "has_d",
            "has_zicsr",
            "has_zifencei",
            "has_c",
            "has_zca",
            "has_zcd",
        ] {
            assert!(
                riscv64_baseline_has("riscv64gc-unknown-none-elf", flag),
                "{flag}"
            );
            assert!(
                riscv64_baseline_has("riscv64gc-unknown-linux-gnu", flag),
                "{flag}"
            );
        }
        for flag in ["has_v", "has_zba", "has_zbb", "has_zfa", "has_sse3"] {
            assert!(
                !riscv64_baseline_has("riscv64gc-unknown-none-elf", flag),
                "{flag}"
            );
        }
    }

    #[test]
    fn riscv64imac_lacks_floating_point_and_other_targets_imply_nothing() {
        assert!(riscv64_baseline_has(
            "riscv64imac-unknown-none-elf",
            "has_a"
        ));
        assert!(riscv64_baseline_has(
            "riscv64imac-unknown-none-elf",
            "has_c"
        ));
        assert!(!riscv64_baseline_has(
            "riscv64imac-unknown-none-elf",
            "has_f"
        ));
        assert!(!riscv64_baseline_has(
            "riscv64imac-unknown-none-elf",
            "has_zcd"
        ));
        assert!(!riscv64_baseline_has(
            "riscv64imac-unknown-none-elf",
            "has_zicsr"
        ));
        assert!(!riscv64_baseline_has("x86_64-unknown-none", "has_m"));
        assert!(!riscv64_baseline_has("", "has_m"));
    }
}
