//! Linear memory access: address computation and bounds checks.
//!
//! **This file is what keeps guest loads and stores inside their linear
//! memory.** Two strategies, chosen per access by
//! [`MemoryTunables::elide_bounds_check`](crate::MemoryTunables::elide_bounds_check):
//!
//! * **Guard pages**: when the memory's reservation is at least 4 GiB and
//!   the static offset plus access size fits in the guard region after it,
//!   every address a 32-bit index can form lies inside reserved address
//!   space, and everything past the memory's current length is
//!   inaccessible. The access is emitted without a check, with the
//!   `MemoryOutOfBounds` trap code on the load or store itself, so a fault
//!   there is a trap site in the trap table.
//! * **Explicit**: compute `index + offset + access_size` in 64 bits (no
//!   overflow: each term is below 2^33) and trap with `MemoryOutOfBounds`
//!   when it exceeds the current length (spec,
//!   [`load`](https://webassembly.github.io/spec/core/exec/instructions.html#exec-load):
//!   "if ea + N/8 is larger than the length of mem.data, then trap"). With the heap
//!   Spectre mitigation (`CompilerOptions::heap_access_spectre_mitigation`,
//!   on by default) the address is also replaced by null through
//!   `select_spectre_guard` (a `cmov`) when the check fails, so a
//!   mispredicted branch cannot load outside the memory.
//!
//! A memory's base never moves (the runtime reserves the maximum up
//! front) unless it is movable (explicit checks and no declared maximum),
//! so its load is read-only and can be hoisted, except for movable
//! memories; the length is reloaded because `memory.grow` changes it.

use super::readonly;
use crate::func_translator::FuncTranslator;
use crate::prelude::*;
use crate::{CompileError, clif_trap_code};
use cranelift_codegen::ir::{InstBuilder, MemFlagsData, Value, condcodes::IntCC, types};
use keel_translate::{BuiltinFunctionIndex, MemoryIndex, Trap, vmmemory_definition};
use wasmparser::MemArg;

impl FuncTranslator<'_, '_> {
    /// Flags for a guest memory access: `notrap` after an explicit check,
    /// or trapping with `MemoryOutOfBounds` when a guard page checks it.
    fn access_flags(checked: bool) -> MemFlagsData {
        let flags = MemFlagsData::new().with_endianness(cranelift_codegen::ir::Endianness::Little);
        if checked {
            flags.with_notrap()
        } else {
            flags.with_trap_code(Some(clif_trap_code(Trap::MemoryOutOfBounds)))
        }
    }

    /// The pointer to memory `index`'s `VMMemoryDefinition` and the offset
    /// of the definition from it.
    fn memory_definition(&mut self, index: MemoryIndex) -> Result<(Value, u32), CompileError> {
        let module = self.env.module;
        if index.as_u32() as usize >= module.memories.len() {
            return Err(CompileError::Bug(format!(
                "memory index {} out of range",
                index.as_u32()
            )));
        }
        Ok(match module.defined_memory_index(index) {
            // A shared memory's slot holds a pointer to its definition,
            // which lives with the memory (other stores share it).
            Some(def) if module.memories[index].shared => {
                let off = self.env.offsets.defined_memory(def);
                (self.load_ptr(readonly(), self.vmctx, off), 0)
            }
            Some(def) => (self.vmctx, self.env.offsets.defined_memory(def)),
            None => {
                let off = self.env.offsets.imported_memory(index);
                (self.load_ptr(readonly(), self.vmctx, off), 0)
            }
        })
    }

    /// Flags for loading memory `index`'s base: read-only (hoistable)
    /// unless the memory may move when it grows
    /// ([`MemoryTunables::memory_may_move`](crate::MemoryTunables::memory_may_move)),
    /// in which case it is reloaded after every call.
    fn memory_base_flags(&self, index: MemoryIndex) -> MemFlagsData {
        if self
            .env
            .tunables
            .memory_may_move(&self.env.module.memories[index])
        {
            MemFlagsData::trusted()
        } else {
            readonly()
        }
    }

    fn memory_base_and_length(
        &mut self,
        index: MemoryIndex,
    ) -> Result<(Value, Value), CompileError> {
        let (def, off) = self.memory_definition(index)?;
        let base_flags = self.memory_base_flags(index);
        let base = self.load_ptr(base_flags, def, off + vmmemory_definition::BASE);
        let length = self.load_ptr(
            MemFlagsData::trusted(),
            def,
            off + vmmemory_definition::CURRENT_LENGTH,
        );
        Ok((base, length))
    }

