//! Translation of one function body: wasm operators to Cranelift IR.
//!
//! The translator keeps the wasm operand stack as Cranelift [`Value`]s and
//! a control stack of [`ControlFrame`]s; structured control flow becomes
//! Cranelift blocks whose parameters carry block results (and loop
//! parameters). Code after an unconditional branch is skipped until the
//! enclosing frame ends. Memory, global, table and call operators are
//! lowered by the environment methods in [`crate::env`].

use crate::CompileError;
use crate::abi;
use crate::env::{FuncEnv, Metering};
use crate::prelude::*;
use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::{
    self, Block, BlockArg, InstBuilder, JumpTableData, MemFlagsData, Value, types,
};
use cranelift_frontend::{FunctionBuilder, Variable};
use hashbrown::HashMap;
use keel_translate::gc_layout::is_gc_ref;
use keel_translate::{BuiltinFunctionIndex, Trap, WasmFuncType, WasmValType};
use wasmparser::{BlockType, FunctionBody, Operator};

/// What kind of structured instruction a control frame belongs to.
enum FrameKind {
    Block,
    Loop {
        header: Block,
    },
    /// A `try_table` (its dispatch block is in `try_scopes`).
    TryTable,
    If {
        /// The else branch's block, until `else` switches to it.
        else_block: Option<Block>,
        /// The if's parameters, to restart the else branch with.
        params: Vec<Value>,
        /// Whether the if instruction itself was reachable.
        head_reachable: bool,
    },
}

/// One open `block`, `loop`, `if` (or the function body).
struct ControlFrame {
    kind: FrameKind,
    /// The block after the construct; its parameters are the results.
    next: Block,
    num_params: usize,
    num_results: usize,
    /// Operand stack height below the frame's parameters.
    stack_height: usize,
    /// Whether a branch targets `next`.
    exit_reached: bool,
}

impl ControlFrame {
    /// The block a branch to this frame jumps to, and how many values it takes.
    fn branch_target(&self) -> (Block, usize) {
        match self.kind {
            FrameKind::Loop { header } => (header, self.num_params),
            _ => (self.next, self.num_results),
        }
    }
}

/// Translates one function body into `builder`'s function.
pub(crate) struct FuncTranslator<'a, 'b> {
    pub(crate) env: &'a mut FuncEnv<'b>,
    pub(crate) builder: FunctionBuilder<'a>,
    pub(crate) vmctx: Value,
    stack: Vec<Value>,
    control: Vec<ControlFrame>,
    pub(crate) reachable: bool,
    /// Nesting depth of blocks opened inside unreachable code.
    unreachable_depth: u32,
    locals: Vec<Variable>,
    /// Byte offset of the operator being translated, for error messages.
    pub(crate) offset: usize,
    /// Fuel and epoch state.
    pub(crate) metering: Metering,
    /// The open `try_table`s, outermost first.
    pub(crate) try_scopes: Vec<crate::exceptions::TryScope>,
    /// Where `try_table`s keep the caught exception for their dispatch
    /// code (created by the first one).
    pub(crate) exn_slot: Option<cranelift_codegen::ir::StackSlot>,
}

fn bad(msg: impl Into<String>, offset: usize) -> CompileError {
    CompileError::Bug(format!("{} at byte offset {offset:#x}", msg.into()))
}

impl<'a, 'b> FuncTranslator<'a, 'b> {
    /// Translate `body` of a function of type `ty`.
    pub(crate) fn translate(
        env: &'a mut FuncEnv<'b>,
        mut builder: FunctionBuilder<'a>,
        ty: &WasmFuncType,
        body: &FunctionBody<'_>,
    ) -> Result<(), CompileError> {
        let entry = builder.create_block();
        builder.append_block_params_for_function_params(entry);
        builder.switch_to_block(entry);
        builder.seal_block(entry);
        let vmctx = builder.block_params(entry)[0];
        let params: Vec<Value> = builder.block_params(entry)[2..].to_vec();

        let mut locals = Vec::new();
        for (value, wasm_ty) in params.iter().zip(ty.params.iter()) {
            let var = builder.declare_var(abi::value_type(env.isa, *wasm_ty));
            if is_gc_ref(*wasm_ty) {
                builder.declare_var_needs_stack_map(var);
            }
            builder.def_var(var, *value);
            locals.push(var);
        }
        let mut reader = body.get_locals_reader()?;
        for _ in 0..reader.get_count() {
            let (count, local_ty) = reader.read()?;
            let local_ty = WasmValType::from_wasmparser(local_ty, &|t| env.module.type_kind(t))?;
            let clif_ty = abi::value_type(env.isa, local_ty);
            let zero = match local_ty {
                WasmValType::F32 => builder.ins().f32const(0.0),
                WasmValType::F64 => builder.ins().f64const(0.0),
                WasmValType::V128 => {
                    let c = builder.func.dfg.constants.insert(vec![0u8; 16].into());
                    builder.ins().vconst(types::I8X16, c)
                }
                _ => builder.ins().iconst(clif_ty, 0),
            };
            for _ in 0..count {
                let var = builder.declare_var(clif_ty);
                if is_gc_ref(local_ty) {
                    builder.declare_var_needs_stack_map(var);
                }
                builder.def_var(var, zero);
                locals.push(var);
            }
        }

        let ret = builder.create_block();
        for r in ty.results.iter() {
            let v = builder.append_block_param(ret, abi::value_type(env.isa, *r));
            if is_gc_ref(*r) {
                builder.declare_value_needs_stack_map(v);
            }
        }
        let mut t = FuncTranslator {
            env,
            builder,
            vmctx,
            stack: Vec::new(),
            control: vec![ControlFrame {
                kind: FrameKind::Block,
                next: ret,
                num_params: 0,
                num_results: ty.results.len(),
                stack_height: 0,
                exit_reached: false,
            }],
            reachable: true,
            unreachable_depth: 0,
            locals,
            offset: 0,
            metering: Metering::default(),
            try_scopes: Vec::new(),
            exn_slot: None,
        };
        t.metering_function_entry();

        let mut ops = body.get_operators_reader()?;
        while !ops.eof() {
            let (op, offset) = ops.read_with_offset()?;
            t.offset = offset as usize;
            t.builder.set_srcloc(ir::SourceLoc::new(offset as u32));
            if t.reachable {
                t.fuel_before_op(&op);
                let is_call = matches!(
                    op,
                    Operator::Call { .. }
                        | Operator::CallIndirect { .. }
                        | Operator::CallRef { .. }
                );
                t.translate_operator(op)?;
                if is_call {
                    t.fuel_after_call();
                }
            } else {
                t.translate_unreachable_operator(op)?;
            }
        }
        if !t.control.is_empty() {
            return Err(bad("function body ended with open blocks", t.offset));
        }
        let frontend_config = t.env.isa.frontend_config();
        t.builder.finalize(frontend_config);
        Ok(())
    }

