//! Reading an ELF artifact (layout: [`keel_translate::artifact`]) with
//! every bound checked: a truncated or corrupted artifact is an
//! [`ArtifactError`], never a panic or a read outside the bytes.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;
use keel_translate::artifact::{
    Compatibility, FORMAT_VERSION, SealedArtifactMetadata, decode_table, sections,
    table_seal_matches,
};
use keel_translate::{CompiledText, FunctionLoc, Module, PrimaryMap, Trap, TrapInfo};
use object::read::elf::{ElfFile64, FileHeader};
use object::{Endianness, Object, ObjectSection};

/// Why bytes are not a loadable artifact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArtifactError(pub String);

impl fmt::Display for ArtifactError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid keel artifact: {}", self.0)
    }
}

impl core::error::Error for ArtifactError {}

fn err(message: impl Into<String>) -> ArtifactError {
    ArtifactError(message.into())
}

/// The machine an artifact's code is for, from its ELF header.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ArtifactMachine {
    /// `EM_X86_64`.
    X86_64,
    /// `EM_RISCV`.
    Riscv64,
}

/// A parsed artifact whose headers, sections and compatibility data are
/// read; [`ArtifactFile::load`] decodes the rest.
pub struct ArtifactFile<'a> {
    file: ElfFile64<'a, Endianness>,
    /// The ELF machine.
    pub machine: ArtifactMachine,
    /// What the code was compiled for, encoded ([`ArtifactFile::compat`]
    /// decodes it): equal bytes mean equal settings, so a loader can
    /// compare them without decoding.
    pub compat_bytes: &'a [u8],
    /// The machine code: the `.text` section's bytes, inside the
    /// artifact's bytes.
    pub code: &'a [u8],
    /// The alignment the text section asks for, in bytes.
    pub code_alignment: usize,
}

impl fmt::Debug for ArtifactFile<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ArtifactFile")
            .field("machine", &self.machine)
            .field("compat", &self.compat())
            .field("code_len", &self.code.len())
            .finish_non_exhaustive()
    }
}

impl<'a> ArtifactFile<'a> {
    /// Parse the ELF headers of `bytes`, find the text section and decode
    /// the compatibility section.
    ///
    /// # Errors
    ///
    /// If `bytes` is not a 64-bit little-endian ELF file for x86_64 or
    /// riscv64, a section lies outside the bytes, a keel section is
    /// missing, or the format version is not [`FORMAT_VERSION`].
    pub fn parse(bytes: &'a [u8]) -> Result<Self, ArtifactError> {
        if !bytes.starts_with(b"\x7fELF") {
            return Err(err("not an ELF file (bad magic)"));
        }
        let file = ElfFile64::<Endianness>::parse(bytes).map_err(|e| err(e.to_string()))?;
        let header = file.elf_header();
        if header.is_big_endian() {
            return Err(err("big-endian ELF"));
        }
        let machine = match header.e_machine(file.endian()) {
            object::elf::EM_X86_64 => ArtifactMachine::X86_64,
            object::elf::EM_RISCV => ArtifactMachine::Riscv64,
            other => {
                return Err(err(format!(
                    "ELF machine {other} is neither x86_64 nor riscv64"
                )));
            }
        };
        let compat_bytes = section(&file, sections::COMPAT)?;
        let Some((version, rest)) = compat_bytes.split_first_chunk::<4>() else {
            return Err(err("the compatibility section is truncated"));
        };
        let version = u32::from_le_bytes(*version);
        if version != FORMAT_VERSION {
            return Err(err(format!(
                "artifact format version {version}, but this keel reads version {FORMAT_VERSION}"
            )));
        }
        let compat_bytes = rest;
        let code = section(&file, sections::TEXT)?;
        let code_alignment = file
            .section_by_name(sections::TEXT)
            .map_or(1, |s| s.align());
        let code_alignment = usize::try_from(code_alignment)
            .ok()
            .filter(|a| a.is_power_of_two() && *a <= 1 << 16)
            .ok_or_else(|| err(format!("text alignment {code_alignment}")))?;
        Ok(Self {
            file,
            machine,
            compat_bytes,
            code,
            code_alignment,
        })
    }

