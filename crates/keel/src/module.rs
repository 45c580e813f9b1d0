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
    pub(crate) type_ids: Arc<[SharedTypeIndex]>,
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
        let translation = keel_translate::translate_module(bytes, keel_translate::wasm_features())?;
        #[cfg(feature = "compiler")]
        {
            if !engine.targets_host() {
                anyhow::bail!(
                    "this engine compiles for `{}`, not this machine: use `Engine::precompile`",
                    engine.inner.compiler.triple()
                );
            }
            let text = engine
                .inner
                .compiler
                .compile_module(&translation)
                .map_err(crate::engine::compile_error)?;
            Self::from_compiled(engine, translation, text)
        }
        #[cfg(not(feature = "compiler"))]
        {
            let _ = (engine, translation);
            anyhow::bail!("compiling modules needs the `compiler` feature")
        }
    }

    /// The module of `translation` with its compiled code `text`.
    #[cfg(feature = "compiler")]
    fn from_compiled(
        engine: &Engine,
        translation: keel_translate::ModuleTranslation<'_>,
        text: keel_translate::CompiledText,
    ) -> Result<Module> {
        let module = Arc::new(translation.module);
        let code = if text.text.is_empty() {
            None
        } else {
            Some(Arc::new(CodeMemory::new(
                Arc::new(text),
                Some(module.clone()),
            )?))
        };
        let type_ids: Arc<[SharedTypeIndex]> = module
            .types
            .values()
            .map(|t| engine.register_type(t))
            .collect();
        Ok(Module {
            inner: Arc::new(ModuleInner {
                engine: engine.clone(),
                offsets: translation.offsets,
                module,
                code,
                type_ids,
            }),
        })
    }

    /// Check that `bytes` is a valid module, without compiling it.
    ///
    /// # Errors
    ///
    /// As [`Module::from_binary`]'s validation errors.
    pub fn validate(_engine: &Engine, bytes: &[u8]) -> Result<()> {
        keel_translate::translate_module(bytes, keel_translate::wasm_features())?;
        Ok(())
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
            ty: ExternType::from_entity(m, &i.ty),
        })
    }

    /// The module's exports, in order.
    pub fn exports(&self) -> impl ExactSizeIterator<Item = ExportType<'_>> {
        let m = &self.inner.module;
        m.exports.iter().map(move |(name, index)| ExportType {
            name,
            ty: ExternType::from_entity(m, &m.entity_type(*index)),
        })
    }
}