    pub(crate) fn pop_value(&mut self) -> Result<Value, CompileError> {
        self.pop()
    }

    pub(crate) fn push_value(&mut self, v: Value) {
        self.push(v);
    }

    fn pop(&mut self) -> Result<Value, CompileError> {
        self.stack
            .pop()
            .ok_or_else(|| bad("operand stack underflow", self.offset))
    }

    fn pop2(&mut self) -> Result<(Value, Value), CompileError> {
        let b = self.pop()?;
        let a = self.pop()?;
        Ok((a, b))
    }

    fn push(&mut self, v: Value) {
        self.stack.push(v);
    }

    pub(crate) fn peekn(&self, n: usize) -> Result<&[Value], CompileError> {
        let len = self.stack.len();
        len.checked_sub(n)
            .map(|start| &self.stack[start..])
            .ok_or_else(|| bad("operand stack underflow", self.offset))
    }

    pub(crate) fn popn(&mut self, n: usize) -> Result<Vec<Value>, CompileError> {
        let start = self
            .stack
            .len()
            .checked_sub(n)
            .ok_or_else(|| bad("operand stack underflow", self.offset))?;
        Ok(self.stack.split_off(start))
    }

    pub(crate) fn push_all(&mut self, values: &[Value]) {
        self.stack.extend_from_slice(values);
    }

    fn block_args(values: &[Value]) -> Vec<BlockArg> {
        values.iter().map(|v| BlockArg::Value(*v)).collect()
    }

    /// The parameter and result types of a block type.
    fn block_signature(
        &self,
        ty: BlockType,
    ) -> Result<(Vec<WasmValType>, Vec<WasmValType>), CompileError> {
        Ok(match ty {
            BlockType::Empty => (vec![], vec![]),
            BlockType::Type(t) => (
                vec![],
                vec![WasmValType::from_wasmparser(t, &|t| {
                    self.env.module.type_kind(t)
                })?],
            ),
            BlockType::FuncType(index) => {
                let ty = self
                    .env
                    .module
                    .types
                    .get(keel_translate::TypeIndex::from_u32(index))
                    .and_then(|t| t.as_func())
                    .ok_or_else(|| bad("bad block type index", self.offset))?;
                (ty.params.to_vec(), ty.results.to_vec())
            }
        })
    }

    fn new_block_with(&mut self, tys: &[WasmValType]) -> Block {
        let block = self.builder.create_block();
        for t in tys {
            let v = self
                .builder
                .append_block_param(block, abi::value_type(self.env.isa, *t));
            self.declare_refs(&[v], &[*t]);
        }
        block
    }

    /// Tell Cranelift which of `values` (of wasm types `tys`) are
    /// references the collector must find (`exnref`, `externref` and the
    /// `any` hierarchy; [`is_gc_ref`]): across
    /// every call they live in a stack slot its stack map names. Every
    /// operator that makes a new value of a reference type calls this (or
    /// defines a local, whose variable is declared once).
    pub(crate) fn declare_refs(&mut self, values: &[Value], tys: &[WasmValType]) {
        for (v, t) in values.iter().zip(tys) {
            if is_gc_ref(*t) {
                self.builder.declare_value_needs_stack_map(*v);
            }
        }
    }

    /// The frame of a `block` or `try_table` of type `blockty` about to
    /// open: its results go to a new block, its parameters stay on the
    /// operand stack.
    fn block_frame(
        &mut self,
        blockty: BlockType,
        kind: FrameKind,
    ) -> Result<ControlFrame, CompileError> {
        let (params, results) = self.block_signature(blockty)?;
        let next = self.new_block_with(&results);
        let stack_height = self
            .stack
            .len()
            .checked_sub(params.len())
            .ok_or_else(|| bad("operand stack underflow", self.offset))?;
        Ok(ControlFrame {
            kind,
            next,
            num_params: params.len(),
            num_results: results.len(),
            stack_height,
            exit_reached: false,
        })
    }

    fn frame(&mut self, depth: u32) -> Result<&mut ControlFrame, CompileError> {
        let len = self.control.len();
        let i = len
            .checked_sub(1 + depth as usize)
            .ok_or_else(|| bad("branch depth out of range", self.offset))?;
        Ok(&mut self.control[i])
    }

    /// Mark the target of a branch of `depth` and return its block and arity.
    pub(crate) fn branch_to(&mut self, depth: u32) -> Result<(Block, usize), CompileError> {
        let frame = self.frame(depth)?;
        if !matches!(frame.kind, FrameKind::Loop { .. }) {
            frame.exit_reached = true;
        }
        Ok(frame.branch_target())
    }

