//! Compilation of WebAssembly to native code with Cranelift.
//!
//! [`Compiler::compile_module`] takes a validated
//! [`keel_translate::ModuleTranslation`], translates each
//! function body to Cranelift IR with keel's own operator translator
//! (`func_translator`, lowering VMContext accesses through `env`), compiles
//! the functions in parallel, adds one array-to-wasm trampoline per
//! distinct signature of the functions the host can reach, and links everything into a single text section
//! ([`keel_translate::CompiledText`]) with relocations
//! resolved and a sorted trap table.
//!
//! Embedders should use the `keel` crate; this crate is its compiler
//! backend (feature `compiler`).

#![no_std]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

mod prelude {
    pub use alloc::format;
    pub use alloc::string::{String, ToString};
    pub use alloc::vec;
    pub use alloc::vec::Vec;
}

mod abi;
pub mod artifact;
mod atomics;
mod env;
mod exceptions;
mod func_translator;
mod gc;
mod link;
mod simd;
mod trampoline;

pub use abi::VAL_RAW_SIZE;
pub use keel_translate::MemoryTunables;

use crate::prelude::*;
use core::fmt;
use cranelift_codegen::ir;
use cranelift_codegen::isa::{OwnedTargetIsa, TargetIsa};
use cranelift_codegen::settings::{self, Configurable};
use hashbrown::{HashMap, HashSet};
use keel_translate::{
    CompiledText, EntitySet, ModuleTranslation, PrimaryMap, Trap, TypeIndex, WasmError,
    WasmFuncType,
};

/// Why compilation failed.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum CompileError {
    /// Validation or metadata error, an unsupported feature
    /// ([`WasmError::Unsupported`]) or an implementation limit.
    Translate(WasmError),
    /// Cranelift rejected the generated IR or failed to compile it.
    Codegen(String),
    /// The host's CPU or target settings cannot be used.
    Isa(String),
    /// An internal inconsistency; a keel bug, never a crash.
    Bug(String),
}

impl fmt::Display for CompileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CompileError::Translate(e) => e.fmt(f),
            CompileError::Codegen(m) => write!(f, "code generation failed: {m}"),
            CompileError::Isa(m) => write!(f, "target not supported: {m}"),
            CompileError::Bug(m) => write!(f, "internal compiler error: {m}"),
        }
    }
}

impl core::error::Error for CompileError {}

impl CompileError {
    /// A construct keel cannot compile yet: the one "unsupported" error,
    /// [`WasmError::Unsupported`].
    pub(crate) fn unsupported(message: String) -> Self {
        CompileError::Translate(WasmError::Unsupported(message))
    }
}

impl From<WasmError> for CompileError {
    fn from(e: WasmError) -> Self {
        CompileError::Translate(e)
    }
}

impl From<wasmparser::BinaryReaderError> for CompileError {
    fn from(e: wasmparser::BinaryReaderError) -> Self {
        CompileError::Translate(e.into())
    }
}

/// The Cranelift trap code keel uses for `code`.
pub(crate) fn clif_trap_code(code: Trap) -> ir::TrapCode {
    match code {
        Trap::StackOverflow => ir::TrapCode::STACK_OVERFLOW,
        Trap::IntegerOverflow => ir::TrapCode::INTEGER_OVERFLOW,
        Trap::MemoryOutOfBounds => ir::TrapCode::HEAP_OUT_OF_BOUNDS,
        Trap::IntegerDivisionByZero => ir::TrapCode::INTEGER_DIVISION_BY_ZERO,
        Trap::BadConversionToInteger => ir::TrapCode::BAD_CONVERSION_TO_INTEGER,
        other => ir::TrapCode::unwrap_user(other as u8),
    }
}

/// The keel trap code for a Cranelift trap code in compiled code.
pub(crate) fn keel_trap_code(code: ir::TrapCode) -> Option<Trap> {
    Some(match code {
        ir::TrapCode::STACK_OVERFLOW => Trap::StackOverflow,
        ir::TrapCode::INTEGER_OVERFLOW => Trap::IntegerOverflow,
        ir::TrapCode::HEAP_OUT_OF_BOUNDS => Trap::MemoryOutOfBounds,
        ir::TrapCode::INTEGER_DIVISION_BY_ZERO => Trap::IntegerDivisionByZero,
        ir::TrapCode::BAD_CONVERSION_TO_INTEGER => Trap::BadConversionToInteger,
        other => return Trap::from_u8(other.as_raw().get()),
    })
}

