//! Exception handling in compiled code (spec:
//! [`throw`](https://webassembly.github.io/spec/core/exec/instructions.html#exec-throw),
//! [`throw_ref`](https://webassembly.github.io/spec/core/exec/instructions.html#exec-throw-ref),
//! [`try_table`](https://webassembly.github.io/spec/core/exec/instructions.html#exec-try-table)).
//!
//! A `try_table` creates one Cranelift block per catch clause; each takes
//! the exception reference (the first exception payload register), loads
//! the payload for `catch`/`catch_ref`, reloads the fuel counter, and
//! branches to the clause's label. `catch_ref`/`catch_all_ref` mark the
//! object escaped (the reference becomes a value); `catch`/`catch_all`
//! hand it to the `exn_release` builtin, which frees it unless it escaped
//! before. Inside a `try_table`, every call that
//! can throw (wasm calls of any kind, and `throw`/`throw_ref` themselves)
//! is a `try_call` whose exception table lists the frame's VMContext as
//! the dynamic context and then the catch clauses of every enclosing
//! `try_table`, innermost first, as tag or default entries. The runtime's
//! unwinder ([`keel_trap::unwind`]) reads those tables.
//!
//! `throw` stores the payload in a stack slot and `throw_ref` checks for
//! null; both then call their builtin through the unwind stub, which hands
//! the builtin the return address and frame pointer of this frame, where
//! the unwinder starts.

use crate::CompileError;
use crate::func_translator::FuncTranslator;
use crate::prelude::*;
use alloc::boxed::Box;
use cranelift_codegen::ir::{
    self, AbiParam, Block, BlockArg, ExceptionTableData, ExceptionTableItem, ExceptionTag,
    InstBuilder, MemFlagsData, Signature, StackSlotData, StackSlotKind, Value, types,
};
use cranelift_codegen::isa::CallConv;
use keel_translate::{
    BuiltinFunctionIndex, TagIndex, TranslateError, TrapCode, VMOffsets, WasmValType, vmexn_object,
};

/// At most this many exception-table entries in one function (over all
/// its calls): each call inside nested `try_table`s lists the catch
/// clauses of all of them, so deep nesting with calls at every level would
/// otherwise make compile time quadratic.
pub(crate) const MAX_HANDLER_ENTRIES: usize = 1_000_000;

/// One catch clause of an open `try_table`: the tag it catches (`None` for
/// `catch_all`) and the block that handles it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct CatchHandler {
    pub(crate) tag: Option<TagIndex>,
    pub(crate) block: Block,
}

/// The callee of a call that may throw.
pub(crate) enum Callee {
    /// A direct call.
    Direct(ir::FuncRef),
    /// An indirect call through a code pointer of the given signature.
    Indirect(ir::SigRef, Value),
}

