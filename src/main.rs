//! The `keel` command-line tool.
//!
//! * `keel run [OPTIONS] FILE [ARGS...]` compiles a `.wasm` or `.wat`
//!   module and runs it, as `wasmtime run` does. WASI preview 1
//!   (`wasi_snapshot_preview1`) is provided to every module, with the
//!   process's stdio, the variables given by `--env`, and the directories
//!   given by `--dir HOST[::GUEST]`; `--preload NAME=MODULE` instantiates
//!   another module first and makes its exports importable as `NAME`.
//!   Without `--invoke`, a command's `_start` runs with `FILE ARGS...` as
//!   its `argv`, and the process exits with the guest's `proc_exit` code
//!   (0 after a normal return). With `--invoke NAME` (or a `_start` that
//!   takes parameters), `ARGS` are parsed by the function's parameter
//!   types and each result is printed on its own line.
//!
//!   `-W KEY=VALUE` options (repeatable, comma-separated) bound the guest
//!   as `wasmtime run`'s do: `fuel=N`, `timeout=DURATION` (`1`, `2s`,
//!   `100ms`), `epoch-interruption`, `max-memory-size=BYTES`,
//!   `max-table-elements=N`, `max-instances=N`, `max-tables=N`,
//!   `max-memories=N`, `trap-on-grow-failure`, `max-wasm-stack=BYTES`.
//!
//!   `--allow-precompiled` lets FILE (and `--preload` modules) be
//!   artifacts that `keel compile` wrote (`.cwasm`); without it they are
//!   refused, as `wasmtime run` refuses them, because their machine code
//!   runs unchecked.
//! * `keel compile FILE [-o OUT] [--target TRIPLE] [-W ...]` compiles a
//!   module ahead of time into an artifact (default `FILE.cwasm`), for
//!   this machine or another target. The `-W` options that change code
//!   (`fuel`, `timeout`, `epoch-interruption`) must be the same as those
//!   of the `keel run` that loads it.
//! * `keel wast FILE...` runs `.wast` scripts (the spec testsuite format)
//!   with the `spectest` module registered and prints pass/fail counts.
//!
//! Built without the `compiler` feature (`cargo build --no-default-features`),
//! `keel` has only `run`, which runs artifacts and refuses to compile.
//!
//! Errors, traps included, are printed as `error: ...` (with the wasm
//! backtrace) on stderr and the process exits with status 1.

mod codegen_options;
mod progress;
mod wasm_options;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, Result, anyhow, bail};
use clap::{Parser, Subcommand};
use codegen_options::{CodegenOption, CodegenOptions};
use keel::{
    Config, DisplayName, Engine, ExternType, FuncType, Linker, Module, Store, StoreLimits, Val,
    ValType,
};
use keel_wasi::{DirPerms, FilePerms, I32Exit, WasiCtx, WasiCtxBuilder};
use wasm_options::{WasmOption, WasmOptions};

/// The first bytes of an ELF file: how `keel run` tells an artifact from
/// a module.
const ELF_MAGIC: &[u8] = b"\x7fELF";

/// One `-W` argument's settings.
#[derive(Clone, Debug)]
struct WasmArg(Vec<WasmOption>);

fn parse_wasm_arg(arg: &str) -> Result<WasmArg, String> {
    wasm_options::parse(arg).map(WasmArg)
}

/// One `-C` argument: its settings (see [`codegen_options`]).
#[derive(Clone, Debug)]
struct CodegenArg(Vec<CodegenOption>);

fn parse_codegen_arg(arg: &str) -> Result<CodegenArg, String> {
    codegen_options::parse(arg).map(CodegenArg)
}

/// The help of `-C` for `run` and `wast`.
const CODEGEN_HELP: &str = "Compilation options, as `wasmtime run`'s `-C`: `cache=y|n` uses the \
compilation cache (default y: compiled modules are kept in $XDG_CACHE_HOME/keel, else \
~/.cache/keel, and a second run loads them), `cache-config=FILE` reads the cache's \
directory and size limit from FILE (Wasmtime's TOML format), `lazy=y|n` (run only) compiles \
each function when it is first called (default: for modules of 4 MiB or more), and \
`lazy-baseline=y|n` first without optimizations, optimizing on a background thread \
(default n: quicker to start, slower until optimized). Repeatable.";
#[cfg(feature = "compiler")]
use keel_wast::WastContext;

