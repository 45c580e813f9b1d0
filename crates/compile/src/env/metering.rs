//! Guest control in compiled code: fuel metering and epoch interruption.
//!
//! **Fuel** (`CompilerOptions::consume_fuel`) follows Wasmtime 48's model
//! so that budgets port unchanged: each call of a function costs 1, each
//! operator its [`fuel_cost`], and the bulk operations also 1 per byte or
//! element they touch ([`metering_bulk_op`](FuncTranslator::metering_bulk_op)).
//! The store context holds
//! `fuel_consumed`, negative while fuel remains. Inside a function the
//! counter lives in a Cranelift variable: each reachable operator adds its
//! cost ([`fuel_cost`]) to a compile-time sum, which is added to the
//! variable before every operator that ends straight-line code (`loop`,
//! `if`, `else`, `end`, branches) and also written back to the store
//! context before calls, `return`, `unreachable` and the function's end.
//! After a call, the variable is reloaded (the callee, or a host function,
//! may have changed it). Function entry and every loop header compare the
//! variable with zero. When it is `>= 0`, they call the `out_of_gas`
//! builtin on a cold path, which refuels or traps with `OutOfFuel`. A trap
//! of another kind leaves the store's figure at the last write-back, as
//! Wasmtime's does.
//!
//! **Epochs** (`CompilerOptions::epoch_interruption`): function entry and
//! loop headers load the engine's epoch counter and compare it with the
//! store's deadline. The deadline is cached in a variable and reloaded
//! from the store context only when the cached check fails. Reaching the
//! deadline calls the `new_epoch` builtin, which moves the deadline or
//! traps with `Interrupt`.

use super::readonly;
use crate::clif_trap_code;
use crate::func_translator::FuncTranslator;
use cranelift_codegen::ir::{self, InstBuilder, MemFlagsData, Value, condcodes::IntCC, types};
use cranelift_frontend::Variable;
use keel_translate::{BuiltinFunctionIndex, Trap, VMOffsets, vmstore_context};
use wasmparser::Operator;

/// Fuel an operator costs, Wasmtime 48's rule: 0 for `nop`, `drop`,
/// `block`, `loop`, `unreachable`, `return`, `else` and `end`, which
/// translate to no machine instruction of their own (or end execution),
/// and 1 for every other operator.
pub(crate) fn fuel_cost(op: &Operator<'_>) -> i64 {
    match op {
        Operator::Nop
        | Operator::Drop
        | Operator::Block { .. }
        | Operator::Loop { .. }
        | Operator::Unreachable
        | Operator::Return
        | Operator::Else
        | Operator::End => 0,
        _ => 1,
    }
}

/// Per-function state of fuel metering and epoch checks.
#[derive(Default)]
pub(crate) struct Metering {
    /// The store context pointer, loaded once at function entry.
    store_context: Option<Value>,
    /// The function-local copy of `fuel_consumed`.
    fuel_var: Option<Variable>,
    /// Cost of the operators since the last update of `fuel_var`.
    pub(crate) fuel_pending: i64,
    /// The cached epoch deadline.
    deadline_var: Option<Variable>,
    /// The address of the engine's epoch counter.
    epoch_ptr: Option<Value>,
}

fn trusted() -> MemFlagsData {
    MemFlagsData::trusted()
}

impl FuncTranslator<'_, '_> {
    fn store_context(&mut self) -> Value {
        if let Some(v) = self.metering.store_context {
            return v;
        }
        let v = self.load_ptr(readonly(), self.vmctx, VMOffsets::STORE_CONTEXT);
        self.metering.store_context = Some(v);
        v
    }

    /// At function entry (in the entry block): set up fuel and epoch
    /// state and run the entry checks.
    pub(crate) fn metering_function_entry(&mut self) {
        if !self.env.consume_fuel && !self.env.epoch_interruption {
            return;
        }
        let ctx = self.store_context();
        if self.env.consume_fuel {
            let var = self.builder.declare_var(types::I64);
            self.metering.fuel_var = Some(var);
            self.fuel_load_into_var();
            // Every call costs 1, even of an empty function (Wasmtime's
            // rule).
            self.metering.fuel_pending = 1;
            self.fuel_check();
        }
        if self.env.epoch_interruption {
            let deadline = self.builder.declare_var(types::I64);
            self.metering.deadline_var = Some(deadline);
            let ptr = self.load_ptr(readonly(), ctx, vmstore_context::EPOCH_PTR);
            self.metering.epoch_ptr = Some(ptr);
            let cont = self.builder.create_block();
            let current = self.epoch_load_current();
            self.epoch_check_full(current, cont);
        }
    }

    /// At a loop header (the header block is current).
    pub(crate) fn metering_loop_header(&mut self) {
        if self.env.consume_fuel {
            self.fuel_check();
        }
        if self.env.epoch_interruption {
            let cont = self.builder.create_block();
            let current = self.epoch_load_current();
            self.epoch_check_cached(current, cont);
            // The cached deadline was reached; the store's deadline may
            // have moved since it was cached (a callee ran the epoch
            // callback), so reload it and check again.
            self.epoch_check_full(current, cont);
        }
    }

