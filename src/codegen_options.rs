//! `-C` options of `keel run`, `keel compile` and `keel wast`, in
//! Wasmtime's spelling: `-C KEY=VALUE[,KEY=VALUE...]`, repeatable.
//! `cache=y|n` and `cache-config=FILE` choose the compilation cache (on
//! by default, in the user's cache directory); `lazy=y|n` compiles each
//! function at its first call (`keel run`; by default for modules of
//! [`LAZY_THRESHOLD`] bytes or more), and `lazy-baseline=y|n` first
//! without optimizations; `target-feature=+a,-b` sets CPU
//! features for `keel compile --target`.

use std::path::PathBuf;

use anyhow::Result;
use keel::Config;

/// One `-C KEY=VALUE` setting.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CodegenOption {
    /// `cache[=y|n]`: use the compilation cache (default `y`).
    Cache(bool),
    /// `cache-config=FILE`: the cache's configuration file (Wasmtime's
    /// TOML format: `[cache]` with `directory`,
    /// `files-total-size-soft-limit`).
    CacheConfig(PathBuf),
    /// `target-feature=+a,-b`: Cranelift ISA flags (`has_a`) and whether
    /// each is enabled (`keel compile --target` only).
    TargetFeatures(Vec<(String, bool)>),
    /// `lazy[=y|n]`: compile each function at its first call.
    Lazy(bool),
    /// `lazy-baseline[=y|n]`: with lazy compilation, compile first calls
    /// without optimizations and optimize on a background thread
    /// ([`Config::lazy_baseline`]; default `n`).
    LazyBaseline(bool),
}

/// `keel run` compiles modules of this many bytes or more lazily unless
/// `-C lazy=n` says otherwise: 4 MiB. Eager compilation runs at about
/// 1.5 MB of wasm a second on two cores here, so below this size it ends
/// within about two seconds (and the cache makes later runs load at
/// once); above it, the wait grows with the module while a short run
/// calls a small part of its functions.
pub const LAZY_THRESHOLD: usize = 4 << 20;

/// The `-C` keys keel understands, for error messages.
const KEYS: &str = "`cache`, `cache-config`, `lazy`, `lazy-baseline`, `target-feature`";

/// Parse one `-C` argument: comma-separated `KEY=VALUE` pairs, except
/// that `target-feature`'s value runs to the end (it is itself a
/// comma-separated list). The error names the key and what was wrong.
pub fn parse(arg: &str) -> Result<Vec<CodegenOption>, String> {
    let mut out = Vec::new();
    let mut rest = arg;
    while !rest.is_empty() {
        if let Some(value) = rest.strip_prefix("target-feature=") {
            out.push(target_features(arg, value)?);
            break;
        }
        let (pair, tail) = rest.split_once(',').unwrap_or((rest, ""));
        rest = tail;
        let (key, value) = match pair.split_once('=') {
            Some((key, value)) => (key, Some(value)),
            None => (pair, None),
        };
        out.push(match key {
            "cache" => {
                CodegenOption::Cache(parse_bool(value).map_err(|e| format!("`-C {pair}`: {e}"))?)
            }
            "lazy" => {
                CodegenOption::Lazy(parse_bool(value).map_err(|e| format!("`-C {pair}`: {e}"))?)
            }
            "lazy-baseline" => CodegenOption::LazyBaseline(
                parse_bool(value).map_err(|e| format!("`-C {pair}`: {e}"))?,
            ),
            "cache-config" => match value {
                Some(file) if !file.is_empty() => CodegenOption::CacheConfig(file.into()),
                _ => return Err(format!("`-C {pair}`: expected `cache-config=FILE`")),
            },
            "target-feature" => {
                return Err(format!(
                    "`-C {pair}`: expected `target-feature=+sse4.1,...`"
                ));
            }
            _ => {
                return Err(format!(
                    "`-C {pair}`: unknown option `{key}` (known: {KEYS})"
                ));
            }
        });
    }
    Ok(out)
}

/// `y`, `yes`, `true` or nothing; `n`, `no`, `false`.
fn parse_bool(value: Option<&str>) -> Result<bool, String> {
    match value {
        None | Some("y" | "yes" | "true") => Ok(true),
        Some("n" | "no" | "false") => Ok(false),
        Some(other) => Err(format!("expected y or n, not `{other}`")),
    }
}

