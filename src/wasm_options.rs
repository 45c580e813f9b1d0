//! `-W` options of `keel run`, `keel compile` and `keel wast`, in
//! `wasmtime run`'s spelling and meaning: `-W KEY[=VALUE][,KEY[=VALUE]...]`,
//! repeatable. Guest limits (`fuel=N`, `max-memory-size=BYTES`, ...) and
//! the WebAssembly feature toggles (`simd=n`, `wide-arithmetic`, ...).

use std::time::Duration;

use keel::{Config, Store, StoreLimits, StoreLimitsBuilder};

/// The `-W` keys keel understands, for error messages.
const KEYS: &[&str] = &[
    "fuel",
    "timeout",
    "epoch-interruption",
    "max-memory-size",
    "max-table-elements",
    "max-instances",
    "max-tables",
    "max-memories",
    "trap-on-grow-failure",
    "max-wasm-stack",
    "all-proposals",
];

/// A [`Config`] method that turns a WebAssembly feature on or off.
type Toggle = fn(&mut Config, bool) -> &mut Config;

/// The WebAssembly feature toggles, by `wasmtime run -W` name.
/// `all-proposals` sets every one of them but
/// `relaxed-simd-deterministic`, which is a code-generation choice.
const FEATURES: &[(&str, Toggle)] = &[
    ("bulk-memory", Config::wasm_bulk_memory),
    ("custom-page-sizes", Config::wasm_custom_page_sizes),
    ("exceptions", Config::wasm_exceptions),
    ("extended-const", Config::wasm_extended_const),
    ("function-references", Config::wasm_function_references),
    ("gc", Config::wasm_gc),
    ("memory64", Config::wasm_memory64),
    ("multi-memory", Config::wasm_multi_memory),
    ("multi-value", Config::wasm_multi_value),
    ("reference-types", Config::wasm_reference_types),
    ("relaxed-simd", Config::wasm_relaxed_simd),
    (
        "relaxed-simd-deterministic",
        Config::relaxed_simd_deterministic,
    ),
    ("simd", Config::wasm_simd),
    ("tail-call", Config::wasm_tail_call),
    ("threads", Config::wasm_threads),
    ("wide-arithmetic", Config::wasm_wide_arithmetic),
];

/// One `-W KEY[=VALUE]` setting.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WasmOption {
    /// `fuel=N`: run with `N` units of fuel (Wasmtime's cost model).
    Fuel(u64),
    /// `timeout=DURATION`: interrupt the guest after this long (epoch
    /// interruption with a timer thread).
    Timeout(Duration),
    /// `epoch-interruption[=y|n]`: compile with epoch checks.
    EpochInterruption(bool),
    /// `max-memory-size=BYTES`: the largest a linear memory may grow.
    MaxMemorySize(usize),
    /// `max-table-elements=N`: the most elements a table may have.
    MaxTableElements(usize),
    /// `max-instances=N`.
    MaxInstances(usize),
    /// `max-tables=N`.
    MaxTables(usize),
    /// `max-memories=N`.
    MaxMemories(usize),
    /// `trap-on-grow-failure[=y|n]`: trap instead of returning -1.
    TrapOnGrowFailure(bool),
    /// `max-wasm-stack=BYTES`: the wasm stack limit.
    MaxWasmStack(usize),
    /// `FEATURE[=y|n]`: turn a WebAssembly feature on or off (a name of
    /// [`FEATURES`], or `all-proposals`).
    Feature(&'static str, bool),
}

/// Parse one `-W` argument: comma-separated `KEY[=VALUE]` pairs. The
/// error names the key and what was wrong (clap prints it as a usage
/// error).
pub fn parse(arg: &str) -> Result<Vec<WasmOption>, String> {
    arg.split(',').map(parse_one).collect()
}