    pub(crate) fn trap(&mut self, code: Trap) {
        self.builder.ins().trap(crate::clif_trap_code(code));
        self.reachable = false;
    }

    fn translate_unreachable_operator(&mut self, op: Operator<'_>) -> Result<(), CompileError> {
        match op {
            Operator::Block { .. }
            | Operator::Loop { .. }
            | Operator::If { .. }
            | Operator::TryTable { .. } => {
                self.unreachable_depth += 1;
            }
            Operator::Else if self.unreachable_depth == 0 => {
                // The then branch ended unreachable; the else branch starts
                // reachable if the `if` itself was.
                let frame = self
                    .control
                    .last_mut()
                    .ok_or_else(|| bad("else without if", self.offset))?;
                if let FrameKind::If {
                    else_block,
                    params,
                    head_reachable,
                } = &mut frame.kind
                {
                    let stack_height = frame.stack_height;
                    if let Some(else_block) = else_block.take() {
                        let params = params.clone();
                        if *head_reachable {
                            self.builder.switch_to_block(else_block);
                            self.stack.truncate(stack_height);
                            self.stack.extend_from_slice(&params);
                            self.reachable = true;
                        }
                    }
                } else {
                    return Err(bad("else without if", self.offset));
                }
            }
            Operator::End if self.unreachable_depth > 0 => self.unreachable_depth -= 1,
            Operator::End => self.end_frame()?,
            _ => {}
        }
        Ok(())
    }

    /// Close the innermost frame (its `end`).
    fn end_frame(&mut self) -> Result<(), CompileError> {
        let frame = self
            .control
            .pop()
            .ok_or_else(|| bad("end without block", self.offset))?;
        if self.reachable
            && !frame.exit_reached
            && matches!(frame.kind, FrameKind::Block)
            && !self.control.is_empty()
        {
            // Nothing branches to this block's end and control falls
            // through: its results are already on the stack, so code goes
            // on in the current Cranelift block (`next` stays unused). This
            // keeps deeply nested blocks from becoming a chain of blocks.
            return Ok(());
        }
        if self.reachable {
            let results = self.peekn(frame.num_results)?.to_vec();
            self.builder
                .ins()
                .jump(frame.next, &Self::block_args(&results));
        }
        let mut next_reachable = self.reachable || frame.exit_reached;
        if let FrameKind::If {
            else_block: Some(else_block),
            params,
            head_reachable,
        } = &frame.kind
        {
            // An `if` without `else`: the implicit else passes its
            // parameters through as results.
            if *head_reachable {
                self.builder.switch_to_block(*else_block);
                self.builder
                    .ins()
                    .jump(frame.next, &Self::block_args(params));
                next_reachable = true;
            }
        }
        if let FrameKind::Loop { header } = frame.kind {
            self.builder.seal_block(header);
        }
        if let FrameKind::TryTable = frame.kind {
            // Every call (and inner dispatch block) that can reach the
            // dispatch block is translated.
            if let Some(scope) = self.try_scopes.pop() {
                self.builder.seal_block(scope.landing);
                self.builder.seal_block(scope.dispatch);
            }
        }
        self.stack.truncate(frame.stack_height);
        if self.control.is_empty() {
            // The function body: `next` is the return block.
            if next_reachable {
                self.builder.switch_to_block(frame.next);
                self.builder.seal_block(frame.next);
                let results = self.builder.block_params(frame.next).to_vec();
                self.metering_function_exit();
                self.builder.ins().return_(&results);
            }
            self.reachable = false;
            return Ok(());
        }
        if next_reachable {
            self.builder.switch_to_block(frame.next);
            self.builder.seal_block(frame.next);
            let results = self.builder.block_params(frame.next).to_vec();
            self.stack.extend_from_slice(&results);
        }
        self.reachable = next_reachable;
        Ok(())
    }

    fn translate_br_table(&mut self, targets: wasmparser::BrTable<'_>) -> Result<(), CompileError> {
        let index = self.pop()?;
        let default_depth = targets.default();
        let mut depths = Vec::with_capacity(targets.len() as usize);
        for d in targets.targets() {
            depths.push(d?);
        }
        let (_, arity) = self.branch_to(default_depth)?;
        let args = self.peekn(arity)?.to_vec();
        // Branches with arguments go through one small block per target
        // depth, because a jump table entry's arguments must be the same
        // values for every index.
        // Edge blocks in creation order (deterministic output), found by
        // depth in a hash map: linear in the number of entries, however
        // many distinct depths they name.
        let mut edge_blocks: Vec<(u32, Block)> = Vec::new();
        let mut edge_by_depth: HashMap<u32, Block> = HashMap::new();
        let mut edge = |t: &mut Self, depth: u32| -> Result<ir::BlockCall, CompileError> {
            let (target, _) = t.branch_to(depth)?;
            if arity == 0 {
                return Ok(t.builder.func.dfg.block_call(target, &[]));
            }
            let block = *edge_by_depth.entry(depth).or_insert_with(|| {
                let b = t.builder.create_block();
                edge_blocks.push((depth, b));
                b
            });
            Ok(t.builder.func.dfg.block_call(block, &[]))
        };
        let default = edge(self, default_depth)?;
        let mut table = Vec::with_capacity(depths.len());
        for d in &depths {
            table.push(edge(self, *d)?);
        }
        let jt = self
            .builder
            .create_jump_table(JumpTableData::new(default, &table));
        self.builder.ins().br_table(index, jt);
        for (depth, block) in edge_blocks {
            let (target, _) = self.frame(depth)?.branch_target();
            self.builder.switch_to_block(block);
            self.builder.seal_block(block);
            self.builder.ins().jump(target, &Self::block_args(&args));
        }
        self.reachable = false;
        Ok(())
    }

