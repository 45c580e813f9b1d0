//! The walk over a module's sections: validation and metadata.

use crate::prelude::*;

use crate::*;
use wasmparser::{
    ElementItems, ElementKind, ExternalKind, FuncValidatorAllocations, KnownCustom, Name, Parser,
    Payload, TypeRef, ValidPayload, Validator, WasmFeatures,
};

/// The body of one defined function, borrowed from the module bytes.
#[derive(Clone, Debug)]
pub struct FunctionBodyData<'data> {
    /// The validated body (locals and operators).
    pub body: wasmparser::FunctionBody<'data>,
}

/// A validated module: its metadata and the bodies still to compile.
#[derive(Debug)]
pub struct ModuleTranslation<'data> {
    /// The module's metadata.
    pub module: Module,
    /// Bodies of the defined functions.
    pub function_bodies: PrimaryMap<DefinedFuncIndex, FunctionBodyData<'data>>,
    /// The VMContext layout.
    pub offsets: VMOffsets,
    /// Whether the GC proposal was on ([`WasmFeatures::GC`]): without it
    /// the compiler refuses GC operators.
    pub gc: bool,
}

/// The WebAssembly features keel enables by default, as Wasmtime 48 does:
/// WebAssembly 2.0 (sign-extension, non-trapping float-to-int,
/// multi-value, mutable globals, reference types, bulk memory, fixed-width
/// SIMD) and the 3.0 proposals tail calls, typed function references,
/// multiple memories, memory64, relaxed SIMD, extended constant
/// expressions, threads, exception handling, wide arithmetic and GC.
/// Custom page sizes are supported but off by default.
pub fn wasm_features() -> WasmFeatures {
    WasmFeatures::WASM2
        | WasmFeatures::GC
        | WasmFeatures::EXCEPTIONS
        | WasmFeatures::TAIL_CALL
        | WasmFeatures::FUNCTION_REFERENCES
        | WasmFeatures::MULTI_MEMORY
        | WasmFeatures::MEMORY64
        | WasmFeatures::RELAXED_SIMD
        | WasmFeatures::EXTENDED_CONST
        | WasmFeatures::THREADS
        | WasmFeatures::WIDE_ARITHMETIC
}

/// Every feature keel can compile: [`wasm_features`] plus the one off by
/// default (custom page sizes).
pub fn supported_wasm_features() -> WasmFeatures {
    wasm_features() | WasmFeatures::CUSTOM_PAGE_SIZES
}

