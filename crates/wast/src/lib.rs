//! Runs WebAssembly `.wast` scripts, the format of the spec testsuite,
//! against keel.
//!
//! A script is a list of directives: define and instantiate a module,
//! register its exports under a name for later imports, invoke an export,
//! and assert what an invocation returns or how it traps, or that a module
//! is malformed, invalid or unlinkable. [`WastContext`] parses a script with
//! the [`wast`] crate and runs each directive through keel's public API:
//! one [`keel::Store`], one [`keel::Linker`] holding everything registered.
//!
//! A directive that fails does not stop the script: it is recorded in the
//! [`Outcome`] as `file:line:col: message` and the run continues. Only a
//! script that cannot be parsed at all is an error. A panic inside keel is
//! caught and recorded as the failure of the directive that caused it.
//!
//! Who should use this crate: keel's own test suite and the `keel wast`
//! command. Embedders want the `keel` crate.
//!
//! ```
//! # fn main() -> anyhow::Result<()> {
//! let mut wast = keel_wast::WastContext::new(keel::Engine::default());
//! wast.register_spectest()?;
//! let outcome = wast.run_buffer("demo.wast", r#"
//!     (module (func (export "add") (param i32 i32) (result i32)
//!         local.get 0 local.get 1 i32.add))
//!     (assert_return (invoke "add" (i32.const 1) (i32.const 2)) (i32.const 3))
//! "#)?;
//! assert_eq!((outcome.passed, outcome.failed), (2, 0));
//! # Ok(())
//! # }
//! ```

#![deny(missing_docs)]

mod spectest;
mod values;

use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;

use anyhow::{Context as _, Result, anyhow, bail};
use keel::{Engine, Extern, Instance, Linker, Module, SharedMemory, Store, Trap, Val};
use wast::lexer::Lexer;
use wast::parser::ParseBuffer;
use wast::token::Id;
use wast::{QuoteWat, Wast, WastArg, WastDirective, WastExecute, WastInvoke, WastRet, Wat, parser};

use crate::values::{arg_to_val, describe_vals, match_val};

/// What running one script produced.
///
/// Every directive counts once: a `module` or `register` command as well as
/// an assertion.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    /// Directives that did what the script expected.
    pub passed: usize,
    /// Directives that did not.
    pub failed: usize,
    /// One message per failed directive, `file:line:col: message` (line and
    /// column 1-based), in script order.
    pub failures: Vec<String>,
}

impl Outcome {
    /// Adds the counts and failures of `other` to this outcome.
    pub fn merge(&mut self, other: Outcome) {
        self.passed += other.passed;
        self.failed += other.failed;
        self.failures.extend(other.failures);
    }
}

/// The state a script runs in: the engine, a store, a linker with every
/// registered module, and the instances defined so far.
pub struct WastContext {
    /// The engine every module is compiled with.
    engine: Engine,
    /// Owns all instances, memories, tables and globals of the script.
    store: Store<()>,
    /// `spectest` and every `register`ed instance, by module name.
    linker: Linker<()>,
    /// The most recently instantiated module: the target of `invoke` and
    /// `get` without a module name. `None` when the last module failed.
    current: Option<Instance>,
    /// Instances of modules defined with a `$name`.
    named: HashMap<String, Instance>,
    /// Modules compiled by `module definition`, by `$name`.
    definitions: HashMap<String, Module>,
    /// The most recent `module definition`: the one a `module instance`
    /// without a module name instantiates.
    last_definition: Option<Module>,
    /// In a `thread`, the shared module it names (by `$name`): its shared
    /// memories, which its `register` directive defines.
    shared_modules: HashMap<String, Vec<(String, SharedMemory)>>,
    /// Load every module through an artifact (see
    /// [`WastContext::through_artifacts`]).
    through_artifacts: bool,
}