impl FuncTranslator<'_, '_> {
    /// Enter a `try_table`: create and fill the catch clauses' handler
    /// blocks (their labels are the enclosing frames': the `try_table`'s
    /// own label is not in scope for them) and continue in a fresh block
    /// for the body. Returns the handlers, in clause order.
    pub(crate) fn enter_try_table(
        &mut self,
        catches: &[wasmparser::Catch],
    ) -> Result<Vec<CatchHandler>, CompileError> {
        let body = self.builder.create_block();
        self.builder.ins().jump(body, &[]);
        let pending_fuel = core::mem::take(&mut self.metering.fuel_pending);
        let mut handlers = Vec::with_capacity(catches.len());
        for catch in catches {
            use wasmparser::Catch;
            let (tag, label, with_ref) = match *catch {
                Catch::One { tag, label } => (Some(TagIndex::from_u32(tag)), label, false),
                Catch::OneRef { tag, label } => (Some(TagIndex::from_u32(tag)), label, true),
                Catch::All { label } => (None, label, false),
                Catch::AllRef { label } => (None, label, true),
            };
            let block = self.builder.create_block();
            // Handlers run only when something throws.
            self.builder.set_cold_block(block);
            let ptr = self.env.isa.pointer_type();
            let exn = self.builder.append_block_param(block, ptr);
            self.builder.switch_to_block(block);
            // The throw wrote fuel back and callees may have used some.
            self.fuel_after_call();
            let mut args = Vec::new();
            if let Some(tag) = tag {
                let params = self.tag_params(tag)?;
                for (i, ty) in params.iter().enumerate() {
                    let clif_ty = crate::abi::value_type(self.env.isa, *ty);
                    let offset = vmexn_object::PAYLOAD + 16 * i as u32;
                    let v = self.builder.ins().load(
                        clif_ty,
                        MemFlagsData::trusted(),
                        exn,
                        offset as i32,
                    );
                    args.push(v);
                }
                self.declare_refs(&args, &params);
            }
            if with_ref {
                // The reference becomes a value: the object must live on.
                let one = self.builder.ins().iconst(types::I32, 1);
                self.builder.ins().store(
                    MemFlagsData::trusted(),
                    one,
                    exn,
                    vmexn_object::ESCAPED as i32,
                );
                self.builder.declare_value_needs_stack_map(exn);
                args.push(exn);
            } else {
                // Nothing keeps the reference: free the object unless it
                // escaped earlier.
                let vmctx = self.vmctx;
                self.call_builtin(BuiltinFunctionIndex::exn_release, &[vmctx, exn]);
            }
            let (target, _) = self.branch_to(label)?;
            let args: Vec<BlockArg> = args.into_iter().map(BlockArg::Value).collect();
            self.builder.ins().jump(target, &args);
            handlers.push(CatchHandler { tag, block });
        }
        self.metering.fuel_pending = pending_fuel;
        self.builder.switch_to_block(body);
        self.builder.seal_block(body);
        Ok(handlers)
    }

    /// The parameter types of tag `tag`'s function type.
    fn tag_params(&self, tag: TagIndex) -> Result<Box<[WasmValType]>, CompileError> {
        let module = self.env.module;
        let ty = module
            .tags
            .get(tag)
            .ok_or_else(|| CompileError::Bug(format!("tag {} out of range", tag.as_u32())))?;
        Ok(module.types[*ty].params.clone())
    }

    /// The exception-table entries for a call here: the frame's VMContext
    /// as context, then the catch clauses in force, innermost first, up to
    /// the first `catch_all` (later ones never match). Empty outside any
    /// `try_table`.
    fn exception_table_items(&mut self) -> Result<Vec<ExceptionTableItem>, CompileError> {
        let mut items = Vec::new();
        let mut seen_all = false;
        for handlers in self.try_handlers.iter().rev() {
            for h in handlers {
                if seen_all {
                    break;
                }
                let call = self
                    .builder
                    .func
                    .dfg
                    .block_call(h.block, &[BlockArg::TryCallExn(0)]);
                items.push(match h.tag {
                    Some(tag) => {
                        ExceptionTableItem::Tag(ExceptionTag::from_u32(tag.as_u32()), call)
                    }
                    None => {
                        seen_all = true;
                        ExceptionTableItem::Default(call)
                    }
                });
            }
        }
        if items.is_empty() {
            return Ok(items);
        }
        self.handler_entries += items.len();
        if self.handler_entries > MAX_HANDLER_ENTRIES {
            return Err(CompileError::Translate(TranslateError::ImplLimit(format!(
                "more than {MAX_HANDLER_ENTRIES} exception handler entries in one function \
                 (calls inside deeply nested try_table)"
            ))));
        }
        items.insert(0, ExceptionTableItem::Context(self.vmctx));
        Ok(items)
    }