/// Run WebAssembly modules and .wast scripts with keel.
#[derive(Parser)]
#[command(name = "keel", version, about)]
struct Cli {
    /// What to do.
    #[command(subcommand)]
    command: Command,
}

/// The subcommands of `keel`.
#[derive(Subcommand)]
enum Command {
    /// Run a WebAssembly module (.wasm or .wat): a WASI command's `_start`
    /// with ARGS as its arguments, or the function `--invoke` names with
    /// ARGS as its parameters, printing each result on its own line.
    Run {
        /// Guest limits, as `wasmtime run`'s `-W`: `fuel=N`,
        /// `timeout=DURATION` (`1`, `2s`, `100ms`), `epoch-interruption`,
        /// `max-memory-size=BYTES`, `max-table-elements=N`,
        /// `max-instances=N`, `max-tables=N`, `max-memories=N`,
        /// `trap-on-grow-failure`, `max-wasm-stack=BYTES`; and WebAssembly
        /// feature toggles in Wasmtime's spelling, `NAME[=y|n]`:
        /// `bulk-memory`, `custom-page-sizes`, `exceptions`,
        /// `extended-const`, `function-references`, `gc`, `memory64`,
        /// `multi-memory`, `multi-value`, `reference-types`,
        /// `relaxed-simd`, `relaxed-simd-deterministic`, `simd`,
        /// `tail-call`, `threads`, `wide-arithmetic`, `all-proposals`.
        /// Repeatable; several may be given comma-separated.
        #[arg(short = 'W', value_name = "KEY[=VALUE]", value_parser = parse_wasm_arg)]
        wasm: Vec<WasmArg>,
        #[arg(short = 'C', value_name = "KEY=VALUE", value_parser = parse_codegen_arg, help = CODEGEN_HELP)]
        codegen: Vec<CodegenArg>,
        /// Give the guest the host directory HOST as GUEST (HOST itself
        /// when `::GUEST` is left out), readable and writable; nothing
        /// outside it is reachable. Repeatable.
        #[arg(long = "dir", value_name = "HOST[::GUEST]")]
        dirs: Vec<String>,
        /// Set the guest's environment variable NAME to VALUE, or to the
        /// host's value of NAME when `=VALUE` is left out. Repeatable.
        #[arg(long = "env", value_name = "NAME[=VALUE]")]
        envs: Vec<String>,
        /// Instantiate MODULE first and make its exports importable under
        /// the module name NAME. Repeatable.
        #[arg(long = "preload", value_name = "NAME=MODULE")]
        preloads: Vec<String>,
        /// Accept precompiled artifacts (`keel compile` output) as FILE and
        /// as --preload modules. Their machine code runs as it is: only
        /// load artifacts that you made and kept where no one else can
        /// write.
        #[arg(long)]
        allow_precompiled: bool,
        /// Describe JIT code to a profiler: `perfmap` appends every
        /// function's address and name to `/tmp/perf-PID.map`, where
        /// `perf report` finds them (as `wasmtime run --profile=perfmap`).
        #[arg(long, value_name = "STRATEGY")]
        profile: Option<Profile>,
        /// The module: WebAssembly binary or text, or with
        /// --allow-precompiled an artifact.
        file: PathBuf,
        /// The exported function to call (default: `_start`).
        #[arg(long)]
        invoke: Option<String>,
        /// For a WASI command, its arguments (after FILE, its `argv[0]`).
        /// For `--invoke`, the parameters, parsed by the function's types:
        /// integers in decimal or 0x hex (optionally negative), floats as
        /// Rust parses them (e.g. `1.5`, `-0`, `inf`, `NaN`). Everything
        /// after FILE is an argument.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Compile a WebAssembly module (.wasm or .wat) ahead of time into an
    /// artifact that `keel run --allow-precompiled` runs without compiling.
    #[cfg(feature = "compiler")]
    Compile {
        /// Code-changing settings, as for `run` (`fuel=N`, `timeout=...`,
        /// `epoch-interruption`, the feature toggles); `run` must be given
        /// the same ones.
        #[arg(short = 'W', value_name = "KEY[=VALUE]", value_parser = parse_wasm_arg)]
        wasm: Vec<WasmArg>,
        /// Where to write the artifact (default: FILE with the extension
        /// `.cwasm`).
        #[arg(short = 'o', long = "output", value_name = "OUT")]
        output: Option<PathBuf>,
        /// Compile for target TRIPLE (e.g. `x86_64-unknown-none`,
        /// `riscv64gc-unknown-none-elf`) instead of this machine.
        #[arg(long, value_name = "TRIPLE")]
        target: Option<String>,
        /// Compilation options: `cache=y|n` and `cache-config=FILE` as for
        /// `run` (a module compiled before with the same settings is
        /// written from the cache), and, with `--target`,
        /// `target-feature=+sse4.1,+avx2,-bmi2`, which enables or disables the
        /// target's CPU features (Rust's and LLVM's names: `sse3`,
        /// `ssse3`, `sse4.1`, `sse4.2`, `popcnt`, `avx`, `avx2`, `bmi1`,
        /// `bmi2`, `lzcnt`, `fma`; riscv64's `v`, `zba`, `zbb`, ...), which
        /// Cranelift calls `has_*`.
        #[arg(short = 'C', value_name = "KEY=VALUE", value_parser = parse_codegen_arg)]
        codegen: Vec<CodegenArg>,
        /// The module: WebAssembly binary or text.
        file: PathBuf,
    },
    /// Run .wast scripts against keel, with the spec testsuite's `spectest`
    /// module registered.
    #[cfg(feature = "compiler")]
    Wast {
        /// WebAssembly feature toggles, as `wasmtime wast`'s `-W`
        /// (`simd=n`, `custom-page-sizes`, `all-proposals`, ...; see
        /// `run`). Repeatable.
        #[arg(short = 'W', value_name = "KEY[=VALUE]", value_parser = parse_wasm_arg)]
        wasm: Vec<WasmArg>,
        #[arg(short = 'C', value_name = "KEY=VALUE", value_parser = parse_codegen_arg, help = CODEGEN_HELP)]
        codegen: Vec<CodegenArg>,
        /// The scripts to run.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}

/// How many failure messages `keel wast` prints per file.
#[cfg(feature = "compiler")]
const FAILURES_SHOWN: usize = 5;

/// Print keel's tracing spans (with their durations, when they close)
/// and events to stderr when `KEEL_LOG` or else `RUST_LOG` asks for them,
/// in `tracing-subscriber`'s filter syntax: `KEEL_LOG=debug` shows
/// compilation, instantiation and host-call slow paths, `KEEL_LOG=trace`
/// also each function's compilation.
fn init_logging() {
    use tracing_subscriber::EnvFilter;
    use tracing_subscriber::fmt::format::FmtSpan;
    let Some(var) = ["KEEL_LOG", "RUST_LOG"]
        .into_iter()
        .find(|v| std::env::var_os(v).is_some())
    else {
        return;
    };
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::from_env(var))
        .with_span_events(FmtSpan::CLOSE)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .init();
}

fn main() -> ExitCode {
    init_logging();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run {
            wasm,
            codegen,
            dirs,
            envs,
            preloads,
            allow_precompiled,
            profile,
            file,
            invoke,
            args,
        } => {
            let options = WasmOptions::new(wasm.into_iter().flat_map(|w| w.0));
            let run_options = RunOptions {
                file,
                invoke,
                args,
                dirs,
                envs,
                preloads,
                allow_precompiled,
                profile,
            };
            let codegen = CodegenOptions::new(codegen.into_iter().flat_map(|c| c.0));
            run(&run_options, &options, &codegen)
        }
        #[cfg(feature = "compiler")]
        Command::Compile {
            wasm,
            output,
            target,
            codegen,
            file,
        } => {
            let options = WasmOptions::new(wasm.into_iter().flat_map(|w| w.0));
            let codegen = CodegenOptions::new(codegen.into_iter().flat_map(|c| c.0));
            compile(&file, output, target.as_deref(), &codegen, &options)
        }
        #[cfg(feature = "compiler")]
        Command::Wast {
            wasm,
            codegen,
            files,
        } => {
            let options = WasmOptions::new(wasm.into_iter().flat_map(|w| w.0));
            let codegen = CodegenOptions::new(codegen.into_iter().flat_map(|c| c.0));
            wast(&files, &options, &codegen)
        }
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("{}", report(&err));
            ExitCode::FAILURE
        }
    }
}