/// The host features Cranelift's lowering of WebAssembly SIMD relies on,
/// checked up front so a missing one fails engine creation instead of a
/// later compilation.
/// `target` names what lacks a feature in the error: `None` for the host.
fn check_simd_support(isa: &dyn TargetIsa, target: Option<&str>) -> Result<(), CompileError> {
    let required: &[&str] = match isa.triple().architecture {
        target_lexicon::Architecture::X86_64 => {
            &["has_sse3", "has_ssse3", "has_sse41", "has_sse42"]
        }
        _ => &[],
    };
    let flags = isa.isa_flags();
    for name in required {
        let enabled = flags
            .iter()
            .find(|v| v.name == *name)
            .and_then(|v| v.as_bool())
            .unwrap_or(false);
        if !enabled {
            let feature = name.trim_start_matches("has_");
            return Err(CompileError::Isa(match target {
                None => format!(
                    "WebAssembly SIMD needs the CPU feature `{feature}`, which this host lacks"
                ),
                Some(target) => format!(
                    "WebAssembly SIMD needs the CPU feature `{feature}`, which is not enabled for target \
                     `{target}`: name the target's features (`keel compile -C \
                     target-feature=+sse3,+ssse3,+sse4.1,+sse4.2`, or \
                     `Config::cranelift_flag_enable(\"{name}\")`)"
                ),
            }));
        }
    }
    Ok(())
}

/// Whether `isa` can compile WebAssembly SIMD: every target but riscv64
/// without the V extension (`has_v`), for which Cranelift has no 128-bit
/// vectors.
fn isa_supports_simd(isa: &dyn TargetIsa) -> bool {
    match isa.triple().architecture {
        target_lexicon::Architecture::Riscv64(_) => isa
            .isa_flags()
            .iter()
            .any(|v| v.name == "has_v" && v.as_bool() == Some(true)),
        _ => true,
    }
}

/// Settings for [`Compiler::new`].
#[derive(Clone, Debug)]
pub struct CompilerOptions {
    /// Run Cranelift's IR verifier on every function (slower; catches
    /// translator bugs).
    pub verify: bool,
    /// Compile on this many threads (1 = on the calling thread).
    pub parallelism: usize,
    /// Replace every NaN produced by float arithmetic with the canonical
    /// NaN, making results deterministic across hosts.
    pub nan_canonicalization: bool,
    /// How linear memories are laid out; decides which accesses need an
    /// explicit bounds check.
    pub memory: MemoryTunables,
    /// Make explicit linear-memory bounds checks immune to speculation:
    /// a failed check also turns the address into null with a conditional
    /// move (`select_spectre_guard`), as Wasmtime's
    /// `enable_heap_access_spectre_mitigation`. Default: on.
    pub heap_access_spectre_mitigation: bool,
    /// The same for table accesses (`call_indirect`, `table.get`,
    /// `table.set`): an out-of-bounds index selects the table base, as
    /// Wasmtime's `enable_table_access_spectre_mitigation`. Default: on.
    pub table_access_spectre_mitigation: bool,
    /// Meter fuel: count each operator's cost against the store's fuel
    /// and call the `out_of_gas` builtin when it runs out, with
    /// Wasmtime 48's cost model (Wasmtime's `consume_fuel`). Default: off.
    pub consume_fuel: bool,
    /// Check the store's epoch deadline at function entry and loop
    /// headers and call the `new_epoch` builtin when the engine's epoch
    /// reaches it (Wasmtime's `epoch_interruption`). Default: off.
    pub epoch_interruption: bool,
    /// Lower relaxed SIMD operators to their deterministic results (the
    /// same on every host) rather than the host CPU's fastest sequence.
    /// Default: on.
    pub relaxed_simd_deterministic: bool,
}

impl Default for CompilerOptions {
    fn default() -> Self {
        Self {
            verify: cfg!(debug_assertions),
            #[cfg(feature = "std")]
            parallelism: std::thread::available_parallelism().map_or(1, |n| n.get()),
            #[cfg(not(feature = "std"))]
            parallelism: 1,
            nan_canonicalization: false,
            memory: MemoryTunables::default(),
            heap_access_spectre_mitigation: true,
            table_access_spectre_mitigation: true,
            consume_fuel: false,
            epoch_interruption: false,
            relaxed_simd_deterministic: true,
        }
    }
}

/// One function as [`Compiler::inspect_function`] compiled it.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct FunctionInspection {
    /// The Cranelift IR after optimization, in CLIF's text format.
    pub clif: String,
    /// The machine code after register allocation, one instruction a line
    /// as Cranelift prints it (x86_64 in AT&T syntax).
    pub vcode: String,
    /// Loads inside loops (blocks of a natural loop of the optimized IR,
    /// except cold blocks: slow paths)
    /// from the VMContext, or from a structure a VMContext field points
    /// to, each as `block: instruction`. Loads of fields that
    /// cannot change during a call should have been hoisted out of the
    /// loop; what remains must be reloaded (a memory's current length, a
    /// mutable global, a table's base).
    pub vmctx_loads_in_loops: Vec<String>,
}

