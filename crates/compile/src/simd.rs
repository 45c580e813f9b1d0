//! Fixed-width SIMD (spec:
//! [Vector Instructions](https://webassembly.github.io/spec/core/exec/instructions.html#vector-instructions)):
//! every v128
//! operator of WebAssembly 2.0, lowered to Cranelift's vector
//! instructions.
//!
//! v128 values live on the operand stack, in locals, block parameters and
//! signatures as `i8x16`; each operator bitcasts its inputs to the lane
//! type it works on and its result back to `i8x16`. The bitcasts cost
//! nothing in machine code.

use crate::CompileError;
use crate::func_translator::FuncTranslator;
use crate::prelude::*;
use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::{
    self, ConstantData, Endianness, InstBuilder, MemFlagsData, Value, types,
};
use wasmparser::Operator;

use types::{F32X4, F64X2, I8, I8X16, I16, I16X8, I32, I32X4, I64, I64X2};

impl FuncTranslator<'_, '_> {
    fn bitcast_to(&mut self, v: Value, ty: ir::Type) -> Value {
        if self.builder.func.dfg.value_type(v) == ty {
            v
        } else {
            let flags = MemFlagsData::new().with_endianness(Endianness::Little);
            self.builder.ins().bitcast(ty, flags, v)
        }
    }

    /// Pop a v128 as a vector of `ty`.
    fn pop_v(&mut self, ty: ir::Type) -> Result<Value, CompileError> {
        let v = self.pop_value()?;
        Ok(self.bitcast_to(v, ty))
    }

    /// Push a vector as the canonical `i8x16`.
    fn push_v(&mut self, v: Value) {
        let v = self.bitcast_to(v, I8X16);
        self.push_value(v);
    }

    fn vconst(&mut self, bytes: [u8; 16]) -> Value {
        let c = self
            .builder
            .func
            .dfg
            .constants
            .insert(ConstantData::from(bytes.to_vec()));
        self.builder.ins().vconst(I8X16, c)
    }

    /// An all-zero vector typed `ty` (a `vconst` of that type, which the
    /// x64 backend needs to match its narrowing-conversion patterns).
    fn splat_zero(&mut self, ty: ir::Type) -> Value {
        let c = self
            .builder
            .func
            .dfg
            .constants
            .insert(ConstantData::from(vec![0u8; 16]));
        self.builder.ins().vconst(ty, c)
    }

