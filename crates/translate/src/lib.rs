//! The vocabulary every keel crate shares, and the first stage of the
//! pipeline: WebAssembly validation and module metadata.
//!
//! `keel-translate` turns `.wasm` bytes into a [`ModuleTranslation`]: the
//! validated [`Module`] (types, imports, exports, functions, tables,
//! memories, globals, data and element segments, start function and names)
//! plus the function bodies still to be compiled. It also defines what the
//! compiler and the runtime must agree on: the index newtypes
//! ([`FuncIndex`], [`DefinedMemoryIndex`], ...), the [`Trap`]s, the
//! builtin (libcall) list ([`foreach_builtin!`]) and the [`VMOffsets`]
//! layout of a VMContext.
//!
//! It has no Cranelift dependency: a runtime-only build (loading
//! precompiled code) needs this crate too. Embedders should use the `keel`
//! crate instead; this one is an implementation detail of it.
//!
//! Module metadata holds no pointers or host addresses, only indices and
//! offsets, so that it can later be serialized next to ahead-of-time code.
//!
//! `#![no_std]` with `alloc`; the default `std` feature only adds
//! wasmparser's std support.

#![no_std]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

mod prelude {
    pub use alloc::boxed::Box;
    pub use alloc::format;
    pub use alloc::string::String;
    pub use alloc::vec::Vec;
}

pub mod artifact;
pub mod builtin;
pub mod compact;
mod error;
pub mod gc_layout;
mod index;
pub mod limits;
mod module;
mod names;
mod translate;
mod trap;
mod tunables;
mod types;
mod vmoffsets;

pub use artifact::{
    CompiledText, ExceptionCallSite, ExceptionHandler, FunctionLoc, StackMap, vmhost_func_context,
};
pub use builtin::BuiltinFunctionIndex;
pub use compact::{AddressMap, CompactTable, TrapInfo, TrapTable, TrapTableError};
pub use error::{TranslateResult, WasmError};
pub use index::*;
pub use module::*;
pub use names::{DisplayName, is_unsafe_name_char};
pub use translate::{
    FunctionBodyData, ModuleTranslation, supported_wasm_features, translate_module, wasm_features,
};
pub use trap::Trap;
pub use tunables::MemoryTunables;
pub use types::*;
pub use vmoffsets::*;

pub use cranelift_entity::packed_option::PackedOption;
pub use cranelift_entity::{EntityRef, EntitySet, PrimaryMap, SecondaryMap};
pub use wasmparser;

/// The size of a WebAssembly page, in bytes: 64 KiB (spec:
/// [Memory Instances](https://webassembly.github.io/spec/core/exec/runtime.html#memory-instances)).
pub const WASM_PAGE_SIZE: u64 = 0x1_0000;

/// The largest number of pages a 32-bit linear memory can have (4 GiB).
pub const WASM32_MAX_PAGES: u64 = 1 << 16;
