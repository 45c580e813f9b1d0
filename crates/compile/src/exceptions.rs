//! Exception handling in compiled code (spec:
//! [`throw`](https://webassembly.github.io/spec/core/exec/instructions.html#exec-throw),
//! [`throw_ref`](https://webassembly.github.io/spec/core/exec/instructions.html#exec-throw-ref),
//! [`try_table`](https://webassembly.github.io/spec/core/exec/instructions.html#exec-try-table)).
//!
//! A `try_table` has a *landing* and a *dispatch* block, and one block per
//! catch clause. Inside a `try_table`, every call that can throw (wasm
//! calls of any kind, and `throw`/`throw_ref` themselves) is a `try_call`
//! whose exception table has a single default entry: the innermost
//! `try_table`'s landing block, which receives the exception reference
//! (the first exception payload register) and stores it in a stack slot
//! of the function's. The dispatch block reloads it and the fuel counter and compares the exception's tag with each clause's tag,
//! in clause order, branching to the first that matches (a `catch_all`
//! matches anything); when none does it continues in the enclosing
//! `try_table`'s dispatch block, or, outside any, throws the exception
//! again from this frame (`throw_ref`), so the unwinder carries on in the
//! callers. Each call thus has one exception-table entry whatever the
//! nesting depth and the number of clauses: code size and compile time
//! are linear in the function's size (a table listing every clause in
//! force made them quadratic). The runtime's unwinder
//! ([`keel_trap::unwind`]) reads those tables.
//!
//! A clause block loads the payload for `catch`/`catch_ref` and branches
//! to the clause's label. `catch_ref`/`catch_all_ref` mark the object
//! escaped (the reference becomes a value); `catch`/`catch_all` hand it to
//! the `exn_release` builtin, which frees it unless it escaped before.
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
    self, AbiParam, Block, BlockArg, ExceptionTableData, ExceptionTableItem, InstBuilder,
    MemFlagsData, Signature, StackSlotData, StackSlotKind, Value, condcodes::IntCC, types,
};
use cranelift_codegen::isa::CallConv;
use keel_translate::{BuiltinFunctionIndex, TagIndex, Trap, VMOffsets, WasmValType, vmexn_object};

/// An open `try_table`: the blocks its calls' exceptions go to.
#[derive(Clone, Copy, Debug)]
pub(crate) struct TryScope {
    /// Where the exceptional edges of the `try_table`'s calls lead: takes
    /// the exception reference and stores it for `dispatch`.
    pub(crate) landing: Block,
    /// Compares the exception's tag with the clauses'; also entered from
    /// inner `try_table`s' dispatch blocks when none of theirs matched.
    pub(crate) dispatch: Block,
}

/// The callee of a call that may throw.
pub(crate) enum Callee {
    /// A direct call.
    Direct(ir::FuncRef),
    /// An indirect call through a code pointer of the given signature.
    Indirect(ir::SigRef, Value),
}

