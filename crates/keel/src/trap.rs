//! [`WasmBacktrace`]: the wasm frames a trap or host error unwound
//! through, attached to its error as context (as in Wasmtime). The trap
//! itself is [`Trap`](crate::Trap), keel-translate's enum of trap codes.

use crate::prelude::*;
use core::fmt;

/// The wasm frames active when a trap or host error unwound, innermost
/// first. Attached as context to the [`Error`](crate::Error) of every trap
/// and host error that crossed wasm frames:
/// `err.downcast_ref::<WasmBacktrace>()`.
///
/// Displayed as Wasmtime shows it: one frame a line, each with the wasm
/// byte offset in the module, the module name and the function name (or
/// `<wasm function N>` when the name section has none).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WasmBacktrace {
    frames: Vec<FrameInfo>,
}

pub use keel_vm::FrameInfo;

impl WasmBacktrace {
    pub(crate) fn from_raw(raw: &keel_trap::RawBacktrace) -> Self {
        Self {
            frames: keel_vm::symbolize(raw),
        }
    }

    /// The frames, innermost (where the trap happened) first.
    pub fn frames(&self) -> &[FrameInfo] {
        &self.frames
    }

    /// Wrap `error` with this backtrace as context, if it has frames.
    pub(crate) fn attach(self, error: crate::Error) -> crate::Error {
        if self.frames.is_empty() {
            error
        } else {
            error.context(self)
        }
    }
}

impl WasmBacktrace {
    /// The frames, one a line (no header), with runs of identical
    /// recursive frames shortened to their first two and a count.
    pub fn frames_text(&self) -> String {
        use fmt::Write as _;
        let mut out = String::new();
        let mut i = 0;
        while i < self.frames.len() {
            let frame = &self.frames[i];
            let run = self.frames[i..].iter().take_while(|f| *f == frame).count();
            let shown = if run > 3 { 2 } else { run };
            for k in 0..shown {
                let module = frame.module_name.as_deref().unwrap_or("<unknown>");
                // Names come from the guest's name section: escape them.
                let module = keel_translate::DisplayName(module);
                let _ = write!(out, "  {:>4}: ", i + k);
                let _ = match frame.module_offset {
                    Some(offset) => write!(out, "{offset:#8x} - "),
                    None => write!(out, "{:>8} - ", ""),
                };
                let _ = match &frame.func_name {
                    Some(name) => writeln!(out, "{module}!{}", keel_translate::DisplayName(name)),
                    None => writeln!(out, "{module}!<wasm function {}>", frame.func_index),
                };
            }
            if run > shown {
                let _ = writeln!(
                    out,
                    "        ... the frame above repeats {} more times",
                    run - shown
                );
            }
            i += run;
        }
        out.truncate(out.trim_end().len());
        out
    }
}

impl fmt::Display for WasmBacktrace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "error while executing at wasm backtrace:\n{}",
            self.frames_text()
        )
    }
}
