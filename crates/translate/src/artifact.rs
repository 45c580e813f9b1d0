//! The output of compilation as the runtime consumes it: machine code and
//! the tables that describe it, with offsets only (no addresses), and the
//! layout of the ELF artifact that carries them ahead of time (keel-compile
//! writes it, keel-vm reads it).
//!
//! # Artifact layout
//!
//! An artifact is an ELF64 relocatable object for the target's machine
//! with these sections (names in [`sections`]):
//!
//! | section | contents |
//! |---|---|
//! | `.text` | the linked machine code, page-aligned in the file, no relocations |
//! | `.keel.compat` | [`FORMAT_VERSION`] (u32 LE), then a postcard [`Compatibility`] |
//! | `.keel.module` | a postcard [`ArtifactMetadata`]: the [`Module`] and the trampoline tables, then its [code digest](ArtifactMetadata::code_digest) (u64) |
//! | `.keel.functions` | [`FunctionLoc`] per defined function: `start: u32, length: u32` (LE) |
//! | `.keel.traps` | the [`TrapTable`]: text offset to [`Trap`] code, in the [compact encoding](crate::compact) |
//! | `.keel.address_map` | the [`AddressMap`]: text offset to wasm offset, in the compact encoding |
//!
//! Each of the three tables ends with a seal: the [`Digest`] of the
//! bytes before it, low word first ([`seal`]).
//!
//! Nothing in it is an address: every position is an offset into `.text`,
//! so the text runs wherever it is mapped.
//!
//! # What a loader can check, and what it cannot
//!
//! Only the machine code is trusted. [`Module::check`] and
//! [`CompiledText::check`] check everything the metadata says against
//! the rest of it, the text and the function table: indices in their
//! spaces, constant expressions and segment types, the layout of the text
//! (functions, then trampolines, tiling it with zero padding), trampolines
//! of the right signatures, call sites, handlers, stack maps, trap sites
//! and address-map entries inside their own functions, tables sorted.
//! What remains is what only the compiler knows: where inside a function a
//! handler begins or a trap site lies, how large a frame is, and which
//! types the code was compiled for. Those are covered by digests (the code
//! digest of the metadata and the seals of the tables), compared after
//! every other check: a corrupted byte there is an error, not a jump into
//! the middle of an instruction. The digests detect corruption, not
//! forgery: whoever can rewrite an artifact can rewrite its code too, which
//! is trusted.

use crate::prelude::*;

use crate::*;

/// Where a function lives in a text section, in bytes from its start.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct FunctionLoc {
    /// Offset of the first instruction.
    pub start: u32,
    /// Length of the function's code.
    pub length: u32,
}

/// One entry of a call site's exception table: Cranelift's
/// `FinalizedMachExceptionHandler` with text offsets. A call site's
/// entries are tried in order and the first that matches the thrown
/// exception wins, as a `try_table`'s catch clauses are (spec:
/// [`try_table`](https://webassembly.github.io/spec/core/exec/instructions.html#exec-try-table)).
#[derive(Copy, Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum ExceptionHandler {
    /// The VMContext that resolves the tags of the entries after it is
    /// the pointer stored at `sp_offset` bytes above the stack pointer of
    /// the frame at the call.
    Context {
        /// Offset from the frame's stack pointer at the call.
        sp_offset: u32,
    },
    /// Exceptions whose tag is the instance's tag `tag` continue at
    /// `offset`.
    Tag {
        /// The tag, in the module of the frame's instance.
        tag: TagIndex,
        /// The handler's text offset.
        offset: u32,
    },
    /// Every exception continues at `offset` (`catch_all`).
    CatchAll {
        /// The handler's text offset.
        offset: u32,
    },
}

/// A call inside a `try_table`: where its handlers are and how to find the
/// calling frame's stack pointer again.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ExceptionCallSite {
    /// Text offset of the call's return address.
    pub ret_offset: u32,
    /// Bytes from the frame pointer down to the stack pointer at the
    /// call: a handler runs with `sp = fp - frame_offset`.
    pub frame_offset: u32,
    /// The handlers, in the order they are tried.
    pub handlers: Vec<ExceptionHandler>,
}

/// The `exnref` values live across one call, for the collector of
/// exception objects: the slots of the calling frame that hold them while
/// the callee runs (Cranelift's user stack maps). Null slots hold 0.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StackMap {
    /// Text offset of the call's return address.
    pub ret_offset: u32,
    /// Bytes from the frame pointer down to the stack pointer at the call.
    pub frame_size: u32,
    /// Byte offsets, from that stack pointer, of the pointer-sized slots
    /// holding live references; each lies inside the frame.
    pub slots: Vec<u32>,
}

/// The entry of `sorted` (sorted by `key`, a return offset) for the call
/// whose return address is at `ret_offset`.
fn by_ret_offset<T>(sorted: &[T], ret_offset: u32, key: impl Fn(&T) -> u32) -> Option<&T> {
    let i = sorted.binary_search_by_key(&ret_offset, key).ok()?;
    sorted.get(i)
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
    /// Wasm-to-array trampolines (host functions called from wasm), one
    /// per distinct signature: for a module, the signatures of its
    /// function imports and of its `call_indirect`s (a table may hold a
    /// host function), so that an artifact needs no compiler to call the
    /// host.
    pub wasm_to_array_trampolines: Vec<(WasmFuncType, FunctionLoc)>,
    /// Every trapping instruction.
    pub traps: TrapTable,
    /// The calls that have exception handlers, sorted by return address.
    pub exception_call_sites: Vec<ExceptionCallSite>,
    /// The calls across which `exnref` values are live, sorted by return
    /// address.
    pub stack_maps: Vec<StackMap>,
    /// Text offset to wasm byte offset (in the module) of the operator the
    /// code from there on belongs to.
    pub address_map: AddressMap,
}

impl CompiledText {
    /// The trap raised by the instruction at `offset`, if it is a trap site.
    pub fn lookup_trap(&self, offset: u32) -> Option<Trap> {
        self.traps.lookup(offset)
    }

    /// The exception handlers of the call whose return address is at
    /// text `ret_offset`, if it has any.
    pub fn lookup_exception_call_site(&self, ret_offset: u32) -> Option<&ExceptionCallSite> {
        by_ret_offset(&self.exception_call_sites, ret_offset, |c| c.ret_offset)
    }

