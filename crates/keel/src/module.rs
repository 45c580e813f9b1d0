//! [`Module`]: a validated, compiled WebAssembly module.

use crate::types::{ExportType, ExternType, ImportType};
use crate::{Engine, Result};
use alloc::sync::Arc;
use keel_translate::{SharedTypeIndex, VMOffsets};
use keel_vm::CodeMemory;

pub(crate) struct ModuleInner {
    pub(crate) engine: Engine,
    pub(crate) module: Arc<keel_translate::Module>,
    pub(crate) offsets: VMOffsets,
    pub(crate) code: Option<Arc<CodeMemory>>,
    /// The functions' code when the module is compiled lazily
    /// ([`Config::lazy_compilation`](crate::Config::lazy_compilation));
    /// `code` then holds only the trampolines.
    pub(crate) lazy: Option<Arc<keel_vm::LazyCode>>,
    /// The module's binary, kept when it is compiled lazily (for
    /// [`Module::serialize`]).
    #[cfg_attr(
        not(feature = "compiler"),
        expect(dead_code, reason = "lazy compilation needs the compiler")
    )]
    pub(crate) wasm: Option<Arc<[u8]>>,
    pub(crate) type_ids: Arc<[SharedTypeIndex]>,
    /// Copy-on-write images of the defined memories' initial contents
    /// ([`Config::memory_init_cow`](crate::Config::memory_init_cow)).
    pub(crate) memory_images: keel_vm::MemoryImages,
    /// The defined funcref tables' initial contents, initialized lazily.
    pub(crate) table_images: keel_vm::TableImages,
}

/// What [`Module::from_parts`] needs to compile a module lazily: its
/// binary, the ranges of its function bodies in it, and the room to
/// leave for their code.
#[cfg_attr(
    not(feature = "compiler"),
    expect(dead_code, reason = "lazy compilation needs the compiler")
)]
pub(crate) struct LazyParts {
    wasm: Arc<[u8]>,
    bodies: keel_translate::PrimaryMap<keel_translate::DefinedFuncIndex, core::ops::Range<usize>>,
    code_bytes: usize,
}

/// A compiled WebAssembly module, ready to instantiate in any
/// [`Store`](crate::Store) of its engine. Cheap to clone.
#[derive(Clone)]
pub struct Module {
    pub(crate) inner: Arc<ModuleInner>,
}

impl core::fmt::Debug for Module {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Module")
            .field("name", &self.name())
            .finish_non_exhaustive()
    }
}

impl Module {
    /// Validate and compile a module from its binary encoding or, with the
    /// default `wat` feature, the text format.
    ///
    /// # Errors
    ///
    /// If the text does not parse, the binary is malformed or invalid
    /// (the message gives the byte offset), the module uses an
    /// unsupported feature, or compilation fails.
    pub fn new(engine: &Engine, bytes: impl AsRef<[u8]>) -> Result<Module> {
        let bytes = bytes.as_ref();
        #[cfg(feature = "wat")]
        let bytes = &wat::parse_bytes(bytes)?;
        Self::from_binary(engine, bytes)
    }

    /// Read, validate and compile the module in file `path` (binary, or
    /// text with the `wat` feature), as [`Module::new`] (feature `std`).
    ///
    /// # Errors
    ///
    /// If the file cannot be read (the error names the path and keeps the
    /// I/O error as its source), and every error of [`Module::new`].
    #[cfg(feature = "std")]
    pub fn from_file(engine: &Engine, path: impl AsRef<std::path::Path>) -> Result<Module> {
        use anyhow::Context as _;
        let path = path.as_ref();
        let bytes = std::fs::read(path)
            .with_context(|| alloc::format!("cannot read `{}`", path.display()))?;
        Self::new(engine, bytes).with_context(|| alloc::format!("compiling `{}`", path.display()))
    }

    /// Validate and compile a module from its binary encoding.
    ///
    /// # Errors
    ///
    /// As [`Module::new`], without text parsing.
    pub fn from_binary(engine: &Engine, bytes: &[u8]) -> Result<Module> {
        let _span = tracing::debug_span!("Module::new", bytes = bytes.len()).entered();
        #[cfg(feature = "cache")]
        if let Some(cache) = engine.cache() {
            return Self::from_binary_cached(engine, bytes, cache);
        }
        Self::compile(engine, bytes)
    }