    /// Before a bulk operation (`memory.fill`/`copy`/`init`/`grow`,
    /// `table.fill`/`copy`/`init`/`grow`) on `units` bytes or elements:
    /// charge `cost_per_unit` fuel per unit (Wasmtime 48's variable
    /// operator costs: 1 for each of them but `memory.grow`, which costs
    /// 0 per page) and, unless `units` is a constant whose cost is at most
    /// 128, check fuel and the epoch as at a loop header.
    pub(crate) fn metering_bulk_op(&mut self, units: Value, cost_per_unit: i64) {
        if !self.env.consume_fuel && !self.env.epoch_interruption {
            return;
        }
        let constant = self.const_int(units);
        if self.env.consume_fuel && cost_per_unit > 0 {
            match constant {
                Some(n) => {
                    self.metering.fuel_pending = self
                        .metering
                        .fuel_pending
                        .saturating_add(n.saturating_mul(cost_per_unit));
                }
                None => {
                    // A 32-bit count times a `u8` cost cannot overflow; a
                    // 64-bit one (memory64, table64) is clamped to 2^55
                    // first (an operation that long traps out of bounds).
                    let n = if self.builder.func.dfg.value_type(units) == types::I64 {
                        let cap = self.builder.ins().iconst(types::I64, 1 << 55);
                        self.builder.ins().umin(units, cap)
                    } else {
                        self.builder.ins().uextend(types::I64, units)
                    };
                    let cost = self.builder.ins().imul_imm_u(n, cost_per_unit);
                    self.fuel_increment_var();
                    let var = self.fuel_var();
                    let fuel = self.builder.use_var(var);
                    let fuel = self.builder.ins().iadd(fuel, cost);
                    self.builder.def_var(var, fuel);
                }
            }
        }
        const SMALL_BULK_OP_COST: i64 = 128;
        if constant
            .and_then(|n| n.checked_mul(cost_per_unit))
            .is_some_and(|cost| cost <= SMALL_BULK_OP_COST)
        {
            return;
        }
        self.metering_loop_header();
    }

    /// `value`'s bits if it is an `iconst`, as a non-negative `i64`
    /// (saturated).
    fn const_int(&self, value: Value) -> Option<i64> {
        let inst = self.builder.func.dfg.value_def(value).inst()?;
        match self.builder.func.dfg.insts[inst] {
            ir::InstructionData::UnaryImm {
                opcode: ir::Opcode::Iconst,
                imm,
            } => Some(i64::try_from(imm.bits().cast_unsigned()).unwrap_or(i64::MAX)),
            _ => None,
        }
    }

    /// Before an access that always traps (its static offset is past the
    /// memory's maximum size): write the fuel back, so that the store's
    /// figure counts the operators up to the trap, as at `unreachable`.
    pub(crate) fn metering_before_certain_trap(&mut self) {
        if self.env.consume_fuel && self.reachable {
            self.fuel_increment_var();
            self.fuel_save_from_var();
        }
    }

    /// Before translating reachable operator `op`.
    pub(crate) fn fuel_before_op(&mut self, op: &Operator<'_>) {
        if !self.env.consume_fuel {
            return;
        }
        self.metering.fuel_pending += fuel_cost(op);
        match op {
            // Control leaves this function (or may, in a trap that must
            // report the fuel used): write the counter back.
            Operator::Unreachable
            | Operator::Return
            | Operator::Call { .. }
            | Operator::CallIndirect { .. }
            | Operator::CallRef { .. }
            | Operator::ReturnCall { .. }
            | Operator::ReturnCallIndirect { .. }
            | Operator::ReturnCallRef { .. }
            | Operator::Throw { .. }
            | Operator::ThrowRef => {
                self.fuel_increment_var();
                self.fuel_save_from_var();
            }
            // The end of straight-line code: bring the variable up to date
            // so that every path adds exactly what it executed.
            Operator::Loop { .. }
            | Operator::TryTable { .. }
            | Operator::If { .. }
            | Operator::Else
            | Operator::End
            | Operator::Br { .. }
            | Operator::BrIf { .. }
            | Operator::BrOnNull { .. }
            | Operator::BrOnNonNull { .. }
            | Operator::BrTable { .. } => self.fuel_increment_var(),
            _ => {}
        }
    }

    /// After translating a reachable call: the callee may have consumed
    /// or set fuel.
    pub(crate) fn fuel_after_call(&mut self) {
        if self.env.consume_fuel && self.reachable {
            self.fuel_load_into_var();
        }
    }

    /// Before the function's `return` in its return block.
    pub(crate) fn metering_function_exit(&mut self) {
        if self.env.consume_fuel {
            self.fuel_increment_var();
            self.fuel_save_from_var();
        }
    }

    fn fuel_var(&self) -> Variable {
        self.metering
            .fuel_var
            .expect("fuel variable declared at function entry")
    }