    /// The stack map of the call whose return address is at text
    /// `ret_offset`, if references are live across it.
    pub fn lookup_stack_map(&self, ret_offset: u32) -> Option<&StackMap> {
        by_ret_offset(&self.stack_maps, ret_offset, |m| m.ret_offset)
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
        self.address_map.lookup(offset)
    }

    /// Move every offset in the tables `delta` bytes on: the tables of
    /// code placed `delta` bytes into a larger region, to be looked up
    /// with offsets from the region's start. The function and trampoline
    /// locations, trap sites, address map, call sites with their
    /// handlers, and stack maps.
    ///
    /// # Errors
    ///
    /// If an offset overflows `u32`.
    pub fn rebase(&mut self, delta: u32) -> Result<(), String> {
        let add = |x: u32| {
            x.checked_add(delta)
                .ok_or_else(|| format!("offset {x} + {delta} overflows 32 bits"))
        };
        for loc in self.functions.values_mut() {
            loc.start = add(loc.start)?;
        }
        for (_, loc) in &mut self.array_to_wasm_trampolines {
            loc.start = add(loc.start)?;
        }
        for (_, loc) in &mut self.wasm_to_array_trampolines {
            loc.start = add(loc.start)?;
        }
        let traps = self
            .traps
            .iter()
            .map(|t| {
                Ok(TrapInfo {
                    offset: add(t.offset)?,
                    code: t.code,
                })
            })
            .collect::<Result<Vec<_>, String>>()?;
        self.traps = TrapTable::new(traps)?;
        let map = self
            .address_map
            .iter()
            .map(|(text, wasm)| Ok((add(text)?, wasm)))
            .collect::<Result<Vec<_>, String>>()?;
        self.address_map = AddressMap::new(map)?;
        for site in &mut self.exception_call_sites {
            site.ret_offset = add(site.ret_offset)?;
            for h in &mut site.handlers {
                match h {
                    ExceptionHandler::Tag { offset, .. }
                    | ExceptionHandler::CatchAll { offset } => {
                        *offset = add(*offset)?;
                    }
                    ExceptionHandler::Context { .. } => {}
                }
            }
        }
        for map in &mut self.stack_maps {
            map.ret_offset = add(map.ret_offset)?;
        }
        Ok(())
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

/// The version of the artifact layout this keel reads and writes; bumped
/// whenever the layout or the encoding of any section changes.
pub const FORMAT_VERSION: u32 = 6;

/// Names of an artifact's ELF sections.
pub mod sections {
    /// The machine code.
    pub const TEXT: &str = ".text";
    /// [`FORMAT_VERSION`](super::FORMAT_VERSION) then the postcard
    /// [`Compatibility`](super::Compatibility).
    pub const COMPAT: &str = ".keel.compat";
    /// The postcard [`ArtifactMetadata`](super::ArtifactMetadata).
    pub const MODULE: &str = ".keel.module";
    /// The function locations.
    pub const FUNCTIONS: &str = ".keel.functions";
    /// The trap table.
    pub const TRAPS: &str = ".keel.traps";
    /// The address map.
    pub const ADDRESS_MAP: &str = ".keel.address_map";
}

/// Everything that must match between the engine that compiled an
/// artifact and the engine that loads it, because it changes the machine
/// code or what the code assumes of the runtime.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Compatibility {
    /// The keel build that wrote the artifact, `VERSION+BUILD_ID`: the
    /// crates' version and a hash of their sources (`release` for a
    /// published version). The first field, so that a loader can read it
    /// even when the rest has another build's layout.
    pub keel_version: String,
    /// The target triple the code is for (e.g. `x86_64-unknown-linux-gnu`).
    pub target: String,
    /// Cranelift's shared settings that change code, `(name, value)`,
    /// sorted by name.
    pub cranelift_flags: Vec<(String, String)>,
    /// The target ISA's settings (CPU features), `(name, value)`, sorted
    /// by name.
    pub isa_flags: Vec<(String, String)>,
    /// The memory layout the code relies on.
    pub memory: MemoryTunables,
    /// Whether the code meters fuel.
    pub consume_fuel: bool,
    /// Whether the code checks epoch deadlines.
    pub epoch_interruption: bool,
    /// Whether float results are NaN-canonicalized.
    pub nan_canonicalization: bool,
    /// Whether explicit memory bounds checks are Spectre-guarded.
    pub heap_access_spectre_mitigation: bool,
    /// Whether table bounds checks are Spectre-guarded.
    pub table_access_spectre_mitigation: bool,
    /// The enabled WebAssembly features (wasmparser's `WasmFeatures` bits).
    pub wasm_features: u64,
    /// Whether relaxed SIMD operators have their deterministic lowering.
    pub relaxed_simd_deterministic: bool,
}

impl Compatibility {
    /// The settings of `self` (an artifact's) that differ from
    /// `expected` (the loading engine's), each as `(setting, artifact
    /// value, engine value)`. Flags are compared by name; a flag only one
    /// side has is reported with `(absent)` on the other. Code for
    /// another target is reported as that alone (its other settings do
    /// not compare). WebAssembly features are a mismatch only when the
    /// artifact was validated with one the engine does not enable (a
    /// module valid without a feature is valid with it, as Wasmtime
    /// also accepts).
    pub fn mismatches(&self, expected: &Compatibility) -> Vec<(String, String, String)> {
        let mut out = Vec::new();
        let mut check = |name: &str, a: String, b: String| {
            if a != b {
                out.push((name.into(), a, b));
            }
        };
        check(
            "keel version",
            self.keel_version.clone(),
            expected.keel_version.clone(),
        );
        check("target", self.target.clone(), expected.target.clone());
        if self.target != expected.target {
            return out;
        }
        let m = (&self.memory, &expected.memory);
        check(
            "memory_reservation",
            format!("{}", m.0.reservation_bytes),
            format!("{}", m.1.reservation_bytes),
        );
        check(
            "memory_guard_size",
            format!("{}", m.0.guard_bytes),
            format!("{}", m.1.guard_bytes),
        );
        check(
            "signals_based_traps",
            format!("{}", m.0.signals_based_traps),
            format!("{}", m.1.signals_based_traps),
        );
        for (name, a, b) in [
            ("consume_fuel", self.consume_fuel, expected.consume_fuel),
            (
                "epoch_interruption",
                self.epoch_interruption,
                expected.epoch_interruption,
            ),
            (
                "cranelift_nan_canonicalization",
                self.nan_canonicalization,
                expected.nan_canonicalization,
            ),
            (
                "heap_access_spectre_mitigation",
                self.heap_access_spectre_mitigation,
                expected.heap_access_spectre_mitigation,
            ),
            (
                "table_access_spectre_mitigation",
                self.table_access_spectre_mitigation,
                expected.table_access_spectre_mitigation,
            ),
            (
                "relaxed_simd_deterministic",
                self.relaxed_simd_deterministic,
                expected.relaxed_simd_deterministic,
            ),
        ] {
            check(name, format!("{a}"), format!("{b}"));
        }
        if self.wasm_features & !expected.wasm_features != 0 {
            out.push((
                "wasm features".into(),
                format!("{:#x}", self.wasm_features),
                format!(
                    "{:#x} (lacks {:#x})",
                    expected.wasm_features,
                    self.wasm_features & !expected.wasm_features
                ),
            ));
        }
        for (kind, ours, theirs) in [
            (
                "Cranelift setting",
                &self.cranelift_flags,
                &expected.cranelift_flags,
            ),
            ("ISA setting", &self.isa_flags, &expected.isa_flags),
        ] {
            flag_mismatches(kind, ours, theirs, &mut out);
        }
        out
    }
}

/// Append to `out` the flags of `ours` and `theirs` whose values differ.
fn flag_mismatches(
    kind: &str,
    ours: &[(String, String)],
    theirs: &[(String, String)],
    out: &mut Vec<(String, String, String)>,
) {
    if ours == theirs {
        return;
    }
    let find = |list: &[(String, String)], name: &str| {
        list.iter()
            .find(|(n, _)| n == name)
            .map_or_else(|| String::from("(absent)"), |(_, v)| v.clone())
    };
    for (name, value) in ours {
        let other = find(theirs, name);
        if *value != other {
            out.push((format!("{kind} `{name}`"), value.clone(), other));
        }
    }
    for (name, value) in theirs {
        if !ours.iter().any(|(n, _)| n == name) {
            out.push((
                format!("{kind} `{name}`"),
                String::from("(absent)"),
                value.clone(),
            ));
        }
    }
}

/// The postcard-encoded part of an artifact: the module's metadata and the
/// tables that map types to trampolines.
///
/// It is encoded as its fields followed by its
/// [`code_digest`](Self::code_digest) (a `u64`); decoding it checks the
/// digest. A loader that checks the metadata first, to name the first
/// inconsistency rather than a digest mismatch, decodes a
/// [`SealedArtifactMetadata`] instead.
#[derive(Clone, Debug)]
pub struct ArtifactMetadata {
    /// The module (types, imports, exports, segments, names; the
    /// [`VMOffsets`] are computed from it again).
    pub module: Module,
    /// [`CompiledText::array_to_wasm_trampolines`].
    pub array_to_wasm_trampolines: Vec<(TypeIndex, FunctionLoc)>,
    /// [`CompiledText::wasm_to_array_trampolines`].
    pub wasm_to_array_trampolines: Vec<(WasmFuncType, FunctionLoc)>,
    /// [`CompiledText::exception_call_sites`].
    pub exception_call_sites: Vec<ExceptionCallSite>,
    /// [`CompiledText::stack_maps`].
    pub stack_maps: Vec<StackMap>,
}

impl ArtifactMetadata {
    /// The [`Digest`] of the whole metadata: the module (types, imports,
    /// exports, segments, initializers, names), the trampoline tables, the
    /// exception call sites and the stack maps. [`Module::check`] and
    /// [`CompiledText::check`] refuse what is inconsistent; the digest
    /// refuses what is consistent but not what was compiled (a handler
    /// moved to another instruction, a changed data byte), so a corrupted
    /// artifact is refused rather than run with other results.
    pub fn code_digest(&self) -> u64 {
        let mut d = Digest::new();
        d.add(&self.module);
        d.add(&self.array_to_wasm_trampolines);
        d.add(&self.wasm_to_array_trampolines);
        d.add(&self.exception_call_sites);
        d.add(&self.stack_maps);
        d.finish()
    }
}

/// [`ArtifactMetadata`] as it is encoded, with its digest.
#[derive(serde::Serialize)]
struct SealedRef<'a> {
    module: &'a Module,
    array_to_wasm_trampolines: &'a [(TypeIndex, FunctionLoc)],
    wasm_to_array_trampolines: &'a [(WasmFuncType, FunctionLoc)],
    exception_call_sites: &'a [ExceptionCallSite],
    stack_maps: &'a [StackMap],
    code_digest: u64,
}