impl WastContext {
    /// Creates a context with an empty store and linker on `engine`.
    ///
    /// The linker allows shadowing, so a later `register` under the same
    /// name replaces the earlier definitions, as the testsuite expects.
    pub fn new(engine: Engine) -> Self {
        let store = Store::new(&engine, ());
        let mut linker = Linker::new(&engine);
        linker.allow_shadowing(true);
        WastContext {
            engine,
            store,
            linker,
            current: None,
            named: HashMap::new(),
            definitions: HashMap::new(),
            last_definition: None,
            shared_modules: HashMap::new(),
            through_artifacts: false,
        }
    }

    /// Compile every module of the script ahead of time instead: write it
    /// as an artifact ([`Engine::precompile_module`]), load that
    /// ([`Module::deserialize`]) and run the assertions on the loaded
    /// module, so that a script checks the artifact round trip too.
    pub fn through_artifacts(&mut self, enable: bool) -> &mut Self {
        self.through_artifacts = enable;
        self
    }

    /// Compile `bytes`, directly or through an artifact.
    fn compile(&self, bytes: &[u8]) -> Result<Module> {
        if !self.through_artifacts {
            return Module::from_binary(&self.engine, bytes);
        }
        let artifact = self.engine.precompile_module(bytes)?;
        // SAFETY: `precompile_module` of this engine just wrote the bytes.
        unsafe { Module::deserialize(&self.engine, &artifact) }
    }

    /// The store every module of the script is instantiated in, e.g. to
    /// give it fuel or an epoch deadline before running a script.
    pub fn store_mut(&mut self) -> &mut Store<()> {
        &mut self.store
    }

    /// Defines the `spectest` module that the spec testsuite imports from:
    /// no-op `print*` functions, the globals `global_i32`, `global_i64`,
    /// `global_f32`, `global_f64` (immutable, 666 or 666.6), a funcref
    /// `table` (10 to 20 elements) and a `memory` (1 to 2 pages).
    ///
    /// # Errors
    ///
    /// Fails if keel cannot create one of these items.
    pub fn register_spectest(&mut self) -> Result<()> {
        spectest::define(&mut self.store, &mut self.linker).context("defining `spectest`")
    }