    /// The host address of a `size`-byte access at `index` + `memarg.offset`
    /// and the flags to access it with: either after an explicit bounds
    /// check, or relying on guard pages (see the module docs).
    pub(crate) fn memory_address(
        &mut self,
        memarg: &MemArg,
        index: Value,
        size: u32,
    ) -> Result<(Value, MemFlagsData), CompileError> {
        let memory = self.memarg_memory(memarg)?;
        let ty = self.env.module.memories[memory];
        let max_bytes = ty.pages_to_bytes(ty.max_pages());
        if memarg.offset.saturating_add(u64::from(size)) > max_bytes {
            // Out of bounds whatever the index: the access below traps.
            self.metering_before_certain_trap();
        }
        let index = if ty.memory64 {
            index
        } else {
            self.builder.ins().uextend(types::I64, index)
        };
        if self
            .env
            .tunables
            .elide_bounds_check(&ty, memarg.offset, u64::from(size))
        {
            let (def, off) = self.memory_definition(memory)?;
            let base = self.load_ptr(readonly(), def, off + vmmemory_definition::BASE);
            let addr = self.builder.ins().iadd(base, index);
            let addr = if memarg.offset == 0 {
                addr
            } else {
                self.builder.ins().iadd_imm_s(addr, memarg.offset as i64)
            };
            return Ok((addr, Self::access_flags(false)));
        }
        let (base, length) = self.memory_base_and_length(memory)?;
        // `index + offset + size`: for a 32-bit index each term is below
        // 2^33 and the sum cannot overflow; a 64-bit index traps when the
        // sum overflows (it is then past any memory).
        let end = match memarg.offset.checked_add(u64::from(size)) {
            Some(end_offset) if !ty.memory64 => {
                self.builder.ins().iadd_imm_s(index, end_offset as i64)
            }
            Some(end_offset) => {
                let end_offset = self.builder.ins().iconst(types::I64, end_offset as i64);
                self.builder.ins().uadd_overflow_trap(
                    index,
                    end_offset,
                    clif_trap_code(Trap::MemoryOutOfBounds),
                )
            }
            None => {
                // Past the end of any address space: always traps.
                let zero = self.builder.ins().iconst(types::I64, 0);
                self.builder
                    .ins()
                    .trapz(zero, clif_trap_code(Trap::MemoryOutOfBounds));
                zero
            }
        };
        let oob = self
            .builder
            .ins()
            .icmp(IntCC::UnsignedGreaterThan, end, length);
        self.builder
            .ins()
            .trapnz(oob, clif_trap_code(Trap::MemoryOutOfBounds));
        let addr = self.builder.ins().iadd(base, index);
        let addr = if memarg.offset == 0 {
            addr
        } else {
            self.builder.ins().iadd_imm_s(addr, memarg.offset as i64)
        };
        let addr = if self.env.heap_spectre {
            // A mispredicted `trapnz` must not load out of bounds: the
            // address becomes null (a conditional move, never predicted)
            // whenever the check fails.
            let zero = self.builder.ins().iconst(self.env.isa.pointer_type(), 0);
            self.builder.ins().select_spectre_guard(oob, zero, addr)
        } else {
            addr
        };
        Ok((addr, Self::access_flags(true)))
    }

    /// The host address of a `size`-byte store, as
    /// [`memory_address`](Self::memory_address), on targets where a store
    /// that faults may already have written part of its bytes (riscv64:
    /// vector stores write element by element, and a misaligned scalar
    /// store may be split by the trap handler that emulates it): a store
    /// of more than one byte that relies on guard pages first loads its
    /// last byte, so a store straddling the end of memory traps before it
    /// writes anything (spec,
    /// [`store`](https://webassembly.github.io/spec/core/exec/instructions.html#exec-store):
    /// an out-of-bounds store traps, leaving memory as it was). On x86_64
    /// a faulting store writes nothing, and no probe is emitted.
    pub(crate) fn store_address(
        &mut self,
        memarg: &MemArg,
        index: Value,
        size: u32,
    ) -> Result<(Value, MemFlagsData), CompileError> {
        let (addr, flags) = self.memory_address(memarg, index, size)?;
        let tearing = matches!(
            self.env.isa.triple().architecture,
            target_lexicon::Architecture::Riscv64(_)
        );
        if tearing && size > 1 && flags.trap_code().is_some() {
            // A trapping load is never removed, though its value is unused.
            self.builder
                .ins()
                .load(types::I8, flags, addr, (size - 1) as i32);
        }
        Ok((addr, flags))
    }

    fn memarg_memory(&self, memarg: &MemArg) -> Result<MemoryIndex, CompileError> {
        match memarg.target {
            wasmparser::MemArgTarget::Memory(m) => Ok(MemoryIndex::from_u32(m)),
            wasmparser::MemArgTarget::Array(_) => {
                Err(CompileError::unsupported("GC array memory operands".into()))
            }
        }
    }

    /// `memory.size`: the current size in pages, as an `i64` for a 64-bit
    /// memory and an `i32` otherwise.
    pub(crate) fn memory_size(&mut self, mem: u32) -> Result<Value, CompileError> {
        let index = MemoryIndex::from_u32(mem);
        let (def, off) = self.memory_definition(index)?;
        let ty = self.env.module.memories[index];
        let length = self.load_ptr(
            MemFlagsData::trusted(),
            def,
            off + vmmemory_definition::CURRENT_LENGTH,
        );
        let pages = self
            .builder
            .ins()
            .ushr_imm_s(length, i64::from(ty.page_size_log2));
        Ok(self.narrow_to(pages, if ty.memory64 { 64 } else { 32 }))
    }

    /// `memory.grow`: through the `memory_grow` builtin.
    pub(crate) fn memory_grow(&mut self, mem: u32, delta: Value) -> Result<Value, CompileError> {
        let index = MemoryIndex::from_u32(mem);
        self.memory_definition(index)?;
        let bits = if self.env.module.memories[index].memory64 {
            64
        } else {
            32
        };
        let memory = self.i32_const(mem);
        let delta = self.extend_to_i64(delta);
        Ok(self.grow_builtin(
            BuiltinFunctionIndex::memory_grow,
            &[memory, delta],
            Trap::MemoryOutOfBounds,
            bits,
        ))
    }
}
