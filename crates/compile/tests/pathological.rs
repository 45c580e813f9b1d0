//! Pathological modules (issue 10): small or simple inputs of the shapes
//! that once made keel allocate or compute without bound. Each is either
//! refused with an implementation-limit error or compiled, and the checks
//! are structural (what was allocated or generated), never timings; the
//! compile-time scaling of the same shapes is measured by the
//! `pathological` criterion benchmark in `benches/`.
//!
//! The module generators are shared with that benchmark
//! (`tests/pathological/shapes.rs`).

#[path = "pathological/shapes.rs"]
mod shapes;

use keel_compile::{Compiler, CompilerOptions};
use keel_translate::{CompiledText, ElemItems, WasmError, limits, translate_module, wasm_features};

fn compiler() -> Compiler {
    Compiler::new(CompilerOptions {
        verify: false,
        ..CompilerOptions::default()
    })
    .unwrap()
}

fn compile(bytes: &[u8]) -> CompiledText {
    let translation = translate_module(bytes, wasm_features()).unwrap();
    compiler().compile_module(&translation).unwrap()
}

/// 100,000 tables of 10 M elements each (a 600-byte module that drove the
/// host past 6 GB): refused at compilation.
#[test]
fn hundred_thousand_huge_tables_are_refused() {
    let bytes = shapes::many_tables(100_000, 10_000_000);
    assert!(bytes.len() < 1_000_000);
    let err = translate_module(&bytes, wasm_features()).unwrap_err();
    assert!(matches!(err, WasmError::ImplLimit(_)), "{err}");
    // At the limit it is accepted.
    let bytes = shapes::many_tables(limits::MAX_TABLES as u32, 1);
    translate_module(&bytes, wasm_features()).unwrap();
}

/// A `br_table` carrying a value to many distinct depths compiles (the
/// translation is linear: once entries × depths).
#[test]
fn br_table_to_many_depths_compiles() {
    let text = compile(&shapes::br_table(5_000, 200_000));
    assert_eq!(text.functions.len(), 1);
}

/// A million identical function types and no functions: no trampolines.
/// With one exported function, exactly one.
#[test]
fn million_duplicate_types_compile_no_unused_trampolines() {
    let text = compile(&shapes::duplicate_types(1_000_000, false));
    assert!(text.array_to_wasm_trampolines.is_empty());
    assert!(text.functions.is_empty());
    let text = compile(&shapes::duplicate_types(1_000_000, true));
    assert_eq!(text.array_to_wasm_trampolines.len(), 1);
}

/// Element segments are stored as 4-byte function indices (5 segments of
/// 1 M items: 20 MB, not the 360 MB of one heap expression per item).
#[test]
fn element_segment_items_take_four_bytes() {
    let items = 1_000_000;
    let bytes = shapes::elem_segments(5, items);
    let translation = translate_module(&bytes, wasm_features()).unwrap();
    let elems = &translation.module.elems;
    assert_eq!(elems.len(), 5);
    for (_, e) in elems.iter() {
        assert!(matches!(e.items, ElemItems::Functions(_)));
        assert_eq!(e.items.len(), items as usize);
        assert_eq!(e.items.heap_bytes(), 4 * items as usize);
    }
}

/// A million functions compile, with one trampoline for the one exported
/// signature.
#[test]
fn million_functions_compile() {
    let text = compile(&shapes::many_functions(1_000_000));
    assert_eq!(text.functions.len(), 1_000_000);
    assert_eq!(text.array_to_wasm_trampolines.len(), 1);
}

/// 50,000 locals (wasmparser's limit) compile; one more is refused.
#[test]
fn fifty_thousand_locals() {
    let text = compile(&shapes::locals(limits::MAX_FUNCTION_LOCALS));
    assert_eq!(text.functions.len(), 1);
    let err = translate_module(
        &shapes::locals(limits::MAX_FUNCTION_LOCALS + 1),
        wasm_features(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("too many locals"), "{err}");
}

/// Blocks nested a million deep compile.
#[test]
fn million_deep_nesting_compiles() {
    let text = compile(&shapes::nesting(1_000_000));
    assert_eq!(text.functions.len(), 1);
}

/// A chain of 500,000 blocks each branched to (a dominator tree that
/// deep) compiles: past the optimizer's depth limit it is compiled
/// without optimization.
#[test]
fn half_million_block_chain_compiles() {
    let n = std::env::var("KEEL_CHAIN")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(500_000);
    let text = compile(&shapes::block_chain(n));
    assert_eq!(text.functions.len(), 1);
}

/// 100,000 data segments (wasmparser's limit) are kept with their bytes
/// only; one more is refused.
#[test]
fn hundred_thousand_data_segments() {
    let n = limits::MAX_DATA_SEGMENTS as u32;
    let bytes = shapes::data_segments(n);
    let translation = translate_module(&bytes, wasm_features()).unwrap();
    let data = &translation.module.data;
    assert_eq!(data.len(), n as usize);
    let bytes: usize = data.values().map(|d| d.data.len()).sum();
    assert_eq!(bytes, n as usize);
    assert!(translate_module(&shapes::data_segments(n + 1), wasm_features()).is_err());
}

/// 1,000 nested `try_table`s with a call at every level, and one
/// `try_table` of 1,000 catch clauses around 999 calls: each call's
/// handlers are found through its innermost `try_table`'s dispatch
/// block, so the code has one exception-table entry per call, not one per
/// clause in force (which made compile time quadratic).
#[test]
fn thousand_nested_try_tables_and_clauses_compile() {
    for bytes in [
        shapes::nested_try_tables(1_000),
        shapes::many_catch_clauses(1_000, 999),
    ] {
        let translation = translate_module(&bytes, wasm_features()).unwrap();
        let text = compiler().compile_module(&translation).unwrap();
        assert_eq!(text.functions.len(), 2);
        let entries: usize = text
            .exception_call_sites
            .iter()
            .map(|site| site.handlers.len())
            .sum();
        assert!(entries <= 3 * 1_000, "{entries} handler entries");
    }
}