    /// [`Module::from_binary`] without the cache.
    fn compile(engine: &Engine, bytes: &[u8]) -> Result<Module> {
        #[cfg(feature = "compiler")]
        if engine.config().lazy_compilation {
            return Self::compile_lazily(engine, bytes);
        }
        #[cfg(feature = "std")]
        let start = std::time::Instant::now();
        let translation = {
            let _span = tracing::debug_span!("translate").entered();
            keel_translate::translate_module(bytes, engine.inner.config.features)?
        };
        let text = engine.compile_module(&translation)?;
        let functions = text.functions.len();
        let module = Self::from_compiled(engine, translation, text)?;
        #[cfg(feature = "std")]
        tracing::info!(
            bytes = bytes.len(),
            functions,
            seconds = start.elapsed().as_secs_f64(),
            "compiled a module"
        );
        #[cfg(not(feature = "std"))]
        tracing::info!(bytes = bytes.len(), functions, "compiled a module");
        Ok(module)
    }

    /// [`Module::compile`] with lazy compilation: validate the whole
    /// module, compile its trampolines, and lay out the stubs through
    /// which each function is compiled when first called.
    #[cfg(feature = "compiler")]
    fn compile_lazily(engine: &Engine, bytes: &[u8]) -> Result<Module> {
        let translation = {
            let _span = tracing::debug_span!("translate").entered();
            keel_translate::translate_module(bytes, engine.inner.config.features)?
        };
        let bodies: keel_translate::PrimaryMap<_, _> = translation
            .function_bodies
            .values()
            .map(|b| {
                let r = b.body.range();
                r.start as usize..r.end as usize
            })
            .collect();
        let body_bytes: usize = bodies
            .values()
            .map(|r: &core::ops::Range<usize>| r.len())
            .sum();
        let mut text = engine
            .inner
            .compiler
            .compile_lazy_trampolines(&translation.module, engine.targets_host())?;
        let code = core::mem::take(&mut text.text);
        let wasm: Arc<[u8]> = Arc::from(bytes);
        let offsets = translation.offsets;
        let lazy = LazyParts {
            wasm: wasm.clone(),
            bodies,
            // Compiled code is about 1.2 to 2 times the size of the
            // bodies; leave room for 8 times.
            code_bytes: body_bytes.saturating_mul(8),
        };
        let module = Self::from_parts(
            engine,
            translation.module,
            Some(offsets),
            |module| {
                if code.is_empty() {
                    return Ok(None);
                }
                Ok(Some(CodeMemory::new(&code, Arc::new(text), Some(module))?))
            },
            Some(lazy),
        )?;
        tracing::info!(
            bytes = bytes.len(),
            functions = module.inner.module.num_defined_funcs(),
            "validated a module for lazy compilation"
        );
        Ok(module)
    }

    /// [`Module::from_binary`] through the compilation cache: load the
    /// module's entry, or compile it and write one.
    #[cfg(feature = "cache")]
    fn from_binary_cached(engine: &Engine, bytes: &[u8], cache: &crate::Cache) -> Result<Module> {
        let start = std::time::Instant::now();
        let key = crate::Cache::key(engine.compatibility_bytes(), bytes);
        if let Some(artifact) = cache.get(&key) {
            // SAFETY: the entry lies in a directory that only this user
            // can write and that only keel writes to, under a key that
            // names this keel build and every setting that changes code,
            // and it matches its checksum, so its code is code this keel
            // compiled for this engine; `deserialize` checks the rest.
            match unsafe { Self::deserialize(engine, &artifact) } {
                Ok(module) => {
                    cache.count(true);
                    tracing::info!(
                        bytes = bytes.len(),
                        seconds = start.elapsed().as_secs_f64(),
                        "loaded a module from the compilation cache"
                    );
                    return Ok(module);
                }
                Err(e) => tracing::debug!("ignoring a cache entry: {e:#}"),
            }
        }
        cache.count(false);
        let module = Self::compile(engine, bytes)?;
        if let Some(wasm) = module.inner.wasm.clone() {
            // Compiled lazily: compile the whole module for the cache on
            // another thread, while this one runs it.
            // (`Cache::wait_for_background_writes` waits for it.)
            let engine = engine.clone();
            cache.put_in_background(key, move || engine.precompile_uncached(&wasm));
            return Ok(module);
        }
        match module.serialize() {
            Ok(artifact) => cache.put(&key, &artifact),
            Err(e) => tracing::debug!("not caching the compiled module: {e:#}"),
        }
        Ok(module)
    }

