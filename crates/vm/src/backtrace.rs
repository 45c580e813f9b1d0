//! Turning captured pcs into wasm frames (function index, name, wasm byte
//! offset).

use crate::code_memory::ModuleCode;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use keel_trap::RawBacktrace;

/// One wasm frame of a backtrace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FrameInfo {
    /// The function's index in its module's function index space.
    pub func_index: u32,
    /// The function's name from the name section, if any.
    pub func_name: Option<String>,
    /// The module's name from the name section, if any.
    pub module_name: Option<String>,
    /// Byte offset, in the module binary, of the trapping instruction or
    /// of the call this frame is suspended in.
    pub module_offset: Option<u32>,
    /// The same position as a byte offset from the start of the
    /// function's body in the module binary (its locals declaration, the
    /// spec's [`func`](https://webassembly.github.io/spec/core/binary/modules.html#code-section)
    /// after the size): what the C API's `wasm_frame_func_offset` gives.
    pub func_offset: Option<u32>,
    /// Which module's code the frame runs: equal for frames of one
    /// module, different for modules alive at the same time (the address
    /// of the module's metadata; compare with an instance's through
    /// `keel::Instance::of_frame`).
    pub module_id: usize,
}

/// The wasm frames of `bt`, innermost first; stops at the first pc that is
/// not inside a wasm function (a trampoline: the entry from the host).
pub fn symbolize(bt: &RawBacktrace) -> Vec<FrameInfo> {
    let mut frames = Vec::with_capacity(bt.pcs().len());
    for i in 0..bt.pcs().len() {
        let pc = bt.lookup_pc(i);
        let Some((start, info)) = keel_trap::lookup_code(pc) else {
            break;
        };
        let Ok(offset) = u32::try_from(pc - start) else {
            break;
        };
        let (module, defined, module_offset, body_start) =
            if let Some(code) = info.as_any().downcast_ref::<ModuleCode>() {
                let Some(module) = &code.module else {
                    break;
                };
                let Some(defined) = code.text.func_by_text_offset(offset) else {
                    break;
                };
                let body_start = code.text.wasm_offset(code.text.functions[defined].start);
                (module, defined, code.text.wasm_offset(offset), body_start)
            } else if let Some(lazy) = info.as_any().downcast_ref::<crate::LazyInner>() {
                let Some((defined, wasm, body_start)) = lazy.frame(offset as usize) else {
                    break;
                };
                (lazy.module(), defined, wasm, body_start)
            } else {
                break;
            };
        let index = module.func_index(defined);
        // The prologue's code maps to the body's start (keel-compile's
        // `link`), so the map's entry at the function's first byte is it.
        let func_offset = match (module_offset, body_start) {
            (Some(at), Some(start)) => at.checked_sub(start),
            _ => None,
        };
        frames.push(FrameInfo {
            func_index: index.as_u32(),
            func_name: module.func_names.get(&index).cloned(),
            module_name: module.name.clone(),
            module_offset,
            func_offset,
            module_id: Arc::as_ptr(module) as usize,
        });
    }
    frames
}
