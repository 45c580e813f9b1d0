//! Table and reference instructions (spec:
//! [Reference Instructions](https://webassembly.github.io/spec/core/exec/instructions.html#reference-instructions),
//! [Table Instructions](https://webassembly.github.io/spec/core/exec/instructions.html#table-instructions)).
//!
//! `table.get`/`table.set`/`table.size` and the reference instructions are
//! inline; the bulk table operations call builtins that report out of
//! bounds, and the trap is raised here so its site is in the trap table.

use crate::func_translator::FuncTranslator;
use crate::prelude::*;
use crate::{CompileError, clif_trap_code};
use cranelift_codegen::ir::{BlockArg, InstBuilder, MemFlagsData, Value, condcodes::IntCC, types};
use keel_translate::{BuiltinFunctionIndex, FuncIndex, TableIndex, Trap, WasmValType};

impl FuncTranslator<'_, '_> {
    /// The address of slot `index` of table `table`, after a bounds check
    /// that traps with `TableOutOfBounds`. With the table Spectre
    /// mitigation (on by default) the slot address is also clamped to the
    /// table's base by `select_spectre_guard` when the check fails.
    pub(crate) fn table_slot(&mut self, table: u32, index: Value) -> Result<Value, CompileError> {
        let (base, length) = self.table_base_and_length(TableIndex::from_u32(table))?;
        let index = self.extend_to_i64(index);
        let oob = self
            .builder
            .ins()
            .icmp(IntCC::UnsignedGreaterThanOrEqual, index, length);
        self.builder
            .ins()
            .trapnz(oob, clif_trap_code(Trap::TableOutOfBounds));
        let scaled = self.builder.ins().ishl_imm_u(index, 3);
        let slot = self.builder.ins().iadd(base, scaled);
        if self.env.table_spectre {
            // A mispredicted `trapnz` must not read past the table: an
            // out-of-bounds index selects the table base instead, with a
            // conditional move the CPU does not predict.
            Ok(self.builder.ins().select_spectre_guard(oob, base, slot))
        } else {
            Ok(slot)
        }
    }

    pub(crate) fn table_get(&mut self, table: u32, index: Value) -> Result<Value, CompileError> {
        let slot = self.table_slot(table, index)?;
        let value = self.load_table_slot(table, slot, None);
        if let Some(t) = self.env.module.tables.get(TableIndex::from_u32(table)) {
            let element = t.element;
            self.declare_refs(&[value], &[element]);
        }
        Ok(value)
    }

    /// Whether table `table` holds function references, whose slots may
    /// be initialized lazily (a zero slot may be pending; see keel-vm's
    /// `TableImage`).
    fn is_funcref_table(&self, table: u32) -> bool {
        self.env
            .module
            .tables
            .get(TableIndex::from_u32(table))
            .is_some_and(|t| t.element == WasmValType::FuncRef)
    }

    /// The value of `slot`, an in-bounds slot of table `table`. A funcref slot read as zero takes a cold path, the
    /// `table_get_lazy` builtin, which initializes it if it was pending;
    /// a non-zero slot costs only the test. With `null_trap`, a null
    /// value traps with that code (tested only on the cold path, since a
    /// non-zero slot is not null).
    pub(crate) fn load_table_slot(
        &mut self,
        table: u32,
        slot: Value,
        null_trap: Option<Trap>,
    ) -> Value {
        if !self.is_funcref_table(table) {
            let value = self.load_ptr(MemFlagsData::trusted(), slot, 0);
            if let Some(code) = null_trap {
                self.builder.ins().trapz(value, clif_trap_code(code));
            }
            return value;
        }
        let value = self.load_ptr(MemFlagsData::trusted(), slot, 0);
        let lazy = self.builder.create_block();
        let done = self.builder.create_block();
        self.builder
            .append_block_param(done, self.env.isa.pointer_type());
        self.builder.set_cold_block(lazy);
        self.builder
            .ins()
            .brif(value, done, &[BlockArg::Value(value)], lazy, &[]);
        self.builder.switch_to_block(lazy);
        self.builder.seal_block(lazy);
        let table_index = self.builder.ins().iconst(types::I32, i64::from(table));
        let built = self.builtin_value(BuiltinFunctionIndex::table_get_lazy, &[table_index, slot]);
        if let Some(code) = null_trap {
            self.builder.ins().trapz(built, clif_trap_code(code));
        }
        self.builder.ins().jump(done, &[BlockArg::Value(built)]);
        self.builder.switch_to_block(done);
        self.builder.seal_block(done);
        self.builder.block_params(done)[0]
    }

