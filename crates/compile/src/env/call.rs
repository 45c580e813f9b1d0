//! [`call`](https://webassembly.github.io/spec/core/exec/instructions.html#exec-call) and
//! [`call_indirect`](https://webassembly.github.io/spec/core/exec/instructions.html#exec-call-indirect).
//!
//! Calls to defined functions are direct, relocated calls; calls to
//! imported functions load the callee's `wasm_call` and `vmctx` from the
//! VMContext. `call_indirect` checks, in the spec's order, the table
//! bounds (`TableOutOfBounds`), a null entry (`IndirectCallToNull`) and the
//! callee's type against the engine-wide type id (`BadSignature`).

use super::readonly;
use crate::exceptions::Callee;
use crate::func_translator::FuncTranslator;
use crate::prelude::*;
use crate::{CompileError, clif_trap_code};
use cranelift_codegen::ir::{
    self, ExtFuncData, ExternalName, InstBuilder, MemFlagsData, UserExternalName, Value,
    condcodes::IntCC, types,
};
use keel_translate::{
    BuiltinFunctionIndex, FuncIndex, TableIndex, Trap, TypeIndex, VMOffsets, vmfuncref,
    vmfunction_import, vmtable_definition,
};

impl FuncTranslator<'_, '_> {
    fn direct_callee(&mut self, index: FuncIndex) -> ir::FuncRef {
        if let Some(f) = self.env.func_refs.get(&index) {
            return *f;
        }
        let sig = self.wasm_sig_ref(self.env.module.functions[index]);
        let name = self
            .builder
            .func
            .declare_imported_user_function(UserExternalName::new(0, index.as_u32()));
        let f = self.builder.import_function(ExtFuncData {
            name: ExternalName::user(name),
            signature: sig,
            colocated: true,
            patchable: false,
        });
        self.env.func_refs.insert(index, f);
        f
    }

    /// `call` (or `return_call` when `tail`: the callee replaces this
    /// function's frame, through Cranelift's `return_call`, which every
    /// wasm function's `tail` calling convention supports).
    pub(crate) fn translate_call(
        &mut self,
        function_index: u32,
        tail: bool,
    ) -> Result<(), CompileError> {
        let module = self.env.module;
        let index = FuncIndex::from_u32(function_index);
        let ty_index = *module.functions.get(index).ok_or_else(|| {
            CompileError::Bug(format!("function index {function_index} out of range"))
        })?;
        let nparams = module.func_type_at(ty_index).params.len();
        let mut args = vec![self.vmctx, self.vmctx];
        args.extend(self.popn(nparams)?);
        if let (Some(def), Some(table)) = (module.defined_func_index(index), self.env.call_table)
            && self.env.lazy_self != Some(index)
        {
            // Lazy compilation: the callee's current entry (its code, or
            // the stub that compiles it) from the module's call table.
            let ptr = self.env.isa.pointer_type();
            let entry = self
                .builder
                .ins()
                .iconst(ptr, (table + 8 * def.as_u32() as u64) as i64);
            let wasm_call = self
                .builder
                .ins()
                .load(ptr, MemFlagsData::trusted(), entry, 0);
            self.emit_indirect_call(ty_index, wasm_call, &args, tail)?;
        } else if module.defined_func_index(index).is_some() {
            let callee = self.direct_callee(index);
            if tail {
                self.builder.ins().return_call(callee, &args);
                self.reachable = false;
                return Ok(());
            }
            let sig = self.wasm_sig_ref(ty_index);
            let results = self.emit_call(Callee::Direct(callee), sig, &args)?;
            self.declare_refs(&results, &module.func_type_at(ty_index).results);
            self.push_all(&results);
        } else {
            let off = self.env.offsets.imported_function(index);
            let wasm_call =
                self.load_ptr(readonly(), self.vmctx, off + vmfunction_import::WASM_CALL);
            args[0] = self.load_ptr(readonly(), self.vmctx, off + vmfunction_import::VMCTX);
            self.env.host_call_types.push(ty_index);
            self.emit_indirect_call(ty_index, wasm_call, &args, tail)?;
        }
        Ok(())
    }

    /// Module type `type_index` and its number of parameters.
    fn type_param_count(&self, type_index: u32) -> Result<(TypeIndex, usize), CompileError> {
        let ty_index = TypeIndex::from_u32(type_index);
        let ty = self
            .env
            .module
            .types
            .get(ty_index)
            .and_then(|t| t.as_func())
            .ok_or_else(|| {
                CompileError::Bug(format!("type index {type_index} is not a function type"))
            })?;
        Ok((ty_index, ty.params.len()))
    }

    /// Call (or tail-call) the non-null `VMFuncRef` `func_ref` of module
    /// type `ty` with `params`: through its `wasm_call` with its `vmctx`
    /// as the callee's and this function's as the caller's.
    fn call_func_ref(
        &mut self,
        ty: TypeIndex,
        func_ref: Value,
        params: Vec<Value>,
        tail: bool,
    ) -> Result<(), CompileError> {
        let wasm_call = self.load_ptr(MemFlagsData::trusted(), func_ref, vmfuncref::WASM_CALL);
        let callee_vmctx = self.load_ptr(MemFlagsData::trusted(), func_ref, vmfuncref::VMCTX);
        let mut args = vec![callee_vmctx, self.vmctx];
        args.extend(params);
        // The callee may be a host function: its trampoline is needed.
        self.env.host_call_types.push(ty);
        self.emit_indirect_call(ty, wasm_call, &args, tail)
    }