    /// The module of `translation` with its compiled code `text`.
    fn from_compiled(
        engine: &Engine,
        translation: keel_translate::ModuleTranslation<'_>,
        mut text: keel_translate::CompiledText,
    ) -> Result<Module> {
        let code = core::mem::take(&mut text.text);
        Self::from_parts(
            engine,
            translation.module,
            Some(translation.offsets),
            |module| {
                if code.is_empty() {
                    return Ok(None);
                }
                Ok(Some(CodeMemory::new(&code, Arc::new(text), Some(module))?))
            },
            None,
        )
    }

    /// The module of metadata `module` (with `offsets` if they are known
    /// already) and the code `load_code` puts in executable memory; with
    /// `lazy`, that code is the trampolines and the functions are compiled
    /// lazily.
    fn from_parts(
        engine: &Engine,
        module: keel_translate::Module,
        offsets: Option<VMOffsets>,
        load_code: impl FnOnce(Arc<keel_translate::Module>) -> Result<Option<CodeMemory>>,
        lazy: Option<LazyParts>,
    ) -> Result<Module> {
        let offsets = match offsets {
            Some(offsets) => offsets,
            None => VMOffsets::new(&module)?,
        };
        let module = Arc::new(module);
        let code = {
            let _span = tracing::debug_span!("load code").entered();
            load_code(module.clone())?.map(Arc::new)
        };
        match &code {
            Some(code) => {
                if lazy.is_some() {
                    code.check_trampolines(&module)?;
                } else {
                    code.check_module(&module)?;
                }
                engine.register_host_trampolines(code)?;
                #[cfg(feature = "std")]
                if engine.config().profiler == crate::ProfilingStrategy::PerfMap {
                    crate::profiling::write_perf_map(&module, code)?;
                }
            }
            None if lazy.is_none()
                && module.functions.len() > module.num_imported_funcs as usize =>
            {
                anyhow::bail!("the module defines functions but has no compiled code");
            }
            None => {}
        }
        let type_ids: Arc<[SharedTypeIndex]> = engine.register_module_types(&module)?.into();
        let memory_images = if engine.config().memory_init_cow {
            let _span = tracing::debug_span!("memory images").entered();
            keel_vm::MemoryImage::for_module(&module)
        } else {
            keel_vm::MemoryImages::new()
        };
        let table_images = keel_vm::TableImage::for_module(&module);
        let (lazy_code, wasm) = match lazy {
            #[cfg(feature = "compiler")]
            Some(parts) => {
                let functions = crate::lazy::LazyFunctions::new(
                    engine,
                    module.clone(),
                    offsets.clone(),
                    parts.wasm.clone(),
                    parts.bodies,
                );
                let lazy = keel_vm::LazyCode::new(
                    module.clone(),
                    alloc::boxed::Box::new(functions),
                    parts.code_bytes,
                )?;
                (Some(Arc::new(lazy)), Some(parts.wasm))
            }
            _ => (None, None),
        };
        Ok(Module {
            inner: Arc::new(ModuleInner {
                engine: engine.clone(),
                offsets,
                module,
                code,
                lazy: lazy_code,
                wasm,
                type_ids,
                memory_images,
                table_images,
            }),
        })
    }

