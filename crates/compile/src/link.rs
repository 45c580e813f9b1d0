//! Compiling functions in parallel and linking them into one text section.

use crate::env::FuncEnv;
use crate::func_translator::FuncTranslator;
use crate::prelude::*;
use crate::{CompileError, Compiler, abi, keel_trap_code};
use cranelift_codegen::binemit::Reloc;
use cranelift_codegen::control::ControlPlane;
use cranelift_codegen::ir::{
    self, ExternalName, GlobalValueData, MemFlagsData, UserFuncName, immediates::Offset32,
};
use cranelift_codegen::{
    Context, ExceptionContextLoc, FinalizedMachExceptionHandler, FinalizedRelocTarget,
};
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext};
use keel_translate::{
    AddressMap, CompiledText, DefinedFuncIndex, ExceptionCallSite, ExceptionHandler, FunctionLoc,
    ModuleTranslation, PrimaryMap, StackMap, TagIndex, Trap, TrapInfo, TrapTable, TypeIndex,
    VMOffsets, WasmError, WasmFuncType, vmstore_context,
};

/// A relocation in a compiled function: a call to a defined function.
pub(crate) struct FuncReloc {
    offset: u32,
    kind: Reloc,
    /// The callee's index in the module's function space.
    target: u32,
    addend: i64,
}

/// Machine code of one function before linking.
pub(crate) struct CompiledFunction {
    code: Vec<u8>,
    relocs: Vec<FuncReloc>,
    traps: Vec<(u32, Trap)>,
    /// Calls with exception handlers, offsets relative to the function.
    exception_call_sites: Vec<ExceptionCallSite>,
    /// Calls with live `exnref` values, offsets relative to the function.
    stack_maps: Vec<StackMap>,
    /// (code offset, wasm offset) pairs, sorted by code offset.
    srclocs: Vec<(u32, u32)>,
    /// The return offset of every call (with or without exception
    /// handlers), in order.
    call_returns: Vec<u32>,
    alignment: u32,
    /// The types through which the function calls other than directly:
    /// `call_indirect`s and calls to imported functions. Each may reach a
    /// host function, so the module's text carries a wasm-to-array
    /// trampoline for its signature.
    pub(crate) host_call_types: Vec<TypeIndex>,
}

/// Run Cranelift on `ctx.func` and collect code, relocations and traps.
/// The deepest dominator tree a function may have and still be optimized.
///
/// Cranelift's e-graph pass takes time quadratic in the depth of the
/// dominator tree (measured: 1.7 s at 25,000 nested blocks, 26 s at
/// 100,000), which a small hostile module reaches with deeply nested or
/// long chains of blocks. Deeper functions are compiled without
/// optimization, which is linear; at this depth the optimizer costs about
/// 0.2 s, and real code stays far below it.
pub(crate) const MAX_OPTIMIZED_DOMTREE_DEPTH: usize = 10_000;

/// Whether `func`'s dominator tree is deeper than
/// [`MAX_OPTIMIZED_DOMTREE_DEPTH`]. Linear: the depth cannot exceed the
/// number of blocks, so the tree is only built for large functions.
fn too_deep_to_optimize(func: &ir::Function) -> bool {
    if func.dfg.num_blocks() <= MAX_OPTIMIZED_DOMTREE_DEPTH {
        return false;
    }
    let cfg = cranelift_codegen::flowgraph::ControlFlowGraph::with_function(func);
    let domtree = cranelift_codegen::dominator_tree::DominatorTree::with_function(func, &cfg);
    let mut depth = cranelift_entity::SecondaryMap::<ir::Block, usize>::new();
    let mut max = 0;
    // Reverse postorder visits a block's immediate dominator first.
    for &block in domtree.cfg_rpo() {
        let d = domtree.idom(block).map_or(0, |idom| depth[idom] + 1);
        depth[block] = d;
        max = max.max(d);
    }
    max > MAX_OPTIMIZED_DOMTREE_DEPTH
}

