//! Reading an ELF artifact (layout: [`keel_translate::artifact`]) with
//! every bound checked: a truncated or corrupted artifact is an
//! [`ArtifactError`], never a panic or a read outside the bytes.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;
use keel_translate::artifact::{
    Compatibility, FORMAT_VERSION, SealedArtifactMetadata, TextError, decode_table, sections,
    table_seal_matches, unseal,
};
use keel_translate::{
    AddressMap, CompiledText, FunctionLoc, Module, ModuleError, PrimaryMap, TrapTable,
    TrapTableError,
};
use object::read::elf::{ElfFile64, FileHeader};
use object::{Endianness, Object, ObjectSection};

/// Why bytes are not a loadable artifact, or cannot run on this engine.
///
/// The variants up to [`Corrupted`](ArtifactError::Corrupted) say the
/// bytes are not a well-formed keel artifact and display as `invalid keel
/// artifact: ...`; the last three say a well-formed artifact was compiled
/// for another machine or with other settings than the engine that loads
/// it, or by another keel build (keel's `Module::deserialize` reports
/// them).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ArtifactError {
    /// The bytes do not start with the ELF magic number.
    BadMagic,
    /// Not a well-formed 64-bit ELF file: the ELF reader's reason.
    Elf(String),
    /// A big-endian ELF file.
    BigEndian,
    /// The ELF machine (`e_machine`) is neither x86_64 nor riscv64.
    UnsupportedMachine(u16),
    /// The artifact format version is not the one this keel reads.
    Version {
        /// The artifact's.
        found: u32,
        /// [`FORMAT_VERSION`].
        expected: u32,
    },
    /// A keel section is missing: its name.
    MissingSection(String),
    /// A section lies outside the file or does not decode.
    BadSection {
        /// The section's name.
        section: String,
        /// Why.
        reason: String,
    },
    /// The compatibility section is truncated or does not decode: why.
    BadCompatibility(String),
    /// The text section asks for an alignment that is not a power of two
    /// of at most 64 KiB.
    TextAlignment(u64),
    /// The module metadata does not decode: why.
    BadMetadata(String),
    /// The module metadata is inconsistent ([`Module::check`]).
    InconsistentModule(ModuleError),
    /// Not one function location per defined function.
    FunctionCount {
        /// The locations in the functions table.
        locations: usize,
        /// The module's defined functions.
        defined: u32,
    },
    /// A trap site names a trap code keel does not have.
    UnknownTrapCode {
        /// The code.
        code: u32,
        /// The trap site's offset in the text.
        offset: u32,
    },
    /// The code's tables do not describe its text
    /// ([`CompiledText::check`]).
    InconsistentTables(TextError),
    /// The module metadata, or the table section named, does not match
    /// the digest it was written with.
    Corrupted {
        /// `None` for the module metadata, else the table section.
        section: Option<String>,
    },
    /// The artifact was written by another build of keel (its version,
    /// or the same version built from other sources): its layout and
    /// code may differ in ways no check can tell from corruption, so it
    /// is refused as stale. Compile the module again.
    Build {
        /// The artifact's keel build, `VERSION+BUILD_ID`.
        artifact: String,
        /// The engine's.
        engine: String,
    },
    /// The code is for another target than the engine's.
    Target {
        /// The artifact's target triple.
        artifact: String,
        /// The engine's.
        engine: String,
    },
    /// The artifact was compiled with settings the engine does not have:
    /// each as `(setting, artifact value, engine value)`.
    Settings(Vec<(String, String, String)>),
    /// The engine compiles for another machine than this one: its
    /// artifacts can be written, not run.
    EngineNotHost {
        /// The engine's target triple.
        engine: String,
    },
}