fn parse_one<'a>(pair: &'a str) -> Result<WasmOption, String> {
    let (key, value) = match pair.split_once('=') {
        Some((k, v)) => (k.trim(), Some(v.trim())),
        None => (pair.trim(), None),
    };
    let need =
        |v: Option<&'a str>| v.ok_or_else(|| format!("`-W {key}` needs a value: `-W {key}=...`"));
    let with_key = |e: String| format!("invalid value for `-W {key}`: {e}");
    Ok(match key {
        "fuel" => WasmOption::Fuel(parse_u64(need(value)?).map_err(with_key)?),
        "timeout" => WasmOption::Timeout(parse_duration(need(value)?).map_err(with_key)?),
        "epoch-interruption" => WasmOption::EpochInterruption(parse_bool(value).map_err(with_key)?),
        "max-memory-size" => {
            WasmOption::MaxMemorySize(parse_usize(need(value)?).map_err(with_key)?)
        }
        "max-table-elements" => {
            WasmOption::MaxTableElements(parse_usize(need(value)?).map_err(with_key)?)
        }
        "max-instances" => WasmOption::MaxInstances(parse_usize(need(value)?).map_err(with_key)?),
        "max-tables" => WasmOption::MaxTables(parse_usize(need(value)?).map_err(with_key)?),
        "max-memories" => WasmOption::MaxMemories(parse_usize(need(value)?).map_err(with_key)?),
        "trap-on-grow-failure" => {
            WasmOption::TrapOnGrowFailure(parse_bool(value).map_err(with_key)?)
        }
        "max-wasm-stack" => WasmOption::MaxWasmStack(parse_usize(need(value)?).map_err(with_key)?),
        "all-proposals" => {
            WasmOption::Feature("all-proposals", parse_bool(value).map_err(with_key)?)
        }
        _ => match FEATURES.iter().find(|(name, _)| *name == key) {
            Some((name, _)) => WasmOption::Feature(name, parse_bool(value).map_err(with_key)?),
            None => {
                let features: Vec<&str> = FEATURES.iter().map(|(name, _)| *name).collect();
                return Err(format!(
                    "unknown `-W` option `{key}`; known: {}; features: {}",
                    KEYS.join(", "),
                    features.join(", ")
                ));
            }
        },
    })
}

fn parse_u64(s: &str) -> Result<u64, String> {
    s.parse::<u64>()
        .map_err(|e| format!("`{s}` is not a non-negative integer ({e})"))
}

fn parse_usize(s: &str) -> Result<usize, String> {
    s.parse::<usize>()
        .map_err(|e| format!("`{s}` is not a non-negative integer ({e})"))
}

/// `y`, `yes`, `true` or nothing (the bare key) is on; `n`, `no`,
/// `false` is off.
fn parse_bool(value: Option<&str>) -> Result<bool, String> {
    match value {
        None | Some("y" | "yes" | "true") => Ok(true),
        Some("n" | "no" | "false") => Ok(false),
        Some(other) => Err(format!(
            "`{other}` is not one of y, yes, true, n, no, false"
        )),
    }
}

/// A duration as `wasmtime run` takes it: an integer with an optional
/// unit `s`, `ms`, `us` or `ns`; no unit means seconds (`1`, `2s`,
/// `100ms`).
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (digits, unit) = s.split_at(split);
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("`{s}` is not a duration such as 1, 2s or 100ms"))?;
    match unit {
        "" | "s" => Ok(Duration::from_secs(n)),
        "ms" => Ok(Duration::from_millis(n)),
        "us" => Ok(Duration::from_micros(n)),
        "ns" => Ok(Duration::from_nanos(n)),
        _ => Err(format!(
            "`{s}` has an unknown unit `{unit}` (use s, ms, us or ns)"
        )),
    }
}