/// The text printed for an error: `error: ` and its causes joined by `: `
/// (a trap included), then the wasm backtrace, if any, one frame a line.
fn report(err: &anyhow::Error) -> String {
    let backtrace = err.downcast_ref::<keel::WasmBacktrace>();
    // The backtrace is one link of the chain (a context); print it last.
    let backtrace_text = backtrace.map(ToString::to_string);
    let causes: Vec<String> = err
        .chain()
        .map(ToString::to_string)
        .filter(|cause| Some(cause) != backtrace_text.as_ref())
        .collect();
    let mut text = format!("error: {}", causes.join(": "));
    if let Some(bt) = backtrace {
        text.push_str("\nwasm backtrace:\n");
        text.push_str(&bt.frames_text());
    }
    text
}

/// What `keel run` was asked to do.
struct RunOptions {
    file: PathBuf,
    invoke: Option<String>,
    args: Vec<String>,
    dirs: Vec<String>,
    envs: Vec<String>,
    preloads: Vec<String>,
    allow_precompiled: bool,
    profile: Option<Profile>,
}

/// The profilers `keel run --profile` can describe JIT code to.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
enum Profile {
    /// `/tmp/perf-PID.map` for Linux `perf`.
    Perfmap,
}

/// The store data of `keel run`: the resource limits and the WASI context.
struct Host {
    limits: StoreLimits,
    wasi: WasiCtx,
}