    /// Write this module as an artifact, as
    /// [`Engine::precompile_module`] would have for its source, so that
    /// [`Module::deserialize`] can load it later. Like Wasmtime's
    /// `Module::serialize`.
    ///
    /// # Errors
    ///
    /// If the metadata does not serialize (a keel bug).
    #[cfg(feature = "compiler")]
    pub fn serialize(&self) -> Result<alloc::vec::Vec<u8>> {
        let inner = &self.inner;
        if let Some(wasm) = &inner.wasm {
            // Compiled lazily: artifacts hold the whole module.
            return inner.engine.precompile_uncached(wasm);
        }
        let empty = keel_translate::CompiledText::default();
        let (code, tables) = match &inner.code {
            Some(code) => (code.code(), code.text()),
            None => (&[][..], &empty),
        };
        keel_compile::artifact::write_artifact(
            &inner.module,
            code,
            tables,
            inner.engine.compatibility(),
        )
        .map_err(crate::compiler::compile_error)
    }

    /// Load an artifact that [`Engine::precompile_module`] or
    /// [`Module::serialize`] wrote, without compiling: its code is copied
    /// into fresh executable memory. Works without the `compiler`
    /// feature, host functions included (the artifact carries the
    /// trampolines that call them). Like Wasmtime's `Module::deserialize`.
    ///
    /// # Safety
    ///
    /// keel checks everything in the artifact except its machine code:
    /// the ELF structure and every section's bounds, the format version,
    /// every setting the code depends on against this engine's, the
    /// metadata and tables for consistency with each other and with the
    /// layout of the code (every offset and index), and what only the
    /// compiler knows (handler and trap-site offsets, frame sizes, the
    /// types the code was compiled for) against the digests it was
    /// written with, so that a corrupted artifact is an error. The
    /// machine code itself is run as it is, and the digests detect
    /// corruption, not forgery, so the caller must make sure the bytes
    /// come from keel (`precompile_module` or `serialize` of this keel
    /// version) and were not altered, for example by keeping them where
    /// only the host can write. Loading untrusted bytes can run arbitrary
    /// code.
    ///
    /// # Errors
    ///
    /// If the bytes are not an artifact or are truncated or corrupted
    /// (bad magic, a section outside the bytes, tables past the code or
    /// out of order, metadata that does not decode, is inconsistent or
    /// does not match its digest), if
    /// any setting differs from this engine's (the error names each, with
    /// the artifact's and the engine's value), if the artifact is for
    /// another machine, or if mapping the code fails.
    pub unsafe fn deserialize(engine: &Engine, bytes: impl AsRef<[u8]>) -> Result<Module> {
        let file = Self::open_artifact(engine, bytes.as_ref())?;
        let (module, text) = file.load()?;
        Self::from_parts(
            engine,
            module,
            None,
            |module| {
                if file.code.is_empty() {
                    return Ok(None);
                }
                Ok(Some(CodeMemory::new(
                    file.code,
                    Arc::new(text),
                    Some(module),
                )?))
            },
            None,
        )
    }

    /// Load the artifact in file `path`, as [`Module::deserialize`]
    /// (feature `std`).
    ///
    /// # Safety
    ///
    /// As [`Module::deserialize`]: the file's machine code is trusted.
    ///
    /// # Errors
    ///
    /// If the file cannot be read (the error names the path), and every
    /// error of [`Module::deserialize`].
    #[cfg(feature = "std")]
    pub unsafe fn deserialize_file(
        engine: &Engine,
        path: impl AsRef<std::path::Path>,
    ) -> Result<Module> {
        use anyhow::Context as _;
        let path = path.as_ref();
        let bytes = std::fs::read(path)
            .with_context(|| alloc::format!("cannot read `{}`", path.display()))?;
        // SAFETY: our caller vouches for the file's code.
        unsafe { Self::deserialize(engine, bytes) }
            .with_context(|| alloc::format!("loading `{}`", path.display()))
    }