pub(crate) fn finish(
    compiler: &Compiler,
    ctx: &mut Context,
    baseline: bool,
) -> Result<CompiledFunction, CompileError> {
    let mut raw_relocs = Vec::new();
    let isa = if baseline {
        &*compiler.isa_baseline
    } else if too_deep_to_optimize(&ctx.func) {
        &*compiler.isa_unoptimized
    } else {
        compiler.isa()
    };
    let (code, traps, exception_call_sites, stack_maps, srclocs, call_returns, alignment) = {
        let compiled = ctx
            .compile(isa, &mut ControlPlane::default())
            .map_err(|e| CompileError::Codegen(format!("{:?}", e.inner)))?;
        for r in compiled.buffer.relocs() {
            raw_relocs.push((r.offset, r.kind, r.target.clone(), r.addend));
        }
        let mut traps = Vec::new();
        for t in compiled.buffer.traps() {
            let code = keel_trap_code(t.code)
                .ok_or_else(|| CompileError::Bug(format!("unknown trap code {}", t.code)))?;
            traps.push((t.offset, code));
        }
        let mut exception_call_sites = Vec::new();
        let mut call_returns = Vec::new();
        for site in compiled.buffer.call_sites() {
            call_returns.push(site.ret_addr);
            if site.exception_handlers.is_empty() {
                continue;
            }
            let frame_offset = site.frame_offset.ok_or_else(|| {
                CompileError::Bug("a call with exception handlers has no frame offset".into())
            })?;
            let mut handlers = Vec::with_capacity(site.exception_handlers.len());
            for h in site.exception_handlers {
                handlers.push(match *h {
                    FinalizedMachExceptionHandler::Tag(tag, offset) => ExceptionHandler::Tag {
                        tag: TagIndex::from_u32(tag.as_u32()),
                        offset,
                    },
                    FinalizedMachExceptionHandler::Default(offset) => {
                        ExceptionHandler::CatchAll { offset }
                    }
                    FinalizedMachExceptionHandler::Context(ExceptionContextLoc::SPOffset(
                        sp_offset,
                    )) => ExceptionHandler::Context { sp_offset },
                    FinalizedMachExceptionHandler::Context(loc) => {
                        return Err(CompileError::Bug(format!(
                            "exception context in {loc:?}, not in the frame"
                        )));
                    }
                });
            }
            exception_call_sites.push(ExceptionCallSite {
                ret_offset: site.ret_addr,
                frame_offset,
                handlers,
            });
        }
        let mut stack_maps = Vec::new();
        for (ret_offset, frame_size, map) in compiled.buffer.user_stack_maps() {
            let mut slots = Vec::new();
            for (ty, offset) in map.entries() {
                if ty != isa.pointer_type() {
                    return Err(CompileError::Bug(format!(
                        "a stack map entry of type {ty}, not a pointer"
                    )));
                }
                slots.push(offset);
            }
            slots.sort_unstable();
            stack_maps.push(StackMap {
                ret_offset: *ret_offset,
                frame_size: *frame_size,
                slots,
            });
        }
        let srclocs = compiled
            .buffer
            .get_srclocs_sorted()
            .iter()
            .filter(|s| !s.loc.is_default())
            .map(|s| (s.start, s.loc.bits()))
            .collect();
        (
            compiled.code_buffer().to_vec(),
            traps,
            exception_call_sites,
            stack_maps,
            srclocs,
            call_returns,
            compiled.buffer.alignment,
        )
    };
    let mut relocs = Vec::new();
    for (offset, kind, target, addend) in raw_relocs {
        let target = match target {
            FinalizedRelocTarget::ExternalName(ExternalName::User(name)) => {
                let name = &ctx.func.params.user_named_funcs()[name];
                if name.namespace != 0 {
                    return Err(CompileError::Bug(format!("relocation to {name:?}")));
                }
                name.index
            }
            other => {
                return Err(CompileError::unsupported(format!(
                    "relocation to {}",
                    other.display(Some(&ctx.func.params))
                )));
            }
        };
        relocs.push(FuncReloc {
            offset,
            kind,
            target,
            addend,
        });
    }
    Ok(CompiledFunction {
        code,
        relocs,
        traps,
        exception_call_sites,
        stack_maps,
        srclocs,
        call_returns,
        alignment,
        host_call_types: Vec::new(),
    })
}

