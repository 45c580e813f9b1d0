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
        )
    }
}

impl keel_vm::LazyCompiler for LazyFunctions {
    fn compile(
        &self,
        def: DefinedFuncIndex,
        call_table: usize,
    ) -> core::result::Result<keel_translate::CompiledText, Box<dyn Any + Send>> {
        #[cfg(feature = "std")]
        let start = std::time::Instant::now();
        let result = self.compile_body(def, call_table).map_err(|e| {
            let index = self.module.func_index(def).as_u32();
            Box::new(e.context(format!("lazily compiling function {index}"))) as Box<dyn Any + Send>
        });
        #[cfg(feature = "std")]
        tracing::info!(
            function = self.module.func_index(def).as_u32(),
            seconds = start.elapsed().as_secs_f64(),
            "compiled a function lazily"
        );
        result
    }

    fn compiled(&self, def: DefinedFuncIndex, address: usize, len: usize) {
        #[cfg(feature = "std")]
        if self.engine.config().profiler == crate::ProfilingStrategy::PerfMap {
            crate::profiling::append_perf_map_line(&self.module, def, address, len);
        }
        let _ = (def, address, len);
    }
}