/// A Cranelift code generator for one target ISA.
pub struct Compiler {
    isa: OwnedTargetIsa,
    /// Whether the target has 128-bit vectors ([`Compiler::supports_simd`]).
    simd: bool,
    /// The same ISA without optimization, for functions whose control flow
    /// would make Cranelift's optimizer superlinear (see
    /// `link::MAX_OPTIMIZED_DOMTREE_DEPTH`).
    isa_unoptimized: OwnedTargetIsa,
    /// The unoptimized ISA with single-pass register allocation: lazy
    /// compilation's first, quick tier.
    isa_baseline: OwnedTargetIsa,
    options: CompilerOptions,
    /// Cranelift contexts kept between functions, one per thread that
    /// compiled at once: reusing them keeps their allocations (the
    /// register allocator's above all) instead of making them anew.
    contexts: spin::Mutex<Vec<alloc::boxed::Box<link::CompileContext>>>,
}

impl fmt::Debug for Compiler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Compiler")
            .field("triple", &self.isa.triple().to_string())
            .field("options", &self.options)
            .finish()
    }
}

impl Compiler {
    /// The Cranelift settings every keel compiler uses.
    fn shared_flags(options: &CompilerOptions) -> Result<settings::Builder, CompileError> {
        let mut flags = settings::builder();
        let set = |flags: &mut settings::Builder, name: &str, value: &str| {
            flags
                .set(name, value)
                .map_err(|e| CompileError::Isa(format!("setting {name}={value}: {e}")))
        };
        set(&mut flags, "opt_level", "speed")?;
        set(
            &mut flags,
            "enable_verifier",
            if options.verify { "true" } else { "false" },
        )?;
        // Frame pointers let trap handling walk wasm frames.
        set(&mut flags, "preserve_frame_pointers", "true")?;
        set(&mut flags, "enable_probestack", "true")?;
        set(&mut flags, "probestack_strategy", "inline")?;
        set(&mut flags, "enable_multi_ret_implicit_sret", "true")?;
        set(&mut flags, "unwind_info", "false")?;
        set(
            &mut flags,
            "enable_nan_canonicalization",
            if options.nan_canonicalization {
                "true"
            } else {
                "false"
            },
        )?;
        Ok(flags)
    }

    /// A compiler for the host CPU, with the features it detects (feature
    /// `std`).
    ///
    /// # Errors
    ///
    /// [`CompileError::Isa`] if Cranelift does not support the host, or
    /// the host lacks a feature WebAssembly SIMD needs.
    #[cfg(feature = "std")]
    pub fn new(options: CompilerOptions) -> Result<Self, CompileError> {
        let isa_builder =
            cranelift_native::builder().map_err(|e| CompileError::Isa(format!("host CPU: {e}")))?;
        Self::with_isa_builder(options, &isa_builder, None)
    }

    /// A compiler from a configured ISA builder: the optimizing and the
    /// unoptimized ISA, checked for the features SIMD needs.
    fn with_isa_builder(
        options: CompilerOptions,
        isa_builder: &cranelift_codegen::isa::Builder,
        target: Option<&str>,
    ) -> Result<Self, CompileError> {
        let mut flags = Self::shared_flags(&options)?;
        let isa = isa_builder
            .finish(settings::Flags::new(flags.clone()))
            .map_err(|e| CompileError::Isa(e.to_string()))?;
        flags
            .set("opt_level", "none")
            .map_err(|e| CompileError::Isa(format!("setting opt_level=none: {e}")))?;
        let isa_unoptimized = isa_builder
            .finish(settings::Flags::new(flags.clone()))
            .map_err(|e| CompileError::Isa(e.to_string()))?;
        flags
            .set("regalloc_algorithm", "single_pass")
            .map_err(|e| CompileError::Isa(format!("setting regalloc_algorithm: {e}")))?;
        let isa_baseline = isa_builder
            .finish(settings::Flags::new(flags))
            .map_err(|e| CompileError::Isa(e.to_string()))?;
        check_simd_support(&*isa, target)?;
        Ok(Self {
            simd: isa_supports_simd(&*isa),
            isa,
            isa_unoptimized,
            isa_baseline,
            options,
            contexts: spin::Mutex::new(Vec::new()),
        })
    }

