//! Writing compiled code as an ELF artifact (layout:
//! [`keel_translate::artifact`]).

use crate::prelude::*;
use crate::{CompileError, Compiler};
use keel_translate::artifact::{
    ArtifactMetadata, Compatibility, FORMAT_VERSION, encode_table, seal, sections,
};
use keel_translate::{CompiledText, Module};
use object::write::{Object, StandardSegment, Symbol, SymbolSection};
use object::{
    Architecture, BinaryFormat, Endianness, FileFlags, SectionKind, SymbolFlags, SymbolKind,
    SymbolScope, elf,
};

/// Alignment of the text section in the file: a page, so that an artifact
/// placed page-aligned in memory has its code page-aligned too.
pub const TEXT_ALIGN: u64 = 4096;

/// Settings as `(name, value)` pairs.
pub type Settings = Vec<(String, String)>;

impl Compiler {
    /// The Cranelift settings that change the code this compiler emits,
    /// `(name, value)` sorted by name: its shared settings (all but the
    /// verifier, which only checks) and its ISA's settings.
    pub fn settings(&self) -> (Settings, Settings) {
        let mut shared: Vec<_> = self
            .isa()
            .flags()
            .iter()
            .filter(|v| v.name != "enable_verifier")
            .map(|v| (v.name.to_string(), v.value_string()))
            .collect();
        shared.sort();
        let mut isa: Vec<_> = self
            .isa()
            .isa_flags()
            .iter()
            .map(|v| (v.name.to_string(), v.value_string()))
            .collect();
        isa.sort();
        (shared, isa)
    }
}

/// Write `module` with its compiled `code` (the linked text) and `tables`
/// (the text's metadata; its `text` field is ignored) as an ELF artifact
/// for the target named in `compat`.
///
/// # Errors
///
/// [`CompileError::Isa`] if the target's architecture has no artifact
/// format here (keel writes x86_64 and riscv64), [`CompileError::Bug`] if
/// the metadata does not serialize.
pub fn write_artifact(
    module: &Module,
    code: &[u8],
    tables: &CompiledText,
    compat: &Compatibility,
) -> Result<Vec<u8>, CompileError> {
    let triple: target_lexicon::Triple = compat
        .target
        .parse()
        .map_err(|e| CompileError::Isa(format!("target `{}`: {e}", compat.target)))?;
    let (architecture, e_flags) = match triple.architecture {
        target_lexicon::Architecture::X86_64 => (Architecture::X86_64, 0),
        target_lexicon::Architecture::Riscv64(_) => (
            Architecture::Riscv64,
            elf::EF_RISCV_RVC | elf::EF_RISCV_FLOAT_ABI_DOUBLE,
        ),
        other => {
            return Err(CompileError::Isa(format!(
                "artifacts for `{other}` are not supported"
            )));
        }
    };
    let mut obj = Object::new(BinaryFormat::Elf, architecture, Endianness::Little);
    obj.flags = FileFlags::Elf {
        os_abi: elf::ELFOSABI_NONE,
        abi_version: 0,
        e_flags,
    };
    let text = obj.add_section(
        obj.segment_name(StandardSegment::Text).to_vec(),
        sections::TEXT.as_bytes().to_vec(),
        SectionKind::Text,
    );
    obj.set_section_data(text, code.to_vec(), TEXT_ALIGN);
    // One symbol per function and trampoline, so `objdump -d` names them:
    // `wasm[N]` by function index only (the name section's names are in
    // the module's metadata already; repeating them cost CPython's
    // artifact a third of a megabyte).
    let mut symbol = |name: String, loc: keel_translate::FunctionLoc| {
        obj.add_symbol(Symbol {
            name: name.into_bytes(),
            value: u64::from(loc.start),
            size: u64::from(loc.length),
            kind: SymbolKind::Text,
            scope: SymbolScope::Compilation,
            weak: false,
            section: SymbolSection::Section(text),
            flags: SymbolFlags::None,
        });
    };
    for (index, loc) in tables.functions.iter() {
        symbol(format!("wasm[{}]", module.func_index(index).as_u32()), *loc);
    }
    for (ty, loc) in &tables.array_to_wasm_trampolines {
        symbol(format!("array_to_wasm[type {}]", ty.as_u32()), *loc);
    }
    for (ty, loc) in &tables.wasm_to_array_trampolines {
        symbol(format!("wasm_to_array{ty}"), *loc);
    }

    let mut compat_bytes = FORMAT_VERSION.to_le_bytes().to_vec();
    compat_bytes.extend(
        postcard::to_allocvec(compat)
            .map_err(|e| CompileError::Bug(format!("serializing the compatibility data: {e}")))?,
    );
    let metadata = ArtifactMetadata {
        module: module.clone(),
        array_to_wasm_trampolines: tables.array_to_wasm_trampolines.clone(),
        wasm_to_array_trampolines: tables.wasm_to_array_trampolines.clone(),
        exception_call_sites: tables.exception_call_sites.clone(),
        stack_maps: tables.stack_maps.clone(),
    };
    let metadata = postcard::to_allocvec(&metadata)
        .map_err(|e| CompileError::Bug(format!("serializing the module metadata: {e}")))?;
    let functions = encode_table(tables.functions.values().map(|l| (l.start, l.length)));
    let traps = seal(tables.traps.as_bytes().to_vec());
    let address_map = seal(tables.address_map.as_bytes().to_vec());
    for (name, data, align) in [
        (sections::COMPAT, compat_bytes, 4),
        (sections::MODULE, metadata, 8),
        (sections::FUNCTIONS, functions, 8),
        (sections::TRAPS, traps, 8),
        (sections::ADDRESS_MAP, address_map, 8),
    ] {
        let id = obj.add_section(
            Vec::new(),
            name.as_bytes().to_vec(),
            SectionKind::ReadOnlyData,
        );
        obj.set_section_data(id, data, align);
    }
    obj.write()
        .map_err(|e| CompileError::Bug(format!("writing the ELF artifact: {e}")))
}