/// What compiling one function body needs: the module's metadata, its
/// VMContext layout, whether GC is on, the body, and for lazy
/// compilation the call table's address.
#[derive(Clone, Copy)]
pub(crate) struct BodySource<'a, 'data> {
    pub(crate) module: &'a keel_translate::Module,
    pub(crate) offsets: &'a VMOffsets,
    pub(crate) gc: bool,
    pub(crate) body: &'a wasmparser::FunctionBody<'data>,
    pub(crate) call_table: Option<u64>,
    /// Compile quickly without optimizations ([`Compiler`]'s baseline ISA).
    pub(crate) baseline: bool,
}

impl<'a, 'data> BodySource<'a, 'data> {
    /// Defined function `index` of `translation`, compiled eagerly.
    fn of(translation: &'a ModuleTranslation<'data>, index: DefinedFuncIndex) -> Self {
        BodySource {
            module: &translation.module,
            offsets: &translation.offsets,
            gc: translation.gc,
            body: &translation.function_bodies[index].body,
            call_table: None,
            baseline: false,
        }
    }
}

/// A Cranelift context and function-builder state, reused from one
/// function to the next by the compiler's pool ([`Compiler::take_context`]).
pub(crate) struct CompileContext {
    codegen: Context,
    builder: FunctionBuilderContext,
}

impl Default for CompileContext {
    fn default() -> Self {
        Self {
            codegen: Context::new(),
            builder: FunctionBuilderContext::new(),
        }
    }
}

/// Contexts kept in the pool beyond this many are dropped.
const MAX_POOLED_CONTEXTS: usize = 16;

impl Compiler {
    /// A context from the pool, or a new one.
    fn take_context(&self) -> alloc::boxed::Box<CompileContext> {
        self.contexts.lock().pop().unwrap_or_default()
    }

    /// Return `context` to the pool. (A compilation that fails or panics
    /// drops its context instead: a partly built function is not reused.)
    fn put_context(&self, context: alloc::boxed::Box<CompileContext>) {
        let mut pool = self.contexts.lock();
        if pool.len() < MAX_POOLED_CONTEXTS {
            pool.push(context);
        }
    }
}

/// Compile defined function `index` of `translation`, as
/// [`compile_body`] does.
fn compile_one(
    compiler: &Compiler,
    translation: &ModuleTranslation<'_>,
    index: DefinedFuncIndex,
) -> Result<CompiledFunction, CompileError> {
    compile_body(compiler, BodySource::of(translation, index), index)
}

/// Compile defined function `index` from `source`. With `std`, a panic in
/// the code generator (a Cranelift bug on some input) is caught and
/// reported as [`CompileError::Bug`] instead of taking the host down.
pub(crate) fn compile_body(
    compiler: &Compiler,
    source: BodySource<'_, '_>,
    index: DefinedFuncIndex,
) -> Result<CompiledFunction, CompileError> {
    #[cfg(feature = "std")]
    {
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            compile_one_unguarded(compiler, source, index)
        }));
        result.unwrap_or_else(|payload| {
            let message = payload
                .downcast_ref::<&str>()
                .map(|s| (*s).to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "no message".into());
            Err(CompileError::Bug(format!(
                "the code generator panicked: {message} (in function {})",
                source.module.func_index(index).as_u32()
            )))
        })
    }
    #[cfg(not(feature = "std"))]
    compile_one_unguarded(compiler, source, index)
}