/// The settings of all `-W` options, last one winning.
#[derive(Debug, Default)]
pub struct WasmOptions {
    fuel: Option<u64>,
    timeout: Option<Duration>,
    epoch_interruption: bool,
    limits: Option<StoreLimitsBuilder>,
    max_wasm_stack: Option<usize>,
    /// Feature toggles, in the order given.
    features: Vec<(&'static str, bool)>,
}

impl WasmOptions {
    /// Collect parsed options.
    pub fn new(options: impl IntoIterator<Item = WasmOption>) -> Self {
        let mut o = WasmOptions::default();
        for option in options {
            let limits = || StoreLimitsBuilder::new();
            match option {
                WasmOption::Fuel(n) => o.fuel = Some(n),
                WasmOption::Timeout(d) => o.timeout = Some(d),
                WasmOption::EpochInterruption(on) => o.epoch_interruption = on,
                WasmOption::MaxMemorySize(n) => {
                    o.limits = Some(o.limits.take().unwrap_or_else(limits).memory_size(n))
                }
                WasmOption::MaxTableElements(n) => {
                    o.limits = Some(o.limits.take().unwrap_or_else(limits).table_elements(n))
                }
                WasmOption::MaxInstances(n) => {
                    o.limits = Some(o.limits.take().unwrap_or_else(limits).instances(n))
                }
                WasmOption::MaxTables(n) => {
                    o.limits = Some(o.limits.take().unwrap_or_else(limits).tables(n))
                }
                WasmOption::MaxMemories(n) => {
                    o.limits = Some(o.limits.take().unwrap_or_else(limits).memories(n))
                }
                WasmOption::TrapOnGrowFailure(on) => {
                    o.limits = Some(
                        o.limits
                            .take()
                            .unwrap_or_else(limits)
                            .trap_on_grow_failure(on),
                    )
                }
                WasmOption::MaxWasmStack(n) => o.max_wasm_stack = Some(n),
                WasmOption::Feature(name, on) => o.features.push((name, on)),
            }
        }
        o
    }

    /// Apply the engine settings.
    pub fn configure(&self, config: &mut Config) {
        if self.fuel.is_some() {
            config.consume_fuel(true);
        }
        if self.timeout.is_some() || self.epoch_interruption {
            config.epoch_interruption(true);
        }
        if let Some(bytes) = self.max_wasm_stack {
            config.max_wasm_stack(bytes);
        }
        for &(name, on) in &self.features {
            for (feature, toggle) in FEATURES {
                let all = name == "all-proposals" && *feature != "relaxed-simd-deterministic";
                if all || *feature == name {
                    toggle(config, on);
                }
            }
        }
    }

    /// The resource limits (the defaults of [`StoreLimits`] when no
    /// `-W max-*` option is given; they are only enforced then).
    pub fn limits(&self) -> StoreLimits {
        self.limits.clone().unwrap_or_default().build()
    }

