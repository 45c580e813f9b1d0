//! Generators for the pathological module shapes of issue 10, shared by
//! the `pathological` integration test and the compile-scaling benchmark.
//! Each takes a size and returns the module's bytes (built with
//! wasm-encoder).

#![allow(dead_code, reason = "each user needs only some shapes")]

use std::borrow::Cow;
use wasm_encoder::{
    BlockType, Catch, CodeSection, ConstExpr, DataSection, ElementSection, Elements, ExportKind,
    ExportSection, Function, FunctionSection, Instruction, MemorySection, MemoryType, Module,
    RefType, TableSection, TableType, TagKind, TagSection, TagType, TypeSection, ValType,
};

/// A module with one function of type `params -> results`, with `locals`,
/// whose body `body` writes (without the final `end`).
fn one_function(
    params: &[ValType],
    results: &[ValType],
    locals: &[(u32, ValType)],
    body: impl FnOnce(&mut Function),
) -> Vec<u8> {
    let mut types = TypeSection::new();
    types
        .ty()
        .function(params.iter().copied(), results.iter().copied());
    let mut funcs = FunctionSection::new();
    funcs.function(0);
    let mut f = Function::new(locals.iter().copied());
    body(&mut f);
    f.instruction(&Instruction::End);
    let mut code = CodeSection::new();
    code.function(&f);
    let mut module = Module::new();
    module.section(&types).section(&funcs).section(&code);
    module.finish()
}

/// `count` funcref tables of `minimum` elements each.
pub fn many_tables(count: u32, minimum: u64) -> Vec<u8> {
    let mut tables = TableSection::new();
    for _ in 0..count {
        tables.table(TableType {
            element_type: RefType::FUNCREF,
            minimum,
            maximum: None,
            table64: false,
            shared: false,
        });
    }
    let mut module = Module::new();
    module.section(&tables);
    module.finish()
}

/// One function: `depths` nested `(block (result i32))`s and, innermost, a
/// `br_table` of `entries` targets cycling over every depth, carrying an
/// `i32` to each.
pub fn br_table(depths: u32, entries: u32) -> Vec<u8> {
    one_function(&[ValType::I32], &[ValType::I32], &[], |f| {
        for _ in 0..depths {
            f.instruction(&Instruction::Block(BlockType::Result(ValType::I32)));
        }
        let targets: Vec<u32> = (0..entries).map(|i| i % depths).collect();
        f.instruction(&Instruction::I32Const(7));
        f.instruction(&Instruction::LocalGet(0));
        f.instruction(&Instruction::BrTable(Cow::Owned(targets), 0));
        for _ in 0..depths {
            f.instruction(&Instruction::End);
        }
    })
}

/// `count` identical `(func)` types; with `export`, one exported function
/// of the last of them.
pub fn duplicate_types(count: u32, export: bool) -> Vec<u8> {
    let mut types = TypeSection::new();
    for _ in 0..count {
        types.ty().function([], []);
    }
    let mut module = Module::new();
    module.section(&types);
    if export {
        let mut funcs = FunctionSection::new();
        funcs.function(count - 1);
        let mut exports = ExportSection::new();
        exports.export("f", ExportKind::Func, 0);
        let mut code = CodeSection::new();
        let mut f = Function::new([]);
        f.instruction(&Instruction::End);
        code.function(&f);
        module.section(&funcs).section(&exports).section(&code);
    }
    module.finish()
}

/// One function and `segments` passive element segments of `items`
/// references to it each.
pub fn elem_segments(segments: u32, items: u32) -> Vec<u8> {
    let mut types = TypeSection::new();
    types.ty().function([], []);
    let mut funcs = FunctionSection::new();
    funcs.function(0);
    let mut elems = ElementSection::new();
    let indices = vec![0u32; items as usize];
    for _ in 0..segments {
        elems.passive(Elements::Functions(Cow::Borrowed(&indices)));
    }
    let mut code = CodeSection::new();
    let mut f = Function::new([]);
    f.instruction(&Instruction::End);
    code.function(&f);
    let mut module = Module::new();
    module
        .section(&types)
        .section(&funcs)
        .section(&elems)
        .section(&code);
    module.finish()
}