/// Validate `bytes` as a WebAssembly module and collect its metadata.
///
/// Every function body is validated here, so compilation can assume
/// well-typed operators.
///
/// # Errors
///
/// [`WasmError::InvalidWasm`] (with the byte offset) for malformed or
/// invalid modules, [`WasmError::Unsupported`] for features outside
/// `features` handling, [`WasmError::ImplLimit`] for modules too large.
pub fn translate_module(
    bytes: &[u8],
    features: WasmFeatures,
) -> TranslateResult<ModuleTranslation<'_>> {
    // Recursion groups of function types are part of 3.0 but came with the
    // GC proposal, and the validator only accepts them with GC on. So it
    // validates with GC whenever typed function references are on, and
    // without GC translation rejects what else GC allows: struct and
    // array types, declared subtyping, GC heap types (as `Unsupported`)
    // and GC instructions (in compilation).
    let gc = features.contains(WasmFeatures::GC);
    let features = if features.contains(WasmFeatures::FUNCTION_REFERENCES) {
        features | WasmFeatures::GC
    } else {
        features
    };
    let mut validator = Validator::new_with_features(features);
    let mut module = Module::default();
    let mut function_bodies = PrimaryMap::new();
    let mut allocs = FuncValidatorAllocations::default();

    for payload in Parser::new(0).parse_all(bytes) {
        let payload = payload?;
        if let ValidPayload::Func(to_validate, body) = validator.payload(&payload)? {
            let mut func_validator = to_validate.into_validator(allocs);
            func_validator.validate(&body)?;
            allocs = func_validator.into_allocations();
            function_bodies.push(FunctionBodyData { body });
            continue;
        }
        match payload {
            Payload::TypeSection(reader) => {
                for group in reader {
                    let group = group?;
                    let start = module.types.len() as u32;
                    let subs: Vec<wasmparser::SubType> = group.into_types().collect();
                    let kinds = subs
                        .iter()
                        .map(|sub| composite_kind(&sub.composite_type))
                        .collect::<TranslateResult<Vec<_>>>()?;
                    let kind = |t: TypeIndex| match t.as_u32().checked_sub(start) {
                        Some(i) => kinds.get(i as usize).copied(),
                        None => module.type_kind(t),
                    };
                    let subs = subs
                        .into_iter()
                        .map(|sub| sub_type(sub, &kind))
                        .collect::<TranslateResult<Vec<_>>>()?;
                    for sub in subs {
                        module.types.push(sub);
                    }
                    let len = module.types.len() as u32 - start;
                    module.rec_groups.push((start, len));
                }
            }
            Payload::ImportSection(reader) => {
                for import in reader.into_imports() {
                    let import = import?;
                    let (index, ty) = match import.ty {
                        TypeRef::Func(ty) => {
                            let ty = TypeIndex::from_u32(ty);
                            module.num_imported_funcs += 1;
                            (
                                EntityIndex::Function(module.functions.push(ty)),
                                EntityType::Function(ty),
                            )
                        }
                        TypeRef::Table(t) => {
                            let t = table_type(t, &|t| module.type_kind(t))?;
                            module.num_imported_tables += 1;
                            (
                                EntityIndex::Table(module.tables.push(t)),
                                EntityType::Table(t),
                            )
                        }
                        TypeRef::Memory(m) => {
                            let m = memory_type(m)?;
                            module.num_imported_memories += 1;
                            (
                                EntityIndex::Memory(module.memories.push(m)),
                                EntityType::Memory(m),
                            )
                        }
                        TypeRef::Global(g) => {
                            let g = global_type(g, &|t| module.type_kind(t))?;
                            module.num_imported_globals += 1;
                            let index = module.globals.push(Global {
                                ty: g,
                                init: ConstExpr::default(),
                            });
                            (EntityIndex::Global(index), EntityType::Global(g))
                        }
                        TypeRef::Tag(t) => {
                            let ty = TypeIndex::from_u32(t.func_type_idx);
                            module.num_imported_tags += 1;
                            (EntityIndex::Tag(module.tags.push(ty)), EntityType::Tag(ty))
                        }
                        other => unsupported!("import of {other:?}"),
                    };
                    module.imports.push(Import {
                        module: import.module.into(),
                        field: import.name.into(),
                        index,
                        ty,
                    });
                }
            }
            Payload::FunctionSection(reader) => {
                for ty in reader {
                    module.functions.push(TypeIndex::from_u32(ty?));
                }
            }
            Payload::TableSection(reader) => {
                let total = module.tables.len() + reader.count() as usize;
                if total > limits::MAX_TABLES {
                    return Err(WasmError::ImplLimit(format!(
                        "{total} tables (keel allows at most {})",
                        limits::MAX_TABLES
                    )));
                }
                for table in reader {
                    let table = table?;
                    let ty = table_type(table.ty, &|t| module.type_kind(t))?;
                    let index = module.tables.push(ty);
                    if let wasmparser::TableInit::Expr(expr) = table.init {
                        let init = const_expr(&expr)?;
                        mark_escaped(&mut module.escaped_funcs, &init.ops);
                        module.table_inits.push((index, init));
                    }
                }
            }
            Payload::MemorySection(reader) => {
                check_memory_limits_encoding(bytes, reader.range())?;
                for memory in reader {
                    module.memories.push(memory_type(memory?)?);
                }
            }
            Payload::TagSection(reader) => {
                for tag in reader {
                    module.tags.push(TypeIndex::from_u32(tag?.func_type_idx));
                }
            }
            Payload::GlobalSection(reader) => {
                for global in reader {
                    let global = global?;
                    let init = const_expr(&global.init_expr)?;
                    mark_escaped(&mut module.escaped_funcs, &init.ops);
                    module.globals.push(Global {
                        ty: global_type(global.ty, &|t| module.type_kind(t))?,
                        init,
                    });
                }
            }
            Payload::ExportSection(reader) => {
                for export in reader {
                    let export = export?;
                    let index = match export.kind {
                        ExternalKind::Func | ExternalKind::FuncExact => {
                            let f = FuncIndex::from_u32(export.index);
                            module.escaped_funcs.insert(f);
                            EntityIndex::Function(f)
                        }
                        ExternalKind::Table => {
                            EntityIndex::Table(TableIndex::from_u32(export.index))
                        }
                        ExternalKind::Memory => {
                            EntityIndex::Memory(MemoryIndex::from_u32(export.index))
                        }
                        ExternalKind::Global => {
                            EntityIndex::Global(GlobalIndex::from_u32(export.index))
                        }
                        ExternalKind::Tag => EntityIndex::Tag(TagIndex::from_u32(export.index)),
                    };
                    module.exports.push((export.name.into(), index));
                }
            }
            Payload::StartSection { func, .. } => {
                let f = FuncIndex::from_u32(func);
                module.escaped_funcs.insert(f);
                module.start = Some(f);
            }
            Payload::ElementSection(reader) => {
                for elem in reader {
                    let elem = elem?;
                    let mode = match elem.kind {
                        ElementKind::Passive => ElemMode::Passive,
                        ElementKind::Declared => ElemMode::Declared,
                        ElementKind::Active {
                            table_index,
                            offset_expr,
                        } => ElemMode::Active {
                            table: TableIndex::from_u32(table_index.unwrap_or(0)),
                            offset: const_expr(&offset_expr)?,
                        },
                    };
                    let declared = matches!(mode, ElemMode::Declared);
                    let (ty, items) = match elem.items {
                        ElementItems::Functions(funcs) => {
                            let mut items = Vec::new();
                            items
                                .try_reserve_exact(funcs.count() as usize)
                                .map_err(|_| {
                                    WasmError::ImplLimit("element segment too large".into())
                                })?;
                            for f in funcs {
                                let f = FuncIndex::from_u32(f?);
                                module.escaped_funcs.insert(f);
                                items.push(PackedOption::from(f));
                            }
                            (WasmValType::FuncRef, ElemItems::Functions(items.into()))
                        }
                        ElementItems::Expressions(ty, exprs) => {
                            let ty = WasmValType::from_ref_type(ty, &|t| module.type_kind(t))?;
                            (ty, elem_expressions(&mut module.escaped_funcs, exprs)?)
                        }
                    };
                    // A declarative segment only declares its functions for
                    // `ref.func` (marked above); nothing reads its items.
                    let items = if declared {
                        ElemItems::default()
                    } else {
                        items
                    };
                    module.elems.push(ElemSegment { ty, mode, items });
                }
            }
            Payload::DataSection(reader) => {
                for data in reader {
                    let data = data?;
                    let mode = match data.kind {
                        wasmparser::DataKind::Passive => DataMode::Passive,
                        wasmparser::DataKind::Active {
                            memory_index,
                            offset_expr,
                        } => DataMode::Active {
                            memory: MemoryIndex::from_u32(memory_index),
                            offset: const_expr(&offset_expr)?,
                        },
                    };
                    module.data.push(DataSegment {
                        mode,
                        data: data.data.into(),
                    });
                }
            }
            Payload::CustomSection(section) => {
                // A malformed name section is ignored, as the spec's
                // Custom Sections appendix allows:
                // <https://webassembly.github.io/spec/core/appendix/custom.html#name-section>.
                if let KnownCustom::Name(reader) = section.as_known() {
                    let _ = read_names(&mut module, reader);
                }
            }
            _ => {}
        }
    }

    if !gc {
        refuse_gc_types(&module)?;
    }
    module.canonicalize_types();
    let offsets = VMOffsets::new(&module)?;
    Ok(ModuleTranslation {
        module,
        function_bodies,
        offsets,
        gc,
    })
}