impl serde::Serialize for ArtifactMetadata {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        SealedRef {
            module: &self.module,
            array_to_wasm_trampolines: &self.array_to_wasm_trampolines,
            wasm_to_array_trampolines: &self.wasm_to_array_trampolines,
            exception_call_sites: &self.exception_call_sites,
            stack_maps: &self.stack_maps,
            code_digest: self.code_digest(),
        }
        .serialize(s)
    }
}

impl<'de> serde::Deserialize<'de> for ArtifactMetadata {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let sealed = SealedArtifactMetadata::deserialize(d)?;
        if !sealed.digest_matches() {
            return Err(serde::de::Error::custom(
                "the metadata does not match its code digest",
            ));
        }
        Ok(sealed.metadata)
    }
}

/// [`ArtifactMetadata`] decoded with the digest it was written with, not
/// yet compared: a loader checks the metadata first, then
/// [`digest_matches`](Self::digest_matches).
#[derive(Clone, Debug)]
pub struct SealedArtifactMetadata {
    /// The metadata.
    pub metadata: ArtifactMetadata,
    /// The [`code_digest`](ArtifactMetadata::code_digest) it was written
    /// with.
    pub code_digest: u64,
}

impl SealedArtifactMetadata {
    /// Whether the metadata has the code digest it was written with.
    pub fn digest_matches(&self) -> bool {
        self.metadata.code_digest() == self.code_digest
    }
}

impl<'de> serde::Deserialize<'de> for SealedArtifactMetadata {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        /// The fields of [`SealedRef`], owned.
        #[derive(serde::Deserialize)]
        struct Sealed {
            module: Module,
            array_to_wasm_trampolines: Vec<(TypeIndex, FunctionLoc)>,
            wasm_to_array_trampolines: Vec<(WasmFuncType, FunctionLoc)>,
            exception_call_sites: Vec<ExceptionCallSite>,
            stack_maps: Vec<StackMap>,
            code_digest: u64,
        }
        let s = Sealed::deserialize(d)?;
        Ok(Self {
            metadata: ArtifactMetadata {
                module: s.module,
                array_to_wasm_trampolines: s.array_to_wasm_trampolines,
                wasm_to_array_trampolines: s.wasm_to_array_trampolines,
                exception_call_sites: s.exception_call_sites,
                stack_maps: s.stack_maps,
            },
            code_digest: s.code_digest,
        })
    }
}