    /// Call `callee` (a `wasm_call` pointer) of module type `ty` with
    /// `args` (callee vmctx, caller vmctx, parameters) and push its
    /// results, or tail-call it when `tail` (a tail call leaves this
    /// frame, and with it any `try_table` around it).
    pub(crate) fn emit_indirect_call(
        &mut self,
        ty: TypeIndex,
        callee: Value,
        args: &[Value],
        tail: bool,
    ) -> Result<(), CompileError> {
        let sig = self.wasm_sig_ref(ty);
        if tail {
            self.builder.ins().return_call_indirect(sig, callee, args);
            self.reachable = false;
        } else {
            let results = self.emit_call(Callee::Indirect(sig, callee), sig, args)?;
            let module = self.env.module;
            self.declare_refs(&results, &module.func_type_at(ty).results);
            self.push_all(&results);
        }
        Ok(())
    }

    /// The base pointer and element count of table `index`.
    pub(crate) fn table_base_and_length(
        &mut self,
        index: TableIndex,
    ) -> Result<(Value, Value), CompileError> {
        let module = self.env.module;
        if index.as_u32() as usize >= module.tables.len() {
            return Err(CompileError::Bug(format!(
                "table index {} out of range",
                index.as_u32()
            )));
        }
        let (def, off) = match module.defined_table_index(index) {
            Some(d) => (self.vmctx, self.env.offsets.defined_table(d)),
            None => {
                let off = self.env.offsets.imported_table(index);
                (self.load_ptr(readonly(), self.vmctx, off), 0)
            }
        };
        // A table whose declared minimum is its maximum never grows (an
        // imported one's actual limits lie within the declared ones), so
        // its slots never move and its length never changes.
        let limits = &module.tables[index].limits;
        let flags = if limits.max == Some(limits.min) {
            readonly()
        } else {
            MemFlagsData::trusted()
        };
        let base = self.load_ptr(flags, def, off + vmtable_definition::BASE);
        let length = self.load_ptr(flags, def, off + vmtable_definition::CURRENT_ELEMENTS);
        Ok((base, length))
    }

    /// `call_indirect` (`return_call_indirect` when `tail`).
    pub(crate) fn translate_call_indirect(
        &mut self,
        type_index: u32,
        table_index: u32,
        tail: bool,
    ) -> Result<(), CompileError> {
        let (ty_index, nparams) = self.type_param_count(type_index)?;
        let elem_index = self.popn(1)?[0];
        let params = self.popn(nparams)?;

        let slot = self.table_slot(table_index, elem_index)?;
        let func_ref = self.load_table_slot(table_index, slot, Some(Trap::IndirectCallToNull));

        let actual = self.builder.ins().load(
            types::I32,
            MemFlagsData::trusted(),
            func_ref,
            vmfuncref::TYPE_INDEX as i32,
        );
        let type_ids = self.load_ptr(readonly(), self.vmctx, VMOffsets::TYPE_IDS);
        let expected =
            self.builder
                .ins()
                .load(types::I32, readonly(), type_ids, (type_index * 4) as i32);
        let mismatch = self.builder.ins().icmp(IntCC::NotEqual, actual, expected);
        if self.env.module.types[ty_index].is_final {
            self.builder
                .ins()
                .trapnz(mismatch, clif_trap_code(Trap::BadSignature));
        } else {
            // A function of a declared subtype matches too (spec:
            // [`call_indirect`](https://webassembly.github.io/spec/core/exec/instructions.html#exec-call-indirect)):
            // when the ids differ, ask the type registry.
            let slow = self.builder.create_block();
            let done = self.builder.create_block();
            self.builder.set_cold_block(slow);
            self.builder.ins().brif(mismatch, slow, &[], done, &[]);
            self.builder.switch_to_block(slow);
            self.builder.seal_block(slow);
            let call = self.call_builtin(
                BuiltinFunctionIndex::is_subtype,
                &[self.vmctx, actual, expected],
            );
            let ok = self.builder.inst_results(call)[0];
            self.builder
                .ins()
                .trapz(ok, clif_trap_code(Trap::BadSignature));
            self.builder.ins().jump(done, &[]);
            self.builder.switch_to_block(done);
            self.builder.seal_block(done);
        }

        self.call_func_ref(ty_index, func_ref, params, tail)
    }
}

impl FuncTranslator<'_, '_> {
    /// `call_ref $t` (`return_call_ref` when `tail`): call the function
    /// reference on top of the stack, trapping with `NullReference` on
    /// null (spec:
    /// [`call_ref`](https://webassembly.github.io/spec/core/exec/instructions.html#exec-call-ref)).
    /// Validation guarantees the reference's type is `$t` or a subtype,
    /// so there is no type check.
    pub(crate) fn translate_call_ref(
        &mut self,
        type_index: u32,
        tail: bool,
    ) -> Result<(), CompileError> {
        let (ty_index, nparams) = self.type_param_count(type_index)?;
        let func_ref = self.pop_value()?;
        let params = self.popn(nparams)?;
        self.builder
            .ins()
            .trapz(func_ref, clif_trap_code(Trap::NullReference));
        self.call_func_ref(ty_index, func_ref, params, tail)
    }
}
