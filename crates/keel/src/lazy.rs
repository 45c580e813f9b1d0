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

    fn tier_up(&self, job: keel_vm::TierUp) {
        #[cfg(feature = "std")]
        self.engine.tier_up(job);
        #[cfg(not(feature = "std"))]
        job.abandon();
    }

    fn compiled(&self, def: DefinedFuncIndex, address: usize, len: usize) {
        #[cfg(feature = "std")]
        if self.engine.config().profiler == crate::ProfilingStrategy::PerfMap {
            crate::profiling::append_perf_map_line(&self.module, def, address, len);
        }
        let _ = (def, address, len);
    }
}
