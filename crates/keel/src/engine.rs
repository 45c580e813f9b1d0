//! [`Engine`]: what the modules of one configuration share: the settings,
//! the code generator ([`Compiler`], absent without the `compiler`
//! feature), the function type registry, the epoch counter, host-call
//! trampolines and the instance pool. Settings are in `config.rs`,
//! artifact compatibility in `compat.rs`, the type registry in
//! `type_registry.rs`.

use crate::compiler::Compiler;
use crate::prelude::*;
use crate::type_registry::TypeRegistry;
use crate::{Config, Result};
use alloc::sync::Arc;
use core::sync::atomic::{AtomicU64, Ordering};
use hashbrown::HashMap;
use keel_translate::artifact::Compatibility;
use keel_translate::{SharedTypeIndex, WasmFuncType};
use keel_vm::CodeMemory;
use spin::Mutex;

pub(crate) struct EngineInner {
    pub(crate) config: Config,
    /// Cranelift, or (without the `compiler` feature) nothing.
    pub(crate) compiler: Compiler,
    types: TypeRegistry,
    /// The epoch counter ([`Engine::increment_epoch`]); stores point their
    /// store context at it.
    pub(crate) epoch: AtomicU64,
    host_trampolines: Mutex<HashMap<WasmFuncType, (Arc<CodeMemory>, usize)>>,
    /// What artifacts must have been compiled with, and its encoding
    /// (computed once, in `compat.rs`: it formats every Cranelift setting).
    pub(crate) compatibility: spin::Once<(Compatibility, Vec<u8>)>,
    /// The pooling allocator, with
    /// [`InstanceAllocationStrategy::Pooling`](crate::InstanceAllocationStrategy::Pooling).
    pub(crate) pool: Option<Arc<keel_vm::InstancePool>>,
    /// The threads that compile lazily compiled functions ahead of their
    /// calls and optimize baseline code ([`Config::lazy_baseline`]),
    /// started with the first job; they end when the engine drops.
    #[cfg(all(feature = "std", feature = "compiler"))]
    pub(crate) background: crate::lazy::Background,
}

