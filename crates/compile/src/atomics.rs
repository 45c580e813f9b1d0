//! The [threads](https://github.com/WebAssembly/threads) proposal's
//! operators: atomic loads, stores, read-modify-writes and
//! compare-exchanges, `memory.atomic.wait32`/`wait64`,
//! `memory.atomic.notify` and `atomic.fence`.
//!
//! Every atomic access first checks that its effective address (index
//! plus static offset) is a multiple of its size, trapping with
//! `HeapMisaligned` ("unaligned atomic"), then checks its bounds like any
//! access ([`crate::env`]'s `memory_address`: guard pages or an explicit
//! check). The accesses are Cranelift's sequentially consistent atomics.
//! Waits and notifies call builtins that reach the platform's parking lot
//! ([`Platform::atomic_wait`](keel_trap::Platform)); a wait on an unshared
//! memory traps, a notify on one wakes nobody.

use crate::CompileError;
use crate::clif_trap_code;
use crate::func_translator::FuncTranslator;
use cranelift_codegen::ir::{AtomicRmwOp, InstBuilder, Value, condcodes::IntCC, types};
use keel_translate::{BuiltinFunctionIndex, MemoryIndex, Trap};
use wasmparser::{MemArg, Operator};

use types::{I8, I16, I32, I64};

impl FuncTranslator<'_, '_> {
    /// Trap with `HeapMisaligned` unless `index + memarg.offset` is a
    /// multiple of `size` (a power of two).
    fn check_atomic_alignment(&mut self, memarg: &MemArg, index: Value, size: u32) {
        if size == 1 {
            return;
        }
        let index = self.extend_to_i64(index);
        let ea = if memarg.offset == 0 {
            index
        } else {
            self.builder.ins().iadd_imm_s(index, memarg.offset as i64)
        };
        let misaligned = self.builder.ins().band_imm_s(ea, i64::from(size - 1));
        self.builder
            .ins()
            .trapnz(misaligned, clif_trap_code(Trap::HeapMisaligned));
    }

    /// The host address of an atomic access of `size` bytes, after the
    /// alignment and bounds checks, and its flags.
    fn atomic_address(
        &mut self,
        memarg: &MemArg,
        index: Value,
        size: u32,
    ) -> Result<(Value, cranelift_codegen::ir::MemFlagsData), CompileError> {
        self.check_atomic_alignment(memarg, index, size);
        self.memory_address(memarg, index, size)
    }