    fn icmp(&mut self, cc: IntCC) -> Result<(), CompileError> {
        let (a, b) = self.pop2()?;
        let r = self.builder.ins().icmp(cc, a, b);
        let r = self.builder.ins().uextend(types::I32, r);
        self.push(r);
        Ok(())
    }

    fn fcmp(&mut self, cc: FloatCC) -> Result<(), CompileError> {
        let (a, b) = self.pop2()?;
        let r = self.builder.ins().fcmp(cc, a, b);
        let r = self.builder.ins().uextend(types::I32, r);
        self.push(r);
        Ok(())
    }

    fn translate_operator(&mut self, op: Operator<'_>) -> Result<(), CompileError> {
        macro_rules! bin {
            ($m:ident) => {{
                let (a, b) = self.pop2()?;
                let r = self.builder.ins().$m(a, b);
                self.push(r);
            }};
        }
        macro_rules! un {
            ($m:ident) => {{
                let a = self.pop()?;
                let r = self.builder.ins().$m(a);
                self.push(r);
            }};
        }
        macro_rules! conv {
            ($m:ident, $ty:expr) => {{
                let a = self.pop()?;
                let r = self.builder.ins().$m($ty, a);
                self.push(r);
            }};
        }
        macro_rules! load {
            ($memarg:expr, $ty:expr, $m:ident, $size:expr) => {{
                let index = self.pop()?;
                let (addr, flags) = self.memory_address(&$memarg, index, $size)?;
                let r = self.builder.ins().$m($ty, flags, addr, 0);
                self.push(r);
            }};
        }
        macro_rules! store {
            ($memarg:expr, $m:ident, $size:expr) => {{
                let value = self.pop()?;
                let index = self.pop()?;
                let (addr, flags) = self.store_address(&$memarg, index, $size)?;
                self.builder.ins().$m(flags, value, addr, 0);
            }};
        }
        macro_rules! sext {
            ($narrow:expr, $wide:expr) => {{
                let a = self.pop()?;
                let n = self.builder.ins().ireduce($narrow, a);
                let r = self.builder.ins().sextend($wide, n);
                self.push(r);
            }};
        }
        use types::{F32, F64, I8, I16, I32, I64};
        match op {
            // Control instructions
            // (<https://webassembly.github.io/spec/core/exec/instructions.html#control-instructions>).
            Operator::Unreachable => self.trap(Trap::UnreachableCodeReached),
            Operator::Nop => {}
            Operator::Block { blockty } => {
                let frame = self.block_frame(blockty, FrameKind::Block)?;
                self.control.push(frame);
            }
            Operator::TryTable { try_table } => {
                let frame = self.block_frame(try_table.ty, FrameKind::TryTable)?;
                let scope = self.enter_try_table(&try_table.catches)?;
                self.try_scopes.push(scope);
                self.control.push(frame);
            }
            Operator::Throw { tag_index } => self.translate_throw(tag_index)?,
            Operator::ThrowRef => self.translate_throw_ref()?,
            Operator::Loop { blockty } => {
                let (params, results) = self.block_signature(blockty)?;
                let header = self.new_block_with(&params);
                let next = self.new_block_with(&results);
                let args = self.popn(params.len())?;
                self.builder.ins().jump(header, &Self::block_args(&args));
                self.builder.switch_to_block(header);
                let header_params = self.builder.block_params(header).to_vec();
                self.metering_loop_header();
                let stack_height = self.stack.len();
                self.stack.extend_from_slice(&header_params);
                self.control.push(ControlFrame {
                    kind: FrameKind::Loop { header },
                    next,
                    num_params: params.len(),
                    num_results: results.len(),
                    stack_height,
                    exit_reached: false,
                });
            }
            Operator::If { blockty } => {
                let cond = self.pop()?;
                let (params, results) = self.block_signature(blockty)?;
                let then_block = self.builder.create_block();
                let else_block = self.builder.create_block();
                let next = self.new_block_with(&results);
                self.builder
                    .ins()
                    .brif(cond, then_block, &[], else_block, &[]);
                self.builder.seal_block(then_block);
                self.builder.seal_block(else_block);
                self.builder.switch_to_block(then_block);
                let param_values = self.peekn(params.len())?.to_vec();
                self.control.push(ControlFrame {
                    kind: FrameKind::If {
                        else_block: Some(else_block),
                        params: param_values,
                        head_reachable: true,
                    },
                    next,
                    num_params: params.len(),
                    num_results: results.len(),
                    stack_height: self.stack.len() - params.len(),
                    exit_reached: false,
                });
            }
            Operator::Else => {
                let frame = self
                    .control
                    .last_mut()
                    .ok_or_else(|| bad("else without if", self.offset))?;
                let num_results = frame.num_results;
                let next = frame.next;
                let stack_height = frame.stack_height;
                let FrameKind::If {
                    else_block, params, ..
                } = &mut frame.kind
                else {
                    return Err(bad("else without if", self.offset));
                };
                let else_block = else_block
                    .take()
                    .ok_or_else(|| bad("second else", self.offset))?;
                let params = params.clone();
                frame.exit_reached = true;
                let results = self.peekn(num_results)?.to_vec();
                self.builder.ins().jump(next, &Self::block_args(&results));
                self.builder.switch_to_block(else_block);
                self.stack.truncate(stack_height);
                self.stack.extend_from_slice(&params);
            }
            Operator::End => self.end_frame()?,
            Operator::Br { relative_depth } => {
                let (target, arity) = self.branch_to(relative_depth)?;
                let args = self.peekn(arity)?.to_vec();
                self.builder.ins().jump(target, &Self::block_args(&args));
                self.reachable = false;
            }
            Operator::BrIf { relative_depth } => {
                let cond = self.pop()?;
                let (target, arity) = self.branch_to(relative_depth)?;
                let args = self.peekn(arity)?.to_vec();
                let fallthrough = self.builder.create_block();
                self.builder
                    .ins()
                    .brif(cond, target, &Self::block_args(&args), fallthrough, &[]);
                self.builder.seal_block(fallthrough);
                self.builder.switch_to_block(fallthrough);
            }
            Operator::BrTable { targets } => self.translate_br_table(targets)?,
            Operator::Return => {
                let n = self.control[0].num_results;
                let results = self.peekn(n)?.to_vec();
                // Fuel was written back by `fuel_before_op`.
                self.builder.ins().return_(&results);
                self.reachable = false;
            }
            Operator::Call { function_index } => self.translate_call(function_index, false)?,
            Operator::CallIndirect {
                type_index,
                table_index,
            } => self.translate_call_indirect(type_index, table_index, false)?,
            // Tail calls (<https://webassembly.github.io/spec/core/exec/instructions.html#exec-return-call>):
            // fuel was written back by `fuel_before_op`, as for `return`.
            Operator::ReturnCall { function_index } => self.translate_call(function_index, true)?,
            Operator::ReturnCallIndirect {
                type_index,
                table_index,
            } => self.translate_call_indirect(type_index, table_index, true)?,
            // Typed function references
            // (<https://webassembly.github.io/spec/core/exec/instructions.html#reference-instructions>).
            Operator::CallRef { type_index } => self.translate_call_ref(type_index, false)?,
            Operator::ReturnCallRef { type_index } => self.translate_call_ref(type_index, true)?,
            Operator::RefAsNonNull => {
                let r = self.pop()?;
                self.builder
                    .ins()
                    .trapz(r, crate::clif_trap_code(Trap::NullReference));
                self.push(r);
            }
            Operator::BrOnNull { relative_depth } => {
                // Branch with the values below the reference if it is
                // null; go on with the (non-null) reference otherwise.
                let r = self.pop()?;
                let (target, arity) = self.branch_to(relative_depth)?;
                let args = self.peekn(arity)?.to_vec();
                let is_null = self.builder.ins().icmp_imm_s(IntCC::Equal, r, 0);
                let fallthrough = self.builder.create_block();
                self.builder.ins().brif(
                    is_null,
                    target,
                    &Self::block_args(&args),
                    fallthrough,
                    &[],
                );
                self.builder.seal_block(fallthrough);
                self.builder.switch_to_block(fallthrough);
                self.push(r);
            }
            Operator::BrOnNonNull { relative_depth } => {
                // Branch with the values below the reference and the
                // reference if it is not null; drop it otherwise.
                let r = self.pop()?;
                let (target, arity) = self.branch_to(relative_depth)?;
                let below = arity
                    .checked_sub(1)
                    .ok_or_else(|| bad("br_on_non_null to a label without results", self.offset))?;
                let mut args = self.peekn(below)?.to_vec();
                args.push(r);
                let fallthrough = self.builder.create_block();
                self.builder
                    .ins()
                    .brif(r, target, &Self::block_args(&args), fallthrough, &[]);
                self.builder.seal_block(fallthrough);
                self.builder.switch_to_block(fallthrough);
            }

            // Parametric instructions
            // (<https://webassembly.github.io/spec/core/exec/instructions.html#parametric-instructions>).
            Operator::Drop => {
                self.pop()?;
            }
            Operator::Select => {
                let cond = self.pop()?;
                let (a, b) = self.pop2()?;
                let r = self.builder.ins().select(cond, a, b);
                self.push(r);
            }
            Operator::TypedSelect { ty } => {
                let cond = self.pop()?;
                let (a, b) = self.pop2()?;
                let r = self.builder.ins().select(cond, a, b);
                let ty = WasmValType::from_wasmparser(ty, &|t| self.env.module.type_kind(t))?;
                self.declare_refs(&[r], &[ty]);
                self.push(r);
            }

            // Variable instructions
            // (<https://webassembly.github.io/spec/core/exec/instructions.html#variable-instructions>).
            Operator::LocalGet { local_index } => {
                let var = self.local(local_index)?;
                let v = self.builder.use_var(var);
                self.push(v);
            }
            Operator::LocalSet { local_index } => {
                let var = self.local(local_index)?;
                let v = self.pop()?;
                self.builder.def_var(var, v);
            }
            Operator::LocalTee { local_index } => {
                let var = self.local(local_index)?;
                let v = *self
                    .stack
                    .last()
                    .ok_or_else(|| bad("operand stack underflow", self.offset))?;
                self.builder.def_var(var, v);
            }
            Operator::GlobalGet { global_index } => {
                let v = self.global_get(global_index)?;
                self.push(v);
            }
            Operator::GlobalSet { global_index } => {
                let v = self.pop()?;
                self.global_set(global_index, v)?;
            }

            // Memory instructions
            // (<https://webassembly.github.io/spec/core/exec/instructions.html#memory-instructions>).
            Operator::I32Load { memarg } => load!(memarg, I32, load, 4),
            Operator::I64Load { memarg } => load!(memarg, I64, load, 8),
            Operator::F32Load { memarg } => load!(memarg, F32, load, 4),
            Operator::F64Load { memarg } => load!(memarg, F64, load, 8),
            Operator::I32Load8S { memarg } => load!(memarg, I32, sload8, 1),
            Operator::I32Load8U { memarg } => load!(memarg, I32, uload8, 1),
            Operator::I32Load16S { memarg } => load!(memarg, I32, sload16, 2),
            Operator::I32Load16U { memarg } => load!(memarg, I32, uload16, 2),
            Operator::I64Load8S { memarg } => load!(memarg, I64, sload8, 1),
            Operator::I64Load8U { memarg } => load!(memarg, I64, uload8, 1),
            Operator::I64Load16S { memarg } => load!(memarg, I64, sload16, 2),
            Operator::I64Load16U { memarg } => load!(memarg, I64, uload16, 2),
            Operator::I64Load32S { memarg } => {
                let index = self.pop()?;
                let (addr, flags) = self.memory_address(&memarg, index, 4)?;
                let r = self.builder.ins().sload32(flags, addr, 0);
                self.push(r);
            }
            Operator::I64Load32U { memarg } => {
                let index = self.pop()?;
                let (addr, flags) = self.memory_address(&memarg, index, 4)?;
                let r = self.builder.ins().uload32(flags, addr, 0);
                self.push(r);
            }
            Operator::I32Store { memarg } | Operator::F32Store { memarg } => {
                store!(memarg, store, 4)
            }
            Operator::I64Store { memarg } | Operator::F64Store { memarg } => {
                store!(memarg, store, 8)
            }
            Operator::I32Store8 { memarg } | Operator::I64Store8 { memarg } => {
                store!(memarg, istore8, 1)
            }
            Operator::I32Store16 { memarg } | Operator::I64Store16 { memarg } => {
                store!(memarg, istore16, 2)
            }
            Operator::I64Store32 { memarg } => store!(memarg, istore32, 4),
            Operator::MemorySize { mem } => {
                let v = self.memory_size(mem)?;
                self.push(v);
            }
            Operator::MemoryGrow { mem } => {
                let delta = self.pop()?;
                self.metering_bulk_op(delta, 0);
                let v = self.memory_grow(mem, delta)?;
                self.push(v);
            }

            // Bulk memory instructions
            // (<https://webassembly.github.io/spec/core/exec/instructions.html#memory-instructions>).
            Operator::MemoryFill { mem } => {
                let len = self.pop()?;
                let value = self.pop()?;
                let dst = self.pop()?;
                self.metering_bulk_op(len, 1);
                let m = self.i32_const(mem);
                let (dst, len) = (self.extend_to_i64(dst), self.extend_to_i64(len));
                self.checked_builtin(
                    BuiltinFunctionIndex::memory_fill,
                    &[m, dst, value, len],
                    Trap::MemoryOutOfBounds,
                );
            }
            Operator::MemoryCopy { dst_mem, src_mem } => {
                let len = self.pop()?;
                let src = self.pop()?;
                let dst = self.pop()?;
                self.metering_bulk_op(len, 1);
                let d = self.i32_const(dst_mem);
                let s = self.i32_const(src_mem);
                let (dst, src) = (self.extend_to_i64(dst), self.extend_to_i64(src));
                let len = self.extend_to_i64(len);
                self.checked_builtin(
                    BuiltinFunctionIndex::memory_copy,
                    &[d, dst, s, src, len],
                    Trap::MemoryOutOfBounds,
                );
            }
            Operator::MemoryInit { data_index, mem } => {
                let len = self.pop()?;
                let src = self.pop()?;
                let dst = self.pop()?;
                self.metering_bulk_op(len, 1);
                let m = self.i32_const(mem);
                let d = self.i32_const(data_index);
                let dst = self.extend_to_i64(dst);
                self.checked_builtin(
                    BuiltinFunctionIndex::memory_init,
                    &[m, d, dst, src, len],
                    Trap::MemoryOutOfBounds,
                );
            }
            Operator::DataDrop { data_index } => {
                let d = self.i32_const(data_index);
                self.builtin_value(BuiltinFunctionIndex::data_drop, &[d]);
            }

            // Reference instructions
            // (<https://webassembly.github.io/spec/core/exec/instructions.html#reference-instructions>).
            Operator::RefNull { .. } => {
                let v = self.builder.ins().iconst(self.env.isa.pointer_type(), 0);
                self.push(v);
            }
            Operator::RefIsNull => {
                let a = self.pop()?;
                let r = self.builder.ins().icmp_imm_s(IntCC::Equal, a, 0);
                let r = self.builder.ins().uextend(I32, r);
                self.push(r);
            }
            Operator::RefFunc { function_index } => {
                let v = self.ref_func(function_index)?;
                self.push(v);
            }

            // Table instructions
            // (<https://webassembly.github.io/spec/core/exec/instructions.html#table-instructions>).
            Operator::TableGet { table } => {
                let index = self.pop()?;
                let v = self.table_get(table, index)?;
                self.push(v);
            }
            Operator::TableSet { table } => {
                let value = self.pop()?;
                let index = self.pop()?;
                self.table_set(table, index, value)?;
            }
            Operator::TableSize { table } => {
                let v = self.table_size(table)?;
                self.push(v);
            }
            Operator::TableGrow { table } => {
                let delta = self.pop()?;
                let init = self.pop()?;
                self.metering_bulk_op(delta, 1);
                let t = self.i32_const(table);
                let bits = self.table_index_bits(table)?;
                let delta = self.extend_to_i64(delta);
                let v = self.grow_builtin(
                    BuiltinFunctionIndex::table_grow,
                    &[t, init, delta],
                    Trap::TableOutOfBounds,
                    bits,
                );
                self.push(v);
            }
            Operator::TableFill { table } => {
                let len = self.pop()?;
                let value = self.pop()?;
                let dst = self.pop()?;
                self.metering_bulk_op(len, 1);
                let t = self.i32_const(table);
                let (dst, len) = (self.extend_to_i64(dst), self.extend_to_i64(len));
                self.checked_builtin(
                    BuiltinFunctionIndex::table_fill,
                    &[t, dst, value, len],
                    Trap::TableOutOfBounds,
                );
            }
            Operator::TableCopy {
                dst_table,
                src_table,
            } => {
                let len = self.pop()?;
                let src = self.pop()?;
                let dst = self.pop()?;
                let d = self.i32_const(dst_table);
                self.metering_bulk_op(len, 1);
                let s = self.i32_const(src_table);
                let (dst, src) = (self.extend_to_i64(dst), self.extend_to_i64(src));
                let len = self.extend_to_i64(len);
                self.checked_builtin(
                    BuiltinFunctionIndex::table_copy,
                    &[d, s, dst, src, len],
                    Trap::TableOutOfBounds,
                );
            }
            Operator::TableInit { elem_index, table } => {
                let len = self.pop()?;
                let src = self.pop()?;
                let dst = self.pop()?;
                self.metering_bulk_op(len, 1);
                let t = self.i32_const(table);
                let e = self.i32_const(elem_index);
                let dst = self.extend_to_i64(dst);
                self.checked_builtin(
                    BuiltinFunctionIndex::table_init,
                    &[t, e, dst, src, len],
                    Trap::TableOutOfBounds,
                );
            }
            Operator::ElemDrop { elem_index } => {
                let e = self.i32_const(elem_index);
                self.builtin_value(BuiltinFunctionIndex::elem_drop, &[e]);
            }

            // Numeric instructions
            // (<https://webassembly.github.io/spec/core/exec/instructions.html#numeric-instructions>).
            Operator::I32Const { value } => {
                let v = self.builder.ins().iconst(I32, i64::from(value));
                self.push(v);
            }
            Operator::I64Const { value } => {
                let v = self.builder.ins().iconst(I64, value);
                self.push(v);
            }
            Operator::F32Const { value } => {
                let v = self
                    .builder
                    .ins()
                    .f32const(ir::immediates::Ieee32::with_bits(value.bits()));
                self.push(v);
            }
            Operator::F64Const { value } => {
                let v = self
                    .builder
                    .ins()
                    .f64const(ir::immediates::Ieee64::with_bits(value.bits()));
                self.push(v);
            }
            Operator::I32Eqz | Operator::I64Eqz => {
                let a = self.pop()?;
                let r = self.builder.ins().icmp_imm_s(IntCC::Equal, a, 0);
                let r = self.builder.ins().uextend(I32, r);
                self.push(r);
            }
            Operator::I32Eq | Operator::I64Eq => self.icmp(IntCC::Equal)?,
            Operator::I32Ne | Operator::I64Ne => self.icmp(IntCC::NotEqual)?,
            Operator::I32LtS | Operator::I64LtS => self.icmp(IntCC::SignedLessThan)?,
            Operator::I32LtU | Operator::I64LtU => self.icmp(IntCC::UnsignedLessThan)?,
            Operator::I32GtS | Operator::I64GtS => self.icmp(IntCC::SignedGreaterThan)?,
            Operator::I32GtU | Operator::I64GtU => self.icmp(IntCC::UnsignedGreaterThan)?,
            Operator::I32LeS | Operator::I64LeS => self.icmp(IntCC::SignedLessThanOrEqual)?,
            Operator::I32LeU | Operator::I64LeU => self.icmp(IntCC::UnsignedLessThanOrEqual)?,
            Operator::I32GeS | Operator::I64GeS => self.icmp(IntCC::SignedGreaterThanOrEqual)?,
            Operator::I32GeU | Operator::I64GeU => self.icmp(IntCC::UnsignedGreaterThanOrEqual)?,
            Operator::F32Eq | Operator::F64Eq => self.fcmp(FloatCC::Equal)?,
            Operator::F32Ne | Operator::F64Ne => self.fcmp(FloatCC::NotEqual)?,
            Operator::F32Lt | Operator::F64Lt => self.fcmp(FloatCC::LessThan)?,
            Operator::F32Gt | Operator::F64Gt => self.fcmp(FloatCC::GreaterThan)?,
            Operator::F32Le | Operator::F64Le => self.fcmp(FloatCC::LessThanOrEqual)?,
            Operator::F32Ge | Operator::F64Ge => self.fcmp(FloatCC::GreaterThanOrEqual)?,
            Operator::I32Clz | Operator::I64Clz => un!(clz),
            Operator::I32Ctz | Operator::I64Ctz => un!(ctz),
            Operator::I32Popcnt | Operator::I64Popcnt => un!(popcnt),
            Operator::I32Add | Operator::I64Add => bin!(iadd),
            Operator::I32Sub | Operator::I64Sub => bin!(isub),
            Operator::I32Mul | Operator::I64Mul => bin!(imul),
            // Cranelift's division instructions trap on a zero divisor
            // and on signed overflow with the matching trap codes.
            Operator::I32DivS | Operator::I64DivS => bin!(sdiv),
            Operator::I32DivU | Operator::I64DivU => bin!(udiv),
            Operator::I32RemS | Operator::I64RemS => bin!(srem),
            Operator::I32RemU | Operator::I64RemU => bin!(urem),
            Operator::I32And | Operator::I64And => bin!(band),
            Operator::I32Or | Operator::I64Or => bin!(bor),
            Operator::I32Xor | Operator::I64Xor => bin!(bxor),
            // Cranelift masks shift amounts by the type width, as wasm does.
            Operator::I32Shl | Operator::I64Shl => bin!(ishl),
            Operator::I32ShrS | Operator::I64ShrS => bin!(sshr),
            Operator::I32ShrU | Operator::I64ShrU => bin!(ushr),
            Operator::I32Rotl | Operator::I64Rotl => bin!(rotl),
            Operator::I32Rotr | Operator::I64Rotr => bin!(rotr),
            // Wide arithmetic (<https://github.com/WebAssembly/wide-arithmetic>):
            // 128-bit sums of two (low, high) pairs, and full 64x64->128
            // products, both results pushed low half first.
            Operator::I64Add128 | Operator::I64Sub128 => {
                let (b_lo, b_hi) = self.pop2()?;
                let (a_lo, a_hi) = self.pop2()?;
                let a = self.builder.ins().iconcat(a_lo, a_hi);
                let b = self.builder.ins().iconcat(b_lo, b_hi);
                let r = if matches!(op, Operator::I64Add128) {
                    self.builder.ins().iadd(a, b)
                } else {
                    self.builder.ins().isub(a, b)
                };
                let (lo, hi) = self.builder.ins().isplit(r);
                self.push(lo);
                self.push(hi);
            }
            Operator::I64MulWideS | Operator::I64MulWideU => {
                let (a, b) = self.pop2()?;
                let lo = self.builder.ins().imul(a, b);
                let hi = if matches!(op, Operator::I64MulWideS) {
                    self.builder.ins().smulhi(a, b)
                } else {
                    self.builder.ins().umulhi(a, b)
                };
                self.push(lo);
                self.push(hi);
            }
            Operator::F32Abs | Operator::F64Abs => un!(fabs),
            Operator::F32Neg | Operator::F64Neg => un!(fneg),
            Operator::F32Ceil | Operator::F64Ceil => un!(ceil),
            Operator::F32Floor | Operator::F64Floor => un!(floor),
            Operator::F32Trunc | Operator::F64Trunc => un!(trunc),
            Operator::F32Nearest | Operator::F64Nearest => un!(nearest),
            Operator::F32Sqrt | Operator::F64Sqrt => un!(sqrt),
            Operator::F32Add | Operator::F64Add => bin!(fadd),
            Operator::F32Sub | Operator::F64Sub => bin!(fsub),
            Operator::F32Mul | Operator::F64Mul => bin!(fmul),
            Operator::F32Div | Operator::F64Div => bin!(fdiv),
            // Cranelift's fmin/fmax follow wasm: NaN-propagating, -0 < +0.
            Operator::F32Min | Operator::F64Min => bin!(fmin),
            Operator::F32Max | Operator::F64Max => bin!(fmax),
            Operator::F32Copysign | Operator::F64Copysign => bin!(fcopysign),
            Operator::I32WrapI64 => conv!(ireduce, I32),
            Operator::I64ExtendI32S => conv!(sextend, I64),
            Operator::I64ExtendI32U => conv!(uextend, I64),
            // fcvt_to_sint/uint trap with "invalid conversion" on NaN and
            // "integer overflow" out of range, as the spec's tests expect.
            Operator::I32TruncF32S | Operator::I32TruncF64S => conv!(fcvt_to_sint, I32),
            Operator::I32TruncF32U | Operator::I32TruncF64U => conv!(fcvt_to_uint, I32),
            Operator::I64TruncF32S | Operator::I64TruncF64S => conv!(fcvt_to_sint, I64),
            Operator::I64TruncF32U | Operator::I64TruncF64U => conv!(fcvt_to_uint, I64),
            Operator::I32TruncSatF32S | Operator::I32TruncSatF64S => conv!(fcvt_to_sint_sat, I32),
            Operator::I32TruncSatF32U | Operator::I32TruncSatF64U => conv!(fcvt_to_uint_sat, I32),
            Operator::I64TruncSatF32S | Operator::I64TruncSatF64S => conv!(fcvt_to_sint_sat, I64),
            Operator::I64TruncSatF32U | Operator::I64TruncSatF64U => conv!(fcvt_to_uint_sat, I64),
            Operator::F32ConvertI32S | Operator::F32ConvertI64S => conv!(fcvt_from_sint, F32),
            Operator::F32ConvertI32U | Operator::F32ConvertI64U => conv!(fcvt_from_uint, F32),
            Operator::F64ConvertI32S | Operator::F64ConvertI64S => conv!(fcvt_from_sint, F64),
            Operator::F64ConvertI32U | Operator::F64ConvertI64U => conv!(fcvt_from_uint, F64),
            Operator::F32DemoteF64 => conv!(fdemote, F32),
            Operator::F64PromoteF32 => conv!(fpromote, F64),
            Operator::I32ReinterpretF32 => self.bitcast(I32)?,
            Operator::I64ReinterpretF64 => self.bitcast(I64)?,
            Operator::F32ReinterpretI32 => self.bitcast(F32)?,
            Operator::F64ReinterpretI64 => self.bitcast(F64)?,
            Operator::I32Extend8S => sext!(I8, I32),
            Operator::I32Extend16S => sext!(I16, I32),
            Operator::I64Extend8S => sext!(I8, I64),
            Operator::I64Extend16S => sext!(I16, I64),
            Operator::I64Extend32S => sext!(I32, I64),

            other => {
                if !self.translate_gc(&other)?
                    && !self.translate_simd(&other)?
                    && !self.translate_atomic(&other)?
                {
                    return Err(CompileError::unsupported(format!(
                        "operator {other:?} at byte offset {:#x}",
                        self.offset
                    )));
                }
            }
        }
        Ok(())
    }

    fn bitcast(&mut self, ty: ir::Type) -> Result<(), CompileError> {
        let a = self.pop()?;
        let r = self.builder.ins().bitcast(ty, MemFlagsData::new(), a);
        self.push(r);
        Ok(())
    }

    fn local(&self, index: u32) -> Result<Variable, CompileError> {
        self.locals
            .get(index as usize)
            .copied()
            .ok_or_else(|| bad("local index out of range", self.offset))
    }
}