fn compile_one_unguarded(
    compiler: &Compiler,
    source: BodySource<'_, '_>,
    index: DefinedFuncIndex,
) -> Result<CompiledFunction, CompileError> {
    let body = source.body;
    let _span = tracing::trace_span!(
        "compile function",
        index = source.module.func_index(index).as_u32(),
        bytes = body.range().end - body.range().start
    )
    .entered();
    let mut reused = compiler.take_context();
    let CompileContext { codegen, builder } = &mut *reused;
    codegen.clear();
    let host_call_types = build_function_in(compiler, source, index, &mut codegen.func, builder)?;
    let mut compiled = finish(compiler, codegen, source.baseline)?;
    compiler.put_context(reused);
    compiled.host_call_types = host_call_types;
    // Code before the first operator (the prologue, its stack check) maps
    // to the start of the function body.
    let body_start = u32::try_from(body.range().start).unwrap_or(u32::MAX);
    if compiled.srclocs.first().is_none_or(|(code, _)| *code > 0) {
        compiled.srclocs.insert(0, (0, body_start));
    }
    map_stack_checks_to_body_start(&mut compiled, body_start);
    Ok(compiled)
}

/// Maps the trap instruction of the prologue's stack check (the only
/// `StackOverflow` trap in a function) to the start of the function body,
/// wherever the backend put it: riscv64 traps inline in the prologue, which
/// already maps there, but x86_64 jumps to a trap placed out of line after
/// the body, whose code would otherwise map to the body's last operator.
/// A stack overflow then reports the same offset on every architecture.
/// The byte after the trap instruction's first maps as before (no pc or
/// return address points inside an instruction).
fn map_stack_checks_to_body_start(compiled: &mut CompiledFunction, body_start: u32) {
    let sites: Vec<u32> = compiled
        .traps
        .iter()
        .filter(|(_, code)| *code == Trap::StackOverflow)
        .map(|(offset, _)| *offset)
        .collect();
    for at in sites {
        let i = compiled.srclocs.partition_point(|(code, _)| *code <= at);
        let before = i
            .checked_sub(1)
            .map_or(body_start, |i| compiled.srclocs[i].1);
        if before == body_start {
            continue;
        }
        let next_is_mapped = compiled
            .srclocs
            .get(i)
            .is_some_and(|(code, _)| *code == at + 1);
        if !next_is_mapped {
            compiled.srclocs.insert(i, (at + 1, before));
        }
        if i > 0 && compiled.srclocs[i - 1].0 == at {
            compiled.srclocs[i - 1].1 = body_start;
        } else {
            compiled.srclocs.insert(i, (at, body_start));
        }
    }
}

/// The machine code of defined function `index` as Cranelift prints it
/// (its lowered, register-allocated instructions), for tests and tools.
pub(crate) fn disassemble(
    compiler: &Compiler,
    translation: &ModuleTranslation<'_>,
    index: DefinedFuncIndex,
) -> Result<String, CompileError> {
    let (func, _) = build_function(compiler, BodySource::of(translation, index), index)?;
    let mut ctx = Context::for_function(func);
    ctx.set_disasm(true);
    let compiled = ctx
        .compile(compiler.isa(), &mut ControlPlane::default())
        .map_err(|e| CompileError::Codegen(format!("{:?}", e.inner)))?;
    Ok(compiled.vcode.clone().unwrap_or_default())
}