    /// Call `callee` with `args` of signature `sig` and return its
    /// results: a plain call, or inside a `try_table` a `try_call` whose
    /// exceptional edges go to the catch clauses in force.
    pub(crate) fn emit_call(
        &mut self,
        callee: Callee,
        sig: ir::SigRef,
        args: &[Value],
    ) -> Result<Vec<Value>, CompileError> {
        let items = self.exception_table_items()?;
        if items.is_empty() {
            let call = match callee {
                Callee::Direct(f) => self.builder.ins().call(f, args),
                Callee::Indirect(sig, ptr) => self.builder.ins().call_indirect(sig, ptr, args),
            };
            return Ok(self.builder.inst_results(call).to_vec());
        }
        let normal = self.builder.create_block();
        let returns: Vec<ir::Type> = self.builder.func.dfg.signatures[sig]
            .returns
            .iter()
            .map(|r| r.value_type)
            .collect();
        let mut ret_args = Vec::with_capacity(returns.len());
        for (i, ty) in returns.into_iter().enumerate() {
            self.builder.append_block_param(normal, ty);
            ret_args.push(BlockArg::TryCallRet(i as u32));
        }
        let normal_call = self.builder.func.dfg.block_call(normal, &ret_args);
        let table = ExceptionTableData::new(sig, normal_call, items);
        let table = self.builder.func.dfg.exception_tables.push(table);
        match callee {
            Callee::Direct(f) => self.builder.ins().try_call(f, args, table),
            Callee::Indirect(_, ptr) => self.builder.ins().try_call_indirect(ptr, args, table),
        };
        self.builder.switch_to_block(normal);
        self.builder.seal_block(normal);
        Ok(self.builder.block_params(normal).to_vec())
    }

    /// Call the unwinding builtin `builtin` with `a` and `b` through the
    /// unwind stub; it never returns.
    fn call_unwinding_builtin(
        &mut self,
        builtin: BuiltinFunctionIndex,
        a: Value,
        b: Value,
    ) -> Result<(), CompileError> {
        let ptr = self.env.isa.pointer_type();
        let stay = MemFlagsData::trusted().with_readonly();
        let builtins = self.load_ptr(stay, self.vmctx, VMOffsets::BUILTINS);
        let stub = self.load_ptr(stay, builtins, BuiltinFunctionIndex::UNWIND_STUB * 8);
        let target = self.load_ptr(stay, builtins, builtin.index() * 8);
        let mut sig = Signature::new(CallConv::Tail);
        for ty in [ptr, self.builder.func.dfg.value_type(a), ptr, ptr] {
            sig.params.push(AbiParam::new(ty));
        }
        let sig = self.builder.import_signature(sig);
        self.emit_call(
            Callee::Indirect(sig, stub),
            sig,
            &[self.vmctx, a, b, target],
        )?;
        self.trap(TrapCode::UnreachableCodeReached);
        Ok(())
    }

    /// `throw $tag`: the payload goes to a stack slot of 16-byte `ValRaw`s.
    pub(crate) fn translate_throw(&mut self, tag_index: u32) -> Result<(), CompileError> {
        let tag = TagIndex::from_u32(tag_index);
        let params = self.tag_params(tag)?;
        let args = self.popn(params.len())?;
        let ptr = self.env.isa.pointer_type();
        let size = u32::try_from(16 * args.len().max(1))
            .map_err(|_| CompileError::Bug("tag payload too large".into()))?;
        let slot = self.builder.create_sized_stack_slot(StackSlotData::new(
            StackSlotKind::ExplicitSlot,
            size,
            4,
        ));
        for (i, v) in args.iter().enumerate() {
            self.builder.ins().stack_store(ptr, *v, slot, 16 * i as i32);
        }
        let values = self.builder.ins().stack_addr(ptr, slot, 0);
        let tag_value = self.builder.ins().iconst(types::I32, i64::from(tag_index));
        self.call_unwinding_builtin(BuiltinFunctionIndex::throw, tag_value, values)
    }

    /// `throw_ref`: trap on null, else rethrow the exception.
    pub(crate) fn translate_throw_ref(&mut self) -> Result<(), CompileError> {
        let exn = self.pop_value()?;
        self.builder
            .ins()
            .trapz(exn, crate::clif_trap_code(TrapCode::NullReference));
        let ptr = self.env.isa.pointer_type();
        let unused = self.builder.ins().iconst(ptr, 0);
        self.call_unwinding_builtin(BuiltinFunctionIndex::throw_ref, exn, unused)
    }
}