    /// Translate `op` if it is a SIMD operator; `Ok(false)` otherwise.
    pub(crate) fn translate_simd(&mut self, op: &Operator<'_>) -> Result<bool, CompileError> {
        macro_rules! bin {
            ($ty:expr, $m:ident) => {{
                let b = self.pop_v($ty)?;
                let a = self.pop_v($ty)?;
                let r = self.builder.ins().$m(a, b);
                self.push_v(r);
            }};
        }
        macro_rules! un {
            ($ty:expr, $m:ident) => {{
                let a = self.pop_v($ty)?;
                let r = self.builder.ins().$m(a);
                self.push_v(r);
            }};
        }
        macro_rules! icmp {
            ($ty:expr, $cc:expr) => {{
                let b = self.pop_v($ty)?;
                let a = self.pop_v($ty)?;
                let r = self.builder.ins().icmp($cc, a, b);
                self.push_v(r);
            }};
        }
        macro_rules! fcmp {
            ($ty:expr, $cc:expr) => {{
                let b = self.pop_v($ty)?;
                let a = self.pop_v($ty)?;
                let r = self.builder.ins().fcmp($cc, a, b);
                self.push_v(r);
            }};
        }
        macro_rules! shift {
            ($ty:expr, $m:ident) => {{
                let amount = self.pop_value()?;
                let a = self.pop_v($ty)?;
                let mask = i64::from($ty.lane_bits()) - 1;
                let amount = self.builder.ins().band_imm_s(amount, mask);
                let r = self.builder.ins().$m(a, amount);
                self.push_v(r);
            }};
        }
        macro_rules! splat {
            ($ty:expr, $narrow:expr) => {{
                let mut a = self.pop_value()?;
                if let Some(n) = $narrow {
                    a = self.builder.ins().ireduce(n, a);
                }
                let r = self.builder.ins().splat($ty, a);
                self.push_v(r);
            }};
        }
        macro_rules! extract {
            ($ty:expr, $lane:expr, $ext:ident) => {{
                let a = self.pop_v($ty)?;
                let r = self.builder.ins().extractlane(a, *$lane);
                let r = self.builder.ins().$ext(I32, r);
                self.push_value(r);
            }};
            ($ty:expr, $lane:expr) => {{
                let a = self.pop_v($ty)?;
                let r = self.builder.ins().extractlane(a, *$lane);
                self.push_value(r);
            }};
        }
        macro_rules! replace {
            ($ty:expr, $lane:expr, $narrow:expr) => {{
                let mut x = self.pop_value()?;
                let a = self.pop_v($ty)?;
                if let Some(n) = $narrow {
                    x = self.builder.ins().ireduce(n, x);
                }
                let r = self.builder.ins().insertlane(a, x, *$lane);
                self.push_v(r);
            }};
        }
        macro_rules! widen {
            ($ty:expr, $m:ident) => {{
                let a = self.pop_v($ty)?;
                let r = self.builder.ins().$m(a);
                self.push_v(r);
            }};
        }
        macro_rules! extmul {
            ($ty:expr, $widen:ident) => {{
                let b = self.pop_v($ty)?;
                let a = self.pop_v($ty)?;
                let a = self.builder.ins().$widen(a);
                let b = self.builder.ins().$widen(b);
                let r = self.builder.ins().imul(a, b);
                self.push_v(r);
            }};
        }
        macro_rules! extadd {
            ($ty:expr, $low:ident, $high:ident) => {{
                let a = self.pop_v($ty)?;
                let l = self.builder.ins().$low(a);
                let h = self.builder.ins().$high(a);
                let r = self.builder.ins().iadd_pairwise(l, h);
                self.push_v(r);
            }};
        }
        macro_rules! load {
            ($memarg:expr, $size:expr, |$t:ident, $addr:ident, $flags:ident| $body:expr) => {{
                let index = self.pop_value()?;
                let ($addr, $flags) = self.memory_address($memarg, index, $size)?;
                let $t = &mut *self;
                let r = $body;
                self.push_v(r);
            }};
        }
        macro_rules! load_splat {
            ($memarg:expr, $ty:expr, $scalar:expr, $size:expr) => {{
                load!($memarg, $size, |t, addr, flags| {
                    let s = t.builder.ins().load($scalar, flags, addr, 0);
                    t.builder.ins().splat($ty, s)
                })
            }};
        }
        macro_rules! load_lane {
            ($memarg:expr, $lane:expr, $ty:expr, $scalar:expr, $size:expr) => {{
                let v = self.pop_v($ty)?;
                let index = self.pop_value()?;
                let (addr, flags) = self.memory_address($memarg, index, $size)?;
                let s = self.builder.ins().load($scalar, flags, addr, 0);
                let r = self.builder.ins().insertlane(v, s, *$lane);
                self.push_v(r);
            }};
        }
        macro_rules! store_lane {
            ($memarg:expr, $lane:expr, $ty:expr, $size:expr) => {{
                let v = self.pop_v($ty)?;
                let index = self.pop_value()?;
                let (addr, flags) = self.store_address($memarg, index, $size)?;
                let s = self.builder.ins().extractlane(v, *$lane);
                self.builder.ins().store(flags, s, addr, 0);
            }};
        }
        macro_rules! pminmax {
            ($ty:expr, min) => {{
                // pmin(a, b) = b < a ? b : a (`fpmin`,
                // <https://webassembly.github.io/spec/core/exec/numerics.html#op-fpmin>).
                let b = self.pop_v($ty)?;
                let a = self.pop_v($ty)?;
                let mask = self.builder.ins().fcmp(FloatCC::LessThan, b, a);
                let mask = self.bitcast_to(mask, $ty);
                let r = self.builder.ins().bitselect(mask, b, a);
                self.push_v(r);
            }};
            ($ty:expr, max) => {{
                // pmax(a, b) = a < b ? b : a.
                let b = self.pop_v($ty)?;
                let a = self.pop_v($ty)?;
                let mask = self.builder.ins().fcmp(FloatCC::LessThan, a, b);
                let mask = self.bitcast_to(mask, $ty);
                let r = self.builder.ins().bitselect(mask, b, a);
                self.push_v(r);
            }};
        }

        use Operator as O;
        match op {
            O::V128Load { memarg } => load!(memarg, 16, |t, addr, flags| t
                .builder
                .ins()
                .load(I8X16, flags, addr, 0)),
            O::V128Load8x8S { memarg } => load!(memarg, 8, |t, addr, flags| t
                .builder
                .ins()
                .sload8x8(flags, addr, 0)),
            O::V128Load8x8U { memarg } => load!(memarg, 8, |t, addr, flags| t
                .builder
                .ins()
                .uload8x8(flags, addr, 0)),
            O::V128Load16x4S { memarg } => load!(memarg, 8, |t, addr, flags| t
                .builder
                .ins()
                .sload16x4(flags, addr, 0)),
            O::V128Load16x4U { memarg } => load!(memarg, 8, |t, addr, flags| t
                .builder
                .ins()
                .uload16x4(flags, addr, 0)),
            O::V128Load32x2S { memarg } => load!(memarg, 8, |t, addr, flags| t
                .builder
                .ins()
                .sload32x2(flags, addr, 0)),
            O::V128Load32x2U { memarg } => load!(memarg, 8, |t, addr, flags| t
                .builder
                .ins()
                .uload32x2(flags, addr, 0)),
            O::V128Load8Splat { memarg } => load_splat!(memarg, I8X16, I8, 1),
            O::V128Load16Splat { memarg } => load_splat!(memarg, I16X8, I16, 2),
            O::V128Load32Splat { memarg } => load_splat!(memarg, I32X4, I32, 4),
            O::V128Load64Splat { memarg } => load_splat!(memarg, I64X2, I64, 8),
            O::V128Load32Zero { memarg } => load!(memarg, 4, |t, addr, flags| {
                let s = t.builder.ins().load(I32, flags, addr, 0);
                t.builder.ins().scalar_to_vector(I32X4, s)
            }),
            O::V128Load64Zero { memarg } => load!(memarg, 8, |t, addr, flags| {
                let s = t.builder.ins().load(I64, flags, addr, 0);
                t.builder.ins().scalar_to_vector(I64X2, s)
            }),
            O::V128Store { memarg } => {
                let v = self.pop_v(I8X16)?;
                let index = self.pop_value()?;
                let (addr, flags) = self.store_address(memarg, index, 16)?;
                self.builder.ins().store(flags, v, addr, 0);
            }
            O::V128Load8Lane { memarg, lane } => load_lane!(memarg, lane, I8X16, I8, 1),
            O::V128Load16Lane { memarg, lane } => load_lane!(memarg, lane, I16X8, I16, 2),
            O::V128Load32Lane { memarg, lane } => load_lane!(memarg, lane, I32X4, I32, 4),
            O::V128Load64Lane { memarg, lane } => load_lane!(memarg, lane, I64X2, I64, 8),
            O::V128Store8Lane { memarg, lane } => store_lane!(memarg, lane, I8X16, 1),
            O::V128Store16Lane { memarg, lane } => store_lane!(memarg, lane, I16X8, 2),
            O::V128Store32Lane { memarg, lane } => store_lane!(memarg, lane, I32X4, 4),
            O::V128Store64Lane { memarg, lane } => store_lane!(memarg, lane, I64X2, 8),
            O::V128Const { value } => {
                let v = self.vconst(*value.bytes());
                self.push_value(v);
            }
            O::I8x16Shuffle { lanes } => {
                let b = self.pop_v(I8X16)?;
                let a = self.pop_v(I8X16)?;
                let mask = self
                    .builder
                    .func
                    .dfg
                    .immediates
                    .push(ConstantData::from(lanes.to_vec()));
                let r = self.builder.ins().shuffle(a, b, mask);
                self.push_v(r);
            }
            O::I8x16Swizzle => bin!(I8X16, swizzle),
            O::I8x16Splat => splat!(I8X16, Some(I8)),
            O::I16x8Splat => splat!(I16X8, Some(I16)),
            O::I32x4Splat => splat!(I32X4, None::<ir::Type>),
            O::I64x2Splat => splat!(I64X2, None::<ir::Type>),
            O::F32x4Splat => splat!(F32X4, None::<ir::Type>),
            O::F64x2Splat => splat!(F64X2, None::<ir::Type>),
            O::I8x16ExtractLaneS { lane } => extract!(I8X16, lane, sextend),
            O::I8x16ExtractLaneU { lane } => extract!(I8X16, lane, uextend),
            O::I16x8ExtractLaneS { lane } => extract!(I16X8, lane, sextend),
            O::I16x8ExtractLaneU { lane } => extract!(I16X8, lane, uextend),
            O::I32x4ExtractLane { lane } => extract!(I32X4, lane),
            O::I64x2ExtractLane { lane } => extract!(I64X2, lane),
            O::F32x4ExtractLane { lane } => extract!(F32X4, lane),
            O::F64x2ExtractLane { lane } => extract!(F64X2, lane),
            O::I8x16ReplaceLane { lane } => replace!(I8X16, lane, Some(I8)),
            O::I16x8ReplaceLane { lane } => replace!(I16X8, lane, Some(I16)),
            O::I32x4ReplaceLane { lane } => replace!(I32X4, lane, None::<ir::Type>),
            O::I64x2ReplaceLane { lane } => replace!(I64X2, lane, None::<ir::Type>),
            O::F32x4ReplaceLane { lane } => replace!(F32X4, lane, None::<ir::Type>),
            O::F64x2ReplaceLane { lane } => replace!(F64X2, lane, None::<ir::Type>),

            O::I8x16Eq => icmp!(I8X16, IntCC::Equal),
            O::I8x16Ne => icmp!(I8X16, IntCC::NotEqual),
            O::I8x16LtS => icmp!(I8X16, IntCC::SignedLessThan),
            O::I8x16LtU => icmp!(I8X16, IntCC::UnsignedLessThan),
            O::I8x16GtS => icmp!(I8X16, IntCC::SignedGreaterThan),
            O::I8x16GtU => icmp!(I8X16, IntCC::UnsignedGreaterThan),
            O::I8x16LeS => icmp!(I8X16, IntCC::SignedLessThanOrEqual),
            O::I8x16LeU => icmp!(I8X16, IntCC::UnsignedLessThanOrEqual),
            O::I8x16GeS => icmp!(I8X16, IntCC::SignedGreaterThanOrEqual),
            O::I8x16GeU => icmp!(I8X16, IntCC::UnsignedGreaterThanOrEqual),
            O::I16x8Eq => icmp!(I16X8, IntCC::Equal),
            O::I16x8Ne => icmp!(I16X8, IntCC::NotEqual),
            O::I16x8LtS => icmp!(I16X8, IntCC::SignedLessThan),
            O::I16x8LtU => icmp!(I16X8, IntCC::UnsignedLessThan),
            O::I16x8GtS => icmp!(I16X8, IntCC::SignedGreaterThan),
            O::I16x8GtU => icmp!(I16X8, IntCC::UnsignedGreaterThan),
            O::I16x8LeS => icmp!(I16X8, IntCC::SignedLessThanOrEqual),
            O::I16x8LeU => icmp!(I16X8, IntCC::UnsignedLessThanOrEqual),
            O::I16x8GeS => icmp!(I16X8, IntCC::SignedGreaterThanOrEqual),
            O::I16x8GeU => icmp!(I16X8, IntCC::UnsignedGreaterThanOrEqual),
            O::I32x4Eq => icmp!(I32X4, IntCC::Equal),
            O::I32x4Ne => icmp!(I32X4, IntCC::NotEqual),
            O::I32x4LtS => icmp!(I32X4, IntCC::SignedLessThan),
            O::I32x4LtU => icmp!(I32X4, IntCC::UnsignedLessThan),
            O::I32x4GtS => icmp!(I32X4, IntCC::SignedGreaterThan),
            O::I32x4GtU => icmp!(I32X4, IntCC::UnsignedGreaterThan),
            O::I32x4LeS => icmp!(I32X4, IntCC::SignedLessThanOrEqual),
            O::I32x4LeU => icmp!(I32X4, IntCC::UnsignedLessThanOrEqual),
            O::I32x4GeS => icmp!(I32X4, IntCC::SignedGreaterThanOrEqual),
            O::I32x4GeU => icmp!(I32X4, IntCC::UnsignedGreaterThanOrEqual),
            O::I64x2Eq => icmp!(I64X2, IntCC::Equal),
            O::I64x2Ne => icmp!(I64X2, IntCC::NotEqual),
            O::I64x2LtS => icmp!(I64X2, IntCC::SignedLessThan),
            O::I64x2GtS => icmp!(I64X2, IntCC::SignedGreaterThan),
            O::I64x2LeS => icmp!(I64X2, IntCC::SignedLessThanOrEqual),
            O::I64x2GeS => icmp!(I64X2, IntCC::SignedGreaterThanOrEqual),
            O::F32x4Eq => fcmp!(F32X4, FloatCC::Equal),
            O::F32x4Ne => fcmp!(F32X4, FloatCC::NotEqual),
            O::F32x4Lt => fcmp!(F32X4, FloatCC::LessThan),
            O::F32x4Gt => fcmp!(F32X4, FloatCC::GreaterThan),
            O::F32x4Le => fcmp!(F32X4, FloatCC::LessThanOrEqual),
            O::F32x4Ge => fcmp!(F32X4, FloatCC::GreaterThanOrEqual),
            O::F64x2Eq => fcmp!(F64X2, FloatCC::Equal),
            O::F64x2Ne => fcmp!(F64X2, FloatCC::NotEqual),
            O::F64x2Lt => fcmp!(F64X2, FloatCC::LessThan),
            O::F64x2Gt => fcmp!(F64X2, FloatCC::GreaterThan),
            O::F64x2Le => fcmp!(F64X2, FloatCC::LessThanOrEqual),
            O::F64x2Ge => fcmp!(F64X2, FloatCC::GreaterThanOrEqual),

            O::V128Not => un!(I8X16, bnot),
            O::V128And => bin!(I8X16, band),
            O::V128AndNot => bin!(I8X16, band_not),
            O::V128Or => bin!(I8X16, bor),
            O::V128Xor => bin!(I8X16, bxor),
            O::V128Bitselect => {
                let c = self.pop_v(I8X16)?;
                let b = self.pop_v(I8X16)?;
                let a = self.pop_v(I8X16)?;
                let r = self.builder.ins().bitselect(c, a, b);
                self.push_v(r);
            }
            O::V128AnyTrue => {
                let a = self.pop_v(I8X16)?;
                let r = self.builder.ins().vany_true(a);
                let r = self.builder.ins().uextend(I32, r);
                self.push_value(r);
            }
            O::I8x16AllTrue | O::I16x8AllTrue | O::I32x4AllTrue | O::I64x2AllTrue => {
                let ty = match op {
                    O::I8x16AllTrue => I8X16,
                    O::I16x8AllTrue => I16X8,
                    O::I32x4AllTrue => I32X4,
                    _ => I64X2,
                };
                let a = self.pop_v(ty)?;
                let r = self.builder.ins().vall_true(a);
                let r = self.builder.ins().uextend(I32, r);
                self.push_value(r);
            }
            O::I8x16Bitmask | O::I16x8Bitmask | O::I32x4Bitmask | O::I64x2Bitmask => {
                let ty = match op {
                    O::I8x16Bitmask => I8X16,
                    O::I16x8Bitmask => I16X8,
                    O::I32x4Bitmask => I32X4,
                    _ => I64X2,
                };
                let a = self.pop_v(ty)?;
                let r = self.builder.ins().vhigh_bits(I32, a);
                self.push_value(r);
            }

            O::I8x16Abs => un!(I8X16, iabs),
            O::I16x8Abs => un!(I16X8, iabs),
            O::I32x4Abs => un!(I32X4, iabs),
            O::I64x2Abs => un!(I64X2, iabs),
            O::I8x16Neg => un!(I8X16, ineg),
            O::I16x8Neg => un!(I16X8, ineg),
            O::I32x4Neg => un!(I32X4, ineg),
            O::I64x2Neg => un!(I64X2, ineg),
            O::I8x16Popcnt => un!(I8X16, popcnt),
            O::I8x16NarrowI16x8S => bin!(I16X8, snarrow),
            O::I8x16NarrowI16x8U => bin!(I16X8, unarrow),
            O::I16x8NarrowI32x4S => bin!(I32X4, snarrow),
            O::I16x8NarrowI32x4U => bin!(I32X4, unarrow),
            O::I8x16Shl => shift!(I8X16, ishl),
            O::I8x16ShrS => shift!(I8X16, sshr),
            O::I8x16ShrU => shift!(I8X16, ushr),
            O::I16x8Shl => shift!(I16X8, ishl),
            O::I16x8ShrS => shift!(I16X8, sshr),
            O::I16x8ShrU => shift!(I16X8, ushr),
            O::I32x4Shl => shift!(I32X4, ishl),
            O::I32x4ShrS => shift!(I32X4, sshr),
            O::I32x4ShrU => shift!(I32X4, ushr),
            O::I64x2Shl => shift!(I64X2, ishl),
            O::I64x2ShrS => shift!(I64X2, sshr),
            O::I64x2ShrU => shift!(I64X2, ushr),
            O::I8x16Add => bin!(I8X16, iadd),
            O::I16x8Add => bin!(I16X8, iadd),
            O::I32x4Add => bin!(I32X4, iadd),
            O::I64x2Add => bin!(I64X2, iadd),
            O::I8x16Sub => bin!(I8X16, isub),
            O::I16x8Sub => bin!(I16X8, isub),
            O::I32x4Sub => bin!(I32X4, isub),
            O::I64x2Sub => bin!(I64X2, isub),
            O::I16x8Mul => bin!(I16X8, imul),
            O::I32x4Mul => bin!(I32X4, imul),
            O::I64x2Mul => bin!(I64X2, imul),
            O::I8x16AddSatS => bin!(I8X16, sadd_sat),
            O::I8x16AddSatU => bin!(I8X16, uadd_sat),
            O::I8x16SubSatS => bin!(I8X16, ssub_sat),
            O::I8x16SubSatU => bin!(I8X16, usub_sat),
            O::I16x8AddSatS => bin!(I16X8, sadd_sat),
            O::I16x8AddSatU => bin!(I16X8, uadd_sat),
            O::I16x8SubSatS => bin!(I16X8, ssub_sat),
            O::I16x8SubSatU => bin!(I16X8, usub_sat),
            O::I8x16MinS => bin!(I8X16, smin),
            O::I8x16MinU => bin!(I8X16, umin),
            O::I8x16MaxS => bin!(I8X16, smax),
            O::I8x16MaxU => bin!(I8X16, umax),
            O::I16x8MinS => bin!(I16X8, smin),
            O::I16x8MinU => bin!(I16X8, umin),
            O::I16x8MaxS => bin!(I16X8, smax),
            O::I16x8MaxU => bin!(I16X8, umax),
            O::I32x4MinS => bin!(I32X4, smin),
            O::I32x4MinU => bin!(I32X4, umin),
            O::I32x4MaxS => bin!(I32X4, smax),
            O::I32x4MaxU => bin!(I32X4, umax),
            O::I8x16AvgrU => bin!(I8X16, avg_round),
            O::I16x8AvgrU => bin!(I16X8, avg_round),
            O::I16x8Q15MulrSatS => bin!(I16X8, sqmul_round_sat),
            O::I16x8ExtAddPairwiseI8x16S => extadd!(I8X16, swiden_low, swiden_high),
            O::I16x8ExtAddPairwiseI8x16U => extadd!(I8X16, uwiden_low, uwiden_high),
            O::I32x4ExtAddPairwiseI16x8S => extadd!(I16X8, swiden_low, swiden_high),
            O::I32x4ExtAddPairwiseI16x8U => extadd!(I16X8, uwiden_low, uwiden_high),
            O::I16x8ExtendLowI8x16S => widen!(I8X16, swiden_low),
            O::I16x8ExtendHighI8x16S => widen!(I8X16, swiden_high),
            O::I16x8ExtendLowI8x16U => widen!(I8X16, uwiden_low),
            O::I16x8ExtendHighI8x16U => widen!(I8X16, uwiden_high),
            O::I32x4ExtendLowI16x8S => widen!(I16X8, swiden_low),
            O::I32x4ExtendHighI16x8S => widen!(I16X8, swiden_high),
            O::I32x4ExtendLowI16x8U => widen!(I16X8, uwiden_low),
            O::I32x4ExtendHighI16x8U => widen!(I16X8, uwiden_high),
            O::I64x2ExtendLowI32x4S => widen!(I32X4, swiden_low),
            O::I64x2ExtendHighI32x4S => widen!(I32X4, swiden_high),
            O::I64x2ExtendLowI32x4U => widen!(I32X4, uwiden_low),
            O::I64x2ExtendHighI32x4U => widen!(I32X4, uwiden_high),
            O::I16x8ExtMulLowI8x16S => extmul!(I8X16, swiden_low),
            O::I16x8ExtMulHighI8x16S => extmul!(I8X16, swiden_high),
            O::I16x8ExtMulLowI8x16U => extmul!(I8X16, uwiden_low),
            O::I16x8ExtMulHighI8x16U => extmul!(I8X16, uwiden_high),
            O::I32x4ExtMulLowI16x8S => extmul!(I16X8, swiden_low),
            O::I32x4ExtMulHighI16x8S => extmul!(I16X8, swiden_high),
            O::I32x4ExtMulLowI16x8U => extmul!(I16X8, uwiden_low),
            O::I32x4ExtMulHighI16x8U => extmul!(I16X8, uwiden_high),
            O::I64x2ExtMulLowI32x4S => extmul!(I32X4, swiden_low),
            O::I64x2ExtMulHighI32x4S => extmul!(I32X4, swiden_high),
            O::I64x2ExtMulLowI32x4U => extmul!(I32X4, uwiden_low),
            O::I64x2ExtMulHighI32x4U => extmul!(I32X4, uwiden_high),
            O::I32x4DotI16x8S => {
                let b = self.pop_v(I16X8)?;
                let a = self.pop_v(I16X8)?;
                let al = self.builder.ins().swiden_low(a);
                let bl = self.builder.ins().swiden_low(b);
                let ah = self.builder.ins().swiden_high(a);
                let bh = self.builder.ins().swiden_high(b);
                let low = self.builder.ins().imul(al, bl);
                let high = self.builder.ins().imul(ah, bh);
                let r = self.builder.ins().iadd_pairwise(low, high);
                self.push_v(r);
            }

            O::F32x4Ceil => un!(F32X4, ceil),
            O::F32x4Floor => un!(F32X4, floor),
            O::F32x4Trunc => un!(F32X4, trunc),
            O::F32x4Nearest => un!(F32X4, nearest),
            O::F32x4Abs => un!(F32X4, fabs),
            O::F32x4Neg => un!(F32X4, fneg),
            O::F32x4Sqrt => un!(F32X4, sqrt),
            O::F32x4Add => bin!(F32X4, fadd),
            O::F32x4Sub => bin!(F32X4, fsub),
            O::F32x4Mul => bin!(F32X4, fmul),
            O::F32x4Div => bin!(F32X4, fdiv),
            O::F32x4Min => bin!(F32X4, fmin),
            O::F32x4Max => bin!(F32X4, fmax),
            O::F32x4PMin => pminmax!(F32X4, min),
            O::F32x4PMax => pminmax!(F32X4, max),
            O::F64x2Ceil => un!(F64X2, ceil),
            O::F64x2Floor => un!(F64X2, floor),
            O::F64x2Trunc => un!(F64X2, trunc),
            O::F64x2Nearest => un!(F64X2, nearest),
            O::F64x2Abs => un!(F64X2, fabs),
            O::F64x2Neg => un!(F64X2, fneg),
            O::F64x2Sqrt => un!(F64X2, sqrt),
            O::F64x2Add => bin!(F64X2, fadd),
            O::F64x2Sub => bin!(F64X2, fsub),
            O::F64x2Mul => bin!(F64X2, fmul),
            O::F64x2Div => bin!(F64X2, fdiv),
            O::F64x2Min => bin!(F64X2, fmin),
            O::F64x2Max => bin!(F64X2, fmax),
            O::F64x2PMin => pminmax!(F64X2, min),
            O::F64x2PMax => pminmax!(F64X2, max),

            O::I32x4TruncSatF32x4S => {
                let a = self.pop_v(F32X4)?;
                let r = self.builder.ins().fcvt_to_sint_sat(I32X4, a);
                self.push_v(r);
            }
            O::I32x4TruncSatF32x4U => {
                let a = self.pop_v(F32X4)?;
                let r = self.builder.ins().fcvt_to_uint_sat(I32X4, a);
                self.push_v(r);
            }
            O::F32x4ConvertI32x4S => {
                let a = self.pop_v(I32X4)?;
                let r = self.builder.ins().fcvt_from_sint(F32X4, a);
                self.push_v(r);
            }
            O::F32x4ConvertI32x4U => {
                let a = self.pop_v(I32X4)?;
                let r = self.builder.ins().fcvt_from_uint(F32X4, a);
                self.push_v(r);
            }
            O::I32x4TruncSatF64x2SZero => {
                let a = self.pop_v(F64X2)?;
                let c = self.builder.ins().fcvt_to_sint_sat(I64X2, a);
                let zero = self.splat_zero(I64X2);
                let r = self.builder.ins().snarrow(c, zero);
                self.push_v(r);
            }
            O::I32x4TruncSatF64x2UZero => {
                let a = self.pop_v(F64X2)?;
                let c = self.builder.ins().fcvt_to_uint_sat(I64X2, a);
                let zero = self.splat_zero(I64X2);
                let r = self.builder.ins().uunarrow(c, zero);
                self.push_v(r);
            }
            O::F64x2ConvertLowI32x4S => {
                let a = self.pop_v(I32X4)?;
                let w = self.builder.ins().swiden_low(a);
                let r = self.builder.ins().fcvt_from_sint(F64X2, w);
                self.push_v(r);
            }
            O::F64x2ConvertLowI32x4U => {
                let a = self.pop_v(I32X4)?;
                let w = self.builder.ins().uwiden_low(a);
                let r = self.builder.ins().fcvt_from_uint(F64X2, w);
                self.push_v(r);
            }
            O::F32x4DemoteF64x2Zero => un!(F64X2, fvdemote),
            O::F64x2PromoteLowF32x4 => un!(F32X4, fvpromote_low),
            _ => return self.translate_relaxed_simd(op),
        }
        Ok(true)
    }

