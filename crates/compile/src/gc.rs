//! GC operators (spec:
//! [Aggregate Reference Instructions](https://webassembly.github.io/spec/core/exec/instructions.html#aggregate-reference-instructions),
//! [Scalar Reference Instructions](https://webassembly.github.io/spec/core/exec/instructions.html#scalar-reference-instructions)
//! and the casts of
//! [Reference Instructions](https://webassembly.github.io/spec/core/exec/instructions.html#reference-instructions)).
//!
//! References are one pointer-sized word ([`keel_translate::gc_layout`]):
//! 0 is null, an odd word an `i31`, anything else an object whose
//! header holds its engine type id and kind flags. Fields are read and
//! written at offsets fixed at compile time, after an explicit null check
//! (and for arrays a bounds check against the length in the header).
//! Allocation calls the `gc_alloc` builtin through the unwind stub, so
//! that a collection it starts can walk this frame's stack map; the bulk
//! array operators call builtins.

use crate::func_translator::FuncTranslator;
use crate::prelude::*;
use crate::{CompileError, abi, clif_trap_code};
use alloc::boxed::Box;
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{
    self, BlockArg, InstBuilder, MemFlagsData, StackSlotData, StackSlotKind, Value, types,
};
use keel_translate::gc_layout::{GcStructLayout, vmgc_array, vmgc_header};
use keel_translate::{
    BuiltinFunctionIndex, TypeIndex, TypeRef, VMOffsets, WasmCompositeType, WasmFieldType,
    WasmHeapType, WasmRefType, WasmStorageType, WasmValType, vmfuncref,
};
use wasmparser::Operator;

/// Memory flags for object fields: the object is live and the access in
/// bounds (checked before), so it cannot trap.
fn field_flags() -> MemFlagsData {
    MemFlagsData::trusted()
}

