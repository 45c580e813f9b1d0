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
//! | `.keel.module` | a postcard [`ArtifactMetadata`]: the [`Module`] and the trampoline tables |
//! | `.keel.functions` | [`FunctionLoc`] per defined function: `start: u32, length: u32` (LE) |
//! | `.keel.traps` | [`TrapInfo`] per trap site, sorted: `offset: u32, code: u32` (LE) |
//! | `.keel.address_map` | `(text offset: u32, wasm offset: u32)` pairs (LE), sorted |
//!
//! Nothing in it is an address: every position is an offset into `.text`,
//! so the text runs wherever it is mapped.

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

/// One trapping instruction.
#[derive(Copy, Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TrapInfo {
    /// Offset of the instruction in the text section.
    pub offset: u32,
    /// The trap it raises.
    pub code: TrapCode,
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
    /// Every trapping instruction, sorted by offset.
    pub traps: Vec<TrapInfo>,
    /// The calls that have exception handlers, sorted by return address.
    pub exception_call_sites: Vec<ExceptionCallSite>,
    /// The calls across which `exnref` values are live, sorted by return
    /// address.
    pub stack_maps: Vec<StackMap>,
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

/// The version of the artifact layout this keel reads and writes; bumped
/// whenever the layout or the encoding of any section changes.
pub const FORMAT_VERSION: u32 = 3;

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
    /// The `keel-translate` version (all keel crates share one version).
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
    /// side has is reported with `(absent)` on the other.
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
        check(
            "wasm features",
            format!("{:#x}", self.wasm_features),
            format!("{:#x}", expected.wasm_features),
        );
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
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
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
/// section.
pub fn encode_table(records: impl IntoIterator<Item = (u32, u32)>) -> Vec<u8> {
    let mut out = Vec::new();
    for (a, b) in records {
        out.extend_from_slice(&a.to_le_bytes());
        out.extend_from_slice(&b.to_le_bytes());
    }
    out
}

/// Decode a table section into `(u32, u32)` records.
///
/// # Errors
///
/// If its length is not a multiple of 8 bytes.
pub fn decode_table(bytes: &[u8]) -> Result<impl Iterator<Item = (u32, u32)> + '_, String> {
    if !bytes.len().is_multiple_of(8) {
        return Err(format!(
            "{} bytes, not a whole number of 8-byte entries",
            bytes.len()
        ));
    }
    Ok(bytes.chunks_exact(8).map(|c| {
        let word = |i: usize| u32::from_le_bytes([c[i], c[i + 1], c[i + 2], c[i + 3]]);
        (word(0), word(4))
    }))
}

impl CompiledText {
    /// Check what a loader relies on, for `text_len` bytes of code: every
    /// function and trampoline lies inside the text, functions are in
    /// order without overlap, trap sites are strictly sorted and inside
    /// the text, exception call sites are strictly sorted with their
    /// handlers inside the same function, the address map is sorted and inside the text, and the
    /// array-to-wasm trampolines are sorted by type.
    ///
    /// # Errors
    ///
    /// A message naming the first table entry that breaks a rule.
    pub fn check(&self, text_len: usize) -> Result<(), String> {
        let inside = |loc: &FunctionLoc| {
            loc.start
                .checked_add(loc.length)
                .is_some_and(|end| end as usize <= text_len)
        };
        let mut prev_end = 0u32;
        for (i, loc) in self.functions.values().enumerate() {
            if !inside(loc) {
                return Err(format!(
                    "function {i} at {}+{} lies outside the {text_len}-byte text",
                    loc.start, loc.length
                ));
            }
            if loc.start < prev_end {
                return Err(format!("function {i} overlaps the function before it"));
            }
            prev_end = loc.start + loc.length;
        }
        for (ty, loc) in &self.array_to_wasm_trampolines {
            if !inside(loc) {
                return Err(format!(
                    "the array-to-wasm trampoline of type {} lies outside the text",
                    ty.as_u32()
                ));
            }
        }
        if !self
            .array_to_wasm_trampolines
            .windows(2)
            .all(|w| w[0].0 < w[1].0)
        {
            return Err("the array-to-wasm trampolines are not sorted by type".into());
        }
        for (ty, loc) in &self.wasm_to_array_trampolines {
            if !inside(loc) {
                return Err(format!(
                    "the wasm-to-array trampoline of {ty} lies outside the text"
                ));
            }
        }
        strictly_increasing("trap site", self.traps.iter().map(|t| t.offset))?;
        for (i, trap) in self.traps.iter().enumerate() {
            if trap.offset as usize >= text_len {
                return Err(format!(
                    "trap site {i} at offset {} lies outside the {text_len}-byte text",
                    trap.offset
                ));
            }
        }
        strictly_increasing(
            "exception call site",
            self.exception_call_sites.iter().map(|c| c.ret_offset),
        )?;
        for (i, site) in self.exception_call_sites.iter().enumerate() {
            let func = self.func_by_text_offset(site.ret_offset.wrapping_sub(1));
            if func.is_none() {
                return Err(format!(
                    "exception call site {i} at offset {} is not inside a function",
                    site.ret_offset
                ));
            }
            for h in &site.handlers {
                let target = match *h {
                    ExceptionHandler::Tag { tag, offset } => {
                        if tag.as_u32() as usize >= limits::MAX_TAGS {
                            return Err(format!("exception call site {i} names tag {tag:?}"));
                        }
                        offset
                    }
                    ExceptionHandler::CatchAll { offset } => offset,
                    ExceptionHandler::Context { sp_offset } => {
                        if sp_offset >= site.frame_offset {
                            return Err(format!(
                                "exception call site {i}'s context lies outside its frame"
                            ));
                        }
                        continue;
                    }
                };
                if self.func_by_text_offset(target) != func {
                    return Err(format!(
                        "exception call site {i} has a handler outside its function"
                    ));
                }
            }
        }
        strictly_increasing("stack map", self.stack_maps.iter().map(|m| m.ret_offset))?;
        for (i, map) in self.stack_maps.iter().enumerate() {
            if self
                .func_by_text_offset(map.ret_offset.wrapping_sub(1))
                .is_none()
            {
                return Err(format!(
                    "stack map {i} at offset {} is not inside a function",
                    map.ret_offset
                ));
            }
            let pointer = core::mem::size_of::<usize>() as u32;
            if map.slots.iter().any(|&slot| {
                slot % pointer != 0
                    || slot
                        .checked_add(pointer)
                        .is_none_or(|end| end > map.frame_size)
            }) {
                return Err(format!("stack map {i} has a slot outside its frame"));
            }
        }
        let mut prev = 0;
        for (i, (text, _)) in self.address_map.iter().enumerate() {
            if *text as usize > text_len {
                return Err(format!(
                    "address map entry {i} at offset {text} lies outside the {text_len}-byte text"
                ));
            }
            if *text < prev {
                return Err(format!("address map entry {i} is out of order"));
            }
            prev = *text;
        }
        Ok(())
    }
}