/// Reject 32-bit memory limits whose LEB128 encoding is longer than a
/// `u32` allows (spec:
/// [Integers](https://webassembly.github.io/spec/core/binary/values.html#integers):
/// at most ceil(32/7) = 5 bytes).
/// wasmparser reads limits as 64-bit values, so it accepts them.
fn check_memory_limits_encoding(bytes: &[u8], range: core::ops::Range<u64>) -> TranslateResult<()> {
    let (Ok(start), Ok(end)) = (usize::try_from(range.start), usize::try_from(range.end)) else {
        return Ok(());
    };
    let Some(section) = bytes.get(start..end) else {
        return Ok(());
    };
    let mut reader = wasmparser::BinaryReader::new(section, range.start);
    let count = reader.read_var_u32()?;
    for _ in 0..count {
        let flags = reader.read_u8()?;
        if flags & 0b0100 != 0 {
            // memory64: 64-bit limits are valid; rejected later as unsupported.
            return Ok(());
        }
        reader.read_var_u32()?;
        if flags & 0b0001 != 0 {
            reader.read_var_u32()?;
        }
        if flags & 0b1000 != 0 {
            reader.read_var_u32()?;
        }
    }
    Ok(())
}

/// Record the functions a constant expression references with `ref.func`.
fn mark_escaped(escaped: &mut EntitySet<FuncIndex>, ops: &[ConstOp]) {
    for op in ops {
        if let ConstOp::RefFunc(f) = op {
            escaped.insert(*f);
        }
    }
}