/// The WASI context of `keel run`: stdio inherited, `FILE ARGS...` as
/// `argv` (for a command), `--env` and `--dir` applied.
fn wasi_context(run: &RunOptions, command: bool) -> Result<WasiCtx> {
    let mut builder = WasiCtxBuilder::new();
    builder.inherit_stdio();
    builder.arg(run.file.to_string_lossy());
    if command {
        builder.args(&run.args);
    }
    for env in &run.envs {
        match env.split_once('=') {
            Some((name, value)) => builder.env(name, value),
            None => match std::env::var(env) {
                Ok(value) => builder.env(env, value),
                Err(_) => &mut builder,
            },
        };
    }
    for dir in &run.dirs {
        let (host, guest) = dir.split_once("::").unwrap_or((dir, dir));
        builder
            .preopened_dir(host, guest, DirPerms::all(), FilePerms::all())
            .with_context(|| format!("--dir {dir}"))?;
    }
    Ok(builder.build())
}

/// Load `file`: compile a module, or with `allow_precompiled` load an
/// artifact.
fn load(engine: &Engine, file: &Path, allow_precompiled: bool) -> Result<Module> {
    let bytes = std::fs::read(file).with_context(|| format!("reading `{}`", file.display()))?;
    if bytes.starts_with(ELF_MAGIC) {
        if !allow_precompiled {
            bail!(
                "`{}` is a precompiled artifact, and running one needs `--allow-precompiled` \
                 (its machine code runs as it is: load only artifacts you made)",
                file.display()
            );
        }
        // SAFETY: the user vouched for the artifact's machine code with
        // `--allow-precompiled`; everything else in it is checked.
        return unsafe { Module::deserialize(engine, &bytes) }
            .with_context(|| format!("loading `{}`", file.display()));
    }
    #[cfg(feature = "compiler")]
    {
        Module::new(engine, &bytes).with_context(|| format!("compiling `{}`", file.display()))
    }
    #[cfg(not(feature = "compiler"))]
    {
        bail!(
            "`{}` is not a precompiled artifact, and this keel was built without the compiler \
             (cargo feature `compiler`), so it cannot compile WebAssembly: make an artifact with \
             `keel compile` of a full build and run it with `--allow-precompiled`",
            file.display()
        )
    }
}