    /// Translate `op` if it is a threads operator; `Ok(false)` otherwise.
    pub(crate) fn translate_atomic(&mut self, op: &Operator<'_>) -> Result<bool, CompileError> {
        use Operator as O;
        // (access type, result/operand type) of each load, store and RMW.
        let (narrow, wide) = match op {
            O::I32AtomicLoad { .. }
            | O::I32AtomicStore { .. }
            | O::I32AtomicRmwAdd { .. }
            | O::I32AtomicRmwSub { .. }
            | O::I32AtomicRmwAnd { .. }
            | O::I32AtomicRmwOr { .. }
            | O::I32AtomicRmwXor { .. }
            | O::I32AtomicRmwXchg { .. }
            | O::I32AtomicRmwCmpxchg { .. } => (I32, I32),
            O::I32AtomicLoad8U { .. }
            | O::I32AtomicStore8 { .. }
            | O::I32AtomicRmw8AddU { .. }
            | O::I32AtomicRmw8SubU { .. }
            | O::I32AtomicRmw8AndU { .. }
            | O::I32AtomicRmw8OrU { .. }
            | O::I32AtomicRmw8XorU { .. }
            | O::I32AtomicRmw8XchgU { .. }
            | O::I32AtomicRmw8CmpxchgU { .. } => (I8, I32),
            O::I32AtomicLoad16U { .. }
            | O::I32AtomicStore16 { .. }
            | O::I32AtomicRmw16AddU { .. }
            | O::I32AtomicRmw16SubU { .. }
            | O::I32AtomicRmw16AndU { .. }
            | O::I32AtomicRmw16OrU { .. }
            | O::I32AtomicRmw16XorU { .. }
            | O::I32AtomicRmw16XchgU { .. }
            | O::I32AtomicRmw16CmpxchgU { .. } => (I16, I32),
            O::I64AtomicLoad { .. }
            | O::I64AtomicStore { .. }
            | O::I64AtomicRmwAdd { .. }
            | O::I64AtomicRmwSub { .. }
            | O::I64AtomicRmwAnd { .. }
            | O::I64AtomicRmwOr { .. }
            | O::I64AtomicRmwXor { .. }
            | O::I64AtomicRmwXchg { .. }
            | O::I64AtomicRmwCmpxchg { .. } => (I64, I64),
            O::I64AtomicLoad8U { .. }
            | O::I64AtomicStore8 { .. }
            | O::I64AtomicRmw8AddU { .. }
            | O::I64AtomicRmw8SubU { .. }
            | O::I64AtomicRmw8AndU { .. }
            | O::I64AtomicRmw8OrU { .. }
            | O::I64AtomicRmw8XorU { .. }
            | O::I64AtomicRmw8XchgU { .. }
            | O::I64AtomicRmw8CmpxchgU { .. } => (I8, I64),
            O::I64AtomicLoad16U { .. }
            | O::I64AtomicStore16 { .. }
            | O::I64AtomicRmw16AddU { .. }
            | O::I64AtomicRmw16SubU { .. }
            | O::I64AtomicRmw16AndU { .. }
            | O::I64AtomicRmw16OrU { .. }
            | O::I64AtomicRmw16XorU { .. }
            | O::I64AtomicRmw16XchgU { .. }
            | O::I64AtomicRmw16CmpxchgU { .. } => (I16, I64),
            O::I64AtomicLoad32U { .. }
            | O::I64AtomicStore32 { .. }
            | O::I64AtomicRmw32AddU { .. }
            | O::I64AtomicRmw32SubU { .. }
            | O::I64AtomicRmw32AndU { .. }
            | O::I64AtomicRmw32OrU { .. }
            | O::I64AtomicRmw32XorU { .. }
            | O::I64AtomicRmw32XchgU { .. }
            | O::I64AtomicRmw32CmpxchgU { .. } => (I32, I64),
            O::AtomicFence { .. } => {
                self.builder.ins().fence();
                return Ok(true);
            }
            O::MemoryAtomicNotify { memarg } => {
                self.atomic_notify(memarg)?;
                return Ok(true);
            }
            O::MemoryAtomicWait32 { memarg } => {
                self.atomic_wait(memarg, 4)?;
                return Ok(true);
            }
            O::MemoryAtomicWait64 { memarg } => {
                self.atomic_wait(memarg, 8)?;
                return Ok(true);
            }
            _ => return Ok(false),
        };
        let size = narrow.bytes();
        let memarg = match op {
            O::I32AtomicLoad { memarg }
            | O::I64AtomicLoad { memarg }
            | O::I32AtomicLoad8U { memarg }
            | O::I32AtomicLoad16U { memarg }
            | O::I64AtomicLoad8U { memarg }
            | O::I64AtomicLoad16U { memarg }
            | O::I64AtomicLoad32U { memarg } => {
                let index = self.pop_value()?;
                let (addr, flags) = self.atomic_address(memarg, index, size)?;
                let v = self.builder.ins().atomic_load(narrow, flags, addr);
                let v = self.widen(v, narrow, wide);
                self.push_value(v);
                return Ok(true);
            }
            O::I32AtomicStore { memarg }
            | O::I64AtomicStore { memarg }
            | O::I32AtomicStore8 { memarg }
            | O::I32AtomicStore16 { memarg }
            | O::I64AtomicStore8 { memarg }
            | O::I64AtomicStore16 { memarg }
            | O::I64AtomicStore32 { memarg } => {
                let value = self.pop_value()?;
                let index = self.pop_value()?;
                let (addr, flags) = self.atomic_address(memarg, index, size)?;
                let value = self.narrow(value, narrow, wide);
                self.builder.ins().atomic_store(flags, value, addr);
                return Ok(true);
            }
            O::I32AtomicRmwCmpxchg { memarg }
            | O::I64AtomicRmwCmpxchg { memarg }
            | O::I32AtomicRmw8CmpxchgU { memarg }
            | O::I32AtomicRmw16CmpxchgU { memarg }
            | O::I64AtomicRmw8CmpxchgU { memarg }
            | O::I64AtomicRmw16CmpxchgU { memarg }
            | O::I64AtomicRmw32CmpxchgU { memarg } => {
                let replacement = self.pop_value()?;
                let expected = self.pop_value()?;
                let index = self.pop_value()?;
                let (addr, flags) = self.atomic_address(memarg, index, size)?;
                // The expected value is compared wrapped to the access
                // width, as the proposal says.
                let expected = self.narrow(expected, narrow, wide);
                let replacement = self.narrow(replacement, narrow, wide);
                let old = self
                    .builder
                    .ins()
                    .atomic_cas(flags, addr, expected, replacement);
                let old = self.widen(old, narrow, wide);
                self.push_value(old);
                return Ok(true);
            }
            O::I32AtomicRmwAdd { memarg }
            | O::I64AtomicRmwAdd { memarg }
            | O::I32AtomicRmw8AddU { memarg }
            | O::I32AtomicRmw16AddU { memarg }
            | O::I64AtomicRmw8AddU { memarg }
            | O::I64AtomicRmw16AddU { memarg }
            | O::I64AtomicRmw32AddU { memarg }
            | O::I32AtomicRmwSub { memarg }
            | O::I64AtomicRmwSub { memarg }
            | O::I32AtomicRmw8SubU { memarg }
            | O::I32AtomicRmw16SubU { memarg }
            | O::I64AtomicRmw8SubU { memarg }
            | O::I64AtomicRmw16SubU { memarg }
            | O::I64AtomicRmw32SubU { memarg }
            | O::I32AtomicRmwAnd { memarg }
            | O::I64AtomicRmwAnd { memarg }
            | O::I32AtomicRmw8AndU { memarg }
            | O::I32AtomicRmw16AndU { memarg }
            | O::I64AtomicRmw8AndU { memarg }
            | O::I64AtomicRmw16AndU { memarg }
            | O::I64AtomicRmw32AndU { memarg }
            | O::I32AtomicRmwOr { memarg }
            | O::I64AtomicRmwOr { memarg }
            | O::I32AtomicRmw8OrU { memarg }
            | O::I32AtomicRmw16OrU { memarg }
            | O::I64AtomicRmw8OrU { memarg }
            | O::I64AtomicRmw16OrU { memarg }
            | O::I64AtomicRmw32OrU { memarg }
            | O::I32AtomicRmwXor { memarg }
            | O::I64AtomicRmwXor { memarg }
            | O::I32AtomicRmw8XorU { memarg }
            | O::I32AtomicRmw16XorU { memarg }
            | O::I64AtomicRmw8XorU { memarg }
            | O::I64AtomicRmw16XorU { memarg }
            | O::I64AtomicRmw32XorU { memarg }
            | O::I32AtomicRmwXchg { memarg }
            | O::I64AtomicRmwXchg { memarg }
            | O::I32AtomicRmw8XchgU { memarg }
            | O::I32AtomicRmw16XchgU { memarg }
            | O::I64AtomicRmw8XchgU { memarg }
            | O::I64AtomicRmw16XchgU { memarg }
            | O::I64AtomicRmw32XchgU { memarg } => memarg,
            _ => return Ok(false),
        };
        let rmw = match op {
            O::I32AtomicRmwAdd { .. }
            | O::I64AtomicRmwAdd { .. }
            | O::I32AtomicRmw8AddU { .. }
            | O::I32AtomicRmw16AddU { .. }
            | O::I64AtomicRmw8AddU { .. }
            | O::I64AtomicRmw16AddU { .. }
            | O::I64AtomicRmw32AddU { .. } => AtomicRmwOp::Add,
            O::I32AtomicRmwSub { .. }
            | O::I64AtomicRmwSub { .. }
            | O::I32AtomicRmw8SubU { .. }
            | O::I32AtomicRmw16SubU { .. }
            | O::I64AtomicRmw8SubU { .. }
            | O::I64AtomicRmw16SubU { .. }
            | O::I64AtomicRmw32SubU { .. } => AtomicRmwOp::Sub,
            O::I32AtomicRmwAnd { .. }
            | O::I64AtomicRmwAnd { .. }
            | O::I32AtomicRmw8AndU { .. }
            | O::I32AtomicRmw16AndU { .. }
            | O::I64AtomicRmw8AndU { .. }
            | O::I64AtomicRmw16AndU { .. }
            | O::I64AtomicRmw32AndU { .. } => AtomicRmwOp::And,
            O::I32AtomicRmwOr { .. }
            | O::I64AtomicRmwOr { .. }
            | O::I32AtomicRmw8OrU { .. }
            | O::I32AtomicRmw16OrU { .. }
            | O::I64AtomicRmw8OrU { .. }
            | O::I64AtomicRmw16OrU { .. }
            | O::I64AtomicRmw32OrU { .. } => AtomicRmwOp::Or,
            O::I32AtomicRmwXor { .. }
            | O::I64AtomicRmwXor { .. }
            | O::I32AtomicRmw8XorU { .. }
            | O::I32AtomicRmw16XorU { .. }
            | O::I64AtomicRmw8XorU { .. }
            | O::I64AtomicRmw16XorU { .. }
            | O::I64AtomicRmw32XorU { .. } => AtomicRmwOp::Xor,
            _ => AtomicRmwOp::Xchg,
        };
        let value = self.pop_value()?;
        let index = self.pop_value()?;
        let (addr, flags) = self.atomic_address(memarg, index, size)?;
        let value = self.narrow(value, narrow, wide);
        let old = self
            .builder
            .ins()
            .atomic_rmw(narrow, flags, rmw, addr, value);
        let old = self.widen(old, narrow, wide);
        self.push_value(old);
        Ok(true)
    }