/// The items of an element segment given as expressions: a flat array of
/// function indices when every item is `ref.func` or `ref.null` (the usual
/// case), flattened expressions otherwise.
fn elem_expressions(
    escaped: &mut EntitySet<FuncIndex>,
    exprs: wasmparser::SectionLimited<'_, wasmparser::ConstExpr<'_>>,
) -> TranslateResult<ElemItems> {
    let count = exprs.count() as usize;
    let too_large = |_| WasmError::ImplLimit("element segment too large".into());
    let mut funcs: Vec<PackedOption<FuncIndex>> = Vec::new();
    funcs.try_reserve_exact(count).map_err(too_large)?;
    let mut ops: Vec<ConstOp> = Vec::new();
    let mut ends: Vec<u32> = Vec::new();
    let mut all_funcs = true;
    for expr in exprs {
        let expr = const_expr(&expr?)?;
        mark_escaped(escaped, &expr.ops);
        if all_funcs {
            match expr.ops.as_slice() {
                [ConstOp::RefFunc(f)] => {
                    funcs.push(PackedOption::from(*f));
                    continue;
                }
                [ConstOp::RefNull] => {
                    funcs.push(PackedOption::default());
                    continue;
                }
                _ => {
                    // Switch to expressions: re-express the items so far.
                    all_funcs = false;
                    ends.try_reserve_exact(count).map_err(too_large)?;
                    for f in funcs.drain(..) {
                        ops.push(match f.expand() {
                            Some(f) => ConstOp::RefFunc(f),
                            None => ConstOp::RefNull,
                        });
                        ends.push(ops.len() as u32);
                    }
                }
            }
        }
        ops.extend_from_slice(&expr.ops);
        ends.push(
            u32::try_from(ops.len())
                .map_err(|_| WasmError::ImplLimit("element segment too large".into()))?,
        );
    }
    Ok(if all_funcs {
        ElemItems::Functions(funcs.into())
    } else {
        ElemItems::Expressions {
            ops: ops.into(),
            ends: ends.into(),
        }
    })
}