    /// A compiler for `triple` (e.g. `x86_64-unknown-none`,
    /// `riscv64gc-unknown-linux-gnu`) with the ISA settings in `isa_flags`
    /// (Cranelift names, e.g. `("has_sse41", "true")`): for kernels, where
    /// the host cannot be probed, and for cross-compilation.
    ///
    /// # Errors
    ///
    /// [`CompileError::Isa`] for an unknown triple or setting, or when the
    /// settings lack a feature WebAssembly SIMD needs on that target.
    pub fn for_target(
        options: CompilerOptions,
        triple: &str,
        isa_flags: &[(String, String)],
    ) -> Result<Self, CompileError> {
        let triple: target_lexicon::Triple = triple
            .parse()
            .map_err(|e| CompileError::Isa(format!("target `{triple}`: {e}")))?;
        let mut isa_builder = cranelift_codegen::isa::lookup(triple.clone())
            .map_err(|e| CompileError::Isa(format!("target `{triple}`: {e}")))?;
        for (name, value) in isa_flags {
            isa_builder
                .set(name, value)
                .map_err(|e| CompileError::Isa(format!("setting {name}={value}: {e}")))?;
        }
        Self::with_isa_builder(options, &isa_builder, Some(&triple.to_string()))
    }

    /// The target ISA.
    pub fn isa(&self) -> &dyn TargetIsa {
        &*self.isa
    }

    /// Whether the target can run WebAssembly SIMD: false on riscv64
    /// without the V extension (`has_v`). Modules using `v128` must then
    /// be refused before compilation (keel validates them without SIMD).
    pub fn supports_simd(&self) -> bool {
        self.simd
    }

    /// The target triple, as text (e.g. `x86_64-unknown-linux-gnu`).
    pub fn triple(&self) -> String {
        self.isa.triple().to_string()
    }

    /// Compile and link every function of `translation`.
    ///
    /// # Errors
    ///
    /// [`WasmError::Unsupported`] naming the first operator or feature
    /// keel cannot compile (with its byte offset), or
    /// [`CompileError::Codegen`] if Cranelift fails.
    pub fn compile_module(
        &self,
        translation: &ModuleTranslation<'_>,
    ) -> Result<CompiledText, CompileError> {
        self.compile_module_with_progress(translation, &|_, _| {})
    }

    /// [`compile_module`](Self::compile_module), calling `progress(done,
    /// total)` after each function body is compiled (from the compiling
    /// threads, in no particular order of functions; `done` counts up
    /// from 1 to `total`, the number of defined functions).
    ///
    /// # Errors
    ///
    /// As [`compile_module`](Self::compile_module).
    pub fn compile_module_with_progress(
        &self,
        translation: &ModuleTranslation<'_>,
        progress: &(dyn Fn(usize, usize) + Sync),
    ) -> Result<CompiledText, CompileError> {
        let _span = tracing::debug_span!(
            "compile module",
            functions = translation.function_bodies.len()
        )
        .entered();
        let functions = {
            let _span = tracing::debug_span!("compile functions").entered();
            link::compile_functions(self, translation, progress)?
        };
        let called = functions
            .values()
            .flat_map(|f| f.host_call_types.iter().copied());
        let trampolines = self.trampolines(&translation.module, called)?;
        let _span = tracing::debug_span!("link").entered();
        link::link(
            functions,
            trampolines.array_to_wasm,
            &trampolines.type_trampolines,
            trampolines.wasm_to_array,
            translation.module.num_imported_funcs,
        )
    }

    /// The trampolines of `module`: array-to-wasm ones for the types of the
    /// functions the host can reach, one per distinct signature however
    /// many type indices share it; wasm-to-array ones for every signature
    /// through which the code may call a host function (its imports' and
    /// the `called` types, those its calls through a signature name), once
    /// per distinct signature keyed by machine-level signature (reference
    /// types erased, as the engine looks them up), so that loading the
    /// code needs no compiler.
    fn trampolines(
        &self,
        module: &keel_translate::Module,
        called: impl Iterator<Item = TypeIndex>,
    ) -> Result<Trampolines, CompileError> {
        let mut by_signature: HashMap<&WasmFuncType, usize> = HashMap::new();
        let mut array_to_wasm = Vec::new();
        let mut type_trampolines = Vec::new();
        let mut types_done = EntitySet::<TypeIndex>::new();
        for func in module.escaped_funcs.iter() {
            if module.is_imported_func(func) {
                continue;
            }
            let ty = module.functions[func];
            if !types_done.insert(ty) {
                continue;
            }
            let signature = module.func_type_at(ty);
            let i = match by_signature.get(signature) {
                Some(&i) => i,
                None => {
                    array_to_wasm.push(trampoline::array_to_wasm(self, signature)?);
                    by_signature.insert(signature, array_to_wasm.len() - 1);
                    array_to_wasm.len() - 1
                }
            };
            type_trampolines.push((ty, i));
        }
        let mut host_signatures: HashSet<WasmFuncType> = HashSet::new();
        let mut wasm_to_array = Vec::new();
        let imported = module
            .functions
            .values()
            .take(module.num_imported_funcs as usize)
            .copied();
        for ty in imported.chain(called) {
            let signature = module.func_type_at(ty).signature();
            if !host_signatures.contains(&signature) {
                let trampoline = trampoline::wasm_to_array(self, &signature)?;
                wasm_to_array.push((signature.clone(), trampoline));
                host_signatures.insert(signature);
            }
        }
        Ok(Trampolines {
            array_to_wasm,
            type_trampolines,
            wasm_to_array,
        })
    }