/// A checksum to detect corrupted artifact metadata: the CRC-32
/// ([`crc32fast`]) of bytes, or of the postcard encoding of values (a
/// fixed, self-delimiting encoding), in the order they are fed. A CRC-32
/// detects every change confined to 32 consecutive bits, so every
/// single-byte change. Kept as a `u64` in the format.
#[derive(Clone, Debug, Default)]
pub struct Digest(crc32fast::Hasher);

impl Digest {
    /// An empty digest.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feed `bytes`.
    pub fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    /// Feed the postcard encoding of `value`.
    pub fn add<T: serde::Serialize + ?Sized>(&mut self, value: &T) {
        match postcard::to_allocvec(value) {
            Ok(bytes) => self.0.update(&bytes),
            // Metadata types always encode; should one not, the marker
            // still changes the digest.
            Err(_) => self.0.update(&[0xff; 8]),
        }
    }

    /// The checksum of what was fed.
    pub fn finish(self) -> u64 {
        u64::from(self.0.finalize())
    }
}

/// Check that `offsets` (of table entries called `what`) strictly increase.
fn strictly_increasing(what: &str, offsets: impl Iterator<Item = u32>) -> Result<(), String> {
    let mut prev = None;
    for (i, offset) in offsets.enumerate() {
        if prev.is_some_and(|p| p >= offset) {
            return Err(format!("{what} {i} is out of order"));
        }
        prev = Some(offset);
    }
    Ok(())
}

/// Encode `(u32, u32)` records as the little-endian bytes of a table
/// section, followed by its seal ([`seal`]).
pub fn encode_table(records: impl IntoIterator<Item = (u32, u32)>) -> Vec<u8> {
    let mut out = Vec::new();
    for (a, b) in records {
        out.extend_from_slice(&a.to_le_bytes());
        out.extend_from_slice(&b.to_le_bytes());
    }
    seal(out)
}

/// `bytes` followed by their seal: the [`Digest`] of them, low word
/// first, as a section ends.
pub fn seal(mut bytes: Vec<u8>) -> Vec<u8> {
    let mut digest = Digest::new();
    digest.write(&bytes);
    bytes.extend_from_slice(&digest.finish().to_le_bytes());
    bytes
}

/// The contents of a sealed section, without the seal, which
/// [`table_seal_matches`] checks.
///
/// # Errors
///
/// If it is shorter than a seal.
pub fn unseal(bytes: &[u8]) -> Result<&[u8], String> {
    bytes
        .split_last_chunk::<8>()
        .map(|(contents, _)| contents)
        .ok_or_else(|| format!("{} bytes, too short for a seal", bytes.len()))
}

/// Decode a table section into its `(u32, u32)` records (without the
/// seal, which [`table_seal_matches`] checks).
///
/// # Errors
///
/// If its length is not a multiple of 8 bytes, or it has no seal.
pub fn decode_table(bytes: &[u8]) -> Result<impl Iterator<Item = (u32, u32)> + '_, String> {
    if !bytes.len().is_multiple_of(8) || bytes.is_empty() {
        return Err(format!(
            "{} bytes, not a whole number of 8-byte entries and a seal",
            bytes.len()
        ));
    }
    Ok(bytes[..bytes.len() - 8].chunks_exact(8).map(|c| {
        let word = |i: usize| u32::from_le_bytes([c[i], c[i + 1], c[i + 2], c[i + 3]]);
        (word(0), word(4))
    }))
}

/// Whether a table section's records have the seal it ends with.
pub fn table_seal_matches(bytes: &[u8]) -> bool {
    let Some((records, seal)) = bytes.split_last_chunk::<8>() else {
        return false;
    };
    let mut digest = Digest::new();
    digest.write(records);
    digest.finish() == u64::from_le_bytes(*seal)
}

/// The alignment of every function and trampoline in a text: the linker
/// starts each at a multiple of 16 bytes (more when its code asks for it)
/// and fills the gaps with zeros.
pub const CODE_ALIGN: u32 = 16;

/// The alignment of the stack pointer at every call, on both targets: the
/// frame sizes of call sites and stack maps are multiples of it.
pub const STACK_ALIGN: u32 = 16;

/// The functions and trampolines placed so far in a text, checking that
/// they tile it: each starts at a multiple of [`CODE_ALIGN`], after the
/// one before, separated from it by fewer zero bytes than its start's
/// alignment (so that it starts where the linker would have put it).
struct Tiling<'a> {
    code: &'a [u8],
    /// End of the last region placed.
    end: usize,
    /// The regions placed, in order.
    regions: Vec<FunctionLoc>,
}

impl Tiling<'_> {
    fn place(&mut self, loc: FunctionLoc, what: impl Fn() -> String) -> Result<(), String> {
        let start = loc.start as usize;
        let end = start.checked_add(loc.length as usize);
        let Some(end) = end.filter(|end| *end <= self.code.len() && loc.length > 0) else {
            return Err(format!(
                "{} at {}+{} lies outside the {}-byte text",
                what(),
                loc.start,
                loc.length,
                self.code.len()
            ));
        };
        if !loc.start.is_multiple_of(CODE_ALIGN) {
            return Err(format!("{} at {} is misaligned", what(), loc.start));
        }
        let align = 1usize << loc.start.trailing_zeros().min(12);
        let gap = start.checked_sub(self.end);
        if gap.is_none_or(|gap| gap >= align) || self.code[self.end..start].iter().any(|&b| b != 0)
        {
            return Err(format!(
                "{} at {} does not follow what comes before it (which ends at {})",
                what(),
                loc.start,
                self.end
            ));
        }
        self.end = end;
        self.regions.push(loc);
        Ok(())
    }
}

/// Whether `a` and `b` have the same machine-level signature
/// ([`WasmFuncType::signature`]), without building it.
fn same_signature(a: &WasmFuncType, b: &WasmFuncType) -> bool {
    let erase = |t: &WasmValType| if t.is_ref() { WasmValType::FuncRef } else { *t };
    let same = |x: &[WasmValType], y: &[WasmValType]| {
        x.len() == y.len() && x.iter().zip(y).all(|(x, y)| erase(x) == erase(y))
    };
    same(&a.params, &b.params) && same(&a.results, &b.results)
}

