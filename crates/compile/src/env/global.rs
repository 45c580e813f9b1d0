//! [`global.get`](https://webassembly.github.io/spec/core/exec/instructions.html#exec-global-get)
//! and
//! [`global.set`](https://webassembly.github.io/spec/core/exec/instructions.html#exec-global-set).
//!
//! Defined globals live in the VMContext; imported ones are reached
//! through a pointer the runtime stores there at instantiation.

use super::readonly;
use crate::func_translator::FuncTranslator;
use crate::prelude::*;
use crate::{CompileError, abi};
use cranelift_codegen::ir::{InstBuilder, MemFlagsData, Value};
use keel_translate::{GlobalIndex, WasmValType};

impl FuncTranslator<'_, '_> {
    fn global_address(
        &mut self,
        index: u32,
    ) -> Result<(Value, i32, MemFlagsData, WasmValType), CompileError> {
        let module = self.env.module;
        let index = GlobalIndex::from_u32(index);
        let global = module.globals.get(index).ok_or_else(|| {
            CompileError::Bug(format!("global index {} out of range", index.as_u32()))
        })?;
        let ty = global.ty.content;
        // An immutable global's value is written once, at instantiation.
        let flags = if global.ty.mutable {
            MemFlagsData::trusted()
        } else {
            readonly()
        };
        Ok(match module.defined_global_index(index) {
            Some(def) => (
                self.vmctx,
                self.env.offsets.defined_global(def) as i32,
                flags,
                ty,
            ),
            None => {
                let off = self.env.offsets.imported_global(index);
                (self.load_ptr(readonly(), self.vmctx, off), 0, flags, ty)
            }
        })
    }

    pub(crate) fn global_get(&mut self, index: u32) -> Result<Value, CompileError> {
        let (base, offset, flags, ty) = self.global_address(index)?;
        let clif_ty = abi::value_type(self.env.isa, ty);
        let value = self.builder.ins().load(clif_ty, flags, base, offset);
        self.declare_refs(&[value], &[ty]);
        Ok(value)
    }

    pub(crate) fn global_set(&mut self, index: u32, value: Value) -> Result<(), CompileError> {
        let (base, offset, _, _) = self.global_address(index)?;
        self.builder
            .ins()
            .store(MemFlagsData::trusted(), value, base, offset);
        Ok(())
    }
}