/// Defined function `index` compiled for inspection: its optimized CLIF,
/// its machine code as Cranelift prints it, and the VMContext loads the
/// optimizer left inside loops.
pub(crate) fn inspect(
    compiler: &Compiler,
    translation: &ModuleTranslation<'_>,
    index: DefinedFuncIndex,
) -> Result<crate::FunctionInspection, CompileError> {
    let (func, _) = build_function(compiler, BodySource::of(translation, index), index)?;
    let mut ctx = Context::for_function(func);
    ctx.set_disasm(true);
    let vcode = ctx
        .compile(compiler.isa(), &mut ControlPlane::default())
        .map_err(|e| CompileError::Codegen(format!("{:?}", e.inner)))?
        .vcode
        .clone()
        .unwrap_or_default();
    // `ctx.func` is the optimized CLIF the code was lowered from.
    ctx.flowgraph();
    ctx.compute_domtree();
    ctx.compute_loop_analysis();
    let func = &ctx.func;
    let entry = func
        .layout
        .entry_block()
        .ok_or_else(|| CompileError::Bug("function without an entry block".into()))?;
    // The callee VMContext is the first parameter of every wasm function.
    let vmctx = func.dfg.block_params(entry)[0];
    let is_vmctx_load = |value: ir::Value| -> bool {
        let ir::ValueDef::Result(inst, _) = func.dfg.value_def(value) else {
            return false;
        };
        matches!(
            func.dfg.insts[inst],
            ir::InstructionData::Load { arg, .. } if arg == vmctx
        )
    };
    let mut vmctx_loads_in_loops = Vec::new();
    for block in func.layout.blocks() {
        // Slow paths (cold blocks) may load what they need.
        if ctx.loop_analysis.innermost_loop(block).is_none() || func.layout.is_cold(block) {
            continue;
        }
        for inst in func.layout.block_insts(block) {
            if let ir::InstructionData::Load { arg, .. } = func.dfg.insts[inst] {
                // A VMContext field, or a field of a structure a
                // VMContext field points to (an imported memory's
                // definition, the type-id array, the builtins array).
                if arg == vmctx || is_vmctx_load(arg) {
                    vmctx_loads_in_loops.push(format!("{block}: {}", func.dfg.display_inst(inst)));
                }
            }
        }
    }
    Ok(crate::FunctionInspection {
        clif: func.display().to_string(),
        vcode,
        vmctx_loads_in_loops,
    })
}

/// Translate defined function `index` to Cranelift IR; also return the
/// types it calls through other than directly (see
/// [`CompiledFunction::host_call_types`]).
fn build_function(
    compiler: &Compiler,
    source: BodySource<'_, '_>,
    index: DefinedFuncIndex,
) -> Result<(ir::Function, Vec<TypeIndex>), CompileError> {
    let mut func = ir::Function::new();
    let mut fctx = FunctionBuilderContext::new();
    let called = build_function_in(compiler, source, index, &mut func, &mut fctx)?;
    Ok((func, called))
}

/// [`build_function`] into `func` (cleared) with builder state `fctx`,
/// both reused from earlier functions; the types it calls through.
fn build_function_in(
    compiler: &Compiler,
    source: BodySource<'_, '_>,
    index: DefinedFuncIndex,
    func: &mut ir::Function,
    fctx: &mut FunctionBuilderContext,
) -> Result<Vec<TypeIndex>, CompileError> {
    let isa = compiler.isa();
    let module = source.module;
    let func_index = module.func_index(index);
    let ty = module.func_type(func_index);
    func.name = UserFuncName::user(0, func_index.as_u32());
    func.signature = abi::wasm_signature(isa, ty);
    // The prologue compares the stack pointer with the store's stack
    // limit and traps with StackOverflow below it.
    let ptr = isa.pointer_type();
    let vmctx = func.create_global_value(GlobalValueData::VMContext);
    let readonly = func
        .dfg
        .mem_flags
        .insert_unchecked(MemFlagsData::trusted().with_readonly().with_can_move());
    let trusted = func.dfg.mem_flags.insert_unchecked(MemFlagsData::trusted());
    let store_context = func.create_global_value(GlobalValueData::Load {
        base: vmctx,
        offset: Offset32::new(VMOffsets::STORE_CONTEXT as i32),
        global_type: ptr,
        flags: readonly,
    });
    let stack_limit = func.create_global_value(GlobalValueData::Load {
        base: store_context,
        offset: Offset32::new(vmstore_context::STACK_LIMIT as i32),
        global_type: ptr,
        flags: trusted,
    });
    func.stack_limit = Some(stack_limit);

    let builder = FunctionBuilder::new(func, fctx);
    let mut env = FuncEnv::new(isa, module, source.offsets, &compiler.options, source.gc);
    env.call_table = source.call_table;
    env.lazy_self = source.call_table.map(|_| func_index);
    let body = source.body;
    FuncTranslator::translate(&mut env, builder, ty, body).map_err(|e| match e {
        CompileError::Translate(WasmError::Unsupported(m)) => {
            CompileError::unsupported(format!("{m} (in function {})", func_index.as_u32()))
        }
        CompileError::Bug(m) => {
            CompileError::Bug(format!("{m} (in function {})", func_index.as_u32()))
        }
        e => e,
    })?;
    Ok(env.called_types())
}

