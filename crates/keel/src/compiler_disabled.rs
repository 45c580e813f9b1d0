//! The engine's code generator without the `compiler` feature: none. The
//! engine only loads artifacts; this is the same type as `compiler.rs`'s,
//! answering from the configuration and this machine instead of Cranelift.

use crate::compat::Settings;
use crate::prelude::*;
use crate::{Config, Result};
use alloc::borrow::Cow;
use keel_translate::artifact::Compatibility;
use keel_translate::{CompiledText, ModuleTranslation, WasmFuncType};

/// No code generator: artifacts only.
pub(crate) struct Compiler;

impl Compiler {
    /// Nothing to set up.
    ///
    /// # Errors
    ///
    /// Never; the signature is the compiler's.
    pub(crate) fn new(_config: &Config) -> Result<Self> {
        Ok(Compiler)
    }

    /// Whether the target has 128-bit vectors: every x86_64 keel runs on
    /// (SSE4.2 is required), and a riscv64 CPU declared with `has_v`.
    pub(crate) fn supports_simd(&self, config: &Config) -> bool {
        config
            .target
            .as_deref()
            .is_none_or(|t| !t.starts_with("riscv64"))
            || config
                .isa_flags
                .iter()
                .any(|(name, value)| name == "has_v" && value == "true")
    }

    /// The target triple: [`Config::target`], or the host's.
    pub(crate) fn target(&self, config: &Config) -> String {
        match &config.target {
            Some(t) => t.clone(),
            None => target_lexicon::HOST.to_string(),
        }
    }

    /// The architecture of [`target`](Self::target), if it parses.
    pub(crate) fn architecture(&self, config: &Config) -> Option<target_lexicon::Architecture> {
        let triple: target_lexicon::Triple = self.target(config).parse().ok()?;
        Some(triple.architecture)
    }

    /// No Cranelift settings are known without Cranelift.
    pub(crate) fn settings(&self) -> (Settings, Settings) {
        (Vec::new(), Vec::new())
    }

    /// # Errors
    ///
    /// Always: compiling modules needs the `compiler` feature.
    pub(crate) fn compile_module(
        &self,
        _translation: &ModuleTranslation<'_>,
        _runs_here: bool,
        _progress: &(dyn Fn(usize, usize) + Sync),
    ) -> Result<CompiledText> {
        anyhow::bail!("compiling modules needs the `compiler` feature")
    }

    /// None: host functions get their trampoline from a loaded module's
    /// artifact (see `Engine::register_host_trampolines`).
    ///
    /// # Errors
    ///
    /// Never.
    pub(crate) fn host_trampoline(
        &self,
        _config: &Config,
        _ty: &WasmFuncType,
    ) -> Result<Option<CompiledText>> {
        Ok(None)
    }

    /// The settings an artifact's code must have been compiled with: this
    /// engine's options, with the artifact's own Cranelift and ISA
    /// settings, which the keel version and those options imply (its CPU
    /// features are checked by
    /// [`missing_cpu_features`](Self::missing_cpu_features)).
    pub(crate) fn expected_settings<'a>(
        &self,
        expected: &'a Compatibility,
        artifact: &Compatibility,
    ) -> Cow<'a, Compatibility> {
        Cow::Owned(Compatibility {
            cranelift_flags: artifact.cranelift_flags.clone(),
            isa_flags: artifact.isa_flags.clone(),
            ..expected.clone()
        })
    }

    /// The CPU features `artifact`'s code uses (its ISA settings `has_*`
    /// that are `true`) that this machine lacks, as `(setting, artifact
    /// value, engine value)`; none for an artifact of another target
    /// (which is refused for its target).
    pub(crate) fn missing_cpu_features(
        &self,
        config: &Config,
        artifact: &Compatibility,
    ) -> Vec<(String, String, String)> {
        if artifact.target != self.target(config) {
            return Vec::new();
        }
        artifact
            .isa_flags
            .iter()
            .filter(|(name, value)| {
                value == "true" && name.starts_with("has_") && !self.cpu_has(config, name)
            })
            .map(|(name, value)| {
                (
                    format!("ISA setting `{name}`"),
                    value.clone(),
                    "false (this CPU lacks it, or it is not declared with `Config::cranelift_flag_enable`)"
                        .into(),
                )
            })
            .collect()
    }

    /// Whether this CPU has Cranelift ISA feature `name` (e.g.
    /// `has_avx2`): declared with [`Config::cranelift_flag_enable`],
    /// implied by a riscv64 target's name, or (x86_64 with `std`) detected.
    fn cpu_has(&self, config: &Config, name: &str) -> bool {
        config
            .isa_flags
            .iter()
            .any(|(n, v)| n == name && v == "true")
            || crate::compat::riscv64_baseline_has(&self.target(config), name)
            || host_has(name)
    }
}

/// Whether this x86_64 CPU has Cranelift ISA feature `name`, detected at
/// run time.
#[cfg(all(feature = "std", target_arch = "x86_64"))]
fn host_has(name: &str) -> bool {
    match name {
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
    }
}

/// Nothing is detected elsewhere: features are declared or implied.
#[cfg(not(all(feature = "std", target_arch = "x86_64")))]
fn host_has(_name: &str) -> bool {
    false
}
