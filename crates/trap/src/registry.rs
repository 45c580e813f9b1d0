//! The process-wide registry of compiled code: which address ranges hold
//! wasm code, which of their instructions are trap sites, and (for the
//! runtime) what else is known about them.

use alloc::collections::BTreeMap;
use alloc::sync::Arc;
use core::any::Any;
use keel_translate::TrapCode;
use spin::RwLock;

/// What the registry knows about one text section.
pub trait CodeInfo: Send + Sync + 'static {
    /// The trap raised at byte `offset` of the text, if it is a trap site.
    /// Called from trap handlers: must not allocate or lock.
    fn lookup_trap(&self, offset: u32) -> Option<TrapCode>;

    /// The concrete type, for the runtime to symbolize frames.
    fn as_any(&self) -> &dyn Any;
}

impl CodeInfo for keel_translate::CompiledText {
    fn lookup_trap(&self, offset: u32) -> Option<TrapCode> {
        keel_translate::CompiledText::lookup_trap(self, offset)
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

type Registry = BTreeMap<usize, (usize, Arc<dyn CodeInfo>)>;

/// Text sections by end address: (start address, information).
static REGISTRY: RwLock<Registry> = RwLock::new(BTreeMap::new());

/// Keeps a text section registered; unregisters it when dropped.
#[derive(Debug)]
pub struct CodeRegistration {
    end: usize,
}

/// Register `len` bytes of code at `start`, described by `info` (offsets
/// relative to `start`).
pub fn register_code(start: usize, len: usize, info: Arc<dyn CodeInfo>) -> CodeRegistration {
    let end = start + len;
    let mut reg = REGISTRY.write();
    reg.insert(end, (start, info));
    CodeRegistration { end }
}

impl Drop for CodeRegistration {
    fn drop(&mut self) {
        let mut reg = REGISTRY.write();
        reg.remove(&self.end);
    }
}

/// The registered text containing `pc`: its start address and information.
pub fn lookup_code(pc: usize) -> Option<(usize, Arc<dyn CodeInfo>)> {
    let reg = REGISTRY.read();
    let (_, (start, info)) = reg.range(pc + 1..).next()?;
    (pc >= *start).then(|| (*start, info.clone()))
}

/// Whether `pc` lies in registered code.
pub(crate) fn is_registered_code(pc: usize) -> bool {
    let reg = REGISTRY.read();
    reg.range(pc + 1..)
        .next()
        .is_some_and(|(_, (start, _))| pc >= *start)
}

/// The trap raised at `pc`, if `pc` is a trap site of registered code.
pub fn lookup_trap(pc: usize) -> Option<TrapCode> {
    let reg = REGISTRY.read();
    let (_, (start, info)) = reg.range(pc + 1..).next()?;
    if pc < *start {
        return None;
    }
    info.lookup_trap(u32::try_from(pc - start).ok()?)
}