impl FuncTranslator<'_, '_> {
    /// Enter a `try_table`: create its landing and dispatch blocks and the
    /// catch clauses' blocks (their labels are the enclosing frames': the
    /// `try_table`'s own label is not in scope for them), fill them, and
    /// continue in a fresh block for the body. The landing and dispatch
    /// blocks are sealed when the `try_table` ends, once every call (and
    /// inner dispatch block) that reaches them is translated.
    pub(crate) fn enter_try_table(
        &mut self,
        catches: &[wasmparser::Catch],
    ) -> Result<TryScope, CompileError> {
        let ptr = self.env.isa.pointer_type();
        // The exception reaches the dispatch code through a stack slot of
        // the function's, not as a block parameter: passed from dispatch
        // block to dispatch block, it would be one value (register
        // allocation merges the copies) with a piece of live range per
        // nesting level, which made register allocation quadratic in the
        // nesting depth.
        let slot = match self.exn_slot {
            Some(slot) => slot,
            None => {
                let slot = self.builder.create_sized_stack_slot(StackSlotData::new(
                    StackSlotKind::ExplicitSlot,
                    ptr.bytes(),
                    ptr.bytes().trailing_zeros() as u8,
                ));
                *self.exn_slot.insert(slot)
            }
        };
        let body = self.builder.create_block();
        self.builder.ins().jump(body, &[]);
        let pending_fuel = core::mem::take(&mut self.metering.fuel_pending);
        // Handlers run only when something throws.
        let landing = self.builder.create_block();
        self.builder.set_cold_block(landing);
        let dispatch = self.builder.create_block();
        self.builder.set_cold_block(dispatch);
        let exn = self.builder.append_block_param(landing, ptr);
        self.builder.switch_to_block(landing);
        self.builder.ins().stack_store(ptr, exn, slot, 0);
        self.builder.ins().jump(dispatch, &[]);
        self.builder.switch_to_block(dispatch);
        let exn = self.builder.ins().stack_load(ptr, ptr, slot, 0);
        // The throw wrote fuel back and callees may have used some.
        self.fuel_after_call();
        let mut thrown_tag = None;
        let mut caught_all = false;
        for catch in catches {
            use wasmparser::Catch;
            let (tag, label, with_ref) = match *catch {
                Catch::One { tag, label } => (Some(TagIndex::from_u32(tag)), label, false),
                Catch::OneRef { tag, label } => (Some(TagIndex::from_u32(tag)), label, true),
                Catch::All { label } => (None, label, false),
                Catch::AllRef { label } => (None, label, true),
            };
            let clause = self.builder.create_block();
            self.builder.set_cold_block(clause);
            match tag {
                Some(tag) => {
                    let thrown = *thrown_tag.get_or_insert_with(|| {
                        self.builder.ins().load(
                            ptr,
                            MemFlagsData::trusted(),
                            exn,
                            vmexn_object::TAG as i32,
                        )
                    });
                    let expected = self.tag_address(tag);
                    let is = self.builder.ins().icmp(IntCC::Equal, thrown, expected);
                    let next = self.builder.create_block();
                    self.builder.set_cold_block(next);
                    self.builder.ins().brif(is, clause, &[], next, &[]);
                    self.builder.seal_block(next);
                    self.fill_catch_clause(clause, exn, Some(tag), label, with_ref)?;
                    self.builder.switch_to_block(next);
                }
                None => {
                    self.builder.ins().jump(clause, &[]);
                    self.fill_catch_clause(clause, exn, None, label, with_ref)?;
                    caught_all = true;
                    // Later clauses can never be reached.
                    break;
                }
            }
        }
        if !caught_all {
            // No clause matched: the enclosing `try_table`'s turn, or the
            // callers'.
            match self.try_scopes.last() {
                Some(outer) => {
                    let outer = outer.dispatch;
                    self.builder.ins().jump(outer, &[]);
                }
                None => {
                    let unused = self.builder.ins().iconst(ptr, 0);
                    self.call_unwinding_builtin(BuiltinFunctionIndex::throw_ref, exn, unused)?;
                }
            }
        }
        self.metering.fuel_pending = pending_fuel;
        // The rethrow's trap ended only the dispatch code.
        self.reachable = true;
        self.builder.switch_to_block(body);
        self.builder.seal_block(body);
        Ok(TryScope { landing, dispatch })
    }