fn read_names(
    module: &mut Module,
    reader: wasmparser::NameSectionReader<'_>,
) -> TranslateResult<()> {
    for name in reader {
        match name? {
            Name::Module { name, .. } => module.name = Some(name.into()),
            Name::Function(map) => {
                for naming in map {
                    let naming = naming?;
                    module
                        .func_names
                        .insert(FuncIndex::from_u32(naming.index), naming.name.into());
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// Refuse a module that uses GC types, for when the GC proposal is off:
/// struct and array types, declared subtyping, and references into the
/// `any` hierarchy in its types, imports, tables, globals and segments.
fn refuse_gc_types(module: &Module) -> TranslateResult<()> {
    let gc_val = |t: &WasmValType| t.is_any_ref();
    for (_, ty) in module.types.iter() {
        let uses_gc = match &ty.composite {
            WasmCompositeType::Func(f) => f.params.iter().chain(f.results.iter()).any(gc_val),
            _ => true,
        };
        if uses_gc || !ty.is_final || ty.supertype.is_some() {
            unsupported!("{ty}: GC types need the GC proposal (`Config::wasm_gc`)");
        }
    }
    let tables = module.tables.values().map(|t| &t.element);
    let globals = module.globals.values().map(|g| &g.ty.content);
    let elems = module.elems.values().map(|e| &e.ty);
    if let Some(t) = tables.chain(globals).chain(elems).find(|t| gc_val(t)) {
        unsupported!("type {t} needs the GC proposal (`Config::wasm_gc`)");
    }
    Ok(())
}

/// The kind of a composite type of the type section.
fn composite_kind(ty: &wasmparser::CompositeType) -> TranslateResult<CompositeKind> {
    if ty.shared || ty.descriptor_idx.is_some() || ty.describes_idx.is_some() {
        unsupported!("shared types or type descriptors");
    }
    Ok(match ty.inner {
        wasmparser::CompositeInnerType::Func(_) => CompositeKind::Func,
        wasmparser::CompositeInnerType::Struct(_) => CompositeKind::Struct,
        wasmparser::CompositeInnerType::Array(_) => CompositeKind::Array,
        wasmparser::CompositeInnerType::Cont(_) => {
            unsupported!("continuation types (stack switching)")
        }
    })
}

/// A type of the type section; `kind` gives the kind of every type it
/// may refer to (earlier ones and its recursion group's).
fn sub_type(
    sub: wasmparser::SubType,
    kind: &impl Fn(TypeIndex) -> Option<CompositeKind>,
) -> TranslateResult<WasmSubType> {
    composite_kind(&sub.composite_type)?;
    let val = |t: wasmparser::ValType| WasmValType::from_wasmparser(t, kind);
    let field = |f: wasmparser::FieldType| -> TranslateResult<WasmFieldType> {
        Ok(WasmFieldType {
            element: match f.element_type {
                wasmparser::StorageType::I8 => WasmStorageType::I8,
                wasmparser::StorageType::I16 => WasmStorageType::I16,
                wasmparser::StorageType::Val(t) => WasmStorageType::Val(val(t)?),
            },
            mutable: f.mutable,
        })
    };
    let composite = match sub.composite_type.inner {
        wasmparser::CompositeInnerType::Func(ty) => {
            let params = ty.params().iter().map(|t| val(*t));
            let results = ty.results().iter().map(|t| val(*t));
            WasmCompositeType::Func(WasmFuncType::new(
                params.collect::<TranslateResult<Vec<_>>>()?,
                results.collect::<TranslateResult<Vec<_>>>()?,
            ))
        }
        wasmparser::CompositeInnerType::Struct(ty) => WasmCompositeType::Struct(
            ty.fields
                .iter()
                .map(|f| field(*f))
                .collect::<TranslateResult<Box<[_]>>>()?,
        ),
        wasmparser::CompositeInnerType::Array(ty) => WasmCompositeType::Array(field(ty.0)?),
        wasmparser::CompositeInnerType::Cont(_) => {
            unsupported!("continuation types (stack switching)")
        }
    };
    let supertype = match sub.supertype_idxs.as_slice() {
        [] => None,
        [s] => match s.as_module_index() {
            Some(s) => Some(crate::TypeRef::Module(TypeIndex::from_u32(s))),
            None => unsupported!("a supertype outside the module's index space"),
        },
        _ => unsupported!("more than one supertype"),
    };
    Ok(WasmSubType {
        is_final: sub.is_final,
        supertype,
        composite,
    })
}

fn table_type(
    t: wasmparser::TableType,
    kind: &impl Fn(TypeIndex) -> Option<CompositeKind>,
) -> TranslateResult<TableType> {
    if t.shared {
        unsupported!("shared tables");
    }
    Ok(TableType {
        element: WasmValType::from_ref_type(t.element_type, kind)?,
        limits: Limits {
            min: t.initial,
            max: t.maximum,
        },
        table64: t.table64,
    })
}

fn memory_type(m: wasmparser::MemoryType) -> TranslateResult<MemoryType> {
    let page_size_log2 = match m.page_size_log2 {
        None => 16,
        Some(log2 @ (0 | 16)) => log2 as u8,
        Some(other) => unsupported!("a page size of 2^{other} bytes"),
    };
    Ok(MemoryType {
        limits: Limits {
            min: m.initial,
            max: m.maximum,
        },
        memory64: m.memory64,
        shared: m.shared,
        page_size_log2,
    })
}

fn global_type(
    g: wasmparser::GlobalType,
    kind: &impl Fn(TypeIndex) -> Option<CompositeKind>,
) -> TranslateResult<GlobalType> {
    if g.shared {
        unsupported!("shared globals");
    }
    Ok(GlobalType {
        content: WasmValType::from_wasmparser(g.content_type, kind)?,
        mutable: g.mutable,
    })
}

fn const_expr(expr: &wasmparser::ConstExpr<'_>) -> TranslateResult<ConstExpr> {
    use wasmparser::Operator as O;
    let mut ops = Vec::new();
    let mut reader = expr.get_operators_reader();
    while !reader.eof() {
        let op = match reader.read()? {
            O::End => continue,
            O::I32Const { value } => ConstOp::I32Const(value),
            O::I64Const { value } => ConstOp::I64Const(value),
            O::F32Const { value } => ConstOp::F32Const(value.bits()),
            O::F64Const { value } => ConstOp::F64Const(value.bits()),
            O::V128Const { value } => ConstOp::V128Const(u128::from_le_bytes(*value.bytes())),
            O::GlobalGet { global_index } => {
                ConstOp::GlobalGet(GlobalIndex::from_u32(global_index))
            }
            O::RefNull { .. } => ConstOp::RefNull,
            O::RefFunc { function_index } => ConstOp::RefFunc(FuncIndex::from_u32(function_index)),
            O::I32Add => ConstOp::I32Add,
            O::I32Sub => ConstOp::I32Sub,
            O::I32Mul => ConstOp::I32Mul,
            O::I64Add => ConstOp::I64Add,
            O::I64Sub => ConstOp::I64Sub,
            O::I64Mul => ConstOp::I64Mul,
            O::StructNew { struct_type_index } => {
                ConstOp::StructNew(TypeIndex::from_u32(struct_type_index))
            }
            O::StructNewDefault { struct_type_index } => {
                ConstOp::StructNewDefault(TypeIndex::from_u32(struct_type_index))
            }
            O::ArrayNew { array_type_index } => {
                ConstOp::ArrayNew(TypeIndex::from_u32(array_type_index))
            }
            O::ArrayNewDefault { array_type_index } => {
                ConstOp::ArrayNewDefault(TypeIndex::from_u32(array_type_index))
            }
            O::ArrayNewFixed {
                array_type_index,
                array_size,
            } => ConstOp::ArrayNewFixed(TypeIndex::from_u32(array_type_index), array_size),
            O::RefI31 => ConstOp::RefI31,
            O::AnyConvertExtern => ConstOp::AnyConvertExtern,
            O::ExternConvertAny => ConstOp::ExternConvertAny,
            other => unsupported!("constant expression operator {other:?}"),
        };
        ops.push(op);
    }
    Ok(ConstExpr { ops })
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    #[test]
    fn invalid_module_reports_offset() {
        let err = translate_module(b"\0asm\x01\0\0\0\x01", wasm_features()).unwrap_err();
        assert!(
            matches!(err, WasmError::InvalidWasm { offset: 8.., .. }),
            "{err:?}"
        );
    }

    #[test]
    fn collects_metadata() {
        // (module (import "m" "f" (func (param i32))) (memory 1 2)
        //   (func (export "g") (result i32) i32.const 7) (global i32 (i32.const 3)))
        let bytes = [
            0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // header
            0x01, 0x09, 0x02, 0x60, 0x01, 0x7f, 0x00, 0x60, 0x00, 0x01, 0x7f, // types
            0x02, 0x07, 0x01, 0x01, b'm', 0x01, b'f', 0x00, 0x00, // import
            0x03, 0x02, 0x01, 0x01, // functions
            0x05, 0x04, 0x01, 0x01, 0x01, 0x02, // memory 1 2
            0x06, 0x06, 0x01, 0x7f, 0x00, 0x41, 0x03, 0x0b, // global
            0x07, 0x05, 0x01, 0x01, b'g', 0x00, 0x01, // export
            0x0a, 0x06, 0x01, 0x04, 0x00, 0x41, 0x07, 0x0b, // code
        ];
        let t = translate_module(&bytes, wasm_features()).unwrap();
        let m = &t.module;
        assert_eq!(m.types.len(), 2);
        assert_eq!(m.num_imported_funcs, 1);
        assert_eq!(m.functions.len(), 2);
        assert_eq!(
            m.defined_func_index(FuncIndex::from_u32(1)),
            Some(DefinedFuncIndex::from_u32(0))
        );
        assert_eq!(m.defined_func_index(FuncIndex::from_u32(0)), None);
        assert_eq!(
            m.memories[MemoryIndex::from_u32(0)].limits,
            Limits {
                min: 1,
                max: Some(2)
            }
        );
        assert_eq!(
            m.export("g"),
            Some(EntityIndex::Function(FuncIndex::from_u32(1)))
        );
        assert_eq!(
            m.globals[GlobalIndex::from_u32(0)].init.ops,
            vec![ConstOp::I32Const(3)]
        );
        assert_eq!(t.function_bodies.len(), 1);
        assert_eq!(t.offsets.size() % 16, 0);
    }
}
