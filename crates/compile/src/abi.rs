//! Signatures: the wasm calling convention, the array-call convention and
//! builtin (libcall) signatures.
//!
//! * **wasm**: `fn(callee_vmctx, caller_vmctx, params...) -> results` with
//!   Cranelift's `tail` convention, so tail calls can come later.
//! * **array call**: `extern "C" fn(callee_vmctx, caller_vmctx, wasm_call,
//!   values: *mut ValRaw, values_len)`, the platform's C convention. Params
//!   are read from and results written to `values`, 16 bytes a slot.
//! * **builtins**: `extern "C"`, types from
//!   [`foreach_builtin!`](keel_translate::foreach_builtin).

use cranelift_codegen::ir::{self, AbiParam, ArgumentPurpose, Signature, types};
use cranelift_codegen::isa::{CallConv, TargetIsa};
use keel_translate::{BuiltinFunctionIndex, WasmFuncType, WasmValType};

/// Size of one `ValRaw` slot of the array-call convention, in bytes.
pub const VAL_RAW_SIZE: u32 = 16;

/// The Cranelift type that holds a wasm value of type `ty`.
pub fn value_type(isa: &dyn TargetIsa, ty: WasmValType) -> ir::Type {
    match ty {
        WasmValType::I32 => types::I32,
        WasmValType::I64 => types::I64,
        WasmValType::F32 => types::F32,
        WasmValType::F64 => types::F64,
        WasmValType::V128 => types::I8X16,
        WasmValType::FuncRef | WasmValType::ExternRef | WasmValType::Ref(_) => isa.pointer_type(),
    }
}

/// The signature of a wasm function of type `ty`.
pub fn wasm_signature(isa: &dyn TargetIsa, ty: &WasmFuncType) -> Signature {
    let ptr = isa.pointer_type();
    let mut sig = Signature::new(CallConv::Tail);
    sig.params
        .push(AbiParam::special(ptr, ArgumentPurpose::VMContext));
    sig.params.push(AbiParam::new(ptr));
    sig.params
        .extend(ty.params.iter().map(|t| AbiParam::new(value_type(isa, *t))));
    sig.returns.extend(
        ty.results
            .iter()
            .map(|t| AbiParam::new(value_type(isa, *t))),
    );
    sig
}

/// Whether Cranelift passes a wasm function of type `ty` a return-area
/// pointer (`enable_multi_ret_implicit_sret`) as its *first* argument,
/// ahead of the callee VMContext: when its results do not fit the `tail`
/// convention's return registers. Mirrors Cranelift's
/// `compute_arg_locs`: x86_64 returns in eight integer (rax, rcx, rdx,
/// rsi, rdi, r8, r9, r10) and eight vector registers (xmm0-xmm7),
/// aarch64 in eight of each (x0-x7, v0-v7), riscv64 in two integer (a0,
/// a1) and two float registers (fa0, fa1) and vectors in memory. Lazy
/// compilation's stubs need it to find the VMContext.
pub fn uses_return_area(isa: &dyn TargetIsa, ty: &WasmFuncType) -> bool {
    let (mut ints, mut floats, mut vectors) = (0usize, 0usize, 0usize);
    for t in ty.results.iter() {
        match value_type(isa, *t) {
            types::F32 | types::F64 => floats += 1,
            types::I8X16 => vectors += 1,
            _ => ints += 1,
        }
    }
    match isa.triple().architecture {
        target_lexicon::Architecture::Riscv64(_) => ints > 2 || floats > 2 || vectors > 0,
        // x86_64 and aarch64 return vectors in the float registers.
        _ => ints > 8 || floats + vectors > 8,
    }
}

/// The signature of every array-call entry point.
pub fn array_call_signature(isa: &dyn TargetIsa) -> Signature {
    let ptr = isa.pointer_type();
    let mut sig = Signature::new(isa.default_call_conv());
    sig.params.extend([AbiParam::new(ptr); 5]);
    sig
}

macro_rules! builtin_signatures {
    ($($(#[$doc:meta])* $name:ident($($p:ident: $t:ident),*) -> $r:ident;)*) => {
        /// The signature of builtin `index`.
        pub fn builtin_signature(isa: &dyn TargetIsa, index: BuiltinFunctionIndex) -> Signature {
            let ptr = isa.pointer_type();
            let mut sig = Signature::new(isa.default_call_conv());
            let ty = |name: &str| match name {
                "vmctx" | "ptr" => ptr,
                "i32" => types::I32,
                "i64" => types::I64,
                "f32" => types::F32,
                _ => types::F64,
            };
            $(
                if index == BuiltinFunctionIndex::$name {
                    $(sig.params.push(AbiParam::new(ty(stringify!($t))));)*
                    sig.returns.push(AbiParam::new(ty(stringify!($r))));
                }
            )*
            sig
        }
    };
}
keel_translate::foreach_builtin!(builtin_signatures);