/// Compile every defined function, on up to `parallelism` threads.
pub(crate) fn compile_functions(
    compiler: &Compiler,
    translation: &ModuleTranslation<'_>,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<PrimaryMap<DefinedFuncIndex, CompiledFunction>, CompileError> {
    let n = translation.function_bodies.len();
    let threads = compiler.options.parallelism.min(n / 4).max(1);
    let mut out = PrimaryMap::with_capacity(n);
    #[cfg(feature = "std")]
    if threads > 1 {
        compile_in_parallel(compiler, translation, threads, progress, &mut out)?;
        return Ok(out);
    }
    let _ = threads;
    for (index, _) in translation.function_bodies.iter() {
        out.push(compile_one(compiler, translation, index)?);
        progress(out.len(), n);
    }
    Ok(out)
}

/// The trap sites and address-map entries of a text being laid out,
/// encoded when it is complete.
#[derive(Default)]
struct Pending {
    traps: Vec<TrapInfo>,
    address_map: Vec<(u32, u32)>,
}

/// The text of one function compiled for lazy use, alone: its code, its
/// location (`functions[0]`, at offset 0) and its tables. It has no
/// relocations: its calls to defined functions go through the call table.
pub(crate) fn link_alone(
    f: &CompiledFunction,
    index: keel_translate::FuncIndex,
) -> Result<CompiledText, CompileError> {
    let mut out = CompiledText::default();
    let mut pending = Pending::default();
    let loc = append(&mut out, &mut pending, f)?;
    // Its only direct calls are to itself.
    for r in &f.relocs {
        if r.target != index.as_u32() {
            return Err(CompileError::Bug(format!(
                "a lazily compiled function calls function {} directly",
                r.target
            )));
        }
        patch_call(&mut out.text, loc.start + r.offset, r, loc.start)?;
    }
    out.functions.push(loc);
    out.traps = TrapTable::new(pending.traps).map_err(CompileError::Bug)?;
    out.address_map = AddressMap::new(pending.address_map).map_err(CompileError::Bug)?;
    Ok(out)
}

/// Point the call of relocation `r`, at `site` in `text`, at offset
/// `target` of `text`.
fn patch_call(text: &mut [u8], site: u32, r: &FuncReloc, target: u32) -> Result<(), CompileError> {
    let site = i64::from(site);
    match r.kind {
        Reloc::X86CallPCRel4 | Reloc::X86PCRel4 => {
            let value = i64::from(target) + r.addend - site;
            let value = i32::try_from(value)
                .map_err(|_| CompileError::Bug("call displacement out of range".into()))?;
            let site = site as usize;
            text[site..site + 4].copy_from_slice(&value.to_le_bytes());
        }
        Reloc::RiscvCallPlt => {
            // `auipc ra, hi20; jalr ra, lo12(ra)`: split the pc-relative
            // displacement so that the sign-extended low 12 bits plus the
            // high 20 bits give it back.
            let value = i64::from(target) + r.addend - site;
            let value = i32::try_from(value)
                .map_err(|_| CompileError::Bug("call displacement out of range".into()))?;
            let hi20 = value.wrapping_add(0x800) as u32 & 0xffff_f000;
            let lo12 = (value as u32).wrapping_sub(hi20) & 0xfff;
            let site = site as usize;
            let auipc = u32::from_le_bytes(text[site..site + 4].try_into().unwrap_or_default());
            let jalr = u32::from_le_bytes(text[site + 4..site + 8].try_into().unwrap_or_default());
            let auipc = (auipc & 0xfff) | hi20;
            let jalr = (jalr & 0x000f_ffff) | (lo12 << 20);
            text[site..site + 4].copy_from_slice(&auipc.to_le_bytes());
            text[site + 4..site + 8].copy_from_slice(&jalr.to_le_bytes());
        }
        other => {
            return Err(CompileError::unsupported(format!(
                "relocation kind {other:?}"
            )));
        }
    }
    Ok(())
}

