//! Artifact compatibility: what must be the same between the engine that
//! compiled a module ([`Engine::precompile_module`](crate::Engine::precompile_module),
//! [`Module::serialize`](crate::Module::serialize)) and the one that runs it
//! ([`Module::deserialize`](crate::Module::deserialize)), and the error that
//! names each setting that differs.
//!
//! What is compared ([`Compatibility`]): the keel version, the target, the
//! Cranelift and ISA settings, the memory layout, fuel and epoch checks,
//! NaN canonicalization, the Spectre mitigations, deterministic relaxed
//! SIMD, and the WebAssembly features (the artifact's must be a subset of
//! the engine's). An engine without the compiler takes the Cranelift
//! settings from the artifact and checks instead that this CPU has each
//! feature the code uses.

use crate::prelude::*;
use crate::{Engine, Result};
use keel_translate::artifact::Compatibility;
use keel_vm::artifact::ArtifactError;

/// This keel's build identity, `VERSION+BUILD_ID`: the version and a
/// hash of the sources of the crates that write and read artifacts
/// (`build.rs`), or `release` outside the workspace. Artifacts and cache
/// entries of another build are stale.
pub(crate) const KEEL_BUILD: &str = concat!(env!("CARGO_PKG_VERSION"), "+", env!("KEEL_BUILD_ID"));

/// Cranelift settings as `(name, value)` pairs, sorted by name.
pub(crate) type Settings = Vec<(String, String)>;

impl Engine {
    /// What an artifact must have been compiled with to run on this
    /// engine. Without the compiler the Cranelift and ISA settings are
    /// unknown and left empty (see [`Engine::check_compatible`](Engine::check_compatible)).
    #[cfg(feature = "compiler")]
    pub(crate) fn compatibility(&self) -> &Compatibility {
        &self.compatibility_and_bytes().0
    }

    /// The encoding of [`compatibility`](Self::compatibility), part of
    /// compilation cache keys.
    #[cfg(feature = "cache")]
    pub(crate) fn compatibility_bytes(&self) -> &[u8] {
        &self.compatibility_and_bytes().1
    }

    /// [`compatibility`](Self::compatibility) and its encoding, computed
    /// once per engine (it formats every Cranelift setting).
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
        let (cranelift_flags, isa_flags) = self.inner.compiler.settings();
        Compatibility {
            keel_version: KEEL_BUILD.to_string(),
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
    /// with [`Config::cranelift_flag_enable`](crate::Config::cranelift_flag_enable).
    ///
    /// # Errors
    ///
    /// An [`ArtifactError`]: the artifact's compatibility section does not
    /// decode, it is code for another target ([`ArtifactError::Target`]),
    /// its settings differ ([`ArtifactError::Settings`], every mismatch
    /// named), or the engine's code cannot run on this machine
    /// ([`ArtifactError::EngineNotHost`]).
    pub(crate) fn check_compatible(
        &self,
        file: &keel_vm::artifact::ArtifactFile<'_>,
    ) -> Result<()> {
        let (expected, expected_bytes) = self.compatibility_and_bytes();
        // Equal encodings are equal settings: no need to decode.
        if file.compat_bytes == expected_bytes.as_slice() && self.targets_host() {
            return Ok(());
        }
        // Another build first: its section may not even decode.
        let version = file.keel_version()?;
        if version != expected.keel_version {
            return Err(ArtifactError::Build {
                artifact: version,
                engine: expected.keel_version.clone(),
            }
            .into());
        }
        let artifact = &file.compat()?;
        let compiler = &self.inner.compiler;
        let expected = &*compiler.expected_settings(expected, artifact);
        if artifact.target != expected.target {
            return Err(ArtifactError::Target {
                artifact: artifact.target.clone(),
                engine: expected.target.clone(),
            }
            .into());
        }
        let mut mismatches = artifact.mismatches(expected);
        // A CPU feature the artifact does not use but this engine's CPU
        // has is no obstacle: code for a baseline CPU (an artifact made on
        // another machine for `riscv64gc-unknown-linux-gnu`) runs on one
        // with more extensions. One it uses must be here.
        mismatches.retain(|(name, a, b)| {
            !(name.starts_with("ISA setting `has_") && a == "false" && b == "true")
        });
        mismatches.extend(compiler.missing_cpu_features(&self.inner.config, artifact));
        if !mismatches.is_empty() {
            return Err(ArtifactError::Settings(mismatches).into());
        }
        if !self.targets_host() {
            return Err(ArtifactError::EngineNotHost {
                engine: expected.target.clone(),
            }
            .into());
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
pub(crate) fn riscv64_baseline_has(target: &str, name: &str) -> bool {
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