    /// Load an artifact whose bytes already lie in executable memory the
    /// embedder owns, such as a section of a kernel image, without
    /// copying: the code runs where it is. Otherwise as
    /// [`Module::deserialize`].
    ///
    /// The artifact's `.text` section is page-aligned within the file, so
    /// placing the artifact at a page boundary (e.g. in a
    /// `#[repr(align(4096))]` static) satisfies the alignment check.
    ///
    /// # Safety
    ///
    /// As [`Module::deserialize`], and moreover `bytes` must be mapped
    /// executable (and readable) for the rest of the program and never be
    /// written.
    ///
    /// # Errors
    ///
    /// As [`Module::deserialize`], and if the code is not aligned as its
    /// section requires (4096 bytes).
    pub unsafe fn deserialize_raw(engine: &Engine, bytes: &'static [u8]) -> Result<Module> {
        let file = Self::open_artifact(engine, bytes)?;
        let (module, text) = file.load()?;
        let align = file.code_alignment;
        if !(file.code.as_ptr() as usize).is_multiple_of(align.max(1)) {
            anyhow::bail!(
                "the artifact's code lies at {:p}, not aligned to {align} bytes: place the artifact at a page boundary",
                file.code.as_ptr()
            );
        }
        let code: &'static [u8] = file.code;
        Self::from_parts(
            engine,
            module,
            None,
            |module| {
                if code.is_empty() {
                    return Ok(None);
                }
                // SAFETY: our caller guarantees the bytes are executable and
                // never written for the rest of the program, and vouches for
                // the code; its tables were checked against its size.
                Ok(Some(unsafe {
                    CodeMemory::from_static(code, Arc::new(text), Some(module))
                }))
            },
            None,
        )
    }

    /// Parse an artifact's headers and check its settings against
    /// `engine`'s.
    fn open_artifact<'a>(
        engine: &Engine,
        bytes: &'a [u8],
    ) -> Result<keel_vm::artifact::ArtifactFile<'a>> {
        let file = keel_vm::artifact::ArtifactFile::parse(bytes)?;
        engine.check_compatible(&file)?;
        Ok(file)
    }

    /// Check that `bytes` is a valid module, without compiling it.
    ///
    /// # Errors
    ///
    /// As [`Module::from_binary`]'s validation errors.
    pub fn validate(engine: &Engine, bytes: &[u8]) -> Result<()> {
        keel_translate::translate_module(bytes, engine.inner.config.features)?;
        Ok(())
    }

    /// How many of the module's defined functions have machine code: all
    /// of them, unless the module is compiled lazily
    /// ([`Config::lazy_compilation`](crate::Config::lazy_compilation)),
    /// where it counts the functions compiled so far (by first calls from
    /// any store).
    pub fn compiled_functions(&self) -> usize {
        match &self.inner.lazy {
            Some(lazy) => lazy.compiled(),
            None => self.inner.module.num_defined_funcs() as usize,
        }
    }

    /// Wait until every function compiled at the baseline tier so far
    /// runs its optimized code ([`Config::lazy_baseline`](crate::Config::lazy_baseline)):
    /// the engine's background compiler has caught up with this module.
    /// Returns at once for a module compiled eagerly or without tiers.
    /// Functions first called meanwhile (by other threads) are waited
    /// for too.
    #[cfg(feature = "std")]
    pub fn wait_for_optimized_code(&self) {
        if let Some(lazy) = &self.inner.lazy {
            while lazy.pending_tier_ups() > 0 {
                std::thread::sleep(core::time::Duration::from_micros(200));
            }
        }
    }

    /// Whether the module's functions are compiled at their first call
    /// ([`Config::lazy_compilation`](crate::Config::lazy_compilation)).
    pub fn is_lazy(&self) -> bool {
        self.inner.lazy.is_some()
    }

    /// The module's engine.
    pub fn engine(&self) -> &Engine {
        &self.inner.engine
    }

    /// The name from the name section, if any.
    pub fn name(&self) -> Option<&str> {
        self.inner.module.name.as_deref()
    }

    /// The module's imports, in order.
    pub fn imports(&self) -> impl ExactSizeIterator<Item = ImportType<'_>> {
        let m = &self.inner.module;
        m.imports.iter().map(move |i| ImportType {
            module: &i.module,
            name: &i.field,
            ty: ExternType::from_entity(m, &self.inner.type_ids, &i.ty),
        })
    }

    /// The module's exports, in order.
    pub fn exports(&self) -> impl ExactSizeIterator<Item = ExportType<'_>> {
        let m = &self.inner.module;
        m.exports.iter().map(move |(name, index)| ExportType {
            name,
            ty: ExternType::from_entity(m, &self.inner.type_ids, &m.entity_type(*index)),
        })
    }
}