/// The [`Digest`] of the machine-level signature of `ty`.
fn signature_digest(ty: &WasmFuncType) -> u64 {
    let erase = |t: &WasmValType| if t.is_ref() { WasmValType::FuncRef } else { *t };
    let mut d = Digest::new();
    d.add(&ty.params.len());
    for t in ty.params.iter() {
        d.add(&erase(t));
    }
    for t in ty.results.iter() {
        d.add(&erase(t));
    }
    d.finish()
}

/// Why compiled code's tables do not describe its text
/// ([`CompiledText::check`]): which table, with a message naming the first
/// entry that breaks a rule.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TextError {
    /// The functions and trampolines do not tile the text as the linker
    /// lays it out, or the array-to-wasm trampolines are not the ones the
    /// module's host-reachable functions need.
    Layout(String),
    /// A wasm-to-array trampoline is for no type of the module, or an
    /// imported function has none.
    HostTrampolines(String),
    /// A trap site out of order or outside the code.
    Traps(String),
    /// An exception call site or stack map out of order, outside its
    /// function, or with a frame, handler, tag or slot that does not fit.
    CallSites(String),
    /// An address-map entry out of order or outside the functions.
    AddressMap(String),
}

impl core::fmt::Display for TextError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            TextError::Layout(m)
            | TextError::HostTrampolines(m)
            | TextError::Traps(m)
            | TextError::CallSites(m)
            | TextError::AddressMap(m) => f.write_str(m),
        }
    }
}

impl core::error::Error for TextError {}

impl CompiledText {
    /// Check what a loader relies on, against the text `code` and the
    /// `module` (already [checked](Module::check)) it was compiled from:
    ///
    /// * the defined functions, then the array-to-wasm trampolines, then
    ///   the wasm-to-array trampolines tile the text, each where the
    ///   linker puts it (aligned, after the one before, with only zero
    ///   padding between them and nothing after the last);
    /// * the array-to-wasm trampolines are sorted by type, one per type of
    ///   the functions the host can reach and no other, shared exactly by
    ///   equal types, in the order those functions first need them;
    /// * the wasm-to-array trampolines are for machine-level signatures of
    ///   the module's types, and every imported function has one;
    /// * trap sites are strictly sorted and inside functions or
    ///   trampolines; address-map entries are sorted and inside
    ///   functions;
    /// * exception call sites and stack maps are strictly sorted, each at
    ///   a return address inside a function, with the frame size every
    ///   other call of that function has (a multiple of the stack
    ///   alignment); handlers lie inside the call's function and name
    ///   tags of the module; the context slot and stack-map slots are
    ///   aligned and inside the frame, slots strictly sorted.
    ///
    /// Linear in the size of the tables, the module's types and the
    /// padding, up to sorting.
    ///
    /// # Errors
    ///
    /// A [`TextError`]: the table that breaks a rule, with a message
    /// naming its first entry that does.
    pub fn check(&self, code: &[u8], module: &Module) -> Result<(), TextError> {
        if u32::try_from(code.len()).is_err() {
            return Err(TextError::Layout(format!(
                "a text of {} bytes (at most 4 GiB)",
                code.len()
            )));
        }
        let regions = self.check_layout(code, module).map_err(TextError::Layout)?;
        self.check_host_trampolines(module)
            .map_err(TextError::HostTrampolines)?;
        self.check_traps(&regions).map_err(TextError::Traps)?;
        self.check_calls(module).map_err(TextError::CallSites)?;
        self.check_address_map().map_err(TextError::AddressMap)
    }

    /// The layout of the text: functions, array-to-wasm trampolines,
    /// wasm-to-array trampolines; the regions, in order.
    fn check_layout(&self, code: &[u8], module: &Module) -> Result<Vec<FunctionLoc>, String> {
        let mut tiling = Tiling {
            code,
            end: 0,
            regions: Vec::new(),
        };
        for (def, loc) in self.functions.iter() {
            tiling.place(*loc, || {
                format!("function {}", module.func_index(def).as_u32())
            })?;
        }
        let trampolines = &self.array_to_wasm_trampolines;
        if !trampolines.windows(2).all(|w| w[0].0 < w[1].0) {
            return Err("the array-to-wasm trampolines are not sorted by type".into());
        }
        // Visit the functions the host can reach as the compiler does: the
        // first time a type is needed, its trampoline is a new one (the
        // next region) or one an equal type already has.
        let mut used = alloc::vec![false; trampolines.len()];
        let mut placed: Vec<(FunctionLoc, TypeIndex)> = Vec::new();
        for f in module.escaped_funcs.iter() {
            if module.is_imported_func(f) {
                continue;
            }
            let Some(&ty) = module.functions.get(f) else {
                return Err(format!("escaped function {} does not exist", f.as_u32()));
            };
            let Ok(i) = trampolines.binary_search_by_key(&ty, |(t, _)| *t) else {
                return Err(format!(
                    "function {} can be called from the host but has no trampoline",
                    f.as_u32()
                ));
            };
            if core::mem::replace(&mut used[i], true) {
                continue;
            }
            let loc = trampolines[i].1;
            match placed.last() {
                Some((last, _)) if loc.start <= last.start => {
                    let shared = placed
                        .binary_search_by_key(&loc.start, |(l, _)| l.start)
                        .ok()
                        .map(|j| placed[j]);
                    match shared {
                        Some((l, other))
                            if l == loc
                                && module.types.get(other).and_then(WasmSubType::as_func)
                                    == module.types.get(ty).and_then(WasmSubType::as_func) => {}
                        _ => {
                            return Err(format!(
                                "the array-to-wasm trampoline of type {} is not one of its own",
                                ty.as_u32()
                            ));
                        }
                    }
                }
                _ => {
                    tiling.place(loc, || {
                        format!("the array-to-wasm trampoline of type {}", ty.as_u32())
                    })?;
                    placed.push((loc, ty));
                }
            }
        }
        if let Some(i) = used.iter().position(|used| !used) {
            return Err(format!(
                "a trampoline for type {}, which no function the host can reach has",
                trampolines[i].0.as_u32()
            ));
        }
        for (ty, loc) in &self.wasm_to_array_trampolines {
            tiling.place(*loc, || format!("the wasm-to-array trampoline of {ty}"))?;
        }
        if tiling.end != code.len() {
            return Err(format!(
                "the text has {} bytes after its last trampoline",
                code.len() - tiling.end
            ));
        }
        Ok(tiling.regions)
    }

