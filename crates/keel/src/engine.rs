//! [`Config`] and [`Engine`]: compilation settings, the compiler and the
//! engine-wide registry of function types.

use crate::Result;
use keel_translate::{EntityRef, SharedTypeIndex, WasmFuncType};
use keel_vm::CodeMemory;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Settings for an [`Engine`].
#[derive(Clone, Debug)]
pub struct Config {
    pub(crate) max_wasm_stack: usize,
    pub(crate) parallel_compilation: bool,
    pub(crate) nan_canonicalization: bool,
    pub(crate) memory: keel_translate::MemoryTunables,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            max_wasm_stack: 512 * 1024,
            parallel_compilation: true,
            nan_canonicalization: false,
            memory: keel_translate::MemoryTunables::default(),
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
    /// Default: 512 KiB. The host thread's stack must be larger.
    pub fn max_wasm_stack(&mut self, bytes: usize) -> &mut Self {
        self.max_wasm_stack = bytes;
        self
    }

    /// Canonicalize NaNs: every float operation that produces a NaN
    /// produces the canonical one (spec §4.3.3 "NaN Propagation" allows any
    /// arithmetic NaN), so results are the same bits on every host.
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

    /// Whether keel may rely on hardware faults (signals on Linux, the
    /// kernel's exception vector on bare metal) to detect out-of-bounds
    /// memory accesses. Default: on. Off, every load and store checks its
    /// bounds explicitly: the choice for platforms without an MMU.
    pub fn signals_based_traps(&mut self, enable: bool) -> &mut Self {
        self.memory.signals_based_traps = enable;
        self
    }

    /// Compile a module's functions on several threads. Default: on.
    pub fn parallel_compilation(&mut self, enable: bool) -> &mut Self {
        self.parallel_compilation = enable;
        self
    }
}

/// The engine-wide function type registry: equal types get equal ids, so
/// `call_indirect` compares one integer.
#[derive(Default)]
struct TypeRegistry {
    ids: HashMap<WasmFuncType, SharedTypeIndex>,
    types: Vec<WasmFuncType>,
}

pub(crate) struct EngineInner {
    pub(crate) config: Config,
    #[cfg(feature = "compiler")]
    pub(crate) compiler: keel_compile::Compiler,
    types: Mutex<TypeRegistry>,
    host_trampolines: Mutex<HashMap<WasmFuncType, (Arc<CodeMemory>, usize)>>,
}

/// Compiles modules and owns what they share: the code generator, the
/// function type registry and host-call trampolines. Cheap to clone.
#[derive(Clone)]
pub struct Engine {
    pub(crate) inner: Arc<EngineInner>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
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
    /// If the code generator does not support the host CPU, or the CPU
    /// lacks a feature that WebAssembly SIMD needs (on x86_64: SSE3, SSSE3,
    /// SSE4.1 and SSE4.2).
    pub fn new(config: &Config) -> Result<Engine> {
        #[cfg(feature = "compiler")]
        let compiler = {
            let mut options = keel_compile::CompilerOptions::default();
            if !config.parallel_compilation {
                options.parallelism = 1;
            }
            options.nan_canonicalization = config.nan_canonicalization;
            options.memory = config.memory;
            keel_compile::Compiler::new(options)?
        };
        Ok(Engine {
            inner: Arc::new(EngineInner {
                config: config.clone(),
                #[cfg(feature = "compiler")]
                compiler,
                types: Mutex::new(TypeRegistry::default()),
                host_trampolines: Mutex::new(HashMap::new()),
            }),
        })
    }

    /// Whether two handles refer to the same engine.
    pub fn same(a: &Engine, b: &Engine) -> bool {
        Arc::ptr_eq(&a.inner, &b.inner)
    }

    pub(crate) fn config(&self) -> &Config {
        &self.inner.config
    }

    /// The engine-wide id of function type `ty`.
    pub(crate) fn register_type(&self, ty: &WasmFuncType) -> SharedTypeIndex {
        let mut reg = self.inner.types.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(id) = reg.ids.get(ty) {
            return *id;
        }
        let id = SharedTypeIndex::new(reg.types.len());
        reg.types.push(ty.clone());
        reg.ids.insert(ty.clone(), id);
        id
    }

    /// The function type with engine-wide id `id`.
    pub(crate) fn lookup_type(&self, id: SharedTypeIndex) -> Option<WasmFuncType> {
        let reg = self.inner.types.lock().unwrap_or_else(|e| e.into_inner());
        reg.types.get(id.index()).cloned()
    }

    /// The wasm-to-array trampoline for host functions of type `ty`,
    /// compiled on first use.
    pub(crate) fn host_trampoline(&self, ty: &WasmFuncType) -> Result<*const u8> {
        let mut cache = self
            .inner
            .host_trampolines
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Some((_, addr)) = cache.get(ty) {
            return Ok(*addr as *const u8);
        }
        #[cfg(feature = "compiler")]
        {
            let text = self
                .inner
                .compiler
                .compile_host_trampolines(std::slice::from_ref(ty))?;
            let loc = text.wasm_to_array_trampolines[0].1;
            let code = Arc::new(CodeMemory::new(Arc::new(text), None)?);
            let addr = code.resolve(loc) as usize;
            cache.insert(ty.clone(), (code, addr));
            Ok(addr as *const u8)
        }
        #[cfg(not(feature = "compiler"))]
        {
            anyhow::bail!("host functions of type {ty} need the `compiler` feature")
        }
    }
}