/// `keel compile`: write `file`'s artifact to `output` (default: `file`
/// with the extension `.cwasm`).
#[cfg(feature = "compiler")]
fn compile(
    file: &Path,
    output: Option<PathBuf>,
    target: Option<&str>,
    codegen: &CodegenOptions,
    options: &WasmOptions,
) -> Result<ExitCode> {
    let mut config = Config::new();
    options.configure(&mut config);
    codegen.configure_cache(&mut config)?;
    progress::configure(&mut config);
    if let Some(target) = target {
        config.target(target)?;
    }
    if !codegen.target_features.is_empty() && target.is_none() {
        anyhow::bail!("`-C target-feature` needs `--target`: the host's features are detected");
    }
    for (flag, enable) in &codegen.target_features {
        if *enable {
            config.cranelift_flag_enable(flag)?;
        } else {
            config.cranelift_flag_disable(flag)?;
        }
    }
    let engine = Engine::new(&config)?;
    let bytes = std::fs::read(file).with_context(|| format!("reading `{}`", file.display()))?;
    let artifact = engine
        .precompile_module(&bytes)
        .with_context(|| format!("compiling `{}`", file.display()))?;
    let output = output.unwrap_or_else(|| file.with_extension("cwasm"));
    std::fs::write(&output, artifact).with_context(|| format!("writing `{}`", output.display()))?;
    Ok(ExitCode::SUCCESS)
}

/// `keel run`: instantiate the module with WASI and the preloads, then run
/// its command or the invoked function.
fn run(run: &RunOptions, options: &WasmOptions, codegen: &CodegenOptions) -> Result<ExitCode> {
    let file = &run.file;
    let mut config = Config::new();
    options.configure(&mut config);
    let cache = codegen.configure_cache(&mut config)?;
    progress::configure(&mut config);
    if !codegen.target_features.is_empty() {
        bail!(
            "`-C target-feature` is for `keel compile --target`: `run` detects this CPU's features"
        );
    }
    // Large modules compile lazily (see `LAZY_THRESHOLD`); artifacts are
    // whole anyway.
    let size = std::fs::metadata(file).map_or(0, |m| m.len());
    let lazy = codegen
        .lazy
        .unwrap_or(size >= codegen_options::LAZY_THRESHOLD as u64);
    config.lazy_compilation(lazy);
    config.lazy_baseline(codegen.lazy_baseline);
    if let Some(Profile::Perfmap) = run.profile {
        config.profiler(keel::ProfilingStrategy::PerfMap);
    }
    let engine = Engine::new(&config)?;
    let module = load(&engine, file, run.allow_precompiled)?;

    let mut preloads = Vec::new();
    for preload in &run.preloads {
        let Some((name, path)) = preload.split_once('=') else {
            bail!("--preload `{preload}`: expected NAME=MODULE");
        };
        preloads.push((
            name.to_string(),
            load(&engine, Path::new(path), run.allow_precompiled)?,
        ));
    }

    // The imports nothing will provide, listed together.
    let provided = |module_name: &str| {
        module_name == keel_wasi::MODULE || preloads.iter().any(|(name, _)| name == module_name)
    };
    let missing: Vec<String> = module
        .imports()
        .filter(|import| !provided(import.module()))
        .map(|import| describe_import(&import))
        .collect();
    if !missing.is_empty() {
        bail!(
            "`{}` imports {}, which `keel run` does not provide (it provides \
             `{}` and the --preload modules)",
            file.display(),
            missing.join(", "),
            keel_wasi::MODULE
        );
    }

    let name = run.invoke.as_deref().unwrap_or("_start");
    let start_params = module.exports().find_map(|export| match export.ty() {
        ExternType::Func(ty) if export.name() == name => Some(ty.params().len()),
        _ => None,
    });
    // A command: `_start` without parameters, so ARGS are its `argv`.
    let command = run.invoke.is_none() && start_params == Some(0);

    let limits = options.limits();
    let wasi = wasi_context(run, command)?;
    let mut store = Store::new(&engine, Host { limits, wasi });
    options.apply(&mut store, |host| &mut host.limits)?;
    let mut linker = Linker::new(&engine);
    keel_wasi::p1::add_to_linker_sync(&mut linker, |host: &mut Host| &mut host.wasi)?;
    for (name, preload) in &preloads {
        let instance = linker
            .instantiate(&mut store, preload)
            .with_context(|| format!("instantiating --preload `{name}`"))?;
        linker.instance(&mut store, name, instance)?;
    }
    let instance = linker
        .instantiate(&mut store, &module)
        .with_context(|| format!("instantiating `{}`", file.display()))?;

    let Some(func) = instance.get_func(&mut store, name) else {
        let funcs: Vec<String> = module
            .exports()
            .filter(|export| matches!(export.ty(), ExternType::Func(_)))
            .map(|export| DisplayName(export.name()).to_string())
            .collect();
        let available = if funcs.is_empty() {
            "it exports no functions".to_string()
        } else {
            format!("exported functions: {}", funcs.join(", "))
        };
        bail!(
            "`{}` has no exported function `{name}`; {available}",
            file.display()
        );
    };

    let outcome = (|| -> Result<Vec<Val>> {
        // A reactor is initialized before the function is invoked.
        if run.invoke.is_some()
            && let Some(init) = instance.get_func(&mut store, "_initialize")
        {
            init.call(&mut store, &[], &mut [])
                .context("calling `_initialize`")?;
        }
        let ty = func.ty(&store);
        let args: &[String] = if command { &[] } else { &run.args };
        let params = parse_args(&ty, args).with_context(|| format!("arguments for `{name}`"))?;
        let mut results = vec![Val::I32(0); ty.results().len()];
        func.call(&mut store, &params, &mut results)
            .with_context(|| format!("calling `{name}`"))?;
        Ok(results)
    })();
    let outcome = outcome.map(|results| {
        for result in &results {
            println!("{}", format_val(result));
        }
    });
    // A lazily compiled module's cache entry is compiled whole on another
    // thread; let it finish so that the next run loads it. The guest's
    // output is out first.
    if let Some(cache) = cache {
        let _ = std::io::Write::flush(&mut std::io::stdout());
        cache.wait_for_background_writes();
    }
    match outcome {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(err) => match err.downcast_ref::<I32Exit>() {
            // The guest's `proc_exit`: its code is the process's status.
            Some(&I32Exit(code)) => match u8::try_from(code) {
                Ok(code) => Ok(ExitCode::from(code)),
                Err(_) => bail!("the guest exited with status {code}, outside 0..=255"),
            },
            None => Err(err),
        },
    }
}

