//! Lazy compilation (`Config::lazy_compilation`, with the `compiler`
//! feature): a module is validated whole and its trampolines compiled at
//! [`Module::new`](crate::Module::new), and each function body when it is
//! first called, through `keel_vm::LazyCode`'s stubs.

use crate::prelude::*;
use crate::{Engine, Result};
use alloc::sync::Arc;
use core::any::Any;
use keel_translate::{DefinedFuncIndex, Module, PrimaryMap, VMOffsets};

/// Compiles one function of a lazily compiled module for its `LazyCode`.
pub(crate) struct LazyFunctions {
    engine: Engine,
    module: Arc<Module>,
    offsets: VMOffsets,
    /// The module's binary, which the bodies are ranges of.
    wasm: Arc<[u8]>,
    bodies: PrimaryMap<DefinedFuncIndex, core::ops::Range<usize>>,
}

impl LazyFunctions {
    /// What compiles the functions of `module` (with layout `offsets`),
    /// whose bodies are `bodies` in `wasm`.
    pub(crate) fn new(
        engine: &Engine,
        module: Arc<Module>,
        offsets: VMOffsets,
        wasm: Arc<[u8]>,
        bodies: PrimaryMap<DefinedFuncIndex, core::ops::Range<usize>>,
    ) -> Self {
        Self {
            engine: engine.clone(),
            module,
            offsets,
            wasm,
            bodies,
        }
    }

    fn compile_body(
        &self,
        def: DefinedFuncIndex,
        call_table: usize,
        optimized: bool,
    ) -> Result<keel_translate::CompiledText> {
        let range = self
            .bodies
            .get(def)
            .ok_or_else(|| anyhow::anyhow!("no body for defined function {}", def.as_u32()))?
            .clone();
        let features = self.engine.inner.config.features;
        let reader = wasmparser::BinaryReader::new_features(
            &self.wasm[range.clone()],
            range.start as u64,
            features,
        );
        let body = wasmparser::FunctionBody::new(reader);
        let gc = features.contains(wasmparser::WasmFeatures::GC);
        self.engine.inner.compiler.compile_lazy_function(
            &self.module,
            &self.offsets,
            gc,
            &body,
            def,
            call_table as u64,
            !optimized,
        )
    }
}

/// Functions with bodies of more bytes are compiled optimized at once,
/// even with [`Config::lazy_baseline`](crate::Config::lazy_baseline):
/// unoptimized code gives every value a stack slot of its own, and the
/// frames of large functions grow so much that programs recursing
/// through them (CPython's interpreter loop, 50 KB of wasm) exhaust the
/// wasm stack where optimized code does not.
const BASELINE_MAX_BODY_BYTES: usize = 16 << 10;

impl keel_vm::LazyCompiler for LazyFunctions {
    fn compile(
        &self,
        def: DefinedFuncIndex,
        call_table: usize,
        optimized: bool,
    ) -> core::result::Result<keel_translate::CompiledText, Box<dyn Any + Send>> {
        #[cfg(feature = "std")]
        let start = std::time::Instant::now();
        let index = self.module.func_index(def).as_u32();
        let result = self.compile_body(def, call_table, optimized).map_err(|e| {
            #[cfg(feature = "std")]
            tracing::debug!("lazily compiling function {index}: {e:#}");
            Box::new(e.context(format!("lazily compiling function {index}"))) as Box<dyn Any + Send>
        });
        #[cfg(feature = "std")]
        tracing::info!(
            function = index,
            optimized,
            seconds = start.elapsed().as_secs_f64(),
            "compiled a function lazily"
        );
        result
    }

    fn tiers(&self, def: DefinedFuncIndex) -> bool {
        self.may_tier()
            && self
                .bodies
                .get(def)
                .is_some_and(|b| b.len() <= BASELINE_MAX_BODY_BYTES)
    }

    fn may_tier(&self) -> bool {
        cfg!(feature = "std") && self.engine.inner.config.lazy_baseline
    }

    fn tier_up(&self, code: keel_vm::LazyHandle, def: DefinedFuncIndex) {
        #[cfg(feature = "std")]
        self.engine
            .inner
            .background
            .push(Job::Optimize { code, def });
        #[cfg(not(feature = "std"))]
        code.keep_baseline(def);
    }

    fn called_first(&self, code: keel_vm::LazyHandle, def: DefinedFuncIndex) {
        #[cfg(feature = "std")]
        if self.engine.inner.config.lazy_background_compilation {
            self.engine.inner.background.push(Job::Callees {
                code,
                def,
                urgent: true,
            });
        }
        #[cfg(not(feature = "std"))]
        let _ = (code, def);
    }

    fn vmctx_in_second_argument(&self, def: DefinedFuncIndex) -> bool {
        let ty = self.module.func_type(self.module.func_index(def));
        self.engine.inner.compiler.uses_return_area(ty)
    }

    fn callees(&self, def: DefinedFuncIndex) -> Vec<DefinedFuncIndex> {
        let Some(range) = self.bodies.get(def).cloned() else {
            return Vec::new();
        };
        let reader = wasmparser::BinaryReader::new_features(
            &self.wasm[range.clone()],
            range.start as u64,
            self.engine.inner.config.features,
        );
        let Ok(mut operators) = wasmparser::FunctionBody::new(reader).get_operators_reader() else {
            return Vec::new();
        };
        let mut callees = Vec::new();
        while !operators.eof() {
            let Ok(op) = operators.read() else {
                break;
            };
            if let wasmparser::Operator::Call { function_index }
            | wasmparser::Operator::ReturnCall { function_index } = op
                && let Some(callee) = self
                    .module
                    .defined_func_index(keel_translate::FuncIndex::from_u32(function_index))
                && !callees.contains(&callee)
            {
                callees.push(callee);
            }
        }
        callees
    }