/// The address-map records of `f`: the wasm offset of each code offset a
/// backtrace looks up, which are its trap sites (a trapping instruction's
/// own offset) and the last byte of each call (a return address minus
/// one), each with the offset Cranelift's source locations give it, and
/// the function's first byte.
///
/// Code between those points never shows in a backtrace, so its own
/// records are left out: a lookup there finds the point before it. That
/// keeps a third to a half of the records (the full map had one per
/// instruction whose operator changed).
fn backtrace_points(f: &CompiledFunction) -> Vec<(u32, u32)> {
    // Offset 0 too, so that no lookup inside `f` finds the function
    // before it.
    let mut points: Vec<u32> = core::iter::once(0)
        .chain(f.traps.iter().map(|(offset, _)| *offset))
        .chain(f.call_returns.iter().filter_map(|r| r.checked_sub(1)))
        .collect();
    points.sort_unstable();
    points.dedup();
    let mut out: Vec<(u32, u32)> = Vec::with_capacity(points.len());
    for at in points {
        let i = f.srclocs.partition_point(|(code, _)| *code <= at);
        let Some(&(_, wasm)) = i.checked_sub(1).and_then(|i| f.srclocs.get(i)) else {
            continue;
        };
        if out.last().is_none_or(|(_, last)| *last != wasm) {
            out.push((at, wasm));
        }
    }
    out
}

fn append(
    out: &mut CompiledText,
    pending: &mut Pending,
    f: &CompiledFunction,
) -> Result<FunctionLoc, CompileError> {
    let (text, traps) = (&mut out.text, &mut pending.traps);
    let align = f.alignment.max(16) as usize;
    text.resize(text.len().next_multiple_of(align), 0);
    let start = u32::try_from(text.len())
        .map_err(|_| CompileError::Bug("text section over 4 GiB".into()))?;
    text.extend_from_slice(&f.code);
    for (offset, code) in &f.traps {
        traps.push(TrapInfo {
            offset: start + offset,
            code: *code,
        });
    }
    out.exception_call_sites
        .extend(f.exception_call_sites.iter().map(|site| {
            let mut site = site.clone();
            site.ret_offset += start;
            for h in &mut site.handlers {
                match h {
                    ExceptionHandler::Tag { offset, .. }
                    | ExceptionHandler::CatchAll { offset } => *offset += start,
                    ExceptionHandler::Context { .. } => {}
                }
            }
            site
        }));
    out.stack_maps
        .extend(f.stack_maps.iter().map(|map| StackMap {
            ret_offset: map.ret_offset + start,
            ..map.clone()
        }));
    pending.address_map.extend(
        backtrace_points(f)
            .into_iter()
            .map(|(code, wasm)| (start + code, wasm)),
    );
    Ok(FunctionLoc {
        start,
        length: f.code.len() as u32,
    })
}

