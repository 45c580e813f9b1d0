//! `-W` options of `keel run`, in `wasmtime run`'s spelling and meaning:
//! `-W KEY[=VALUE][,KEY[=VALUE]...]`, repeatable.

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
        _ => {
            return Err(format!(
                "unknown `-W` option `{key}`; known: {}",
                KEYS.join(", ")
            ));
        }
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
}