impl fmt::Display for ArtifactError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use ArtifactError as E;
        match self {
            E::Build { artifact, engine } => {
                return write!(
                    f,
                    "stale artifact: written by keel {artifact}, but this is keel {engine}; \
                     compile the module again with this keel"
                );
            }
            E::Target { artifact, engine } => {
                return write!(
                    f,
                    "the artifact is code for another machine: target: artifact {artifact}, \
                     engine {engine}; load it where {artifact} code runs, or compile the module \
                     for {engine}"
                );
            }
            E::Settings(mismatches) => {
                f.write_str("the artifact was compiled with settings this engine does not have: ")?;
                for (i, (name, a, b)) in mismatches.iter().enumerate() {
                    if i > 0 {
                        f.write_str("; ")?;
                    }
                    write!(f, "{name}: artifact {a}, engine {b}")?;
                }
                return Ok(());
            }
            E::EngineNotHost { engine } => {
                return write!(
                    f,
                    "this engine's target `{engine}` is not this machine's: its artifacts can be \
                     written, not run"
                );
            }
            _ => {}
        }
        f.write_str("invalid keel artifact: ")?;
        match self {
            E::BadMagic => f.write_str("not an ELF file (bad magic)"),
            E::Elf(reason) => f.write_str(reason),
            E::BigEndian => f.write_str("big-endian ELF"),
            E::UnsupportedMachine(m) => write!(f, "ELF machine {m} is neither x86_64 nor riscv64"),
            E::Version { found, expected } => write!(
                f,
                "artifact format version {found}, but this keel reads version {expected}"
            ),
            E::MissingSection(name) => write!(f, "no `{name}` section"),
            E::BadSection { section, reason } => write!(f, "section `{section}`: {reason}"),
            E::BadCompatibility(reason) => write!(f, "the compatibility section {reason}"),
            E::TextAlignment(a) => write!(f, "text alignment {a}"),
            E::BadMetadata(reason) => write!(f, "the module metadata does not decode: {reason}"),
            E::InconsistentModule(reason) => write!(f, "inconsistent module metadata: {reason}"),
            E::FunctionCount { locations, defined } => write!(
                f,
                "{locations} function locations for {defined} defined functions"
            ),
            E::UnknownTrapCode { code, offset } => {
                write!(f, "unknown trap code {code} at offset {offset}")
            }
            E::InconsistentTables(reason) => write!(f, "{reason}"),
            E::Corrupted { section: None } => {
                f.write_str("the module metadata does not match its digest (corrupted)")
            }
            E::Corrupted {
                section: Some(name),
            } => write!(f, "section `{name}` does not match its seal (corrupted)"),
            E::Build { .. } | E::Target { .. } | E::Settings(_) | E::EngineNotHost { .. } => Ok(()),
        }
    }
}