    /// `v` (of type `wide`) wrapped to `narrow`.
    fn narrow(&mut self, v: Value, narrow: types::Type, wide: types::Type) -> Value {
        if narrow == wide {
            v
        } else {
            self.builder.ins().ireduce(narrow, v)
        }
    }

    /// `v` (of type `narrow`) zero-extended to `wide`.
    fn widen(&mut self, v: Value, narrow: types::Type, wide: types::Type) -> Value {
        if narrow == wide {
            v
        } else {
            self.builder.ins().uextend(wide, v)
        }
    }

    fn memarg_is_shared(&self, memarg: &MemArg) -> bool {
        match memarg.target {
            wasmparser::MemArgTarget::Memory(m) => self
                .env
                .module
                .memories
                .get(MemoryIndex::from_u32(m))
                .is_some_and(|ty| ty.shared),
            wasmparser::MemArgTarget::Array(_) => false,
        }
    }

    /// `memory.atomic.notify`: wake up to `count` waiters at the address;
    /// pushes how many woke (0 for an unshared memory, which nobody can
    /// wait on).
    fn atomic_notify(&mut self, memarg: &MemArg) -> Result<(), CompileError> {
        let count = self.pop_value()?;
        let index = self.pop_value()?;
        let (addr, _) = self.atomic_address(memarg, index, 4)?;
        let woken = if self.memarg_is_shared(memarg) {
            self.builtin_value(BuiltinFunctionIndex::memory_atomic_notify, &[addr, count])
        } else {
            self.builder.ins().iconst(I32, 0)
        };
        self.push_value(woken);
        Ok(())
    }