impl FuncTranslator<'_, '_> {
    /// Translate `op` if it is a GC operator; `Ok(false)` if it is not.
    pub(crate) fn translate_gc(&mut self, op: &Operator<'_>) -> Result<bool, CompileError> {
        if !matches!(
            op,
            Operator::StructNew { .. }
                | Operator::StructNewDefault { .. }
                | Operator::StructGet { .. }
                | Operator::StructGetS { .. }
                | Operator::StructGetU { .. }
                | Operator::StructSet { .. }
                | Operator::ArrayNew { .. }
                | Operator::ArrayNewDefault { .. }
                | Operator::ArrayNewFixed { .. }
                | Operator::ArrayNewData { .. }
                | Operator::ArrayNewElem { .. }
                | Operator::ArrayGet { .. }
                | Operator::ArrayGetS { .. }
                | Operator::ArrayGetU { .. }
                | Operator::ArraySet { .. }
                | Operator::ArrayLen
                | Operator::ArrayFill { .. }
                | Operator::ArrayCopy { .. }
                | Operator::ArrayInitData { .. }
                | Operator::ArrayInitElem { .. }
                | Operator::RefI31
                | Operator::I31GetS
                | Operator::I31GetU
                | Operator::RefEq
                | Operator::RefTestNonNull { .. }
                | Operator::RefTestNullable { .. }
                | Operator::RefCastNonNull { .. }
                | Operator::RefCastNullable { .. }
                | Operator::BrOnCast { .. }
                | Operator::BrOnCastFail { .. }
                | Operator::AnyConvertExtern
                | Operator::ExternConvertAny
        ) {
            return Ok(false);
        }
        if !self.env.gc {
            return Err(CompileError::unsupported(format!(
                "operator {op:?}: the GC proposal is off (`Config::wasm_gc`)"
            )));
        }
        match *op {
            Operator::StructNew { struct_type_index } => {
                let fields = self.struct_fields(struct_type_index)?;
                let layout = GcStructLayout::new(&fields);
                let values = self.popn(fields.len())?;
                let zero = self.builder.ins().iconst(types::I32, 0);
                let obj = self.gc_alloc(struct_type_index, zero)?;
                for ((field, offset), value) in fields.iter().zip(layout.offsets.iter()).zip(values)
                {
                    self.store_field(field.element, value, obj, *offset as i32);
                }
                self.push_value(obj);
            }
            Operator::StructNewDefault { struct_type_index } => {
                self.struct_fields(struct_type_index)?;
                let zero = self.builder.ins().iconst(types::I32, 0);
                let obj = self.gc_alloc(struct_type_index, zero)?;
                self.push_value(obj);
            }
            Operator::StructGet {
                struct_type_index,
                field_index,
            }
            | Operator::StructGetS {
                struct_type_index,
                field_index,
            }
            | Operator::StructGetU {
                struct_type_index,
                field_index,
            } => {
                let signed = matches!(op, Operator::StructGetS { .. });
                let (field, offset) = self.struct_field(struct_type_index, field_index)?;
                let obj = self.pop_value()?;
                self.null_check(obj);
                let v = self.load_field(field.element, signed, obj, offset);
                self.push_value(v);
            }
            Operator::StructSet {
                struct_type_index,
                field_index,
            } => {
                let (field, offset) = self.struct_field(struct_type_index, field_index)?;
                let value = self.pop_value()?;
                let obj = self.pop_value()?;
                self.null_check(obj);
                self.store_field(field.element, value, obj, offset);
            }
            Operator::ArrayNew { array_type_index } => {
                let field = self.array_field(array_type_index)?;
                let len = self.pop_value()?;
                let value = self.pop_value()?;
                let obj = self.gc_alloc(array_type_index, len)?;
                let zero = self.builder.ins().iconst(types::I32, 0);
                self.array_fill(obj, zero, value, len, field.element)?;
                self.push_value(obj);
            }
            Operator::ArrayNewDefault { array_type_index } => {
                self.array_field(array_type_index)?;
                let len = self.pop_value()?;
                let obj = self.gc_alloc(array_type_index, len)?;
                self.push_value(obj);
            }
            Operator::ArrayNewFixed {
                array_type_index,
                array_size,
            } => {
                let field = self.array_field(array_type_index)?;
                let values = self.popn(array_size as usize)?;
                let len = self.builder.ins().iconst(types::I32, i64::from(array_size));
                let obj = self.gc_alloc(array_type_index, len)?;
                let size = field.element.byte_size();
                for (i, value) in values.into_iter().enumerate() {
                    let offset = u64::from(vmgc_array::ELEMS) + i as u64 * u64::from(size);
                    let offset = i32::try_from(offset)
                        .map_err(|_| CompileError::Bug("array.new_fixed too large".into()))?;
                    self.store_field(field.element, value, obj, offset);
                }
                self.push_value(obj);
            }
            Operator::ArrayNewData {
                array_type_index,
                array_data_index: segment,
            }
            | Operator::ArrayNewElem {
                array_type_index,
                array_elem_index: segment,
            } => {
                self.array_field(array_type_index)?;
                let len = self.pop_value()?;
                let offset = self.pop_value()?;
                let indices = (u64::from(segment) << 32) | u64::from(array_type_index);
                let indices = self.builder.ins().iconst(types::I64, indices as i64);
                let len = self.builder.ins().uextend(types::I64, len);
                let len = self.builder.ins().ishl_imm_u(len, 32);
                let offset = self.builder.ins().uextend(types::I64, offset);
                let range = self.builder.ins().bor(len, offset);
                let r = self.call_collecting_builtin(
                    BuiltinFunctionIndex::array_new_segment,
                    indices,
                    range,
                )?;
                // 0: the segment range is out of bounds; 1: no room.
                let oob = if matches!(op, Operator::ArrayNewData { .. }) {
                    keel_translate::Trap::MemoryOutOfBounds
                } else {
                    keel_translate::Trap::TableOutOfBounds
                };
                self.builder.ins().trapz(r, clif_trap_code(oob));
                let full = self.builder.ins().icmp_imm_u(IntCC::Equal, r, 1);
                self.builder.ins().trapnz(
                    full,
                    clif_trap_code(keel_translate::Trap::AllocationTooLarge),
                );
                self.builder.declare_value_needs_stack_map(r);
                self.push_value(r);
            }
            Operator::ArrayGet { array_type_index }
            | Operator::ArrayGetS { array_type_index }
            | Operator::ArrayGetU { array_type_index } => {
                let signed = matches!(op, Operator::ArrayGetS { .. });
                let field = self.array_field(array_type_index)?;
                let index = self.pop_value()?;
                let obj = self.pop_value()?;
                let addr = self.array_elem_addr(obj, index, field.element);
                let v = self.load_field(field.element, signed, addr, 0);
                self.push_value(v);
            }
            Operator::ArraySet { array_type_index } => {
                let field = self.array_field(array_type_index)?;
                let value = self.pop_value()?;
                let index = self.pop_value()?;
                let obj = self.pop_value()?;
                let addr = self.array_elem_addr(obj, index, field.element);
                self.store_field(field.element, value, addr, 0);
            }
            Operator::ArrayLen => {
                let obj = self.pop_value()?;
                self.null_check(obj);
                let len =
                    self.builder
                        .ins()
                        .load(types::I32, field_flags(), obj, vmgc_array::LEN as i32);
                self.push_value(len);
            }
            Operator::ArrayFill { array_type_index } => {
                let field = self.array_field(array_type_index)?;
                let len = self.pop_value()?;
                let value = self.pop_value()?;
                let index = self.pop_value()?;
                let obj = self.pop_value()?;
                self.null_check(obj);
                self.array_fill(obj, index, value, len, field.element)?;
            }
            Operator::ArrayCopy {
                array_type_index_dst,
                array_type_index_src: _,
            } => {
                let field = self.array_field(array_type_index_dst)?;
                let len = self.pop_value()?;
                let src_index = self.pop_value()?;
                let src = self.pop_value()?;
                let dst_index = self.pop_value()?;
                let dst = self.pop_value()?;
                self.null_check(dst);
                self.null_check(src);
                let size = self
                    .builder
                    .ins()
                    .iconst(types::I32, i64::from(field.element.byte_size()));
                let vmctx = self.vmctx;
                let call = self.call_builtin(
                    BuiltinFunctionIndex::array_copy,
                    &[vmctx, dst, dst_index, src, src_index, len, size],
                );
                let status = self.builder.inst_results(call)[0];
                self.builder.ins().trapnz(
                    status,
                    clif_trap_code(keel_translate::Trap::ArrayOutOfBounds),
                );
            }
            Operator::ArrayInitData {
                array_type_index,
                array_data_index: segment,
            }
            | Operator::ArrayInitElem {
                array_type_index,
                array_elem_index: segment,
            } => {
                self.array_field(array_type_index)?;
                let len = self.pop_value()?;
                let src = self.pop_value()?;
                let dst = self.pop_value()?;
                let obj = self.pop_value()?;
                self.null_check(obj);
                let indices = (u64::from(segment) << 32) | u64::from(array_type_index);
                let indices = self.builder.ins().iconst(types::I64, indices as i64);
                let vmctx = self.vmctx;
                let call = self.call_builtin(
                    BuiltinFunctionIndex::array_init_segment,
                    &[vmctx, obj, indices, dst, src, len],
                );
                let status = self.builder.inst_results(call)[0];
                // 1: out of the array's bounds; 2: of the segment's.
                let array_oob = self.builder.ins().icmp_imm_u(IntCC::Equal, status, 1);
                self.builder.ins().trapnz(
                    array_oob,
                    clif_trap_code(keel_translate::Trap::ArrayOutOfBounds),
                );
                let segment_oob = if matches!(op, Operator::ArrayInitData { .. }) {
                    keel_translate::Trap::MemoryOutOfBounds
                } else {
                    keel_translate::Trap::TableOutOfBounds
                };
                self.builder
                    .ins()
                    .trapnz(status, clif_trap_code(segment_oob));
            }
            Operator::RefI31 => {
                let x = self.pop_value()?;
                let shifted = self.builder.ins().ishl_imm_u(x, 1);
                let tagged = self.builder.ins().bor_imm_u(shifted, 1);
                let ptr = self.env.isa.pointer_type();
                let r = if ptr == types::I32 {
                    tagged
                } else {
                    self.builder.ins().uextend(ptr, tagged)
                };
                self.push_value(r);
            }
            Operator::I31GetS | Operator::I31GetU => {
                let r = self.pop_value()?;
                self.null_check(r);
                let ptr = self.env.isa.pointer_type();
                let low = if ptr == types::I32 {
                    r
                } else {
                    self.builder.ins().ireduce(types::I32, r)
                };
                let v = if matches!(op, Operator::I31GetS) {
                    self.builder.ins().sshr_imm_u(low, 1)
                } else {
                    self.builder.ins().ushr_imm_u(low, 1)
                };
                self.push_value(v);
            }
            Operator::RefEq => {
                let b = self.pop_value()?;
                let a = self.pop_value()?;
                let eq = self.builder.ins().icmp(IntCC::Equal, a, b);
                let eq = self.builder.ins().uextend(types::I32, eq);
                self.push_value(eq);
            }
            // The two hierarchies share one representation: converting
            // changes only the static type.
            Operator::AnyConvertExtern | Operator::ExternConvertAny => {}
            Operator::RefTestNonNull { hty } | Operator::RefTestNullable { hty } => {
                let nullable = matches!(op, Operator::RefTestNullable { .. });
                let target = self.ref_type(nullable, hty)?;
                let r = self.pop_value()?;
                let ok = self.ref_test(r, target);
                self.push_value(ok);
            }
            Operator::RefCastNonNull { hty } | Operator::RefCastNullable { hty } => {
                let nullable = matches!(op, Operator::RefCastNullable { .. });
                let target = self.ref_type(nullable, hty)?;
                let r = self.pop_value()?;
                let ok = self.ref_test(r, target);
                self.builder
                    .ins()
                    .trapz(ok, clif_trap_code(keel_translate::Trap::CastFailure));
                self.push_value(r);
            }
            Operator::BrOnCast {
                relative_depth,
                to_ref_type,
                ..
            }
            | Operator::BrOnCastFail {
                relative_depth,
                to_ref_type,
                ..
            } => {
                let on_success = matches!(op, Operator::BrOnCast { .. });
                let module = self.env.module;
                let target = WasmValType::from_ref_type(to_ref_type, &|t| module.type_kind(t))
                    .map_err(CompileError::Translate)?
                    .ref_type()
                    .ok_or_else(|| CompileError::Bug("br_on_cast to a non-reference".into()))?;
                let r = self.pop_value()?;
                let ok = self.ref_test(r, target);
                let (label, arity) = self.branch_to(relative_depth)?;
                // The reference is the branch's last value, after those
                // below it on the stack.
                let below = arity.checked_sub(1).ok_or_else(|| {
                    CompileError::Bug("br_on_cast to a label without results".into())
                })?;
                let mut args: Vec<BlockArg> = self
                    .peekn(below)?
                    .iter()
                    .map(|v| BlockArg::Value(*v))
                    .collect();
                args.push(BlockArg::Value(r));
                let fallthrough = self.builder.create_block();
                if on_success {
                    self.builder.ins().brif(ok, label, &args, fallthrough, &[]);
                } else {
                    self.builder.ins().brif(ok, fallthrough, &[], label, &args);
                }
                self.builder.seal_block(fallthrough);
                self.builder.switch_to_block(fallthrough);
                self.push_value(r);
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// The reference type `(ref null? hty)` with module type indices.
    fn ref_type(
        &self,
        nullable: bool,
        hty: wasmparser::HeapType,
    ) -> Result<WasmRefType, CompileError> {
        let module = self.env.module;
        let r = wasmparser::RefType::new(nullable, hty)
            .ok_or_else(|| CompileError::Bug(format!("heap type {hty:?} out of range")))?;
        WasmValType::from_ref_type(r, &|t| module.type_kind(t))
            .map_err(CompileError::Translate)?
            .ref_type()
            .ok_or_else(|| CompileError::Bug("not a reference type".into()))
    }

    /// The fields of struct type `index`.
    fn struct_fields(&self, index: u32) -> Result<Box<[WasmFieldType]>, CompileError> {
        match self
            .env
            .module
            .types
            .get(TypeIndex::from_u32(index))
            .map(|t| &t.composite)
        {
            Some(WasmCompositeType::Struct(fields)) => Ok(fields.clone()),
            _ => Err(CompileError::Bug(format!(
                "type {index} is not a struct type"
            ))),
        }
    }

    /// Field `field` of struct type `index` and its offset in the object.
    fn struct_field(&self, index: u32, field: u32) -> Result<(WasmFieldType, i32), CompileError> {
        let fields = self.struct_fields(index)?;
        let layout = GcStructLayout::new(&fields);
        match (
            fields.get(field as usize),
            layout.offsets.get(field as usize),
        ) {
            (Some(f), Some(o)) => Ok((*f, *o as i32)),
            _ => Err(CompileError::Bug(format!(
                "struct type {index} has no field {field}"
            ))),
        }
    }

    /// The element field of array type `index`.
    fn array_field(&self, index: u32) -> Result<WasmFieldType, CompileError> {
        match self
            .env
            .module
            .types
            .get(TypeIndex::from_u32(index))
            .map(|t| &t.composite)
        {
            Some(WasmCompositeType::Array(field)) => Ok(*field),
            _ => Err(CompileError::Bug(format!(
                "type {index} is not an array type"
            ))),
        }
    }

    /// Trap with `NullReference` if `r` is null.
    fn null_check(&mut self, r: Value) {
        self.builder
            .ins()
            .trapz(r, clif_trap_code(keel_translate::Trap::NullReference));
    }

    /// Load a field of storage type `ty` at `base + offset` as its
    /// unpacked value type (`signed`: sign-extend a packed one).
    fn load_field(&mut self, ty: WasmStorageType, signed: bool, base: Value, offset: i32) -> Value {
        let flags = field_flags();
        match ty {
            WasmStorageType::I8 if signed => {
                self.builder.ins().sload8(types::I32, flags, base, offset)
            }
            WasmStorageType::I8 => self.builder.ins().uload8(types::I32, flags, base, offset),
            WasmStorageType::I16 if signed => {
                self.builder.ins().sload16(types::I32, flags, base, offset)
            }
            WasmStorageType::I16 => self.builder.ins().uload16(types::I32, flags, base, offset),
            WasmStorageType::Val(t) => {
                let clif = abi::value_type(self.env.isa, t);
                let v = self.builder.ins().load(clif, flags, base, offset);
                self.declare_refs(&[v], &[t]);
                v
            }
        }
    }

    /// Store `value` as a field of storage type `ty` at `base + offset`.
    fn store_field(&mut self, ty: WasmStorageType, value: Value, base: Value, offset: i32) {
        let flags = field_flags();
        match ty {
            WasmStorageType::I8 => {
                self.builder.ins().istore8(flags, value, base, offset);
            }
            WasmStorageType::I16 => {
                self.builder.ins().istore16(flags, value, base, offset);
            }
            WasmStorageType::Val(_) => {
                self.builder.ins().store(flags, value, base, offset);
            }
        }
    }

    /// The address of element `index` of array `obj` (elements of `ty`),
    /// after trapping on null and out of bounds.
    fn array_elem_addr(&mut self, obj: Value, index: Value, ty: WasmStorageType) -> Value {
        self.null_check(obj);
        let len = self
            .builder
            .ins()
            .load(types::I32, field_flags(), obj, vmgc_array::LEN as i32);
        let oob = self
            .builder
            .ins()
            .icmp(IntCC::UnsignedGreaterThanOrEqual, index, len);
        self.builder
            .ins()
            .trapnz(oob, clif_trap_code(keel_translate::Trap::ArrayOutOfBounds));
        let ptr = self.env.isa.pointer_type();
        let index = self.builder.ins().uextend(ptr, index);
        let scaled = self
            .builder
            .ins()
            .imul_imm_u(index, i64::from(ty.byte_size()));
        let base = self
            .builder
            .ins()
            .iadd_imm_u(obj, i64::from(vmgc_array::ELEMS));
        self.builder.ins().iadd(base, scaled)
    }

    /// `array.fill` of the non-null `obj`: `len` elements from `index`
    /// set to `value`, through the `array_fill` builtin (trapping out of
    /// bounds).
    fn array_fill(
        &mut self,
        obj: Value,
        index: Value,
        value: Value,
        len: Value,
        ty: WasmStorageType,
    ) -> Result<(), CompileError> {
        let ptr = self.env.isa.pointer_type();
        let slot = self.builder.create_sized_stack_slot(StackSlotData::new(
            StackSlotKind::ExplicitSlot,
            16,
            4,
        ));
        self.builder.ins().stack_store(ptr, value, slot, 0);
        let value_ptr = self.builder.ins().stack_addr(ptr, slot, 0);
        let size = self
            .builder
            .ins()
            .iconst(types::I32, i64::from(ty.byte_size()));
        let vmctx = self.vmctx;
        let call = self.call_builtin(
            BuiltinFunctionIndex::array_fill,
            &[vmctx, obj, index, value_ptr, len, size],
        );
        let status = self.builder.inst_results(call)[0];
        self.builder.ins().trapnz(
            status,
            clif_trap_code(keel_translate::Trap::ArrayOutOfBounds),
        );
        Ok(())
    }

    /// Allocate an object of module type `type_index` (`len` elements
    /// for an array), trapping with `AllocationTooLarge` when the heap
    /// cannot hold it. The result is a reference the stack maps track.
    fn gc_alloc(&mut self, type_index: u32, len: Value) -> Result<Value, CompileError> {
        let ty = self.builder.ins().iconst(types::I32, i64::from(type_index));
        let obj = self.call_collecting_builtin(BuiltinFunctionIndex::gc_alloc, ty, len)?;
        self.builder.ins().trapz(
            obj,
            clif_trap_code(keel_translate::Trap::AllocationTooLarge),
        );
        self.builder.declare_value_needs_stack_map(obj);
        Ok(obj)
    }

    /// Call builtin `builtin` (which may collect) with `a` and `b`
    /// through the unwind stub, so that a collection walks this frame's
    /// stack map; its pointer-sized result.
    fn call_collecting_builtin(
        &mut self,
        builtin: BuiltinFunctionIndex,
        a: Value,
        b: Value,
    ) -> Result<Value, CompileError> {
        let results = self.call_through_unwind_stub(builtin, a, b, true)?;
        results
            .first()
            .copied()
            .ok_or_else(|| CompileError::Bug("a collecting builtin without a result".into()))
    }

    /// The engine type id of module type `index`, from the VMContext.
    fn engine_type_id(&mut self, index: TypeIndex) -> Value {
        let type_ids = self.load_ptr(super::env::readonly(), self.vmctx, VMOffsets::TYPE_IDS);
        self.builder.ins().load(
            types::I32,
            super::env::readonly(),
            type_ids,
            (index.as_u32() * 4) as i32,
        )
    }

    /// Whether reference `r` is a value of type `target` (module type
    /// indices): an `i32` 0 or 1 (spec:
    /// [`ref.test`](https://webassembly.github.io/spec/core/exec/instructions.html#exec-ref-test)).
    pub(crate) fn ref_test(&mut self, r: Value, target: WasmRefType) -> Value {
        let heap = target.heap;
        let nullable = i64::from(target.nullable);
        if heap.is_bottom() {
            let is_null = self.builder.ins().icmp_imm_u(IntCC::Equal, r, 0);
            let is_null = self.builder.ins().uextend(types::I32, is_null);
            return if target.nullable {
                is_null
            } else {
                self.builder.ins().iconst(types::I32, 0)
            };
        }
        if heap == heap.top() {
            if target.nullable {
                return self.builder.ins().iconst(types::I32, 1);
            }
            let non_null = self.builder.ins().icmp_imm_u(IntCC::NotEqual, r, 0);
            return self.builder.ins().uextend(types::I32, non_null);
        }
        let done = self.builder.create_block();
        let result = self.builder.append_block_param(done, types::I32);
        let non_null = self.builder.create_block();
        let null_result = self.builder.ins().iconst(types::I32, nullable);
        self.builder
            .ins()
            .brif(r, non_null, &[], done, &[BlockArg::Value(null_result)]);
        self.builder.seal_block(non_null);
        self.builder.switch_to_block(non_null);
        if let WasmHeapType::ConcreteFunc(TypeRef::Module(t)) = heap {
            let actual = self.builder.ins().load(
                types::I32,
                MemFlagsData::trusted(),
                r,
                vmfuncref::TYPE_INDEX as i32,
            );
            self.concrete_test(actual, t, done);
        } else {
            // The `any` hierarchy: an `i31` has no header.
            let tag = self.builder.ins().band_imm_u(r, 1);
            let is_i31 = self.builder.ins().icmp_imm_u(IntCC::NotEqual, tag, 0);
            let object = self.builder.create_block();
            let i31_result = self.builder.ins().iconst(
                types::I32,
                i64::from(matches!(heap, WasmHeapType::I31 | WasmHeapType::Eq)),
            );
            self.builder
                .ins()
                .brif(is_i31, done, &[BlockArg::Value(i31_result)], object, &[]);
            self.builder.seal_block(object);
            self.builder.switch_to_block(object);
            let kind = match heap {
                WasmHeapType::Eq => Some(vmgc_header::STRUCT | vmgc_header::ARRAY),
                WasmHeapType::Struct => Some(vmgc_header::STRUCT),
                WasmHeapType::Array => Some(vmgc_header::ARRAY),
                _ => None,
            };
            match (kind, heap) {
                (Some(bits), _) => {
                    let flags = self.builder.ins().load(
                        types::I32,
                        MemFlagsData::trusted(),
                        r,
                        vmgc_header::FLAGS as i32,
                    );
                    let masked = self.builder.ins().band_imm_u(flags, i64::from(bits));
                    let ok = self.builder.ins().icmp_imm_u(IntCC::NotEqual, masked, 0);
                    let ok = self.builder.ins().uextend(types::I32, ok);
                    self.builder.ins().jump(done, &[BlockArg::Value(ok)]);
                }
                (
                    None,
                    WasmHeapType::ConcreteStruct(TypeRef::Module(t))
                    | WasmHeapType::ConcreteArray(TypeRef::Module(t)),
                ) => {
                    let actual = self.builder.ins().load(
                        types::I32,
                        MemFlagsData::trusted(),
                        r,
                        vmgc_header::TYPE as i32,
                    );
                    self.concrete_test(actual, t, done);
                }
                _ => {
                    // `i31` (handled above for i31 values; objects are
                    // not) or a type outside the module's index space.
                    let zero = self.builder.ins().iconst(types::I32, 0);
                    self.builder.ins().jump(done, &[BlockArg::Value(zero)]);
                }
            }
        }
        self.builder.seal_block(done);
        self.builder.switch_to_block(done);
        result
    }

    /// Jump to `done` with whether engine type id `actual` is module type
    /// `t` or (when `t` is not final) a declared subtype of it.
    fn concrete_test(&mut self, actual: Value, t: TypeIndex, done: ir::Block) {
        let expected = self.engine_type_id(t);
        let eq = self.builder.ins().icmp(IntCC::Equal, actual, expected);
        let is_final = self.env.module.types.get(t).is_none_or(|ty| ty.is_final);
        if is_final {
            let ok = self.builder.ins().uextend(types::I32, eq);
            self.builder.ins().jump(done, &[BlockArg::Value(ok)]);
            return;
        }
        let slow = self.builder.create_block();
        self.builder.set_cold_block(slow);
        let one = self.builder.ins().iconst(types::I32, 1);
        self.builder
            .ins()
            .brif(eq, done, &[BlockArg::Value(one)], slow, &[]);
        self.builder.seal_block(slow);
        self.builder.switch_to_block(slow);
        let vmctx = self.vmctx;
        let call = self.call_builtin(BuiltinFunctionIndex::is_subtype, &[vmctx, actual, expected]);
        let ok = self.builder.inst_results(call)[0];
        self.builder.ins().jump(done, &[BlockArg::Value(ok)]);
    }
}