fn describe_import(import: &keel::ImportType<'_>) -> String {
    let kind = match import.ty() {
        ExternType::Func(_) => "func",
        ExternType::Global(_) => "global",
        ExternType::Table(_) => "table",
        ExternType::Memory(_) => "memory",
        ExternType::Tag(_) => "tag",
    };
    format!(
        "{}::{} ({kind})",
        DisplayName(import.module()),
        DisplayName(import.name())
    )
}

/// Parses `args` as the parameters of `ty`.
fn parse_args(ty: &FuncType, args: &[String]) -> Result<Vec<Val>> {
    let params: Vec<ValType> = ty.params().collect();
    if params.len() != args.len() {
        bail!(
            "expected {} argument(s) ({}), got {}",
            params.len(),
            params
                .iter()
                .map(|p| format!("{p:?}").to_lowercase())
                .collect::<Vec<_>>()
                .join(", "),
            args.len()
        );
    }
    params
        .iter()
        .zip(args)
        .enumerate()
        .map(|(i, (ty, arg))| {
            parse_val(*ty, arg).with_context(|| format!("argument {} (`{arg}`)", i + 1))
        })
        .collect()
}

/// Parses one argument as a value of type `ty`.
fn parse_val(ty: ValType, arg: &str) -> Result<Val> {
    Ok(match ty {
        ValType::I32 => {
            let v = parse_int(arg)?;
            // Accept the signed and the unsigned range: 0xffffffff is -1.
            let v = i32::try_from(v)
                .or_else(|_| u32::try_from(v).map(u32::cast_signed))
                .map_err(|_| anyhow!("out of range for i32"))?;
            Val::I32(v)
        }
        ValType::I64 => {
            let v = parse_int(arg)?;
            let v = i64::try_from(v)
                .or_else(|_| u64::try_from(v).map(u64::cast_signed))
                .map_err(|_| anyhow!("out of range for i64"))?;
            Val::I64(v)
        }
        ValType::F32 => Val::F32(arg.parse::<f32>().context("not an f32")?.to_bits()),
        ValType::F64 => Val::F64(arg.parse::<f64>().context("not an f64")?.to_bits()),
        other => bail!("parameters of type {other:?} cannot be given on the command line"),
    })
}

/// Parses a decimal or `0x` hexadecimal integer, optionally negative.
fn parse_int(arg: &str) -> Result<i128> {
    let (negative, digits) = match arg.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, arg.strip_prefix('+').unwrap_or(arg)),
    };
    let magnitude = match digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0X"))
    {
        Some(hex) => i128::from_str_radix(hex, 16),
        None => digits.parse::<i128>(),
    }
    .map_err(|_| anyhow!("not an integer"))?;
    if digits.starts_with(['+', '-']) {
        bail!("not an integer");
    }
    Ok(if negative { -magnitude } else { magnitude })
}