    /// `memory.atomic.wait32`/`wait64` (`size` 4 or 8): block while the
    /// value at the address is the expected one, for at most the timeout
    /// (in nanoseconds; negative: no timeout); pushes 0 (woken), 1 (not
    /// equal) or 2 (timed out). Traps on an unshared memory, and when the
    /// platform cannot block.
    fn atomic_wait(&mut self, memarg: &MemArg, size: u32) -> Result<(), CompileError> {
        let timeout = self.pop_value()?;
        let expected = self.pop_value()?;
        let index = self.pop_value()?;
        let (addr, _) = self.atomic_address(memarg, index, size)?;
        if !self.memarg_is_shared(memarg) {
            // What follows is unreachable (its stack is dropped at the
            // end of the enclosing block).
            self.trap(Trap::AtomicWaitNonSharedMemory);
            return Ok(());
        }
        let expected = self.extend_to_i64(expected);
        let size = self.builder.ins().iconst(I32, i64::from(size));
        let result = self.builtin_value(
            BuiltinFunctionIndex::memory_atomic_wait,
            &[addr, expected, size, timeout],
        );
        // 3: the platform cannot block; 4: the store's epoch deadline
        // ended the wait (its callback said so, or there is none).
        let unsupported = self.builder.ins().icmp_imm_u(IntCC::Equal, result, 3);
        self.builder
            .ins()
            .trapnz(unsupported, clif_trap_code(Trap::AtomicWaitUnsupported));
        let interrupted = self
            .builder
            .ins()
            .icmp_imm_u(IntCC::UnsignedGreaterThan, result, 3);
        self.builder
            .ins()
            .trapnz(interrupted, clif_trap_code(Trap::Interrupt));
        self.push_value(result);
        Ok(())
    }
}