    /// Set the fuel, epoch deadline and limiter (reached through `limits`
    /// from the store's data) on `store`, and start the timer thread of
    /// `timeout`.
    pub fn apply<T: 'static>(
        &self,
        store: &mut Store<T>,
        mut limits: impl FnMut(&mut T) -> &mut StoreLimits + Send + Sync + 'static,
    ) -> anyhow::Result<()> {
        if self.limits.is_some() {
            store.limiter(move |data| -> &mut dyn keel::ResourceLimiter { limits(data) });
        }
        if let Some(fuel) = self.fuel {
            store.set_fuel(fuel)?;
        }
        match self.timeout {
            Some(timeout) => {
                // One tick, when the timeout has passed, reaches the
                // deadline (as `wasmtime run`).
                store.set_epoch_deadline(1);
                let engine = store.engine().clone();
                std::thread::spawn(move || {
                    std::thread::sleep(timeout);
                    engine.increment_epoch();
                });
            }
            // Epoch checks compiled in, but no deadline to reach.
            None => store.set_epoch_deadline(u64::MAX),
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("1"), Ok(Duration::from_secs(1)));
        assert_eq!(parse_duration("2s"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_duration("100ms"), Ok(Duration::from_millis(100)));
        assert_eq!(parse_duration("7us"), Ok(Duration::from_micros(7)));
        assert_eq!(parse_duration("9ns"), Ok(Duration::from_nanos(9)));
        assert!(parse_duration("1.5s").is_err());
        assert!(parse_duration("ms").is_err());
        assert!(parse_duration("3h").is_err());
        assert!(parse_duration("").is_err());
    }

    #[test]
    fn options() {
        assert_eq!(
            parse("fuel=1000,timeout=200ms"),
            Ok(vec![
                WasmOption::Fuel(1000),
                WasmOption::Timeout(Duration::from_millis(200))
            ])
        );
        assert_eq!(
            parse("epoch-interruption"),
            Ok(vec![WasmOption::EpochInterruption(true)])
        );
        assert_eq!(
            parse("trap-on-grow-failure=n"),
            Ok(vec![WasmOption::TrapOnGrowFailure(false)])
        );
        assert_eq!(
            parse("max-memory-size=65536"),
            Ok(vec![WasmOption::MaxMemorySize(65536)])
        );
        let err = parse("fuell=3").unwrap_err();
        assert!(err.contains("unknown `-W` option `fuell`"), "{err}");
        let err = parse("fuel=-1").unwrap_err();
        assert!(err.contains("`-W fuel`"), "{err}");
        let err = parse("fuel").unwrap_err();
        assert!(err.contains("needs a value"), "{err}");
        let err = parse("timeout=soon").unwrap_err();
        assert!(err.contains("`-W timeout`"), "{err}");
    }

    #[test]
    fn features() {
        assert_eq!(
            parse("simd=n,wide-arithmetic,all-proposals=y"),
            Ok(vec![
                WasmOption::Feature("simd", false),
                WasmOption::Feature("wide-arithmetic", true),
                WasmOption::Feature("all-proposals", true),
            ])
        );
        let err = parse("gcc").unwrap_err();
        assert!(err.contains("unknown `-W` option `gcc`"), "{err}");
        assert!(err.contains("tail-call") && err.contains("fuel"), "{err}");
        let err = parse("simd=maybe").unwrap_err();
        assert!(err.contains("`-W simd`"), "{err}");
    }

    /// Each toggle reaches the engine: a module using the feature
    /// compiles with it on and not with it off, whatever the default.
    #[cfg(feature = "compiler")]
    #[test]
    fn features_configure_the_engine() {
        let cases = [
            ("simd", "(module (func (result v128) v128.const i64x2 0 0))"),
            (
                "multi-value",
                "(module (func (result i32 i32) i32.const 0 i32.const 1))",
            ),
            ("tail-call", "(module (func $f return_call $f))"),
            ("memory64", "(module (memory i64 1))"),
            ("multi-memory", "(module (memory 1) (memory 1))"),
            ("custom-page-sizes", "(module (memory 1 (pagesize 1)))"),
            (
                "wide-arithmetic",
                "(module (func (param i64 i64) (result i64 i64) \
                 local.get 0 local.get 1 i64.mul_wide_u))",
            ),
        ];
        for (name, wat) in cases {
            for on in [true, false] {
                let mut config = Config::new();
                WasmOptions::new(parse(&format!("{name}={}", if on { "y" } else { "n" })).unwrap())
                    .configure(&mut config);
                let engine = keel::Engine::new(&config).unwrap();
                let valid = keel::Module::new(&engine, wat).is_ok();
                assert_eq!(valid, on, "-W {name}={on}");
            }
        }
        // `all-proposals=n` turns reference types off with the rest, so
        // the engine is consistent; bulk memory alone off is refused.
        let mut config = Config::new();
        WasmOptions::new(parse("all-proposals=n").unwrap()).configure(&mut config);
        keel::Engine::new(&config).unwrap();
        let mut config = Config::new();
        WasmOptions::new(parse("bulk-memory=n").unwrap()).configure(&mut config);
        let err = keel::Engine::new(&config).unwrap_err();
        assert!(format!("{err:#}").contains("wasm_bulk_memory"), "{err:#}");
    }
}