    /// The wasm-to-array trampolines are for signatures of the module's
    /// types, and every imported function has one.
    fn check_host_trampolines(&self, module: &Module) -> Result<(), String> {
        let trampolines = &self.wasm_to_array_trampolines;
        if trampolines.is_empty() && module.num_imported_funcs == 0 {
            return Ok(());
        }
        let mut types: Vec<(u64, TypeIndex)> = module
            .types
            .iter()
            .filter_map(|(i, ty)| Some((signature_digest(ty.as_func()?), i)))
            .collect();
        types.sort_unstable();
        let mut ours: Vec<(u64, usize)> = Vec::with_capacity(trampolines.len());
        for (i, (sig, _)) in trampolines.iter().enumerate() {
            let digest = signature_digest(sig);
            let start = types.partition_point(|(d, _)| *d < digest);
            let is_module_signature = types[start..]
                .iter()
                .take_while(|(d, _)| *d == digest)
                .any(|(_, t)| same_signature(module.func_type_at(*t), sig));
            if !is_module_signature || *sig != sig.signature() {
                return Err(format!(
                    "a wasm-to-array trampoline for {sig}, not a signature of the module"
                ));
            }
            ours.push((digest, i));
        }
        ours.sort_unstable();
        for f in 0..module.num_imported_funcs {
            let Some(ty) = module
                .functions
                .get(FuncIndex::from_u32(f))
                .and_then(|ty| module.types.get(*ty))
                .and_then(WasmSubType::as_func)
            else {
                return Err(format!("imported function {f} has no function type"));
            };
            let digest = signature_digest(ty);
            let start = ours.partition_point(|(d, _)| *d < digest);
            if !ours[start..]
                .iter()
                .take_while(|(d, _)| *d == digest)
                .any(|(_, i)| same_signature(&trampolines[*i].0, ty))
            {
                return Err(format!(
                    "imported function {f} of type {ty} has no wasm-to-array trampoline"
                ));
            }
        }
        Ok(())
    }

    /// Trap sites are strictly sorted and inside `regions` (sorted).
    fn check_traps(&self, regions: &[FunctionLoc]) -> Result<(), String> {
        strictly_increasing("trap site", self.traps.iter().map(|t| t.offset))?;
        let mut r = 0;
        for (i, trap) in self.traps.iter().enumerate() {
            while regions
                .get(r)
                .is_some_and(|loc| loc.start + loc.length <= trap.offset)
            {
                r += 1;
            }
            if regions.get(r).is_none_or(|loc| trap.offset < loc.start) {
                return Err(format!(
                    "trap site {i} at offset {} is not inside a function",
                    trap.offset
                ));
            }
        }
        Ok(())
    }

    /// Address-map entries are sorted and inside functions.
    fn check_address_map(&self) -> Result<(), String> {
        let functions = self.functions.values().as_slice();
        let mut prev = 0;
        let mut f = 0;
        for (i, (text, _)) in self.address_map.iter().enumerate() {
            if text < prev {
                return Err(format!("address map entry {i} is out of order"));
            }
            prev = text;
            while functions
                .get(f)
                .is_some_and(|loc| loc.start + loc.length <= text)
            {
                f += 1;
            }
            if functions.get(f).is_none_or(|loc| text < loc.start) {
                return Err(format!(
                    "address map entry {i} at offset {text} is not inside a function"
                ));
            }
        }
        Ok(())
    }