    pub(crate) fn table_set(
        &mut self,
        table: u32,
        index: Value,
        value: Value,
    ) -> Result<(), CompileError> {
        let slot = self.table_slot(table, index)?;
        self.builder
            .ins()
            .store(MemFlagsData::trusted(), value, slot, 0);
        if self.is_funcref_table(table) {
            // A null written over a pending slot must stay null: the cold
            // path clears the slot's pending bit.
            let clear = self.builder.create_block();
            let done = self.builder.create_block();
            self.builder.set_cold_block(clear);
            self.builder.ins().brif(value, done, &[], clear, &[]);
            self.builder.switch_to_block(clear);
            self.builder.seal_block(clear);
            let table_index = self.builder.ins().iconst(types::I32, i64::from(table));
            // In bounds, so below keel's table limit: it fits 32 bits.
            let index = if self.builder.func.dfg.value_type(index) == types::I64 {
                self.builder.ins().ireduce(types::I32, index)
            } else {
                index
            };
            self.builtin_value(
                BuiltinFunctionIndex::table_clear_lazy,
                &[table_index, index],
            );
            self.builder.ins().jump(done, &[]);
            self.builder.switch_to_block(done);
            self.builder.seal_block(done);
        }
        Ok(())
    }

    /// `table.size`: an `i64` for a table64 table, else an `i32`.
    pub(crate) fn table_size(&mut self, table: u32) -> Result<Value, CompileError> {
        let index = TableIndex::from_u32(table);
        let (_, length) = self.table_base_and_length(index)?;
        let ty = self.env.module.tables[index].index_bits();
        Ok(self.narrow_to(length, ty))
    }

    /// The width of table `table`'s index type (32, or 64 for table64).
    pub(crate) fn table_index_bits(&self, table: u32) -> Result<u32, CompileError> {
        self.env
            .module
            .tables
            .get(TableIndex::from_u32(table))
            .map(|t| t.index_bits())
            .ok_or_else(|| CompileError::Bug(format!("table index {table} out of range")))
    }

    /// `v` (an `i32` or `i64`) zero-extended to `i64`: how builtins take
    /// addresses, lengths and deltas of every index type.
    pub(crate) fn extend_to_i64(&mut self, v: Value) -> Value {
        if self.builder.func.dfg.value_type(v) == types::I64 {
            v
        } else {
            self.builder.ins().uextend(types::I64, v)
        }
    }

    /// `v`, a 64-bit value, as an index type of `bits` (32 or 64) bits.
    pub(crate) fn narrow_to(&mut self, v: Value, bits: u32) -> Value {
        if bits == 64 {
            v
        } else {
            self.builder.ins().ireduce(types::I32, v)
        }
    }

    /// `ref.func`: the address of the function's `VMFuncRef` in this
    /// instance's VMContext, from the `ref_func` builtin, which builds the
    /// reference the first time (function references are built lazily).
    pub(crate) fn ref_func(&mut self, function_index: u32) -> Result<Value, CompileError> {
        let index = FuncIndex::from_u32(function_index);
        if self.env.module.functions.get(index).is_none() {
            return Err(CompileError::Bug(format!(
                "function index {function_index} out of range"
            )));
        }
        let index = self
            .builder
            .ins()
            .iconst(types::I32, i64::from(function_index));
        Ok(self.builtin_value(BuiltinFunctionIndex::ref_func, &[index]))
    }

    /// Call builtin `index` with the vmctx and `args`, returning its result.
    pub(crate) fn builtin_value(&mut self, index: BuiltinFunctionIndex, args: &[Value]) -> Value {
        let mut all = vec![self.vmctx];
        all.extend_from_slice(args);
        let call = self.call_builtin(index, &all);
        self.builder.inst_results(call)[0]
    }

    /// Call a growth builtin (`memory_grow`, `table_grow`) and trap if it
    /// returns [`GROW_TRAP`](keel_translate::builtin::GROW_TRAP): the
    /// store's resource limiter failed the growth. The result (old size
    /// or -1) is returned as an index type of `bits` (32 or 64) bits.
    pub(crate) fn grow_builtin(
        &mut self,
        index: BuiltinFunctionIndex,
        args: &[Value],
        code: Trap,
        bits: u32,
    ) -> Value {
        let result = self.builtin_value(index, args);
        let failed = self.builder.ins().icmp_imm_u(
            IntCC::Equal,
            result,
            keel_translate::builtin::GROW_TRAP as i64,
        );
        self.builder.ins().trapnz(failed, clif_trap_code(code));
        self.narrow_to(result, bits)
    }

    /// Call a bulk builtin and trap with `code` if it reports out of bounds.
    pub(crate) fn checked_builtin(
        &mut self,
        index: BuiltinFunctionIndex,
        args: &[Value],
        code: Trap,
    ) {
        let status = self.builtin_value(index, args);
        self.builder.ins().trapnz(status, clif_trap_code(code));
    }

    pub(crate) fn i32_const(&mut self, v: u32) -> Value {
        self.builder.ins().iconst(types::I32, i64::from(v))
    }
}
