//! The output of compilation as the runtime consumes it: machine code and
//! the tables that describe it, with offsets only (no addresses), so it
//! can later be written to and loaded from an ELF object as it is.

use crate::prelude::*;

use crate::*;

/// Where a function lives in a text section, in bytes from its start.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Default)]
pub struct FunctionLoc {
    /// Offset of the first instruction.
    pub start: u32,
    /// Length of the function's code.
    pub length: u32,
}

/// One trapping instruction.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct TrapInfo {
    /// Offset of the instruction in the text section.
    pub offset: u32,
    /// The trap it raises.
    pub code: TrapCode,
}

/// A linked text section and its metadata.
#[derive(Clone, Debug, Default)]
pub struct CompiledText {
    /// The machine code, relocations already applied.
    pub text: Vec<u8>,
    /// The defined functions' bodies.
    pub functions: PrimaryMap<DefinedFuncIndex, FunctionLoc>,
    /// The array-to-wasm trampolines (the `array_call` entry of wasm
    /// functions), by module type, sorted by type index: only for the
    /// types of functions the host can reach
    /// ([`Module::escaped_funcs`](crate::Module::escaped_funcs)), and one
    /// trampoline per distinct signature (type indices with equal
    /// signatures share a location).
    pub array_to_wasm_trampolines: Vec<(TypeIndex, FunctionLoc)>,
    /// Wasm-to-array trampolines (host functions called from wasm), for
    /// the types this text was compiled for.
    pub wasm_to_array_trampolines: Vec<(WasmFuncType, FunctionLoc)>,
    /// Every trapping instruction, sorted by offset.
    pub traps: Vec<TrapInfo>,
    /// Text offset to wasm byte offset (in the module) of the operator the
    /// code from there on belongs to, sorted by text offset.
    pub address_map: Vec<(u32, u32)>,
}

impl CompiledText {
    /// The trap raised by the instruction at `offset`, if it is a trap site.
    pub fn lookup_trap(&self, offset: u32) -> Option<TrapCode> {
        self.traps
            .binary_search_by_key(&offset, |t| t.offset)
            .ok()
            .map(|i| self.traps[i].code)
    }

    /// The array-to-wasm trampoline of functions of type `ty`, if the
    /// module has one (it does for the type of every escaped function).
    pub fn array_to_wasm_trampoline(&self, ty: TypeIndex) -> Option<FunctionLoc> {
        let i = self
            .array_to_wasm_trampolines
            .binary_search_by_key(&ty, |(t, _)| *t)
            .ok()?;
        Some(self.array_to_wasm_trampolines[i].1)
    }

    /// The wasm byte offset of the operator whose code contains text
    /// `offset`.
    pub fn wasm_offset(&self, offset: u32) -> Option<u32> {
        let i = self
            .address_map
            .partition_point(|(text, _)| *text <= offset);
        self.address_map
            .get(i.checked_sub(1)?)
            .map(|(_, wasm)| *wasm)
    }

    /// The defined function whose code contains `offset`.
    pub fn func_by_text_offset(&self, offset: u32) -> Option<DefinedFuncIndex> {
        let i = self
            .functions
            .values()
            .as_slice()
            .partition_point(|loc| loc.start <= offset);
        let index = DefinedFuncIndex::new(i.checked_sub(1)?);
        let loc = self.functions[index];
        (offset < loc.start + loc.length).then_some(index)
    }
}

/// Offsets of the fields of `VMHostFuncContext`: the `vmctx` that host
/// functions receive instead of an instance's VMContext.
pub mod vmhost_func_context {
    /// `magic: u32`, [`VMHOST_FUNC_MAGIC`].
    pub const MAGIC: u32 = 0;
    /// `array_call`: the host function's array-call entry point.
    pub const ARRAY_CALL: u32 = 8;
    /// Value of the magic field.
    pub const VMHOST_FUNC_MAGIC: u32 = u32::from_le_bytes(*b"host");
}
