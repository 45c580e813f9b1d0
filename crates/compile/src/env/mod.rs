//! The function environment: how operators that touch the VMContext
//! (memories, globals, tables, calls, builtins) are lowered, split by
//! concern into [`memory`], [`global`], [`call`], [`table`] and
//! [`metering`] (fuel and epochs).

mod call;
mod global;
mod memory;
mod metering;
mod table;

use crate::abi;
use crate::func_translator::FuncTranslator;
use crate::prelude::Vec;
use cranelift_codegen::ir::{self, InstBuilder, MemFlagsData, SigRef, Value};
use cranelift_codegen::isa::TargetIsa;
use hashbrown::HashMap;
use keel_translate::{BuiltinFunctionIndex, FuncIndex, Module, TypeIndex, VMOffsets};

/// Per-function state of the environment: the module it belongs to and
/// the signatures and callees imported into the current function.
pub(crate) struct FuncEnv<'a> {
    pub(crate) isa: &'a dyn TargetIsa,
    pub(crate) module: &'a Module,
    pub(crate) offsets: &'a VMOffsets,
    pub(crate) tunables: crate::MemoryTunables,
    /// Guard explicit memory bounds checks against speculation.
    pub(crate) heap_spectre: bool,
    /// Guard table bounds checks against speculation.
    pub(crate) table_spectre: bool,
    /// Meter fuel (see [`metering`]).
    pub(crate) consume_fuel: bool,
    /// Check the epoch deadline (see [`metering`]).
    pub(crate) epoch_interruption: bool,
    /// Lower relaxed SIMD operators deterministically (see
    /// [`crate::CompilerOptions::relaxed_simd_deterministic`]).
    pub(crate) relaxed_simd_deterministic: bool,
    /// Whether GC operators may be compiled (the GC proposal is on).
    pub(crate) gc: bool,
    /// For lazy compilation, the address of the module's call table:
    /// calls to defined functions load their target from it
    /// ([`LazyOptions`](crate::LazyOptions)).
    pub(crate) call_table: Option<u64>,
    /// For lazy compilation, the function being compiled: its calls to
    /// itself are direct (they need no table, and recursion is hot).
    pub(crate) lazy_self: Option<keel_translate::FuncIndex>,
    sig_refs: HashMap<TypeIndex, SigRef>,
    func_refs: HashMap<FuncIndex, ir::FuncRef>,
    builtin_sigs: HashMap<u32, SigRef>,
    /// See [`FuncEnv::called_types`].
    pub(crate) host_call_types: Vec<TypeIndex>,
}

impl<'a> FuncEnv<'a> {
    /// The types through which the function may call a host function
    /// (calls to imports and `call_indirect`), with repeats.
    pub(crate) fn called_types(&self) -> Vec<TypeIndex> {
        let mut types = self.host_call_types.clone();
        types.sort_unstable();
        types.dedup();
        types
    }

    pub(crate) fn new(
        isa: &'a dyn TargetIsa,
        module: &'a Module,
        offsets: &'a VMOffsets,
        options: &crate::CompilerOptions,
        gc: bool,
    ) -> Self {
        Self {
            isa,
            module,
            offsets,
            tunables: options.memory,
            heap_spectre: options.heap_access_spectre_mitigation,
            table_spectre: options.table_access_spectre_mitigation,
            consume_fuel: options.consume_fuel,
            epoch_interruption: options.epoch_interruption,
            relaxed_simd_deterministic: options.relaxed_simd_deterministic,
            gc,
            call_table: None,
            lazy_self: None,
            sig_refs: HashMap::new(),
            func_refs: HashMap::new(),
            builtin_sigs: HashMap::new(),
            host_call_types: Vec::new(),
        }
    }
}

/// Flags for loads of fields that never change after instantiation, from
/// the VMContext or from a structure a VMContext field points to (which is
/// valid wherever the VMContext is): Cranelift may merge them and move
/// them anywhere in the function, out of loops in particular (`readonly`
/// with `notrap` and `can_move` makes a load pure for its optimizer).
pub(crate) fn readonly() -> MemFlagsData {
    MemFlagsData::trusted().with_readonly().with_can_move()
}

impl FuncTranslator<'_, '_> {
    /// Load a pointer-sized field at `offset` from `base`.
    pub(crate) fn load_ptr(&mut self, flags: MemFlagsData, base: Value, offset: u32) -> Value {
        let ptr = self.env.isa.pointer_type();
        self.builder.ins().load(ptr, flags, base, offset as i32)
    }

    /// The signature reference for module type `index` in this function.
    pub(crate) fn wasm_sig_ref(&mut self, index: TypeIndex) -> SigRef {
        if let Some(s) = self.env.sig_refs.get(&index) {
            return *s;
        }
        let sig = abi::wasm_signature(self.env.isa, self.env.module.func_type_at(index));
        let s = self.builder.import_signature(sig);
        self.env.sig_refs.insert(index, s);
        s
    }

    /// Call builtin `index` with `args` (the vmctx is not added).
    pub(crate) fn call_builtin(&mut self, index: BuiltinFunctionIndex, args: &[Value]) -> ir::Inst {
        let sig = match self.env.builtin_sigs.get(&index.index()) {
            Some(s) => *s,
            None => {
                let s = self
                    .builder
                    .import_signature(abi::builtin_signature(self.env.isa, index));
                self.env.builtin_sigs.insert(index.index(), s);
                s
            }
        };
        // Builtins are called on slow paths (out of fuel, a new epoch,
        // `memory.grow`): their addresses are loaded there, not hoisted
        // into a loop's preheader where they would only hold registers.
        let stay = MemFlagsData::trusted().with_readonly();
        let builtins = self.load_ptr(stay, self.vmctx, VMOffsets::BUILTINS);
        let callee = self.load_ptr(stay, builtins, index.index() * 8);
        self.builder.ins().call_indirect(sig, callee, args)
    }
}

pub(crate) use metering::Metering;