    /// Fill `clause`, the block of a catch clause of tag `tag` (`None`
    /// for `catch_all`) branching to `label`, entered with the exception
    /// `exn` (a value of the dispatch block, which is its only
    /// predecessor): load the payload, keep or release the object, and
    /// branch. Leaves the builder in `clause`, which is sealed.
    fn fill_catch_clause(
        &mut self,
        clause: Block,
        exn: Value,
        tag: Option<TagIndex>,
        label: u32,
        with_ref: bool,
    ) -> Result<(), CompileError> {
        self.builder.switch_to_block(clause);
        self.builder.seal_block(clause);
        let mut args = Vec::new();
        if let Some(tag) = tag {
            let params = self.tag_params(tag)?;
            for (i, ty) in params.iter().enumerate() {
                let clif_ty = crate::abi::value_type(self.env.isa, *ty);
                let offset = vmexn_object::PAYLOAD + 16 * i as u32;
                let v =
                    self.builder
                        .ins()
                        .load(clif_ty, MemFlagsData::trusted(), exn, offset as i32);
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
        Ok(())
    }

    /// The address of the `VMTagDefinition` of tag `tag` of this frame's
    /// instance, the tag's identity: inside the VMContext for a defined
    /// tag, loaded from it for an imported one.
    fn tag_address(&mut self, tag: TagIndex) -> Value {
        let module = self.env.module;
        match module.defined_tag_index(tag) {
            Some(defined) => {
                let offset = self.env.offsets.defined_tag(defined);
                self.builder.ins().iadd_imm_s(self.vmctx, i64::from(offset))
            }
            None => {
                let offset = self.env.offsets.imported_tag(tag);
                let stay = MemFlagsData::trusted().with_readonly();
                self.load_ptr(stay, self.vmctx, offset)
            }
        }
    }

    /// The parameter types of tag `tag`'s function type.
    fn tag_params(&self, tag: TagIndex) -> Result<Box<[WasmValType]>, CompileError> {
        let module = self.env.module;
        let ty = module
            .tags
            .get(tag)
            .ok_or_else(|| CompileError::Bug(format!("tag {} out of range", tag.as_u32())))?;
        Ok(module.func_type_at(*ty).params.clone())
    }

    /// The exception-table entries for a call here: one default entry
    /// to the innermost `try_table`'s landing block, none outside any
    /// `try_table`.
    fn exception_table_items(&mut self) -> Vec<ExceptionTableItem> {
        let Some(scope) = self.try_scopes.last() else {
            return Vec::new();
        };
        let landing = scope.landing;
        let call = self
            .builder
            .func
            .dfg
            .block_call(landing, &[BlockArg::TryCallExn(0)]);
        vec![ExceptionTableItem::Default(call)]
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
        let items = self.exception_table_items();
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

    /// Call builtin `builtin` with `a` and `b` through the unwind stub,
    /// which adds this frame's return address and frame pointer (so that
    /// the builtin can walk this frame: to unwind, or to collect with its
    /// stack map); its pointer-sized result when `returns`.
    pub(crate) fn call_through_unwind_stub(
        &mut self,
        builtin: BuiltinFunctionIndex,
        a: Value,
        b: Value,
        returns: bool,
    ) -> Result<Vec<Value>, CompileError> {
        let ptr = self.env.isa.pointer_type();
        let stay = MemFlagsData::trusted().with_readonly();
        let builtins = self.load_ptr(stay, self.vmctx, VMOffsets::BUILTINS);
        let stub = self.load_ptr(stay, builtins, BuiltinFunctionIndex::UNWIND_STUB * 8);
        let target = self.load_ptr(stay, builtins, builtin.index() * 8);
        let mut sig = Signature::new(CallConv::Tail);
        let (a_ty, b_ty) = (
            self.builder.func.dfg.value_type(a),
            self.builder.func.dfg.value_type(b),
        );
        for ty in [ptr, a_ty, b_ty, ptr] {
            sig.params.push(AbiParam::new(ty));
        }
        if returns {
            sig.returns.push(AbiParam::new(ptr));
        }
        let sig = self.builder.import_signature(sig);
        self.emit_call(
            Callee::Indirect(sig, stub),
            sig,
            &[self.vmctx, a, b, target],
        )
    }

    /// Call the unwinding builtin `builtin` with `a` and `b` through the
    /// unwind stub; it never returns.
    fn call_unwinding_builtin(
        &mut self,
        builtin: BuiltinFunctionIndex,
        a: Value,
        b: Value,
    ) -> Result<(), CompileError> {
        self.call_through_unwind_stub(builtin, a, b, false)?;
        self.trap(Trap::UnreachableCodeReached);
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
            .trapz(exn, crate::clif_trap_code(Trap::NullReference));
        let ptr = self.env.isa.pointer_type();
        let unused = self.builder.ins().iconst(ptr, 0);
        self.call_unwinding_builtin(BuiltinFunctionIndex::throw_ref, exn, unused)
    }
}
