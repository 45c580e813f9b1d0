//! keel's implementation limits: the most of each thing a module may
//! declare or an instance may hold, so that a small module cannot make the
//! host allocate without bound
//! ([Implementation Limitations](https://webassembly.github.io/spec/core/appendix/implementation.html)).
//!
//! Most limits are wasmparser's (its validator enforces them; the values
//! are those of wasmparser 0.263's `limits` module, which is private,
//! listed here so ARCHITECTURE.md and the tests have one source); the others keel
//! checks itself and reports as [`WasmError::ImplLimit`](crate::WasmError::ImplLimit)
//! (at compilation) or as a resource error (at instantiation and growth).

/// Types in the type section (wasmparser).
pub const MAX_TYPES: usize = 1_000_000;
/// Functions, imported and defined (wasmparser).
pub const MAX_FUNCTIONS: usize = 1_000_000;
/// Imports (wasmparser).
pub const MAX_IMPORTS: usize = 1_000_000;
/// Exports (wasmparser).
pub const MAX_EXPORTS: usize = 1_000_000;
/// Globals, imported and defined (wasmparser).
pub const MAX_GLOBALS: usize = 1_000_000;
/// Tags, imported and defined (wasmparser).
pub const MAX_TAGS: usize = 1_000_000;
/// Element segments (wasmparser).
pub const MAX_ELEMENT_SEGMENTS: usize = 100_000;
/// Data segments (wasmparser).
pub const MAX_DATA_SEGMENTS: usize = 100_000;
/// Bytes of one function body (wasmparser); also bounds a `br_table`'s
/// targets and a function's nesting depth.
pub const MAX_FUNCTION_SIZE: usize = 7_654_321;
/// Locals of one function, parameters excluded (wasmparser).
pub const MAX_FUNCTION_LOCALS: u32 = 50_000;
/// Memories, imported and defined (wasmparser).
pub const MAX_MEMORIES: usize = 100;
/// Tables, imported and defined: keel's limit (wasmparser allows
/// 100,000; each defined table costs a VMContext slot and an allocation at
/// every instantiation). The same as wasmparser's limit for memories.
pub const MAX_TABLES: usize = 100;
/// Elements of one table, at instantiation or after `table.grow`: keel's
/// limit (80 MB of references). Past it, `table.grow` returns -1 and
/// instantiation fails.
pub const MAX_TABLE_ELEMENTS: u64 = 10_000_000;
/// Elements of all the tables an instance defines, together: keel's limit
/// (160 MB of references), so that many tables at the per-table limit
/// cannot add up to more.
pub const MAX_INSTANCE_TABLE_ELEMENTS: u64 = 2 * MAX_TABLE_ELEMENTS;

/// The most elements an `array.new_fixed` may have (wasmparser's limit,
/// as in Wasmtime).
pub const MAX_ARRAY_NEW_FIXED: usize = 10_000;