#[cfg(all(feature = "std", feature = "compiler"))]
impl Drop for EngineInner {
    fn drop(&mut self) {
        self.background.close();
    }
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
    /// registered, the platform cannot deliver faults to keel, or settings
    /// contradict each other (see `Config::validated`).
    pub fn new(config: &Config) -> Result<Engine> {
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
        let mut config = config.validated(platform)?;
        let compiler = Compiler::new(&config)?;
        // A target without 128-bit vectors cannot run SIMD: validate
        // without it, so modules using `v128` are refused as invalid.
        if !compiler.supports_simd(&config) {
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
                compiler,
                types: TypeRegistry::default(),
                epoch: AtomicU64::new(0),
                host_trampolines: Mutex::new(HashMap::new()),
                compatibility: spin::Once::new(),
                #[cfg(all(feature = "std", feature = "compiler"))]
                background: crate::lazy::Background::default(),
            }),
        })
    }

    /// Whether this engine's code runs on this machine's architecture.
    pub(crate) fn targets_host(&self) -> bool {
        let Some(architecture) = self.inner.compiler.architecture(&self.inner.config) else {
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
        #[cfg(feature = "cache")]
        if let Some(cache) = self.cache() {
            let key = crate::Cache::key(self.compatibility_bytes(), bytes);
            // The entry is intact (checksum) and under a key that names
            // this build and these settings; a loader checks the rest.
            let current = |artifact: &[u8]| {
                keel_vm::artifact::ArtifactFile::parse(artifact)
                    .and_then(|file| file.keel_version())
                    .is_ok_and(|build| build == crate::compat::KEEL_BUILD)
            };
            if let Some(artifact) = cache.get(&key).filter(|a| current(a)) {
                cache.count(true);
                tracing::info!(bytes = bytes.len(), "artifact from the compilation cache");
                return Ok(artifact);
            }
            cache.count(false);
            let artifact = self.precompile_uncached(bytes)?;
            cache.put(&key, &artifact);
            return Ok(artifact);
        }
        self.precompile_uncached(bytes)
    }

    /// [`Engine::precompile_module`] of a binary module, without the
    /// cache.
    #[cfg(feature = "compiler")]
    pub(crate) fn precompile_uncached(&self, bytes: &[u8]) -> Result<Vec<u8>> {
        let translation = keel_translate::translate_module(bytes, self.inner.config.features)?;
        let text = self
            .inner
            .compiler
            .precompile_module(&translation, &|done, total| {
                self.report_progress(done, total)
            })?;
        keel_compile::artifact::write_artifact(
            &translation.module,
            &text.text,
            &text,
            self.compatibility(),
        )
        .map_err(crate::compiler::compile_error)
    }

    /// The compilation cache, if one is configured and enabled.
    #[cfg(feature = "cache")]
    pub(crate) fn cache(&self) -> Option<&crate::Cache> {
        self.inner.config.cache.as_ref().filter(|c| c.enabled())
    }

    /// Compile `translation` to run on this machine.
    ///
    /// # Errors
    ///
    /// Without the `compiler` feature; if the engine compiles for another
    /// machine; if Cranelift fails.
    pub(crate) fn compile_module(
        &self,
        translation: &keel_translate::ModuleTranslation<'_>,
    ) -> Result<keel_translate::CompiledText> {
        self.inner
            .compiler
            .compile_module(translation, self.targets_host(), &|done, total| {
                self.report_progress(done, total)
            })
    }

    /// Tell [`Config::compilation_progress`]'s callback, if any, that
    /// `done` of `total` function bodies are compiled.
    fn report_progress(&self, done: usize, total: usize) {
        if let Some(progress) = &self.inner.config.compilation_progress {
            progress(done, total);
        }
    }

    /// The target this engine's code is for: [`Config::target`], or the
    /// host's triple.
    pub(crate) fn target(&self) -> String {
        self.inner.compiler.target(&self.inner.config)
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
        self.inner.types.register(ty)
    }

    /// The engine-wide ids of `module`'s types, registering its recursion
    /// groups in order.
    ///
    /// # Errors
    ///
    /// As [`TypeRegistry::register_module`].
    pub(crate) fn register_module_types(
        &self,
        module: &keel_translate::Module,
    ) -> Result<Vec<SharedTypeIndex>> {
        self.inner.types.register_module(module)
    }

    /// The function type with engine-wide id `id`.
    pub(crate) fn lookup_type(&self, id: SharedTypeIndex) -> Option<WasmFuncType> {
        self.inner.types.lookup(id)
    }

    /// The id of defined type `ty` (a recursion group of its own; its
    /// references are engine ids).
    pub(crate) fn register_sub_type(&self, ty: &keel_translate::WasmSubType) -> SharedTypeIndex {
        self.inner.types.register_sub(ty)
    }

    /// The defined type (function, struct or array) with id `id`, if this
    /// engine registered it; its references are engine ids.
    pub(crate) fn lookup_sub_type(
        &self,
        id: SharedTypeIndex,
    ) -> Option<keel_translate::WasmSubType> {
        self.inner.types.lookup_sub(id)
    }

    /// Whether type `a` is `b` or one of its declared subtypes.
    pub(crate) fn is_subtype(&self, a: SharedTypeIndex, b: SharedTypeIndex) -> bool {
        self.inner.types.is_subtype(a, b)
    }

    /// [`ValType::matches`](keel_translate::WasmValType::matches) for
    /// types whose concrete types are this engine's ids.
    pub(crate) fn val_type_matches(&self, a: crate::ValType, b: crate::ValType) -> bool {
        a.matches(b, &mut |x, y| match (x, y) {
            (keel_translate::TypeRef::Engine(x), keel_translate::TypeRef::Engine(y)) => {
                self.is_subtype(x, y)
            }
            _ => x == y,
        })
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
        let mut cache = self.inner.host_trampolines.lock();
        if let Some((_, addr)) = cache.get(ty) {
            return Ok(Some(*addr as *const u8));
        }
        let Some(mut text) = self
            .inner
            .compiler
            .host_trampoline(&self.inner.config, ty)?
        else {
            return Ok(None);
        };
        let loc = text.wasm_to_array_trampolines[0].1;
        let code = core::mem::take(&mut text.text);
        let code = Arc::new(CodeMemory::new(&code, Arc::new(text), None)?);
        let addr = code
            .resolve(loc)
            .ok_or_else(|| anyhow::anyhow!("host trampoline outside its code"))?
            as usize;
        self.profile_host_trampoline(ty, addr, loc.length)?;
        cache.insert(ty.clone(), (code, addr));
        Ok(Some(addr as *const u8))
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