impl core::error::Error for ArtifactError {}

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
            return Err(ArtifactError::BadMagic);
        }
        let file =
            ElfFile64::<Endianness>::parse(bytes).map_err(|e| ArtifactError::Elf(e.to_string()))?;
        let header = file.elf_header();
        if header.is_big_endian() {
            return Err(ArtifactError::BigEndian);
        }
        let machine = match header.e_machine(file.endian()) {
            object::elf::EM_X86_64 => ArtifactMachine::X86_64,
            object::elf::EM_RISCV => ArtifactMachine::Riscv64,
            other => return Err(ArtifactError::UnsupportedMachine(other)),
        };
        let compat_bytes = section(&file, sections::COMPAT)?;
        let Some((version, rest)) = compat_bytes.split_first_chunk::<4>() else {
            return Err(ArtifactError::BadCompatibility("is truncated".into()));
        };
        let version = u32::from_le_bytes(*version);
        if version != FORMAT_VERSION {
            return Err(ArtifactError::Version {
                found: version,
                expected: FORMAT_VERSION,
            });
        }
        let compat_bytes = rest;
        let code = section(&file, sections::TEXT)?;
        let code_alignment = file
            .section_by_name(sections::TEXT)
            .map_or(1, |s| s.align());
        let code_alignment = usize::try_from(code_alignment)
            .ok()
            .filter(|a| a.is_power_of_two() && *a <= 1 << 16)
            .ok_or(ArtifactError::TextAlignment(code_alignment))?;
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
            .map_err(|e| ArtifactError::BadCompatibility(format!("does not decode: {e}")))
    }

    /// The keel build that wrote the artifact
    /// ([`Compatibility::keel_version`], its first field), decoded alone
    /// so that it can be named even when the rest of the section has a
    /// layout this build does not read.
    ///
    /// # Errors
    ///
    /// If the section does not start with a string.
    pub fn keel_version(&self) -> Result<String, ArtifactError> {
        postcard::take_from_bytes::<String>(self.compat_bytes)
            .map(|(version, _)| version)
            .map_err(|e| ArtifactError::BadCompatibility(format!("does not decode: {e}")))
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
                .map_err(|e| ArtifactError::BadMetadata(e.to_string()))?;
        let digest_matches = sealed.digest_matches();
        let metadata = sealed.metadata;
        let mut module = metadata.module;
        module.check().map_err(ArtifactError::InconsistentModule)?;
        let table = |name: &str| {
            let bytes = section(&self.file, name)?;
            decode_table(bytes).map_err(|e| ArtifactError::BadSection {
                section: name.to_string(),
                reason: e.to_string(),
            })
        };
        let functions: PrimaryMap<_, _> = table(sections::FUNCTIONS)?
            .map(|(start, length)| FunctionLoc { start, length })
            .collect();
        if functions.len() != module.num_defined_funcs() as usize {
            return Err(ArtifactError::FunctionCount {
                locations: functions.len(),
                defined: module.num_defined_funcs(),
            });
        }
        let compact = |name: &str| {
            let bytes = section(&self.file, name)?;
            unseal(bytes).map_err(|reason| ArtifactError::BadSection {
                section: name.to_string(),
                reason,
            })
        };
        let traps =
            TrapTable::from_bytes(compact(sections::TRAPS)?.to_vec()).map_err(|e| match e {
                TrapTableError::UnknownCode { code, offset } => {
                    ArtifactError::UnknownTrapCode { code, offset }
                }
                TrapTableError::Malformed(reason) => ArtifactError::BadSection {
                    section: sections::TRAPS.to_string(),
                    reason,
                },
            })?;
        let address_map = AddressMap::from_bytes(compact(sections::ADDRESS_MAP)?.to_vec())
            .map_err(|reason| ArtifactError::BadSection {
                section: sections::ADDRESS_MAP.to_string(),
                reason,
            })?;
        let text = CompiledText {
            text: Vec::new(),
            functions,
            array_to_wasm_trampolines: metadata.array_to_wasm_trampolines,
            wasm_to_array_trampolines: metadata.wasm_to_array_trampolines,
            traps,
            exception_call_sites: metadata.exception_call_sites,
            stack_maps: metadata.stack_maps,
            address_map,
        };
        text.check(self.code, &module)
            .map_err(ArtifactError::InconsistentTables)?;
        if !digest_matches {
            return Err(ArtifactError::Corrupted { section: None });
        }
        for name in [sections::FUNCTIONS, sections::TRAPS, sections::ADDRESS_MAP] {
            if !table_seal_matches(section(&self.file, name)?) {
                return Err(ArtifactError::Corrupted {
                    section: Some(name.to_string()),
                });
            }
        }
        Ok((module, text))
    }
}

/// The bytes of section `name` of `file`.
fn section<'a>(file: &ElfFile64<'a, Endianness>, name: &str) -> Result<&'a [u8], ArtifactError> {
    let section = file
        .section_by_name(name)
        .ok_or_else(|| ArtifactError::MissingSection(name.to_string()))?;
    section.data().map_err(|e| ArtifactError::BadSection {
        section: name.to_string(),
        reason: e.to_string(),
    })
}
