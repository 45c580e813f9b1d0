//! The process-wide registry of compiled code: which address ranges hold
//! wasm code and which of their instructions are trap sites.

use keel_translate::TrapCode;
use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

/// Trap-site lookup for one registered text section.
pub trait TrapTable: Send + Sync {
    /// The trap raised at byte `offset` of the text, if it is a trap site.
    fn lookup_trap(&self, offset: u32) -> Option<TrapCode>;
}

impl TrapTable for keel_translate::CompiledText {
    fn lookup_trap(&self, offset: u32) -> Option<TrapCode> {
        keel_translate::CompiledText::lookup_trap(self, offset)
    }
}

type Registry = BTreeMap<usize, (usize, Arc<dyn TrapTable>)>;

/// Text sections by end address: (start address, trap table).
static REGISTRY: RwLock<Registry> = RwLock::new(BTreeMap::new());

/// Keeps a text section registered; unregisters it when dropped.
#[derive(Debug)]
pub struct CodeRegistration {
    end: usize,
}

/// Register `len` bytes of code at `start` whose trap sites `table`
/// describes (offsets relative to `start`).
pub fn register_code(start: usize, len: usize, table: Arc<dyn TrapTable>) -> CodeRegistration {
    let end = start + len;
    let mut reg = REGISTRY.write().unwrap_or_else(|e| e.into_inner());
    reg.insert(end, (start, table));
    CodeRegistration { end }
}

impl Drop for CodeRegistration {
    fn drop(&mut self) {
        let mut reg = REGISTRY.write().unwrap_or_else(|e| e.into_inner());
        reg.remove(&self.end);
    }
}

/// The trap raised at `pc`, if `pc` is a trap site of registered code.
pub fn lookup_trap(pc: usize) -> Option<TrapCode> {
    let reg = REGISTRY.read().unwrap_or_else(|e| e.into_inner());
    let (_, (start, table)) = reg.range(pc + 1..).next()?;
    if pc < *start {
        return None;
    }
    table.lookup_trap(u32::try_from(pc - start).ok()?)
}