    /// Exception call sites and stack maps.
    fn check_calls(&self, module: &Module) -> Result<(), String> {
        const POINTER: u32 = core::mem::size_of::<usize>() as u32;
        // The frame size of each function, as its first call says.
        let mut frame_sizes: Vec<Option<u32>> = alloc::vec![None; self.functions.len()];
        let mut frame = |what: &dyn Fn() -> String,
                         ret_offset: u32,
                         size: u32|
         -> Result<DefinedFuncIndex, String> {
            let Some(func) = self.func_by_text_offset(ret_offset.wrapping_sub(1)) else {
                return Err(format!(
                    "{} at offset {ret_offset} is not inside a function",
                    what()
                ));
            };
            if !size.is_multiple_of(STACK_ALIGN) {
                return Err(format!("{} has a misaligned frame of {size} bytes", what()));
            }
            match &mut frame_sizes[func.index()] {
                Some(known) if *known != size => {
                    return Err(format!(
                        "{} has a frame of {size} bytes, other calls of its function {known}",
                        what()
                    ));
                }
                slot => *slot = Some(size),
            }
            Ok(func)
        };
        strictly_increasing(
            "exception call site",
            self.exception_call_sites.iter().map(|c| c.ret_offset),
        )?;
        for (i, site) in self.exception_call_sites.iter().enumerate() {
            let what = || format!("exception call site {i}");
            let func = frame(&what, site.ret_offset, site.frame_offset)?;
            for h in &site.handlers {
                let target = match *h {
                    ExceptionHandler::Tag { tag, offset } => {
                        if module.tags.get(tag).is_none() {
                            return Err(format!(
                                "exception call site {i} names unknown tag {}",
                                tag.as_u32()
                            ));
                        }
                        offset
                    }
                    ExceptionHandler::CatchAll { offset } => offset,
                    ExceptionHandler::Context { sp_offset } => {
                        if !sp_offset.is_multiple_of(POINTER)
                            || sp_offset
                                .checked_add(POINTER)
                                .is_none_or(|end| end > site.frame_offset)
                        {
                            return Err(format!(
                                "exception call site {i}'s context lies outside its frame"
                            ));
                        }
                        continue;
                    }
                };
                if self.func_by_text_offset(target) != Some(func) {
                    return Err(format!(
                        "exception call site {i} has a handler outside its function"
                    ));
                }
            }
        }
        strictly_increasing("stack map", self.stack_maps.iter().map(|m| m.ret_offset))?;
        for (i, map) in self.stack_maps.iter().enumerate() {
            frame(&|| format!("stack map {i}"), map.ret_offset, map.frame_size)?;
            let mut next = 0u32;
            for &slot in &map.slots {
                let end = slot.checked_add(POINTER);
                if slot < next
                    || !slot.is_multiple_of(POINTER)
                    || end.is_none_or(|end| end > map.frame_size)
                {
                    return Err(format!(
                        "stack map {i} has a slot outside its frame or out of order"
                    ));
                }
                next = end.unwrap_or(u32::MAX);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;
    use alloc::vec;

    /// Imported function 0 and defined function 1 of type 0,
    /// `(i32) -> i32`, function 1 exported; defined function 2 and tag 0
    /// of type 1, `()`.
    fn module() -> Module {
        let mut m = Module::default();
        let t0 = m.types.push(WasmSubType::func(WasmFuncType::new(
            [WasmValType::I32],
            [WasmValType::I32],
        )));
        let t1 = m.types.push(WasmSubType::func(WasmFuncType::new([], [])));
        m.rec_groups = vec![(0, 1), (1, 1)];
        let f0 = m.functions.push(t0);
        m.imports.push(Import {
            module: "m".into(),
            field: "f".into(),
            index: EntityIndex::Function(f0),
            ty: EntityType::Function(t0),
        });
        m.num_imported_funcs = 1;
        let f1 = m.functions.push(t0);
        m.functions.push(t1);
        m.tags.push(t1);
        m.exports.push(("f".into(), EntityIndex::Function(f1)));
        m.escaped_funcs.insert(f1);
        m
    }

    /// The text of [`module`] as the linker lays it out: function 1 at
    /// 0..20, function 2 at 32..40, the array-to-wasm trampoline of type 0
    /// at 48..60, the wasm-to-array one of `(i32) -> i32` at 64..80, zero
    /// padding; a call with handlers and a stack map in function 1.
    fn text() -> (Vec<u8>, CompiledText) {
        let mut code = vec![0u8; 80];
        for r in [0..20, 32..40, 48..60, 64..80] {
            code[r].fill(0xcc);
        }
        let loc = |start, length| FunctionLoc { start, length };
        let mut functions = PrimaryMap::new();
        functions.push(loc(0, 20));
        functions.push(loc(32, 8));
        let i32_to_i32 = WasmFuncType::new([WasmValType::I32], [WasmValType::I32]);
        let text = CompiledText {
            text: Vec::new(),
            functions,
            array_to_wasm_trampolines: vec![(TypeIndex::from_u32(0), loc(48, 12))],
            wasm_to_array_trampolines: vec![(i32_to_i32, loc(64, 16))],
            traps: TrapTable::new(vec![
                TrapInfo {
                    offset: 4,
                    code: Trap::IntegerDivisionByZero,
                },
                TrapInfo {
                    offset: 70,
                    code: Trap::StackOverflow,
                },
            ])
            .unwrap(),
            exception_call_sites: vec![ExceptionCallSite {
                ret_offset: 10,
                frame_offset: 32,
                handlers: vec![
                    ExceptionHandler::Context { sp_offset: 8 },
                    ExceptionHandler::Tag {
                        tag: TagIndex::from_u32(0),
                        offset: 15,
                    },
                    ExceptionHandler::CatchAll { offset: 16 },
                ],
            }],
            stack_maps: vec![StackMap {
                ret_offset: 10,
                frame_size: 32,
                slots: vec![0, 16],
            }],
            address_map: AddressMap::new([(0, 100), (10, 105), (32, 110)]).unwrap(),
        };
        (code, text)
    }

    #[test]
    fn the_linkers_layout_passes() {
        let (code, text) = text();
        let mut m = module();
        m.check().unwrap();
        text.check(&code, &m).unwrap();
    }

    /// A change to [`text`] and what the error says.
    type Break = (&'static str, fn(&mut Vec<u8>, &mut CompiledText));

    #[test]
    fn each_broken_rule_is_an_error() {
        fn f(i: u32) -> DefinedFuncIndex {
            DefinedFuncIndex::from_u32(i)
        }
        fn site(t: &mut CompiledText) -> &mut ExceptionCallSite {
            &mut t.exception_call_sites[0]
        }
        let breaks: &[Break] = &[
            ("misaligned", |_, t| t.functions[f(1)].start = 33),
            ("does not follow", |_, t| t.functions[f(0)].length = 19),
            ("does not follow", |_, t| t.functions[f(1)].start = 48),
            ("outside the", |_, t| t.functions[f(0)].length = 100),
            ("outside the", |_, t| t.functions[f(1)].length = 0),
            ("does not follow", |c, _| c[25] = 1),
            ("after its last trampoline", |c, _| c.push(0)),
            ("has no trampoline", |_, t| {
                t.array_to_wasm_trampolines[0].0 = TypeIndex::from_u32(1)
            }),
            ("which no function the host can reach", |_, t| {
                let loc = t.array_to_wasm_trampolines[0].1;
                t.array_to_wasm_trampolines
                    .push((TypeIndex::from_u32(1), loc));
            }),
            ("misaligned", |_, t| {
                t.array_to_wasm_trampolines[0].1.start = 50
            }),
            ("not a signature of the module", |_, t| {
                t.wasm_to_array_trampolines[0].0 =
                    WasmFuncType::new([WasmValType::I64], [WasmValType::I32]);
            }),
            ("has no wasm-to-array trampoline", |_, t| {
                t.wasm_to_array_trampolines[0].0 = WasmFuncType::new([], []);
            }),
            ("not inside a function", |_, t| {
                t.traps = TrapTable::new(vec![TrapInfo {
                    offset: 25,
                    code: Trap::StackOverflow,
                }])
                .unwrap()
            }),
            ("not inside a function", |_, t| site(t).ret_offset = 0),
            ("not inside a function", |_, t| site(t).ret_offset = 30),
            ("handler outside its function", |_, t| {
                site(t).handlers[1] = ExceptionHandler::CatchAll { offset: 33 }
            }),
            ("misaligned frame", |_, t| site(t).frame_offset = 40),
            ("other calls of its function", |_, t| {
                site(t).frame_offset = 48
            }),
            ("context lies outside", |_, t| {
                site(t).handlers[0] = ExceptionHandler::Context { sp_offset: 28 }
            }),
            ("context lies outside", |_, t| {
                site(t).handlers[0] = ExceptionHandler::Context { sp_offset: 12 }
            }),
            ("unknown tag", |_, t| {
                site(t).handlers[1] = ExceptionHandler::Tag {
                    tag: TagIndex::from_u32(5),
                    offset: 15,
                }
            }),
            ("slot outside its frame", |_, t| {
                t.stack_maps[0].slots = vec![28]
            }),
            ("slot outside its frame", |_, t| {
                t.stack_maps[0].slots = vec![4]
            }),
            ("out of order", |_, t| t.stack_maps[0].slots = vec![16, 0]),
            ("misaligned frame", |_, t| t.stack_maps[0].frame_size = 24),
            ("not inside a function", |_, t| {
                t.address_map = AddressMap::new([(0, 100), (10, 105), (25, 110)]).unwrap()
            }),
        ];
        let m = module();
        for (message, change) in breaks {
            let (mut code, mut text) = text();
            change(&mut code, &mut text);
            let err = text.check(&code, &m).unwrap_err().to_string();
            assert!(err.contains(message), "expected {message:?}, got {err:?}");
        }
    }

    #[test]
    fn inconsistent_modules_are_errors() {
        type Break = (&'static str, fn(&mut Module));
        fn global(content: WasmValType, mutable: bool, op: ConstOp) -> Global {
            Global {
                ty: GlobalType { content, mutable },
                init: ConstExpr { ops: vec![op] },
            }
        }
        let breaks: &[Break] = &[
            ("not escaped", |m| {
                m.exports
                    .push(("g".into(), EntityIndex::Function(FuncIndex::from_u32(2))))
            }),
            ("the start function", |m| {
                m.start = Some(FuncIndex::from_u32(1))
            }),
            ("supertype", |m| {
                // Type 1 declares the final type 0 its supertype.
                m.types[TypeIndex::from_u32(1)].supertype =
                    Some(crate::TypeRef::Module(TypeIndex::from_u32(0)));
            }),
            ("supertype", |m| {
                // Non-final, but `() -> ()` does not match `(i32) -> i32`.
                m.types[TypeIndex::from_u32(0)].is_final = false;
                m.types[TypeIndex::from_u32(1)].supertype =
                    Some(crate::TypeRef::Module(TypeIndex::from_u32(0)));
            }),
            ("supertype", |m| {
                m.types[TypeIndex::from_u32(0)].supertype =
                    Some(crate::TypeRef::Module(TypeIndex::from_u32(0)));
            }),
            ("not a function type", |m| {
                m.types[TypeIndex::from_u32(1)].composite = WasmCompositeType::Struct(Box::new([]));
            }),
            ("memory 0 has type", |m| {
                let mut memory = MemoryType::new(Limits { min: 1, max: None });
                memory.page_size_log2 = 17;
                m.memories.push(memory);
            }),
            ("memory 0 has type", |m| {
                m.memories.push(MemoryType::new(Limits {
                    min: 2,
                    max: Some(1),
                }));
            }),
            ("table 0 has type", |m| {
                m.tables.push(TableType {
                    element: WasmValType::FuncRef,
                    limits: Limits {
                        min: 1 << 32,
                        max: None,
                    },
                    table64: false,
                });
            }),
            ("not of type i32", |m| {
                m.globals
                    .push(global(WasmValType::I32, false, ConstOp::I64Const(1)));
            }),
            ("not of type externref", |m| {
                let f = ConstOp::RefFunc(FuncIndex::from_u32(1));
                m.globals.push(global(WasmValType::ExternRef, false, f));
            }),
            ("mutable", |m| {
                m.globals
                    .push(global(WasmValType::I32, true, ConstOp::I32Const(1)));
                m.globals.push(global(
                    WasmValType::I32,
                    false,
                    ConstOp::GlobalGet(GlobalIndex::from_u32(0)),
                ));
            }),
            ("later", |m| {
                m.globals.push(global(
                    WasmValType::I32,
                    false,
                    ConstOp::GlobalGet(GlobalIndex::from_u32(0)),
                ));
            }),
            ("in a table of", |m| {
                m.tables.push(TableType {
                    element: WasmValType::ExternRef,
                    limits: Limits { min: 1, max: None },
                    table64: false,
                });
                m.elems.push(ElemSegment {
                    ty: WasmValType::FuncRef,
                    mode: ElemMode::Active {
                        table: TableIndex::from_u32(0),
                        offset: ConstExpr {
                            ops: vec![ConstOp::I32Const(0)],
                        },
                    },
                    items: ElemItems::Expressions {
                        ops: Box::new([ConstOp::RefNull]),
                        ends: Box::new([1]),
                    },
                });
            }),
            ("an item is not", |m| {
                m.tables.push(TableType {
                    element: WasmValType::ExternRef,
                    limits: Limits { min: 1, max: None },
                    table64: false,
                });
                m.elems.push(ElemSegment {
                    ty: WasmValType::FuncRef,
                    mode: ElemMode::Active {
                        table: TableIndex::from_u32(0),
                        offset: ConstExpr {
                            ops: vec![ConstOp::I32Const(0)],
                        },
                    },
                    items: ElemItems::Functions(Box::new([PackedOption::from(
                        FuncIndex::from_u32(1),
                    )])),
                });
            }),
            ("an item is not", |m| {
                m.elems.push(ElemSegment {
                    ty: WasmValType::ExternRef,
                    mode: ElemMode::Passive,
                    items: ElemItems::Functions(Box::new([PackedOption::from(
                        FuncIndex::from_u32(1),
                    )])),
                });
            }),
            ("has no initializer", |m| {
                m.tables.push(TableType {
                    element: WasmValType::Ref(WasmRefType {
                        nullable: false,
                        heap: WasmHeapType::Func,
                    }),
                    limits: Limits { min: 1, max: None },
                    table64: false,
                });
            }),
        ];
        module().check().unwrap();
        for (message, change) in breaks {
            let mut m = module();
            change(&mut m);
            let err = m.check().unwrap_err().to_string();
            assert!(err.contains(message), "expected {message:?}, got {err:?}");
        }
    }

    #[test]
    fn any_one_changed_byte_changes_a_digest() {
        let bytes: Vec<u8> = (0..64u8).map(|i| i.wrapping_mul(37)).collect();
        let digest = |b: &[u8]| {
            let mut d = Digest::new();
            d.write(b);
            d.finish()
        };
        let original = digest(&bytes);
        for at in 0..bytes.len() {
            for value in 0..=255u8 {
                let mut changed = bytes.clone();
                changed[at] = value;
                assert_eq!(digest(&changed) == original, value == bytes[at]);
            }
        }
        let table = encode_table([(1, 2), (3, 4)]);
        assert!(table_seal_matches(&table));
        assert_eq!(
            decode_table(&table).unwrap().collect::<Vec<_>>(),
            [(1, 2), (3, 4)]
        );
        for at in 0..table.len() {
            let mut changed = table.clone();
            changed[at] ^= 0x10;
            assert!(!table_seal_matches(&changed));
        }
        assert!(decode_table(&[]).is_err());
    }
}