    /// What the code was compiled for.
    ///
    /// # Errors
    ///
    /// If the compatibility section does not decode.
    pub fn compat(&self) -> Result<Compatibility, ArtifactError> {
        postcard::from_bytes(self.compat_bytes)
            .map_err(|e| err(format!("the compatibility section does not decode: {e}")))
    }

    /// Decode the module metadata and the code's tables and check them
    /// against each other and against the text, so that no value in them
    /// can make keel read, write or jump outside what the code and the
    /// runtime expect: the module is consistent ([`Module::check`]), there
    /// is one function location per defined function, the tables describe
    /// the text ([`CompiledText::check`]: layout, trampolines, call sites,
    /// handlers, stack maps, trap sites, address map), and, last, the
    /// metadata the code depends on and each table have the digests they
    /// were written with (which catches a corrupted handler offset, frame
    /// size or type that no check of the metadata can tell from a right
    /// one).
    ///
    /// The returned [`CompiledText`] has an empty `text`: the code is
    /// [`ArtifactFile::code`].
    ///
    /// # Errors
    ///
    /// The first section that does not decode or check, by name.
    pub fn load(&self) -> Result<(Module, CompiledText), ArtifactError> {
        let sealed: SealedArtifactMetadata =
            postcard::from_bytes(section(&self.file, sections::MODULE)?)
                .map_err(|e| err(format!("the module metadata does not decode: {e}")))?;
        let digest_matches = sealed.digest_matches();
        let metadata = sealed.metadata;
        let module = metadata.module;
        module
            .check()
            .map_err(|e| err(format!("inconsistent module metadata: {e}")))?;
        let table = |name: &str| {
            let bytes = section(&self.file, name)?;
            decode_table(bytes).map_err(|e| err(format!("section `{name}`: {e}")))
        };
        let functions: PrimaryMap<_, _> = table(sections::FUNCTIONS)?
            .map(|(start, length)| FunctionLoc { start, length })
            .collect();
        if functions.len() != module.num_defined_funcs() as usize {
            return Err(err(format!(
                "{} function locations for {} defined functions",
                functions.len(),
                module.num_defined_funcs()
            )));
        }
        let traps = table(sections::TRAPS)?
            .map(|(offset, code)| {
                let code = u8::try_from(code)
                    .ok()
                    .and_then(Trap::from_u8)
                    .ok_or_else(|| err(format!("unknown trap code {code} at offset {offset}")))?;
                Ok(TrapInfo { offset, code })
            })
            .collect::<Result<Vec<_>, ArtifactError>>()?;
        let text = CompiledText {
            text: Vec::new(),
            functions,
            array_to_wasm_trampolines: metadata.array_to_wasm_trampolines,
            wasm_to_array_trampolines: metadata.wasm_to_array_trampolines,
            traps,
            exception_call_sites: metadata.exception_call_sites,
            stack_maps: metadata.stack_maps,
            address_map: table(sections::ADDRESS_MAP)?.collect(),
        };
        text.check(self.code, &module).map_err(err)?;
        if !digest_matches {
            return Err(err(
                "the module metadata does not match its digest (corrupted)",
            ));
        }
        for name in [sections::FUNCTIONS, sections::TRAPS, sections::ADDRESS_MAP] {
            if !table_seal_matches(section(&self.file, name)?) {
                return Err(err(format!(
                    "section `{name}` does not match its seal (corrupted)"
                )));
            }
        }
        Ok((module, text))
    }
}

/// The bytes of section `name` of `file`.
fn section<'a>(file: &ElfFile64<'a, Endianness>, name: &str) -> Result<&'a [u8], ArtifactError> {
    let section = file
        .section_by_name(name)
        .ok_or_else(|| err(format!("no `{name}` section")))?;
    section
        .data()
        .map_err(|e| err(format!("section `{name}`: {e}")))
}