    /// Whether relaxed SIMD operators may use x86-specific instructions
    /// whose results differ from the deterministic ones.
    fn relaxed_x86(&self) -> bool {
        !self.env.relaxed_simd_deterministic
            && self.env.isa.triple().architecture == target_lexicon::Architecture::X86_64
    }

    /// Relaxed SIMD (<https://github.com/WebAssembly/relaxed-simd>): each
    /// operator's deterministic result is that of the 2.0 operator it
    /// relaxes (`swizzle`, `trunc_sat`, `bitselect`, `q15mulr_sat_s`,
    /// `min`/`max`), a fused multiply-add, or a dot product of signed
    /// lanes. With `relaxed_simd_deterministic` off, x86_64 uses the single
    /// instruction whose results the proposal also allows (`pshufb`,
    /// `cvttps2dq`, `blendv`, `pmulhrsw`, `pmaddubsw`, the `minps` operand
    /// order), and a CPU without FMA multiplies and adds separately.
    /// `Ok(false)` for operators that are not relaxed SIMD.
    fn translate_relaxed_simd(&mut self, op: &Operator<'_>) -> Result<bool, CompileError> {
        use Operator as O;
        let x86 = self.relaxed_x86();
        match op {
            O::I8x16RelaxedSwizzle => {
                let b = self.pop_v(I8X16)?;
                let a = self.pop_v(I8X16)?;
                let r = if x86 {
                    // Indices 16..=127 select lane `index % 16`: allowed.
                    self.builder.ins().x86_pshufb(a, b)
                } else {
                    self.builder.ins().swizzle(a, b)
                };
                self.push_v(r);
            }
            O::I32x4RelaxedTruncF32x4S => {
                let a = self.pop_v(F32X4)?;
                let r = if x86 {
                    // NaN and out-of-range lanes become i32::MIN: allowed.
                    self.builder.ins().x86_cvtt2dq(I32X4, a)
                } else {
                    self.builder.ins().fcvt_to_sint_sat(I32X4, a)
                };
                self.push_v(r);
            }
            O::I32x4RelaxedTruncF32x4U => {
                let a = self.pop_v(F32X4)?;
                let r = self.builder.ins().fcvt_to_uint_sat(I32X4, a);
                self.push_v(r);
            }
            O::I32x4RelaxedTruncF64x2SZero => {
                let a = self.pop_v(F64X2)?;
                let c = if x86 {
                    self.builder.ins().x86_cvtt2dq(I64X2, a)
                } else {
                    self.builder.ins().fcvt_to_sint_sat(I64X2, a)
                };
                let zero = self.splat_zero(I64X2);
                let r = self.builder.ins().snarrow(c, zero);
                self.push_v(r);
            }
            O::I32x4RelaxedTruncF64x2UZero => {
                let a = self.pop_v(F64X2)?;
                let c = self.builder.ins().fcvt_to_uint_sat(I64X2, a);
                let zero = self.splat_zero(I64X2);
                let r = self.builder.ins().uunarrow(c, zero);
                self.push_v(r);
            }
            O::F32x4RelaxedMadd
            | O::F32x4RelaxedNmadd
            | O::F64x2RelaxedMadd
            | O::F64x2RelaxedNmadd => {
                let ty = if matches!(op, O::F32x4RelaxedMadd | O::F32x4RelaxedNmadd) {
                    F32X4
                } else {
                    F64X2
                };
                let c = self.pop_v(ty)?;
                let b = self.pop_v(ty)?;
                let a = self.pop_v(ty)?;
                // `nmadd` is `-(a * b) + c`: negating `a` is exact.
                let a = if matches!(op, O::F32x4RelaxedNmadd | O::F64x2RelaxedNmadd) {
                    self.builder.ins().fneg(a)
                } else {
                    a
                };
                let r = if self.env.isa.has_native_fma() {
                    self.builder.ins().fma(a, b, c)
                } else if !self.env.relaxed_simd_deterministic {
                    let product = self.builder.ins().fmul(a, b);
                    self.builder.ins().fadd(product, c)
                } else {
                    return Err(CompileError::unsupported(
                        "deterministic relaxed_madd/relaxed_nmadd on a CPU without fused \
                         multiply-add: enable it (e.g. `has_fma`) or turn \
                         `relaxed_simd_deterministic` off"
                            .into(),
                    ));
                };
                self.push_v(r);
            }
            O::I8x16RelaxedLaneselect
            | O::I16x8RelaxedLaneselect
            | O::I32x4RelaxedLaneselect
            | O::I64x2RelaxedLaneselect => {
                let ty = match op {
                    O::I8x16RelaxedLaneselect => I8X16,
                    O::I16x8RelaxedLaneselect => I16X8,
                    O::I32x4RelaxedLaneselect => I32X4,
                    _ => I64X2,
                };
                let m = self.pop_v(ty)?;
                let b = self.pop_v(ty)?;
                let a = self.pop_v(ty)?;
                // `blendv` selects by each lane's top bit, which the proposal
                // allows for lanes of 8, 32 and 64 bits; x86 has no 16-bit
                // blend, and a byte blend would mix halves of a 16-bit lane.
                let r = if x86 && ty != I16X8 {
                    self.builder.ins().blendv(m, a, b)
                } else {
                    self.builder.ins().bitselect(m, a, b)
                };
                self.push_v(r);
            }
            O::F32x4RelaxedMin | O::F32x4RelaxedMax | O::F64x2RelaxedMin | O::F64x2RelaxedMax => {
                let ty = if matches!(op, O::F32x4RelaxedMin | O::F32x4RelaxedMax) {
                    F32X4
                } else {
                    F64X2
                };
                let min = matches!(op, O::F32x4RelaxedMin | O::F64x2RelaxedMin);
                let b = self.pop_v(ty)?;
                let a = self.pop_v(ty)?;
                let r = if x86 {
                    // `minps`/`maxps` semantics (the second operand when
                    // either is NaN or both are zeros): `b < a ? b : a` and
                    // `a < b ? b : a`, in the shape the x64 backend matches.
                    let lt = if min {
                        self.builder.ins().fcmp(FloatCC::LessThan, b, a)
                    } else {
                        self.builder.ins().fcmp(FloatCC::LessThan, a, b)
                    };
                    let lt = self.bitcast_to(lt, ty);
                    self.builder.ins().bitselect(lt, b, a)
                } else if min {
                    self.builder.ins().fmin(a, b)
                } else {
                    self.builder.ins().fmax(a, b)
                };
                self.push_v(r);
            }
            O::I16x8RelaxedQ15mulrS => {
                let b = self.pop_v(I16X8)?;
                let a = self.pop_v(I16X8)?;
                let r = if x86 && self.env.isa.has_x86_pmulhrsw_lowering() {
                    // 0x8000 * 0x8000 wraps to 0x8000 instead of
                    // saturating: allowed.
                    self.builder.ins().x86_pmulhrsw(a, b)
                } else {
                    self.builder.ins().sqmul_round_sat(a, b)
                };
                self.push_v(r);
            }
            O::I16x8RelaxedDotI8x16I7x16S => {
                let b = self.pop_v(I8X16)?;
                let a = self.pop_v(I8X16)?;
                let r = if x86 && self.env.isa.has_x86_pmaddubsw_lowering() {
                    // `b` read as unsigned and saturating sums: the same
                    // for 7-bit `b` lanes; others may differ, as allowed.
                    self.builder.ins().x86_pmaddubsw(a, b)
                } else {
                    self.dot_i8x16_signed(a, b)
                };
                self.push_v(r);
            }
            O::I32x4RelaxedDotI8x16I7x16AddS => {
                let c = self.pop_v(I32X4)?;
                let b = self.pop_v(I8X16)?;
                let a = self.pop_v(I8X16)?;
                let quads = if x86 && self.env.isa.has_x86_pmaddubsw_lowering() {
                    let pairs = self.builder.ins().x86_pmaddubsw(a, b);
                    let low = self.builder.ins().swiden_low(pairs);
                    let high = self.builder.ins().swiden_high(pairs);
                    self.builder.ins().iadd_pairwise(low, high)
                } else {
                    // Exact: the 16-bit products are widened before any
                    // sum, so each lane is the sum of its four products.
                    let al = self.builder.ins().swiden_low(a);
                    let bl = self.builder.ins().swiden_low(b);
                    let ah = self.builder.ins().swiden_high(a);
                    let bh = self.builder.ins().swiden_high(b);
                    let low = self.builder.ins().imul(al, bl);
                    let high = self.builder.ins().imul(ah, bh);
                    let ll = self.builder.ins().swiden_low(low);
                    let lh = self.builder.ins().swiden_high(low);
                    let hl = self.builder.ins().swiden_low(high);
                    let hh = self.builder.ins().swiden_high(high);
                    let low = self.builder.ins().iadd_pairwise(ll, lh);
                    let high = self.builder.ins().iadd_pairwise(hl, hh);
                    self.builder.ins().iadd_pairwise(low, high)
                };
                let r = self.builder.ins().iadd(quads, c);
                self.push_v(r);
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// The deterministic 8-bit dot product: each 16-bit lane is the
    /// (wrapping) sum of the two signed products of its byte pairs.
    fn dot_i8x16_signed(&mut self, a: Value, b: Value) -> Value {
        let al = self.builder.ins().swiden_low(a);
        let bl = self.builder.ins().swiden_low(b);
        let ah = self.builder.ins().swiden_high(a);
        let bh = self.builder.ins().swiden_high(b);
        let low = self.builder.ins().imul(al, bl);
        let high = self.builder.ins().imul(ah, bh);
        self.builder.ins().iadd_pairwise(low, high)
    }
}