    fn compiled(&self, def: DefinedFuncIndex, address: usize, len: usize) {
        #[cfg(feature = "std")]
        if self.engine.config().profiler == crate::ProfilingStrategy::PerfMap {
            crate::profiling::append_perf_map_line(&self.module, def, address, len);
        }
        let _ = (def, address, len);
    }
}

/// Work for the engine's background threads (feature `std`).
#[cfg(feature = "std")]
pub(crate) enum Job {
    /// Queue the uncompiled functions that `def` calls directly: urgently
    /// when a call just compiled `def`, else to extend what is reached.
    Callees {
        code: keel_vm::LazyHandle,
        def: DefinedFuncIndex,
        urgent: bool,
    },
    /// Compile `def` ahead of its first call.
    Compile {
        code: keel_vm::LazyHandle,
        def: DefinedFuncIndex,
        urgent: bool,
    },
    /// Compile the optimized code of `def`, which runs baseline code.
    Optimize {
        code: keel_vm::LazyHandle,
        def: DefinedFuncIndex,
    },
}

/// The engine's background compiler for lazily compiled modules: up to
/// one thread less than the machine has cores (at least one), started as
/// jobs come, each taking first the urgent jobs (the callees of functions
/// a call just compiled, most recent first), then optimizations, then the
/// rest of what the call graph reaches from compiled functions (oldest
/// first). Jobs hold modules weakly; the threads end when the engine
/// drops ([`Background::close`]).
#[cfg(feature = "std")]
#[derive(Default)]
pub(crate) struct Background {
    shared: Arc<Shared>,
}

#[cfg(feature = "std")]
#[derive(Default)]
struct Shared {
    jobs: std::sync::Mutex<Jobs>,
    ready: std::sync::Condvar,
}

#[cfg(feature = "std")]
#[derive(Default)]
struct Jobs {
    urgent: Vec<Job>,
    optimize: alloc::collections::VecDeque<Job>,
    reach: alloc::collections::VecDeque<Job>,
    threads: usize,
    /// The most threads to start, once known (asking the system for its
    /// cores reads files: not on every push).
    most_threads: Option<usize>,
    closed: bool,
}

#[cfg(feature = "std")]
impl Background {
    /// Queue `job`, starting a thread if fewer than the most run.
    pub(crate) fn push(&self, job: Job) {
        Shared::push(&self.shared, job);
    }

    /// Drop the queued jobs and let the threads end.
    pub(crate) fn close(&self) {
        let mut jobs = self.shared.lock();
        jobs.closed = true;
        jobs.urgent.clear();
        jobs.optimize.clear();
        jobs.reach.clear();
        drop(jobs);
        self.shared.ready.notify_all();
    }
}

#[cfg(feature = "std")]
impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, Jobs> {
        self.jobs.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn push(this: &Arc<Self>, job: Job) {
        let mut jobs = this.lock();
        if jobs.closed {
            return;
        }
        match job {
            Job::Callees { urgent: true, .. } | Job::Compile { urgent: true, .. } => {
                jobs.urgent.push(job)
            }
            Job::Optimize { .. } => jobs.optimize.push_back(job),
            _ => jobs.reach.push_back(job),
        }
        let most = *jobs.most_threads.get_or_insert_with(|| {
            std::thread::available_parallelism()
                .map_or(1, |n| n.get().saturating_sub(1))
                .clamp(1, 4)
        });
        if jobs.threads < most {
            let shared = this.clone();
            let spawned = std::thread::Builder::new()
                .name("keel-background-compiler".into())
                .spawn(move || shared.work());
            match spawned {
                Ok(_) => jobs.threads += 1,
                Err(e) if jobs.threads == 0 => {
                    // No thread at all: nothing runs the jobs. Functions
                    // still compile at their first call; baseline code
                    // stays.
                    tracing::debug!("no thread to compile in the background: {e}");
                    jobs.urgent.clear();
                    jobs.reach.clear();
                    for job in core::mem::take(&mut jobs.optimize) {
                        if let Job::Optimize { code, def } = job {
                            code.keep_baseline(def);
                        }
                    }
                }
                Err(_) => {}
            }
        }
        drop(jobs);
        this.ready.notify_one();
    }

    /// A background thread: run jobs until the engine closes the queue.
    fn work(self: Arc<Self>) {
        loop {
            let job = {
                let mut jobs = self.lock();
                loop {
                    if jobs.closed {
                        return;
                    }
                    if let Some(job) = jobs
                        .urgent
                        .pop()
                        .or_else(|| jobs.optimize.pop_front())
                        .or_else(|| jobs.reach.pop_front())
                    {
                        break job;
                    }
                    jobs = self.ready.wait(jobs).unwrap_or_else(|e| e.into_inner());
                }
            };
            self.run(job);
        }
    }

    fn run(self: &Arc<Self>, job: Job) {
        match job {
            Job::Callees { code, def, urgent } => {
                // Pushed last to first, so that an urgent stack pops them
                // in the order the body calls them.
                for callee in code.callees(def).into_iter().rev() {
                    if code.is_uncompiled(callee) {
                        let code = code.clone();
                        Self::push(
                            self,
                            Job::Compile {
                                code,
                                def: callee,
                                urgent,
                            },
                        );
                    }
                }
            }
            Job::Compile { code, def, .. } => {
                if code.precompile(def) {
                    Self::push(
                        self,
                        Job::Callees {
                            code,
                            def,
                            urgent: false,
                        },
                    );
                }
            }
            Job::Optimize { code, def } => code.optimize(def),
        }
    }
}