/// `target-feature=+sse4.1,-avx2`: each feature's name loses its dots and
/// gains Cranelift's `has_` prefix (`has_sse41`); unknown ones are
/// reported by the engine, which names the setting.
fn target_features(arg: &str, value: &str) -> Result<CodegenOption, String> {
    let mut features = Vec::new();
    for item in value.split(',').filter(|s| !s.is_empty()) {
        let (enable, name) = match item.split_at(1) {
            ("+", name) => (true, name),
            ("-", name) => (false, name),
            _ => (true, item),
        };
        if name.is_empty() {
            return Err(format!("`-C {arg}`: an empty feature name"));
        }
        features.push((format!("has_{}", name.replace('.', "")), enable));
    }
    Ok(CodegenOption::TargetFeatures(features))
}

/// The `-C` options of one command, last one winning.
#[derive(Clone, Debug)]
pub struct CodegenOptions {
    /// Whether to use the compilation cache.
    pub cache: bool,
    /// The cache's configuration file, if not the default.
    pub cache_config: Option<PathBuf>,
    /// CPU features for `--target`, in order.
    pub target_features: Vec<(String, bool)>,
    /// `-C lazy`, if given.
    pub lazy: Option<bool>,
    /// `-C lazy-baseline`.
    pub lazy_baseline: bool,
}

impl CodegenOptions {
    /// The options of `options`, in order.
    pub fn new(options: impl IntoIterator<Item = CodegenOption>) -> Self {
        let mut out = Self {
            cache: true,
            cache_config: None,
            target_features: Vec::new(),
            lazy: None,
            lazy_baseline: false,
        };
        for option in options {
            match option {
                CodegenOption::Cache(on) => out.cache = on,
                CodegenOption::CacheConfig(file) => out.cache_config = Some(file),
                CodegenOption::TargetFeatures(f) => out.target_features.extend(f),
                CodegenOption::Lazy(on) => out.lazy = Some(on),
                CodegenOption::LazyBaseline(on) => out.lazy_baseline = on,
            }
        }
        out
    }

    /// Set up `config`'s compilation cache and return it (`None`: no
    /// cache). The default cache is skipped (reported at debug level) when
    /// there is no user cache directory; a configuration file that does
    /// not load is an error.
    ///
    /// # Errors
    ///
    /// If `cache-config` names a file that cannot be read or parsed.
    #[cfg(feature = "compiler")]
    pub fn configure_cache(&self, config: &mut Config) -> Result<Option<keel::Cache>> {
        use anyhow::Context as _;
        if !self.cache {
            return Ok(None);
        }
        match keel::Cache::from_file(self.cache_config.as_deref()) {
            Ok(cache) => {
                config.cache(Some(cache.clone()));
                Ok(Some(cache))
            }
            Err(e) if self.cache_config.is_none() => {
                tracing::debug!("running without the compilation cache: {e:#}");
                Ok(None)
            }
            Err(e) => Err(e).context("-C cache-config"),
        }
    }

    /// Without the compiler there is nothing to cache.
    #[cfg(not(feature = "compiler"))]
    pub fn configure_cache(&self, _config: &mut Config) -> Result<Option<Cache>> {
        Ok(None)
    }
}

/// Stands in for `keel::Cache` in a build without the compiler.
#[cfg(not(feature = "compiler"))]
pub struct Cache;

#[cfg(not(feature = "compiler"))]
impl Cache {
    /// Nothing is ever written in the background without a compiler.
    pub fn wait_for_background_writes(&self) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options() {
        assert_eq!(parse("cache=n").unwrap(), [CodegenOption::Cache(false)]);
        assert_eq!(parse("cache").unwrap(), [CodegenOption::Cache(true)]);
        assert_eq!(
            parse("cache=y,cache-config=/x.toml").unwrap(),
            [
                CodegenOption::Cache(true),
                CodegenOption::CacheConfig("/x.toml".into())
            ]
        );
        assert_eq!(
            parse("cache=n,target-feature=+sse4.1,-avx2").unwrap(),
            [
                CodegenOption::Cache(false),
                CodegenOption::TargetFeatures(vec![
                    ("has_sse41".into(), true),
                    ("has_avx2".into(), false)
                ])
            ]
        );
        assert!(
            parse("cache=maybe")
                .unwrap_err()
                .contains("expected y or n")
        );
        assert!(parse("cache-config=").is_err());
        assert!(
            parse("nope=1")
                .unwrap_err()
                .contains("unknown option `nope`")
        );
        assert!(
            parse("target-feature=+")
                .unwrap_err()
                .contains("empty feature")
        );
        let options = CodegenOptions::new(
            parse("cache=n")
                .unwrap()
                .into_iter()
                .chain(parse("cache=y").unwrap()),
        );
        assert!(options.cache);
    }
}