    /// The trampolines of a lazily compiled module, linked alone: a text
    /// with no functions, its array-to-wasm trampolines for the types of
    /// the functions the host can reach, and wasm-to-array trampolines for
    /// its imports' signatures (host functions the engine creates bring
    /// their own for other signatures).
    ///
    /// # Errors
    ///
    /// [`CompileError::Codegen`] if Cranelift fails.
    pub fn compile_lazy_trampolines(
        &self,
        module: &keel_translate::Module,
    ) -> Result<CompiledText, CompileError> {
        let trampolines = self.trampolines(module, core::iter::empty())?;
        link::link(
            PrimaryMap::new(),
            trampolines.array_to_wasm,
            &trampolines.type_trampolines,
            trampolines.wasm_to_array,
            module.num_imported_funcs,
        )
    }

    /// Whether a wasm function of type `ty` takes a return-area pointer as
    /// its first argument, ahead of its VMContext (its results do not fit
    /// the return registers): where lazy compilation's stubs find the
    /// VMContext.
    pub fn uses_return_area(&self, ty: &keel_translate::WasmFuncType) -> bool {
        abi::uses_return_area(&*self.isa, ty)
    }

    /// Compile defined function `index` of a lazily compiled module, whose
    /// metadata is `module` and VMContext layout `offsets`, from its
    /// `body`: its calls to the module's functions load their target from
    /// the call table at address `call_table` (one code address per
    /// defined function). The text holds the function alone, at offset 0
    /// (`functions[0]`), with its tables. With `baseline`, Cranelift
    /// compiles it without optimizations and with single-pass register
    /// allocation: about twice as fast, slower code, the same
    /// semantics, traps, fuel and epoch counts.
    ///
    /// # Errors
    ///
    /// [`WasmError::Unsupported`] naming an operator keel cannot compile,
    /// or [`CompileError::Codegen`] if Cranelift fails.
    #[expect(
        clippy::too_many_arguments,
        reason = "the module's parts, the body, its index and how to compile it"
    )]
    pub fn compile_lazy_function(
        &self,
        module: &keel_translate::Module,
        offsets: &keel_translate::VMOffsets,
        gc: bool,
        body: &wasmparser::FunctionBody<'_>,
        index: keel_translate::DefinedFuncIndex,
        call_table: u64,
        baseline: bool,
    ) -> Result<CompiledText, CompileError> {
        let source = link::BodySource {
            module,
            offsets,
            gc,
            body,
            call_table: Some(call_table),
            baseline,
        };
        let compiled = link::compile_body(self, source, index)?;
        link::link_alone(&compiled, module.func_index(index))
    }

    /// The machine code of defined function `index` of `translation`, as
    /// Cranelift prints it after register allocation (one instruction a
    /// line, x86_64 in AT&T syntax): for tests that pin code sequences and
    /// for inspecting what keel generates.
    ///
    /// # Errors
    ///
    /// As [`Compiler::compile_module`].
    pub fn disassemble_function(
        &self,
        translation: &ModuleTranslation<'_>,
        index: keel_translate::DefinedFuncIndex,
    ) -> Result<String, CompileError> {
        link::disassemble(self, translation, index)
    }

    /// Defined function `index` of `translation` compiled for inspection
    /// (see [`FunctionInspection`]): the basis of the golden disassembly
    /// tests in `tests/disas`.
    ///
    /// # Errors
    ///
    /// As [`Compiler::compile_module`].
    pub fn inspect_function(
        &self,
        translation: &ModuleTranslation<'_>,
        index: keel_translate::DefinedFuncIndex,
    ) -> Result<FunctionInspection, CompileError> {
        link::inspect(self, translation, index)
    }

    /// Compile wasm-to-array trampolines for host functions of types `tys`:
    /// the `wasm_call` entry through which wasm calls a host function.
    ///
    /// # Errors
    ///
    /// [`CompileError::Codegen`] if Cranelift fails.
    pub fn compile_host_trampolines(
        &self,
        tys: &[WasmFuncType],
    ) -> Result<CompiledText, CompileError> {
        let mut wasm_to_array = Vec::new();
        for ty in tys {
            wasm_to_array.push((ty.clone(), trampoline::wasm_to_array(self, ty)?));
        }
        link::link(PrimaryMap::new(), Vec::new(), &[], wasm_to_array, 0)
    }
}