    /// Reads the script at `path` and runs it like [`run_buffer`](Self::run_buffer),
    /// naming it by `path` in failure messages.
    ///
    /// # Errors
    ///
    /// Fails if the file cannot be read or is not valid UTF-8, or if the
    /// script cannot be parsed.
    pub fn run_file(&mut self, path: &Path) -> Result<Outcome> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading `{}`", path.display()))?;
        self.run_buffer(&path.display().to_string(), &text)
    }

    /// Parses `wast_text` and runs each of its directives in order.
    ///
    /// `filename` only names the script in messages. A directive that fails
    /// (including one that makes keel panic) is recorded in the returned
    /// [`Outcome`] and the run goes on with the next directive.
    ///
    /// # Errors
    ///
    /// Fails only if the script cannot be lexed or parsed; the error gives
    /// the file, line and column.
    pub fn run_buffer(&mut self, filename: &str, wast_text: &str) -> Result<Outcome> {
        let locate = |mut err: wast::Error| {
            err.set_path(Path::new(filename));
            err.set_text(wast_text);
            anyhow::Error::new(err)
        };
        let mut lexer = Lexer::new(wast_text);
        lexer.allow_confusing_unicode(true);
        let buffer = ParseBuffer::new_with_lexer(lexer).map_err(locate)?;
        let script = parser::parse::<Wast<'_>>(&buffer).map_err(locate)?;
        Ok(std::thread::scope(|scope| {
            self.run_directives(scope, filename, wast_text, script.directives)
        }))
    }

    /// Runs `directives` (of the script `text`, named `filename`) in
    /// order; `thread` directives run theirs on threads of `scope`.
    fn run_directives<'scope, 'env: 'scope>(
        &mut self,
        scope: &'scope std::thread::Scope<'scope, 'env>,
        filename: &'env str,
        text: &'env str,
        directives: Vec<WastDirective<'env>>,
    ) -> Outcome {
        let mut outcome = Outcome::default();
        let mut threads: HashMap<String, std::thread::ScopedJoinHandle<'scope, Outcome>> =
            HashMap::new();
        for directive in directives {
            let (line, col) = directive.span().linecol_in(text);
            let result = match directive {
                WastDirective::Thread(thread) => {
                    let name = thread.name.name().to_string();
                    self.spawn_thread(scope, filename, text, thread)
                        .map(|handle| drop(threads.insert(name, handle)))
                }
                WastDirective::Wait { thread, .. } => match threads.remove(thread.name()) {
                    Some(handle) => match handle.join() {
                        Ok(child) => {
                            // The thread's own directives count as ours.
                            outcome.merge(child);
                            Ok(())
                        }
                        Err(payload) => Err(anyhow!(
                            "thread `${}` panicked: {}",
                            thread.name(),
                            panic_message(payload.as_ref())
                        )),
                    },
                    None => Err(anyhow!("no running thread named `${}`", thread.name())),
                },
                directive => {
                    match catch_unwind(AssertUnwindSafe(|| self.run_directive(directive))) {
                        Ok(result) => result,
                        Err(payload) => {
                            Err(anyhow!("panicked: {}", panic_message(payload.as_ref())))
                        }
                    }
                }
            };
            match result {
                Ok(()) => outcome.passed += 1,
                Err(err) => {
                    outcome.failed += 1;
                    outcome.failures.push(format!(
                        "{filename}:{}:{}: {}",
                        line + 1,
                        col + 1,
                        one_line(&format!("{err:#}"))
                    ));
                }
            }
        }
        // Threads the script never waited for still count.
        for (_, handle) in threads {
            if let Ok(child) = handle.join() {
                outcome.merge(child);
            }
        }
        outcome
    }

    /// Start a `thread` directive: its directives run on a thread of
    /// `scope` in a fresh store of the same engine, with `spectest` and, if
    /// it names a shared module, that module's shared memories (the only
    /// exports another store can use), for its `register` directive.
    fn spawn_thread<'scope, 'env: 'scope>(
        &mut self,
        scope: &'scope std::thread::Scope<'scope, 'env>,
        filename: &'env str,
        text: &'env str,
        thread: wast::WastThread<'env>,
    ) -> Result<std::thread::ScopedJoinHandle<'scope, Outcome>> {
        let mut shared = Vec::new();
        if let Some(id) = thread.shared_module {
            let instance = self.instance(Some(id))?;
            let exports: Vec<(String, Extern)> = instance
                .exports(&mut self.store)
                .map(|e| (e.name().to_string(), e.into_extern()))
                .collect();
            let memories: Vec<(String, SharedMemory)> = exports
                .into_iter()
                .filter_map(|(name, ext)| Some((name, ext.into_shared_memory()?)))
                .collect();
            shared.push((id.name().to_string(), memories));
        }
        let engine = self.engine.clone();
        let through_artifacts = self.through_artifacts;
        let directives = thread.directives;
        std::thread::Builder::new()
            .name(format!("wast thread ${}", thread.name.name()))
            .stack_size(THREAD_STACK)
            .spawn_scoped(scope, move || {
                let mut child = WastContext::new(engine);
                child.through_artifacts = through_artifacts;
                child.shared_modules = shared.into_iter().collect();
                let mut outcome = Outcome::default();
                if let Err(err) = child.register_spectest() {
                    outcome.failed += 1;
                    outcome.failures.push(format!(
                        "{filename}: thread: {}",
                        one_line(&format!("{err:#}"))
                    ));
                    return outcome;
                }
                outcome.merge(child.run_directives(scope, filename, text, directives));
                outcome
            })
            .context("spawning a thread")
    }

    /// Runs one directive; `Ok` means it did what the script expected.
    fn run_directive(&mut self, directive: WastDirective<'_>) -> Result<()> {
        match directive {
            WastDirective::Module(mut module) => {
                // A module that fails must not leave the previous one as the
                // target of the next `invoke`.
                self.current = None;
                let name = module.name().map(|id| id.name().to_string());
                let bytes = encode(&mut module)?;
                let module = self.compile(&bytes)?;
                let instance = self
                    .linker
                    .instantiate(&mut self.store, &module)
                    .context("instantiating")?;
                self.current = Some(instance);
                if let Some(name) = name {
                    self.named.insert(name, instance);
                }
                Ok(())
            }
            WastDirective::ModuleDefinition(mut module) => {
                let name = module.name().map(|id| id.name().to_string());
                let bytes = encode(&mut module)?;
                let module = self.compile(&bytes)?;
                if let Some(name) = name {
                    self.definitions.insert(name, module.clone());
                }
                self.last_definition = Some(module);
                Ok(())
            }
            WastDirective::ModuleInstance {
                instance, module, ..
            } => {
                self.current = None;
                let definition = match module {
                    Some(id) => self
                        .definitions
                        .get(id.name())
                        .ok_or_else(|| anyhow!("no module definition named `${}`", id.name()))?,
                    None => self
                        .last_definition
                        .as_ref()
                        .ok_or_else(|| anyhow!("no module definition to instantiate"))?,
                };
                let new = self
                    .linker
                    .instantiate(&mut self.store, definition)
                    .context("instantiating")?;
                self.current = Some(new);
                if let Some(id) = instance {
                    self.named.insert(id.name().to_string(), new);
                }
                Ok(())
            }
            WastDirective::Register { name, module, .. } => {
                // In a thread, the shared module's memories.
                if let Some(memories) = module.and_then(|id| self.shared_modules.get(id.name())) {
                    for (field, memory) in memories.clone() {
                        self.linker.define(&mut self.store, name, &field, memory)?;
                    }
                    return Ok(());
                }
                let instance = self.instance(module)?;
                self.linker.instance(&mut self.store, name, instance)?;
                Ok(())
            }
            WastDirective::Invoke(invoke) => self.invoke(&invoke).map(drop),
            WastDirective::AssertReturn { exec, results, .. } => {
                let actual = self.execute(exec)?;
                if actual.len() != results.len() {
                    bail!(
                        "expected {} results, got {}: {}",
                        results.len(),
                        actual.len(),
                        describe_vals(&actual)
                    );
                }
                for (i, (actual, expected)) in actual.iter().zip(&results).enumerate() {
                    let WastRet::Core(expected) = expected else {
                        bail!("unsupported: component-model result pattern");
                    };
                    match_val(&mut self.store, actual, expected)
                        .with_context(|| format!("result {i}"))?;
                }
                Ok(())
            }
            WastDirective::AssertTrap { exec, message, .. } => match self.execute(exec) {
                Ok(values) => bail!(
                    "expected trap `{message}`, but it returned {}",
                    describe_vals(&values)
                ),
                Err(err) => expect_message(&err, message),
            },
            WastDirective::AssertException { exec, .. } => match self.execute(exec) {
                Ok(values) => bail!(
                    "expected an uncaught exception, but it returned {}",
                    describe_vals(&values)
                ),
                Err(err) if err.downcast_ref::<keel::ThrownException>().is_some() => Ok(()),
                Err(err) => Err(err.context("expected an uncaught exception")),
            },
            WastDirective::AssertExhaustion { call, message, .. } => match self.invoke(&call) {
                Ok(values) => bail!(
                    "expected `{message}`, but it returned {}",
                    describe_vals(&values)
                ),
                Err(err) => {
                    let overflow = err
                        .chain()
                        .filter_map(|e| e.downcast_ref::<Trap>())
                        .any(|trap| *trap == Trap::StackOverflow);
                    if overflow || format!("{err:#}").contains("call stack exhausted") {
                        Ok(())
                    } else {
                        expect_message(&err, message)
                    }
                }
            },
            WastDirective::AssertInvalid {
                mut module,
                message,
                ..
            } => self.expect_rejected(&mut module, "invalid", message),
            WastDirective::AssertMalformed {
                mut module,
                message,
                ..
            } => self.expect_rejected(&mut module, "malformed", message),
            WastDirective::AssertUnlinkable {
                mut module,
                message,
                ..
            } => {
                if let Wat::Component(_) = module {
                    bail!("unsupported directive: component in assert_unlinkable");
                }
                let bytes = module.encode().map_err(|e| anyhow!(e.message()))?;
                let module = self
                    .compile(&bytes)
                    .context("expected a module that fails to link, but it failed to compile")?;
                match self.linker.instantiate(&mut self.store, &module) {
                    Ok(_) => bail!("expected link error `{message}`, but it instantiated"),
                    Err(err) => expect_message(&err, message),
                }
            }
            other => bail!("unsupported directive: {}", directive_name(&other)),
        }
    }

    /// Runs what an `assert_return` or `assert_trap` wraps and returns its
    /// results. A module counts as returning nothing once instantiated.
    fn execute(&mut self, exec: WastExecute<'_>) -> Result<Vec<Val>> {
        match exec {
            WastExecute::Invoke(invoke) => self.invoke(&invoke),
            WastExecute::Get { module, global, .. } => {
                let instance = self.instance(module)?;
                let global = instance
                    .get_global(&mut self.store, global)
                    .ok_or_else(|| anyhow!("no global export named `{global}`"))?;
                Ok(vec![global.get(&mut self.store)])
            }
            WastExecute::Wat(mut module) => {
                if let Wat::Component(_) = module {
                    bail!("unsupported: component module");
                }
                let bytes = module.encode().map_err(|e| anyhow!(e.message()))?;
                let module = self.compile(&bytes)?;
                self.linker.instantiate(&mut self.store, &module)?;
                Ok(Vec::new())
            }
        }
    }

    /// Calls the export named by `invoke` with its arguments.
    fn invoke(&mut self, invoke: &WastInvoke<'_>) -> Result<Vec<Val>> {
        let instance = self.instance(invoke.module)?;
        let func = instance
            .get_func(&mut self.store, invoke.name)
            .ok_or_else(|| anyhow!("no function export named `{}`", invoke.name))?;
        let args = invoke
            .args
            .iter()
            .map(|arg| match arg {
                WastArg::Core(arg) => arg_to_val(&mut self.store, arg),
                _ => bail!("unsupported: component-model argument"),
            })
            .collect::<Result<Vec<Val>>>()?;
        let result_count = func.ty(&self.store).results().len();
        let mut results = vec![Val::I32(0); result_count];
        func.call(&mut self.store, &args, &mut results)?;
        Ok(results)
    }

    /// The instance `id` names, or the current one.
    fn instance(&self, id: Option<Id<'_>>) -> Result<Instance> {
        match id {
            Some(id) => self
                .named
                .get(id.name())
                .copied()
                .ok_or_else(|| anyhow!("no module named `${}`", id.name())),
            None => self
                .current
                .ok_or_else(|| anyhow!("no module instantiated (or the last one failed)")),
        }
    }

    /// Passes if `module` fails to encode or keel refuses to compile it.
    ///
    /// The expected message is not compared: keel's validator words its
    /// errors differently from the reference interpreter.
    fn expect_rejected(&self, module: &mut QuoteWat<'_>, kind: &str, message: &str) -> Result<()> {
        if let QuoteWat::QuoteComponent(..) | QuoteWat::Wat(Wat::Component(_)) = module {
            bail!("unsupported: component module in assert_{kind}");
        }
        let Ok(bytes) = module.encode() else {
            // The text itself is rejected: as good as a rejected binary.
            return Ok(());
        };
        match self.compile(&bytes) {
            Ok(_) => bail!("expected a {kind} module (`{message}`), but it compiled"),
            Err(_) => Ok(()),
        }
    }
}