    fn fuel_increment_var(&mut self) {
        let cost = core::mem::take(&mut self.metering.fuel_pending);
        if cost == 0 {
            return;
        }
        let var = self.fuel_var();
        let fuel = self.builder.use_var(var);
        let sum = self.builder.ins().iadd_imm_s(fuel, cost);
        let sum = if cost > i64::from(u32::MAX) {
            // Only a bulk operation with a constant length beyond 32 bits
            // (64-bit memories and tables, later) costs this much:
            // saturate instead of wrapping around to a negative counter,
            // which would hand the guest almost unlimited fuel.
            let overflow =
                self.builder
                    .ins()
                    .icmp_imm_s(IntCC::SignedGreaterThan, fuel, i64::MAX - cost);
            let max = self.builder.ins().iconst(types::I64, i64::MAX);
            self.builder.ins().select(overflow, max, sum)
        } else {
            sum
        };
        self.builder.def_var(var, sum);
    }

    fn fuel_load_into_var(&mut self) {
        let ctx = self.store_context();
        let fuel = self.builder.ins().load(
            types::I64,
            trusted(),
            ctx,
            vmstore_context::FUEL_CONSUMED as i32,
        );
        let var = self.fuel_var();
        self.builder.def_var(var, fuel);
    }

    fn fuel_save_from_var(&mut self) {
        let ctx = self.store_context();
        let var = self.fuel_var();
        let fuel = self.builder.use_var(var);
        self.builder
            .ins()
            .store(trusted(), fuel, ctx, vmstore_context::FUEL_CONSUMED as i32);
    }

    /// Call `out_of_gas` on a cold path if the counter is `>= 0`.
    fn fuel_check(&mut self) {
        self.fuel_increment_var();
        let out_of_gas = self.builder.create_block();
        let cont = self.builder.create_block();
        self.builder.set_cold_block(out_of_gas);
        let var = self.fuel_var();
        let fuel = self.builder.use_var(var);
        let exhausted = self
            .builder
            .ins()
            .icmp_imm_s(IntCC::SignedGreaterThanOrEqual, fuel, 0);
        self.builder
            .ins()
            .brif(exhausted, out_of_gas, &[], cont, &[]);
        self.builder.seal_block(out_of_gas);
        self.builder.switch_to_block(out_of_gas);
        self.fuel_save_from_var();
        self.status_builtin(BuiltinFunctionIndex::out_of_gas, Trap::OutOfFuel);
        self.fuel_load_into_var();
        self.builder.ins().jump(cont, &[]);
        self.builder.seal_block(cont);
        self.builder.switch_to_block(cont);
    }

    /// Call a builtin that takes only the vmctx and trap with `code` if it
    /// returns non-zero.
    fn status_builtin(&mut self, index: BuiltinFunctionIndex, code: Trap) {
        let call = self.call_builtin(index, &[self.vmctx]);
        let status = self.builder.inst_results(call)[0];
        self.builder.ins().trapnz(status, clif_trap_code(code));
    }

    fn epoch_load_current(&mut self) -> Value {
        let ptr = self
            .metering
            .epoch_ptr
            .expect("epoch pointer loaded at function entry");
        // Not `readonly`: another thread (or an interrupt handler)
        // increments it; a plain aligned load is a relaxed atomic load on
        // every supported ISA.
        self.builder.ins().load(types::I64, trusted(), ptr, 0)
    }

    /// Branch to `cont` if `current` is below the cached deadline; leave
    /// the builder in a new cold block otherwise.
    fn epoch_check_cached(&mut self, current: Value, cont: ir::Block) {
        let reached = self.builder.create_block();
        self.builder.set_cold_block(reached);
        let var = self.metering.deadline_var.expect("deadline variable");
        let deadline = self.builder.use_var(var);
        let cmp = self
            .builder
            .ins()
            .icmp(IntCC::UnsignedGreaterThanOrEqual, current, deadline);
        self.builder.ins().brif(cmp, reached, &[], cont, &[]);
        self.builder.seal_block(reached);
        self.builder.switch_to_block(reached);
    }

    /// Reload the deadline, check again, and call `new_epoch` if it is
    /// still reached; continue in `cont`.
    fn epoch_check_full(&mut self, current: Value, cont: ir::Block) {
        self.epoch_reload_deadline();
        self.epoch_check_cached(current, cont);
        self.status_builtin(BuiltinFunctionIndex::new_epoch, Trap::Interrupt);
        self.epoch_reload_deadline();
        self.builder.ins().jump(cont, &[]);
        self.builder.seal_block(cont);
        self.builder.switch_to_block(cont);
    }

    fn epoch_reload_deadline(&mut self) {
        let ctx = self.store_context();
        let deadline = self.builder.ins().load(
            types::I64,
            trusted(),
            ctx,
            vmstore_context::EPOCH_DEADLINE as i32,
        );
        let var = self.metering.deadline_var.expect("deadline variable");
        self.builder.def_var(var, deadline);
    }
}
