//! The engine's code generator with the `compiler` feature: Cranelift,
//! through keel-compile. `compiler_disabled.rs` defines the same type for
//! builds without it, so that the engine and module code never switch on
//! the feature inside a function.

use crate::compat::Settings;
use crate::prelude::*;
use crate::{Config, Result};
use alloc::borrow::Cow;
use keel_translate::artifact::Compatibility;
use keel_translate::{CompiledText, ModuleTranslation, WasmFuncType};

/// Compiles modules and host trampolines for the engine's target.
pub(crate) struct Compiler(keel_compile::Compiler);

impl Compiler {
    /// A Cranelift compiler for `config`'s target (the host's when none is
    /// set) with its settings.
    ///
    /// # Errors
    ///
    /// If Cranelift does not support the target or the host CPU, a flag is
    /// unknown, or (without `std`) no target is set.
    pub(crate) fn new(config: &Config) -> Result<Self> {
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
        let compiler = match &config.target {
            Some(triple) => keel_compile::Compiler::for_target(options, triple, &config.isa_flags)?,
            None => host_compiler(options)?,
        };
        Ok(Compiler(compiler))
    }

    /// Whether the target has the 128-bit vectors WebAssembly SIMD needs.
    pub(crate) fn supports_simd(&self, _config: &Config) -> bool {
        self.0.supports_simd()
    }

    /// The target triple the code is for.
    pub(crate) fn target(&self, _config: &Config) -> String {
        self.0.triple()
    }

    /// The architecture the code is for.
    pub(crate) fn architecture(&self, _config: &Config) -> Option<target_lexicon::Architecture> {
        Some(self.0.isa().triple().architecture)
    }

    /// The Cranelift settings the code depends on: `(shared, ISA)`, each
    /// `(name, value)` sorted by name.
    pub(crate) fn settings(&self) -> (Settings, Settings) {
        self.0.settings()
    }

    /// Compile `translation`'s functions and trampolines.
    ///
    /// # Errors
    ///
    /// If the target is not this machine (`runs_here` is false: such code
    /// can only be written to an artifact), or Cranelift fails.
    pub(crate) fn compile_module(
        &self,
        translation: &ModuleTranslation<'_>,
        runs_here: bool,
        progress: &(dyn Fn(usize, usize) + Sync),
    ) -> Result<CompiledText> {
        self.check_runs_here(runs_here)?;
        self.precompile_module(translation, progress)
    }

    /// An error unless this engine's code runs on this machine
    /// (`runs_here`): code for another target only goes into artifacts.
    fn check_runs_here(&self, runs_here: bool) -> Result<()> {
        if !runs_here {
            anyhow::bail!(
                "this engine compiles for `{}`, not this machine: use `Engine::precompile_module`",
                self.0.triple()
            );
        }
        Ok(())
    }

    /// Compile `translation` for an artifact, whatever the target.
    ///
    /// # Errors
    ///
    /// If Cranelift fails.
    pub(crate) fn precompile_module(
        &self,
        translation: &ModuleTranslation<'_>,
        progress: &(dyn Fn(usize, usize) + Sync),
    ) -> Result<CompiledText> {
        self.0
            .compile_module_with_progress(translation, progress)
            .map_err(compile_error)
    }

    /// The trampolines of a lazily compiled module (see
    /// `keel_compile::Compiler::compile_lazy_trampolines`).
    ///
    /// # Errors
    ///
    /// If the target is not this machine or Cranelift fails.
    pub(crate) fn compile_lazy_trampolines(
        &self,
        module: &keel_translate::Module,
        runs_here: bool,
    ) -> Result<CompiledText> {
        self.check_runs_here(runs_here)?;
        self.0
            .compile_lazy_trampolines(module)
            .map_err(compile_error)
    }

    /// Whether a function of type `ty` takes a return-area pointer ahead
    /// of its VMContext (`keel_compile::Compiler::uses_return_area`).
    pub(crate) fn uses_return_area(&self, ty: &keel_translate::WasmFuncType) -> bool {
        self.0.uses_return_area(ty)
    }

    /// One function of a lazily compiled module (see
    /// `keel_compile::Compiler::compile_lazy_function`).
    ///
    /// # Errors
    ///
    /// If Cranelift fails or the body has an operator keel cannot compile.
    #[expect(
        clippy::too_many_arguments,
        reason = "the module's parts, the body, its index and how to compile it"
    )]
    pub(crate) fn compile_lazy_function(
        &self,
        module: &keel_translate::Module,
        offsets: &keel_translate::VMOffsets,
        gc: bool,
        body: &wasmparser::FunctionBody<'_>,
        def: keel_translate::DefinedFuncIndex,
        call_table: u64,
        baseline: bool,
    ) -> Result<CompiledText> {
        self.0
            .compile_lazy_function(module, offsets, gc, body, def, call_table, baseline)
            .map_err(compile_error)
    }

    /// The wasm-to-array trampoline for host functions of signature `ty`,
    /// compiled now, unless the configuration takes host trampolines from
    /// artifacts only (`None`).
    ///
    /// # Errors
    ///
    /// If Cranelift fails.
    pub(crate) fn host_trampoline(
        &self,
        config: &Config,
        ty: &WasmFuncType,
    ) -> Result<Option<CompiledText>> {
        if config.host_trampolines_from_artifacts_only {
            return Ok(None);
        }
        Ok(Some(
            self.0.compile_host_trampolines(core::slice::from_ref(ty))?,
        ))
    }

    /// The settings an artifact's code must have been compiled with:
    /// with a compiler, exactly this engine's (`expected`).
    pub(crate) fn expected_settings<'a>(
        &self,
        expected: &'a Compatibility,
        _artifact: &Compatibility,
    ) -> Cow<'a, Compatibility> {
        Cow::Borrowed(expected)
    }

    /// The CPU features an artifact's code uses that this machine lacks,
    /// as `(setting, artifact value, engine value)`: none beyond the ISA
    /// settings [`expected_settings`](Self::expected_settings) compares,
    /// since the compiler's own flags describe this CPU.
    pub(crate) fn missing_cpu_features(
        &self,
        _config: &Config,
        _artifact: &Compatibility,
    ) -> Vec<(String, String, String)> {
        Vec::new()
    }
}

/// A compiler for the host CPU, as probed at run time.
#[cfg(feature = "std")]
fn host_compiler(options: keel_compile::CompilerOptions) -> Result<keel_compile::Compiler> {
    Ok(keel_compile::Compiler::new(options)?)
}

/// Without `std` the host CPU cannot be probed.
#[cfg(not(feature = "std"))]
fn host_compiler(_options: keel_compile::CompilerOptions) -> Result<keel_compile::Compiler> {
    anyhow::bail!(
        "without `std` the host CPU cannot be probed: set `Config::target` and its features"
    )
}

/// A compilation error as keel reports it: validation errors, unsupported
/// features and implementation limits as the one [`WasmError`](crate::WasmError)
/// type (downcastable), code generator failures as
/// [`CompileError`](crate::CompileError).
pub(crate) fn compile_error(e: keel_compile::CompileError) -> anyhow::Error {
    match e {
        keel_compile::CompileError::Translate(e) => anyhow::Error::new(e),
        e => anyhow::Error::new(e),
    }
}