/// Encodes a module directive's text or binary to wasm bytes.
fn encode(module: &mut QuoteWat<'_>) -> Result<Vec<u8>> {
    if let QuoteWat::QuoteComponent(..) | QuoteWat::Wat(Wat::Component(_)) = module {
        bail!("unsupported: component module");
    }
    module
        .encode()
        .map_err(|e| anyhow!("encoding module: {}", e.message()))
}

/// Passes if the display of `err` with all its causes contains `expected`.
///
/// The reference interpreter sometimes appends detail that keel's traps do
/// not carry, such as the element index in `uninitialized element 2`;
/// [`accepted_variant`] lists the forms accepted for those.
fn expect_message(err: &anyhow::Error, expected: &str) -> Result<()> {
    let actual = format!("{err:#}");
    if actual.contains(expected) || accepted_variant(expected).is_some_and(|v| actual.contains(v)) {
        Ok(())
    } else {
        bail!("expected error containing `{expected}`, got: {actual}")
    }
}

/// The shorter message accepted for an expected message carrying detail
/// keel does not report.
fn accepted_variant(expected: &str) -> Option<&'static str> {
    // `call_ref` of null and the GC accessors of null: keel raises the
    // one null-reference trap, as Wasmtime does.
    if matches!(
        expected,
        "null function reference"
            | "null structure reference"
            | "null array reference"
            | "null i31 reference"
    ) {
        return Some("null reference");
    }
    const UNINITIALIZED: &str = "uninitialized element";
    let detail = expected.strip_prefix(UNINITIALIZED)?.trim();
    (!detail.is_empty() && detail.bytes().all(|b| b.is_ascii_digit())).then_some(UNINITIALIZED)
}