/// `count` functions `(func (param i32) (result i32))`, each adding one to
/// its argument; the first is exported.
pub fn many_functions(count: u32) -> Vec<u8> {
    let mut types = TypeSection::new();
    types.ty().function([ValType::I32], [ValType::I32]);
    let mut funcs = FunctionSection::new();
    let mut code = CodeSection::new();
    let mut f = Function::new([]);
    f.instruction(&Instruction::LocalGet(0));
    f.instruction(&Instruction::I32Const(1));
    f.instruction(&Instruction::I32Add);
    f.instruction(&Instruction::End);
    for _ in 0..count {
        funcs.function(0);
        code.function(&f);
    }
    let mut exports = ExportSection::new();
    exports.export("f", ExportKind::Func, 0);
    let mut module = Module::new();
    module
        .section(&types)
        .section(&funcs)
        .section(&exports)
        .section(&code);
    module.finish()
}

/// One function with `count` i64 locals, summing the first and the last.
pub fn locals(count: u32) -> Vec<u8> {
    one_function(&[], &[ValType::I64], &[(count, ValType::I64)], |f| {
        f.instruction(&Instruction::LocalGet(0));
        f.instruction(&Instruction::LocalGet(count.saturating_sub(1)));
        f.instruction(&Instruction::I64Add);
    })
}

/// One function with `depth` nested empty blocks.
pub fn nesting(depth: u32) -> Vec<u8> {
    one_function(&[], &[], &[], |f| {
        for _ in 0..depth {
            f.instruction(&Instruction::Block(BlockType::Empty));
        }
        for _ in 0..depth {
            f.instruction(&Instruction::End);
        }
    })
}

/// One function with `count` blocks in sequence, each ending in `br 0`:
/// a chain of `count` Cranelift blocks (a dominator tree `count` deep).
pub fn block_chain(count: u32) -> Vec<u8> {
    one_function(&[], &[], &[], |f| {
        for _ in 0..count {
            f.instruction(&Instruction::Block(BlockType::Empty));
            f.instruction(&Instruction::Br(0));
            f.instruction(&Instruction::End);
        }
    })
}

/// A one-page memory and `count` active one-byte data segments.
pub fn data_segments(count: u32) -> Vec<u8> {
    let mut memories = MemorySection::new();
    memories.memory(MemoryType {
        minimum: 1,
        maximum: None,
        memory64: false,
        shared: false,
        page_size_log2: None,
    });
    let mut data = DataSection::new();
    for i in 0..count {
        data.active(0, &ConstExpr::i32_const((i % 65536) as i32), [i as u8]);
    }
    let mut module = Module::new();
    module.section(&memories).section(&data);
    module.finish()
}

/// `tags` tags of type `[] -> []`, an empty function 0 of that type and a
/// function 1 whose body `body` writes (without the final `end`).
fn with_tags_and_callee(tags: u32, body: impl FnOnce(&mut Function)) -> Vec<u8> {
    let mut types = TypeSection::new();
    types.ty().function([], []);
    let mut funcs = FunctionSection::new();
    funcs.function(0).function(0);
    let mut tag_section = TagSection::new();
    for _ in 0..tags {
        tag_section.tag(TagType {
            kind: TagKind::Exception,
            func_type_idx: 0,
        });
    }
    let mut code = CodeSection::new();
    let mut callee = Function::new([]);
    callee.instruction(&Instruction::End);
    code.function(&callee);
    let mut f = Function::new([]);
    body(&mut f);
    f.instruction(&Instruction::End);
    code.function(&f);
    let mut module = Module::new();
    module
        .section(&types)
        .section(&funcs)
        .section(&tag_section)
        .section(&code);
    module.finish()
}

/// One function of `depth` nested `try_table`s, each catching the one tag
/// and containing a call before the next level: every call is inside all
/// the `try_table`s around it.
pub fn nested_try_tables(depth: u32) -> Vec<u8> {
    with_tags_and_callee(1, |f| {
        for _ in 0..depth {
            let catches = [Catch::One { tag: 0, label: 0 }];
            f.instruction(&Instruction::TryTable(
                BlockType::Empty,
                Cow::Borrowed(&catches[..]),
            ));
            f.instruction(&Instruction::Call(0));
        }
        for _ in 0..depth {
            f.instruction(&Instruction::End);
        }
    })
}

/// One `try_table` with `clauses` catch clauses (one tag each, the last a
/// `catch_all`) around `calls` calls.
pub fn many_catch_clauses(clauses: u32, calls: u32) -> Vec<u8> {
    with_tags_and_callee(clauses, |f| {
        let mut catches: Vec<Catch> = (0..clauses.saturating_sub(1))
            .map(|tag| Catch::One { tag, label: 0 })
            .collect();
        catches.push(Catch::All { label: 0 });
        f.instruction(&Instruction::TryTable(
            BlockType::Empty,
            Cow::Owned(catches),
        ));
        for _ in 0..calls {
            f.instruction(&Instruction::Call(0));
        }
        f.instruction(&Instruction::End);
    })
}