/// A result as `keel run` prints it.
fn format_val(val: &Val) -> String {
    match val {
        Val::I32(v) => v.to_string(),
        Val::I64(v) => v.to_string(),
        Val::F32(bits) => f32::from_bits(*bits).to_string(),
        Val::F64(bits) => f64::from_bits(*bits).to_string(),
        Val::V128(bits) => format!("0x{bits:032x}"),
        Val::FuncRef(None) | Val::ExternRef(None) | Val::AnyRef(None) | Val::ExnRef(None) => {
            "null".to_string()
        }
        Val::FuncRef(Some(_)) => "funcref".to_string(),
        Val::ExternRef(Some(_)) => "externref".to_string(),
        Val::AnyRef(Some(_)) => "anyref".to_string(),
        Val::ExnRef(Some(_)) => "exnref".to_string(),
    }
}

/// `keel wast`: run each script, print per-file counts and the total.
#[cfg(feature = "compiler")]
fn wast(files: &[PathBuf], options: &WasmOptions, codegen: &CodegenOptions) -> Result<ExitCode> {
    let mut config = Config::new();
    options.configure(&mut config);
    let cache = codegen.configure_cache(&mut config)?;
    if !codegen.target_features.is_empty() {
        bail!(
            "`-C target-feature` is for `keel compile --target`: `wast` detects this CPU's features"
        );
    }
    config.lazy_compilation(codegen.lazy.unwrap_or(false));
    config.lazy_baseline(codegen.lazy_baseline);
    let engine = Engine::new(&config)?;
    let (mut passed, mut failed) = (0, 0);
    for file in files {
        let mut cx = WastContext::new(engine.clone());
        cx.register_spectest()?;
        match cx.run_file(file) {
            Ok(outcome) => {
                println!(
                    "{}: {} passed, {} failed",
                    file.display(),
                    outcome.passed,
                    outcome.failed
                );
                for failure in outcome.failures.iter().take(FAILURES_SHOWN) {
                    println!("    {failure}");
                }
                if outcome.failures.len() > FAILURES_SHOWN {
                    println!(
                        "    ... and {} more",
                        outcome.failures.len() - FAILURES_SHOWN
                    );
                }
                passed += outcome.passed;
                failed += outcome.failed;
            }
            Err(err) => {
                println!("{}: error: {err:#}", file.display());
                failed += 1;
            }
        }
    }
    println!("{passed} passed, {failed} failed");
    if let Some(cache) = cache {
        cache.wait_for_background_writes();
    }
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers() {
        assert_eq!(parse_int("25").unwrap(), 25);
        assert_eq!(parse_int("-7").unwrap(), -7);
        assert_eq!(parse_int("0x10").unwrap(), 16);
        assert_eq!(parse_int("-0xff").unwrap(), -255);
        assert!(parse_int("--1").is_err());
        assert!(parse_int("0x").is_err());
        assert!(parse_int("1.5").is_err());
        assert!(parse_int("").is_err());
    }

    #[test]
    fn typed_values() {
        assert!(matches!(
            parse_val(ValType::I32, "0xffffffff").unwrap(),
            Val::I32(-1)
        ));
        assert!(matches!(
            parse_val(ValType::I32, "-2147483648").unwrap(),
            Val::I32(i32::MIN)
        ));
        assert!(parse_val(ValType::I32, "4294967296").is_err());
        assert!(matches!(
            parse_val(ValType::I64, "-1").unwrap(),
            Val::I64(-1)
        ));
        let Val::F32(bits) = parse_val(ValType::F32, "1.5").unwrap() else {
            panic!("not f32")
        };
        assert_eq!(f32::from_bits(bits), 1.5);
        assert!(parse_val(ValType::F64, "x").is_err());
        assert!(parse_val(ValType::V128, "0").is_err());
    }

    #[test]
    fn printed_values() {
        assert_eq!(format_val(&Val::I64(75025)), "75025");
        assert_eq!(format_val(&Val::F32(2.5f32.to_bits())), "2.5");
        assert_eq!(format_val(&Val::F64((-0.0f64).to_bits())), "-0");
    }
}