/// Stack size for `thread` directives' threads: deep recursion tests run
/// host and wasm frames on them.
const THREAD_STACK: usize = 32 << 20;

/// The keyword of a directive, for "unsupported directive" messages.
fn directive_name(directive: &WastDirective<'_>) -> &'static str {
    match directive {
        WastDirective::Module(_) => "module",
        WastDirective::ModuleDefinition(_) => "module definition",
        WastDirective::ModuleInstance { .. } => "module instance",
        WastDirective::AssertMalformed { .. } => "assert_malformed",
        WastDirective::AssertInvalid { .. } => "assert_invalid",
        WastDirective::AssertInvalidCustom { .. } => "assert_invalid_custom",
        WastDirective::Register { .. } => "register",
        WastDirective::Invoke(_) => "invoke",
        WastDirective::AssertTrap { .. } => "assert_trap",
        WastDirective::AssertReturn { .. } => "assert_return",
        WastDirective::AssertExhaustion { .. } => "assert_exhaustion",
        WastDirective::AssertUnlinkable { .. } => "assert_unlinkable",
        WastDirective::AssertException { .. } => "assert_exception",
        WastDirective::AssertSuspension { .. } => "assert_suspension",
        WastDirective::Thread(_) => "thread",
        WastDirective::Wait { .. } => "wait",
        WastDirective::AssertMalformedCustom { .. } => "assert_malformed_custom",
    }
}

/// The message of a caught panic, when it is a string.
fn panic_message(payload: &(dyn std::any::Any + Send)) -> &str {
    if let Some(s) = payload.downcast_ref::<&str>() {
        s
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s
    } else {
        "(non-string panic payload)"
    }
}

/// `message` with its lines joined, so each failure is one line.
fn one_line(message: &str) -> String {
    message
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uninitialized_element_variants() {
        assert_eq!(
            accepted_variant("uninitialized element 7"),
            Some("uninitialized element")
        );
        assert_eq!(accepted_variant("uninitialized element"), None);
        assert_eq!(accepted_variant("uninitialized elementary"), None);
        assert_eq!(accepted_variant("out of bounds memory access"), None);
    }

    #[test]
    fn expected_messages_match_the_whole_chain() {
        let err = anyhow!("wasm trap: integer divide by zero").context("calling `div`");
        assert!(expect_message(&err, "integer divide by zero").is_ok());
        assert!(expect_message(&err, "integer overflow").is_err());
        let err = anyhow!("wasm trap: uninitialized element");
        assert!(expect_message(&err, "uninitialized element 2").is_ok());
    }

    #[test]
    fn one_line_joins_lines() {
        assert_eq!(one_line("a\n  b\n\nc "), "a b c");
    }

    #[test]
    fn unparsable_script_is_an_error() {
        let mut cx = WastContext::new(Engine::default());
        let err = cx
            .run_buffer("bad.wast", "(module\n  (func)\n (frobnicate))")
            .unwrap_err();
        let text = format!("{err:#}");
        assert!(text.contains("bad.wast:3:"), "{text}");
    }

    #[test]
    fn failures_are_recorded_and_the_run_continues() {
        let mut cx = WastContext::new(Engine::default());
        cx.register_spectest().unwrap();
        let script = r#"(module
  (func (export "id") (param i32) (result i32) local.get 0)
  (func (export "div") (param i32 i32) (result i32) local.get 0 local.get 1 i32.div_s)
  (tag $e) (func (export "throw") (throw $e)))
(assert_return (invoke "id" (i32.const 3)) (i32.const 4))
(assert_return (invoke "id" (i32.const 3)) (i32.const 3))
(assert_trap (invoke "div" (i32.const 1) (i32.const 0)) "integer divide by zero")
(assert_trap (invoke "id" (i32.const 1)) "unreachable")
(invoke "missing")
(assert_malformed (module quote "(func") "unexpected end")
(assert_invalid (module (func (result i32))) "type mismatch")
(assert_unlinkable (module (import "spectest" "nope" (func))) "unknown import")
(assert_exception (invoke "id" (i32.const 1)))
(assert_exception (invoke "throw"))
"#;
        let outcome = cx.run_buffer("t.wast", script).unwrap();
        let lines: Vec<&str> = outcome
            .failures
            .iter()
            .map(|f| f.split(": ").next().unwrap_or(""))
            .collect();
        assert_eq!(
            lines,
            ["t.wast:5:2", "t.wast:8:2", "t.wast:9:2", "t.wast:13:2"],
            "{outcome:#?}"
        );
        assert_eq!((outcome.passed, outcome.failed), (7, 4));
        assert!(
            outcome.failures[3].contains("expected an uncaught exception, but it returned"),
            "{outcome:#?}"
        );
    }

    /// `spectest` exports what the newest spec scripts import, with the
    /// reference interpreter's types: `table64` is a 64-bit funcref table
    /// of 10 to 20 elements, beside the 32-bit `table`.
    #[test]
    fn spectest_exports_table64() {
        let mut cx = WastContext::new(Engine::default());
        cx.register_spectest().unwrap();
        let script = r#"(module
  (import "spectest" "table64" (table $t64 i64 10 20 funcref))
  (import "spectest" "table" (table $t 10 20 funcref))
  (func (export "sizes") (result i64 i32) (table.size $t64) (table.size $t)))
(assert_return (invoke "sizes") (i64.const 10) (i32.const 10))
(assert_unlinkable
  (module (import "spectest" "table64" (table 10 20 funcref)))
  "incompatible import type")
"#;
        let outcome = cx.run_buffer("t64.wast", script).unwrap();
        assert_eq!((outcome.passed, outcome.failed), (3, 0), "{outcome:#?}");
    }
}
