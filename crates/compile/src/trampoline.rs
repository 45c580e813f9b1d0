//! Trampolines between the array-call convention (host side) and the wasm
//! calling convention.

use crate::abi::{self, VAL_RAW_SIZE};
use crate::link::CompiledFunction;
use crate::prelude::*;
use crate::{CompileError, Compiler};
use cranelift_codegen::Context;
use cranelift_codegen::ir::{
    self, InstBuilder, MemFlagsData, StackSlotData, StackSlotKind, UserFuncName,
};
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext};
use keel_translate::{VMOffsets, WasmFuncType, vmhost_func_context, vmstore_context};

/// The array-call entry of every wasm function of type `ty`: reads the
/// parameters from the values array, calls `wasm_call`, writes the results
/// back.
pub(crate) fn array_to_wasm(
    compiler: &Compiler,
    ty: &WasmFuncType,
) -> Result<CompiledFunction, CompileError> {
    let isa = compiler.isa();
    let mut func =
        ir::Function::with_name_signature(UserFuncName::user(1, 0), abi::array_call_signature(isa));
    let mut fctx = FunctionBuilderContext::new();
    let mut b = FunctionBuilder::new(&mut func, &mut fctx);
    let entry = b.create_block();
    b.append_block_params_for_function_params(entry);
    b.switch_to_block(entry);
    b.seal_block(entry);
    let p = b.block_params(entry).to_vec();
    let (callee_vmctx, caller_vmctx, wasm_call, values) = (p[0], p[1], p[2], p[3]);
    let flags = MemFlagsData::trusted();
    let mut args = vec![callee_vmctx, caller_vmctx];
    for (i, t) in ty.params.iter().enumerate() {
        let clif = abi::value_type(isa, *t);
        args.push(
            b.ins()
                .load(clif, flags, values, (i as u32 * VAL_RAW_SIZE) as i32),
        );
    }
    let sig = b.import_signature(abi::wasm_signature(isa, ty));
    let call = b.ins().call_indirect(sig, wasm_call, &args);
    let results = b.inst_results(call).to_vec();
    for (i, r) in results.iter().enumerate() {
        b.ins()
            .store(flags, *r, values, (i as u32 * VAL_RAW_SIZE) as i32);
    }
    b.ins().return_(&[]);
    b.finalize(isa.frontend_config());
    compile(compiler, func)
}

/// The `wasm_call` entry of a host function of type `ty`: records where
/// wasm left off (the calling wasm frame's frame pointer and the return
/// address into it, in the store context, for backtraces), spills the
/// parameters to a values array on the stack and calls the host's
/// `array_call`, loaded from its `VMHostFuncContext` (the callee vmctx).
pub(crate) fn wasm_to_array(
    compiler: &Compiler,
    ty: &WasmFuncType,
) -> Result<CompiledFunction, CompileError> {
    let isa = compiler.isa();
    let mut func =
        ir::Function::with_name_signature(UserFuncName::user(2, 0), abi::wasm_signature(isa, ty));
    let mut fctx = FunctionBuilderContext::new();
    let mut b = FunctionBuilder::new(&mut func, &mut fctx);
    let entry = b.create_block();
    b.append_block_params_for_function_params(entry);
    b.switch_to_block(entry);
    b.seal_block(entry);
    let p = b.block_params(entry).to_vec();
    let (vmctx, caller_vmctx) = (p[0], p[1]);
    let slots = ty.params.len().max(ty.results.len()).max(1) as u32;
    let slot = b.create_sized_stack_slot(StackSlotData::new(
        StackSlotKind::ExplicitSlot,
        slots * VAL_RAW_SIZE,
        4,
    ));
    let ptr = isa.pointer_type();
    let flags = MemFlagsData::trusted();
    // The caller is wasm, so `caller_vmctx` is an instance's VMContext.
    let store_context = b.ins().load(
        ptr,
        flags.with_readonly(),
        caller_vmctx,
        VMOffsets::STORE_CONTEXT as i32,
    );
    let fp = b.ins().get_frame_pointer(ptr);
    let caller_fp = b.ins().load(ptr, flags, fp, 0);
    let return_address = b.ins().get_return_address(ptr);
    b.ins().store(
        flags,
        caller_fp,
        store_context,
        vmstore_context::LAST_WASM_EXIT_FP as i32,
    );
    b.ins().store(
        flags,
        return_address,
        store_context,
        vmstore_context::LAST_WASM_EXIT_PC as i32,
    );
    let values = b.ins().stack_addr(ptr, slot, 0);
    for (i, v) in p[2..].iter().enumerate() {
        b.ins()
            .store(flags, *v, values, (i as u32 * VAL_RAW_SIZE) as i32);
    }
    let array_call = b.ins().load(
        ptr,
        flags.with_readonly(),
        vmctx,
        vmhost_func_context::ARRAY_CALL as i32,
    );
    let null = b.ins().iconst(ptr, 0);
    let len = b.ins().iconst(ptr, i64::from(slots));
    let sig = b.import_signature(abi::array_call_signature(isa));
    b.ins()
        .call_indirect(sig, array_call, &[vmctx, caller_vmctx, null, values, len]);
    let mut results = Vec::new();
    for (i, t) in ty.results.iter().enumerate() {
        let clif = abi::value_type(isa, *t);
        results.push(
            b.ins()
                .load(clif, flags, values, (i as u32 * VAL_RAW_SIZE) as i32),
        );
    }
    b.ins().return_(&results);
    b.finalize(isa.frontend_config());
    compile(compiler, func)
}

fn compile(compiler: &Compiler, func: ir::Function) -> Result<CompiledFunction, CompileError> {
    let mut ctx = Context::for_function(func);
    crate::link::finish(compiler, &mut ctx, false)
}