/// Lay out functions and trampolines in one text section and resolve the
/// calls between functions.
pub(crate) fn link(
    functions: PrimaryMap<DefinedFuncIndex, CompiledFunction>,
    array_to_wasm: Vec<CompiledFunction>,
    type_trampolines: &[(TypeIndex, usize)],
    wasm_to_array: Vec<(WasmFuncType, CompiledFunction)>,
    num_imported_funcs: u32,
) -> Result<CompiledText, CompileError> {
    let mut out = CompiledText::default();
    let mut pending = Pending::default();
    for (_, f) in functions.iter() {
        let loc = append(&mut out, &mut pending, f)?;
        out.functions.push(loc);
    }
    let mut trampoline_locs = Vec::with_capacity(array_to_wasm.len());
    for f in &array_to_wasm {
        trampoline_locs.push(append(&mut out, &mut pending, f)?);
    }
    out.array_to_wasm_trampolines = type_trampolines
        .iter()
        .map(|&(ty, i)| {
            let loc = trampoline_locs
                .get(i)
                .ok_or_else(|| CompileError::Bug(format!("no trampoline {i}")))?;
            Ok((ty, *loc))
        })
        .collect::<Result<_, CompileError>>()?;
    out.array_to_wasm_trampolines
        .sort_unstable_by_key(|(ty, _)| *ty);
    for (ty, f) in &wasm_to_array {
        let loc = append(&mut out, &mut pending, f)?;
        out.wasm_to_array_trampolines.push((ty.clone(), loc));
    }
    for (index, f) in functions.iter() {
        let base = out.functions[index].start;
        for r in &f.relocs {
            let target = r
                .target
                .checked_sub(num_imported_funcs)
                .map(DefinedFuncIndex::from_u32)
                .and_then(|d| out.functions.get(d))
                .ok_or_else(|| {
                    CompileError::Bug(format!("call to unknown function {}", r.target))
                })?;
            patch_call(&mut out.text, base + r.offset, r, target.start)?;
        }
    }
    out.traps = TrapTable::new(pending.traps).map_err(CompileError::Bug)?;
    out.address_map = AddressMap::new(pending.address_map).map_err(CompileError::Bug)?;
    Ok(out)
}

/// Compile every function of `translation` on `threads` threads, in order
/// into `out`.
#[cfg(feature = "std")]
fn compile_in_parallel(
    compiler: &Compiler,
    translation: &ModuleTranslation<'_>,
    threads: usize,
    progress: &(dyn Fn(usize, usize) + Sync),
    out: &mut PrimaryMap<DefinedFuncIndex, CompiledFunction>,
) -> Result<(), CompileError> {
    use keel_translate::EntityRef;
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let n = translation.function_bodies.len();
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let results: Vec<Mutex<Option<Result<CompiledFunction, CompileError>>>> =
        (0..n).map(|_| Mutex::new(None)).collect();
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= n {
                        break;
                    }
                    let r = compile_one(compiler, translation, DefinedFuncIndex::new(i));
                    let failed = r.is_err();
                    *results[i].lock().unwrap_or_else(|e| e.into_inner()) = Some(r);
                    if !failed {
                        progress(done.fetch_add(1, Ordering::Relaxed) + 1, n);
                    }
                    if failed {
                        // Stop handing out work; the first error wins.
                        next.store(n, Ordering::Relaxed);
                    }
                }
            });
        }
    });
    for slot in results {
        match slot.into_inner().unwrap_or_else(|e| e.into_inner()) {
            Some(r) => {
                out.push(r?);
            }
            None => break,
        }
    }
    if out.len() != n {
        return Err(CompileError::Bug(
            "parallel compilation lost a function".into(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The address map keeps the function's first byte, each trap site and
    /// the last byte of each call, with the wasm offset of the source
    /// location covering it; a point with the offset of the one before
    /// is left out.
    #[test]
    fn backtrace_points_are_traps_and_calls() {
        let f = CompiledFunction {
            code: vec![0; 100],
            relocs: Vec::new(),
            traps: vec![(30, Trap::MemoryOutOfBounds), (12, Trap::StackOverflow)],
            exception_call_sites: Vec::new(),
            stack_maps: Vec::new(),
            // Operators at wasm offsets 100.. over code offsets.
            srclocs: vec![
                (0, 100),
                (10, 101),
                (20, 102),
                (25, 103),
                (40, 104),
                (60, 105),
            ],
            call_returns: vec![45, 27, 50],
            alignment: 16,
            host_call_types: Vec::new(),
        };
        // Points: 0 -> 100, 12 -> 101, 26 -> 103, 30 -> 103 (left out),
        // 44 -> 104, 49 -> 104 (left out).
        assert_eq!(
            backtrace_points(&f),
            [(0, 100), (12, 101), (26, 103), (44, 104)]
        );
        // No source locations (a trampoline): no records.
        let bare = CompiledFunction {
            srclocs: Vec::new(),
            ..f
        };
        assert_eq!(backtrace_points(&bare), []);
    }
}