/// A module's trampolines before linking ([`Compiler::trampolines`]).
struct Trampolines {
    array_to_wasm: Vec<link::CompiledFunction>,
    /// Each escaped type's entry in `array_to_wasm`.
    type_trampolines: Vec<(TypeIndex, usize)>,
    wasm_to_array: Vec<(WasmFuncType, link::CompiledFunction)>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use keel_translate::{DefinedFuncIndex, translate_module, wasm_features};

    fn compile(wasm: &[u8]) -> Result<CompiledText, CompileError> {
        let translation = translate_module(wasm, wasm_features()).unwrap();
        let compiler = Compiler::new(CompilerOptions {
            verify: true,
            parallelism: 2,
            nan_canonicalization: false,
            memory: MemoryTunables::default(),
            ..CompilerOptions::default()
        })?;
        compiler.compile_module(&translation)
    }

    const TWO_FUNCS: &str = r#"(module
        (func (param i32) (result i32) local.get 0 i32.const 0 i32.div_s)
        (func (param i32) (result i32) local.get 0 call 0))"#;

    #[test]
    fn links_functions_and_sorted_traps() {
        let text = compile(&wat::parse_str(TWO_FUNCS).unwrap()).unwrap();
        assert_eq!(text.functions.len(), 2);
        // Neither function escapes: no host-call trampolines.
        assert!(text.array_to_wasm_trampolines.is_empty());
        let f0 = text.functions[DefinedFuncIndex::from_u32(0)];
        let f1 = text.functions[DefinedFuncIndex::from_u32(1)];
        assert!(f0.start + f0.length <= f1.start);
        let offsets: Vec<u32> = text.traps.iter().map(|t| t.offset).collect();
        assert!(offsets.windows(2).all(|w| w[0] < w[1]));
        // The division traps inside function 0; every function has a
        // stack-limit check.
        assert!(
            text.traps
                .iter()
                .any(|t| t.code == Trap::IntegerDivisionByZero
                    && text.func_by_text_offset(t.offset) == Some(DefinedFuncIndex::from_u32(0)))
        );
        assert!(text.traps.iter().any(|t| t.code == Trap::StackOverflow
            && text.func_by_text_offset(t.offset) == Some(DefinedFuncIndex::from_u32(1))));
    }

    /// Issue 10: one array-to-wasm trampoline per distinct signature of
    /// the functions the host can reach, not one per type-section entry.
    #[test]
    fn trampolines_only_for_escaped_functions_once_per_signature() {
        let mut wat =
            String::from("(module (type $a (func (param i32))) (type $b (func (param i32)))");
        for _ in 0..1000 {
            wat.push_str(" (type (func))");
        }
        wat.push_str(
            r#" (type $c (func (result i64)))
                (func $f (export "f") (type $a))
                (func $g (type $b))
                (func $h (type $c) i64.const 0)
                (func $i (type $c) i64.const 1)
                (table 1 funcref) (elem (i32.const 0) $g))"#,
        );
        let text = compile(&wat::parse_str(&wat).unwrap()).unwrap();
        // $f and $g escape (export, element segment) with two type indices
        // of one signature; $h and $i do not escape.
        let types: Vec<u32> = text
            .array_to_wasm_trampolines
            .iter()
            .map(|(t, _)| t.as_u32())
            .collect();
        assert_eq!(types, [0, 1]);
        assert_eq!(
            text.array_to_wasm_trampolines[0].1,
            text.array_to_wasm_trampolines[1].1
        );
        assert_eq!(
            text.array_to_wasm_trampoline(TypeIndex::from_u32(1)),
            Some(text.array_to_wasm_trampolines[0].1)
        );
        assert_eq!(
            text.array_to_wasm_trampoline(TypeIndex::from_u32(1002)),
            None
        );
    }

    /// Disassembly of function 0 of `wat` compiled with `options`.
    fn disassembly(wat: &str, options: CompilerOptions) -> String {
        let wasm = wat::parse_str(wat).unwrap();
        let translation = translate_module(&wasm, wasm_features()).unwrap();
        Compiler::new(options)
            .unwrap()
            .disassemble_function(&translation, DefinedFuncIndex::from_u32(0))
            .unwrap()
    }

    fn explicit_checks(spectre: bool) -> CompilerOptions {
        CompilerOptions {
            memory: MemoryTunables {
                signals_based_traps: false,
                ..MemoryTunables::default()
            },
            heap_access_spectre_mitigation: spectre,
            table_access_spectre_mitigation: spectre,
            ..CompilerOptions::default()
        }
    }

    /// Issue 10 item 6: explicit memory bounds checks and table bounds
    /// checks are followed by a conditional move on the address (Cranelift's
    /// `select_spectre_guard` lowers to `cmov`), so a mispredicted branch
    /// cannot access out of bounds; without the mitigation, there is none.
    #[test]
    fn spectre_guards_pin_a_conditional_move() {
        let load = r#"(module (memory 1)
            (func (param i32) (result i32) local.get 0 i32.load offset=8))"#;
        let guarded = disassembly(load, explicit_checks(true));
        assert!(guarded.contains("cmov"), "{guarded}");
        let unguarded = disassembly(load, explicit_checks(false));
        assert!(!unguarded.contains("cmov"), "{unguarded}");
        // With guard pages there is no check, so nothing to guard.
        let guard_pages = disassembly(load, CompilerOptions::default());
        assert!(!guard_pages.contains("cmov"), "{guard_pages}");

        let call_indirect = r#"(module (type $t (func (result i32))) (table 4 funcref)
            (func (param i32) (result i32) local.get 0 call_indirect (type $t)))"#;
        let guarded = disassembly(call_indirect, explicit_checks(true));
        assert!(guarded.contains("cmov"), "{guarded}");
        let unguarded = disassembly(call_indirect, explicit_checks(false));
        assert!(!unguarded.contains("cmov"), "{unguarded}");

        let table_get = r#"(module (table 4 externref)
            (func (param i32) (result externref) local.get 0 table.get 0))"#;
        assert!(disassembly(table_get, explicit_checks(true)).contains("cmov"));
    }

    #[test]
    fn trap_codes_round_trip_through_cranelift() {
        for &code in Trap::ALL {
            assert_eq!(keel_trap_code(clif_trap_code(code)), Some(code));
        }
    }

    #[test]
    fn compiles_2_0_features_with_the_verifier_on() {
        let bytes = wat::parse_str(
            r#"(module
                (memory 1) (table 2 funcref) (table 2 externref)
                (data $d "abc") (elem $e func $f)
                (func $f (param v128 externref) (result v128 i32)
                  i32.const 0 local.get 0 local.get 0 i32x4.add f32x4.sqrt
                  v128.load8_lane 3
                  i32.const 0 i32.const 1 i32.const 2 memory.copy
                  i32.const 0 i32.const 0 i32.const 3 memory.init $d
                  data.drop $d
                  i32.const 0 i32.const 0 i32.const 1 table.init 0 $e
                  elem.drop $e
                  i32.const 0 local.get 1 table.set 1
                  ref.func $f ref.is_null))"#,
        )
        .unwrap();
        let text = compile(&bytes).unwrap();
        assert!(text.traps.iter().any(|t| t.code == Trap::MemoryOutOfBounds));
        assert!(text.traps.iter().any(|t| t.code == Trap::TableOutOfBounds));
    }

    /// Compile `wasm` with `tunables` and return, for every
    /// `MemoryOutOfBounds` trap site, whether it is an explicit check's
    /// `ud2` (x86_64) rather than the faulting access itself.
    #[cfg(target_arch = "x86_64")]
    fn oob_sites_are_ud2(wasm: &[u8], tunables: MemoryTunables) -> Vec<bool> {
        let translation = translate_module(wasm, wasm_features()).unwrap();
        let compiler = Compiler::new(CompilerOptions {
            memory: tunables,
            ..CompilerOptions::default()
        })
        .unwrap();
        let text = compiler.compile_module(&translation).unwrap();
        text.traps
            .iter()
            .filter(|t| t.code == Trap::MemoryOutOfBounds)
            .map(|t| text.text[t.offset as usize..t.offset as usize + 2] == [0x0f, 0x0b])
            .collect()
    }

    #[test]
    #[cfg(target_arch = "x86_64")]
    fn guard_pages_elide_bounds_checks() {
        let wasm = wat::parse_str(
            r#"(module (memory 1)
                (func (param i32) (result i32)
                  local.get 0 i32.load offset=16
                  local.get 0 i64.load offset=0x7fff0000 i32.wrap_i64 i32.add
                  local.get 0 i32.load8_u offset=0xfffffff0 i32.add))"#,
        )
        .unwrap();
        // Guard pages: the two small offsets fault on the access; the
        // offset beyond the 2 GiB guard keeps its explicit check.
        let guard = oob_sites_are_ud2(&wasm, MemoryTunables::default());
        assert_eq!(guard.iter().filter(|ud2| !**ud2).count(), 2, "{guard:?}");
        assert_eq!(guard.iter().filter(|ud2| **ud2).count(), 1, "{guard:?}");
        // Explicit mode: every access is checked with a ud2 trap.
        let explicit = oob_sites_are_ud2(
            &wasm,
            MemoryTunables {
                signals_based_traps: false,
                ..MemoryTunables::default()
            },
        );
        assert_eq!(explicit, vec![true; 3]);
        // A reservation below 4 GiB cannot cover every index.
        let small = oob_sites_are_ud2(
            &wasm,
            MemoryTunables {
                reservation_bytes: 1 << 20,
                ..MemoryTunables::default()
            },
        );
        assert_eq!(small, vec![true; 3]);
    }

    #[test]
    #[cfg(target_arch = "x86_64")]
    fn x86_division_by_zero_traps_in_hardware() {
        let wasm = wat::parse_str(
            "(module (func (param i32 i32) (result i32) local.get 0 local.get 1 i32.div_u))",
        )
        .unwrap();
        let text = compile(&wasm).unwrap();
        let sites: Vec<_> = text
            .traps
            .iter()
            .filter(|t| t.code == Trap::IntegerDivisionByZero)
            .collect();
        assert!(!sites.is_empty());
        for site in sites {
            let bytes = &text.text[site.offset as usize..];
            // The `div` itself (opcode 0xf7, after an optional REX prefix)
            // is the trap site: #DE raises SIGFPE there. No ud2 check.
            let opcode = if bytes[0] & 0xf0 == 0x40 {
                bytes[1]
            } else {
                bytes[0]
            };
            assert_eq!(opcode, 0xf7, "{:02x?}", &bytes[..4]);
        }
    }

    #[test]
    fn riscv64_calls_are_linked_to_their_callee() {
        let wasm = wat::parse_str(TWO_FUNCS).unwrap();
        let translation = translate_module(&wasm, wasm_features()).unwrap();
        let compiler = Compiler::for_target(
            CompilerOptions::default(),
            "riscv64gc-unknown-linux-gnu",
            &[],
        )
        .unwrap();
        let text = compiler.compile_module(&translation).unwrap();
        let callee = text.functions[DefinedFuncIndex::from_u32(0)];
        let caller = text.functions[DefinedFuncIndex::from_u32(1)];
        let word = |at: usize| u32::from_le_bytes(text.text[at..at + 4].try_into().unwrap());
        // Find `auipc ra, hi20` followed by `jalr ra, lo12(ra)` in the
        // caller and decode where it goes.
        let mut targets = Vec::new();
        let (start, end) = (
            caller.start as usize,
            (caller.start + caller.length) as usize,
        );
        for at in (start..=end - 8).step_by(2) {
            let (auipc, jalr) = (word(at), word(at + 4));
            if auipc & 0xfff == 0x0097 && jalr & 0xfffff == 0x80e7 {
                let hi = (auipc & 0xffff_f000) as i32 as i64;
                let lo = ((jalr as i32) >> 20) as i64;
                targets.push(at as i64 + hi + lo);
            }
        }
        assert_eq!(targets, vec![i64::from(callee.start)]);
    }

    /// A stack overflow is reported at the start of the overflowing
    /// function's body on every architecture (x86_64 places the stack
    /// check's trap out of line after the body; riscv64 inline).
    #[test]
    fn stack_checks_map_to_the_function_body_start() {
        let wasm = wat::parse_str(TWO_FUNCS).unwrap();
        let translation = translate_module(&wasm, wasm_features()).unwrap();
        let sse: Vec<(String, String)> = ["has_sse3", "has_ssse3", "has_sse41", "has_sse42"]
            .iter()
            .map(|f| (f.to_string(), "true".to_string()))
            .collect();
        for (target, flags) in [
            ("x86_64-unknown-linux-gnu", &sse[..]),
            ("riscv64gc-unknown-linux-gnu", &[][..]),
        ] {
            let compiler = Compiler::for_target(CompilerOptions::default(), target, flags).unwrap();
            let text = compiler.compile_module(&translation).unwrap();
            let mut checked = 0;
            for trap in text.traps.iter().filter(|t| t.code == Trap::StackOverflow) {
                let func = text.func_by_text_offset(trap.offset).unwrap();
                let body = translation.function_bodies[func].body.range().start as u32;
                assert_eq!(text.wasm_offset(trap.offset), Some(body), "{target}");
                checked += 1;
            }
            // The caller has one (a leaf without a frame may have none).
            assert!(checked >= 1, "{target}: no stack check");
            // The division still maps into function 0's body, past its start.
            let div = text
                .traps
                .iter()
                .find(|t| t.code == Trap::IntegerDivisionByZero)
                .unwrap();
            let body = &translation.function_bodies[DefinedFuncIndex::from_u32(0)].body;
            let at = u64::from(text.wasm_offset(div.offset).unwrap());
            assert!(body.range().start < at && at < body.range().end, "{target}");
        }
    }
}
