//! Executable memory holding one linked text section (VM-4), and what the
//! trap registry knows about it.

use crate::{VmError, sys};
use alloc::sync::Arc;
use core::any::Any;
use keel_translate::{CompiledText, FunctionLoc, Module, TrapCode};
use keel_trap::Access;

/// A registered text section: its metadata and, for module code, the
/// module it was compiled from (for frame names).
#[derive(Debug)]
pub struct ModuleCode {
    /// The code's metadata.
    pub text: Arc<CompiledText>,
    /// The module, or `None` for trampolines the engine compiled.
    pub module: Option<Arc<Module>>,
}

impl keel_trap::CodeInfo for ModuleCode {
    fn lookup_trap(&self, offset: u32) -> Option<TrapCode> {
        self.text.lookup_trap(offset)
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// A text section mapped executable and registered for trap handling.
#[derive(Debug)]
pub struct CodeMemory {
    base: *mut u8,
    mapped_len: usize,
    text: Arc<CompiledText>,
    /// Dropped (unregistered) before the mapping is released.
    registration: Option<keel_trap::CodeRegistration>,
}

// SAFETY: the mapping is immutable after `new` (VM-4); sharing its address
// between threads is sound.
unsafe impl Send for CodeMemory {}
// SAFETY: as above, no interior mutability.
unsafe impl Sync for CodeMemory {}

impl CodeMemory {
    /// Map `text` executable and register it (with `module`, the module
    /// it was compiled from, if any) for trap handling and backtraces.
    ///
    /// # Errors
    ///
    /// [`VmError::Platform`] (with the platform's error as source) if
    /// mapping or protecting memory fails.
    pub fn new(text: Arc<CompiledText>, module: Option<Arc<Module>>) -> Result<Self, VmError> {
        let len = text.text.len().max(1);
        let mapped_len = len.next_multiple_of(sys::page_size());
        let base = sys::reserve(mapped_len)
            .map_err(|e| VmError::platform("cannot reserve memory for compiled code", e))?;
        // SAFETY: `base` is a fresh mapping of `mapped_len` bytes; we write
        // the code while it is writable, then make it read+execute, and
        // never write it again (VM-4).
        unsafe {
            if let Err(e) = sys::protect(base, mapped_len, Access::ReadWrite) {
                sys::release(base, mapped_len);
                return Err(VmError::platform("cannot make code memory writable", e));
            }
            core::ptr::copy_nonoverlapping(text.text.as_ptr(), base, text.text.len());
            if let Err(e) = sys::protect(base, mapped_len, Access::ReadExecute) {
                sys::release(base, mapped_len);
                return Err(VmError::platform("cannot make code memory executable", e));
            }
        }
        let info = Arc::new(ModuleCode {
            text: text.clone(),
            module,
        });
        keel_trap::arch::flush_icache(base, len);
        let registration = keel_trap::register_code(base as usize, len, info);
        Ok(Self {
            base,
            mapped_len,
            text,
            registration: Some(registration),
        })
    }

    /// The metadata of the code.
    pub fn text(&self) -> &CompiledText {
        &self.text
    }

    /// The address of the code at `loc`, or `None` when `loc` does not
    /// lie inside this text.
    pub fn resolve(&self, loc: FunctionLoc) -> Option<*const u8> {
        let end = loc.start.checked_add(loc.length)?;
        if end as usize > self.text.text.len() {
            return None;
        }
        // SAFETY: `loc.start <= text.len() <= mapped_len`, checked above:
        // the result is inside (or one past) the mapping.
        Some(unsafe { self.base.add(loc.start as usize) }.cast_const())
    }

    /// Start address of the text.
    pub fn base(&self) -> usize {
        self.base as usize
    }
}

impl Drop for CodeMemory {
    fn drop(&mut self) {
        // Unregister first: once the range is unmapped, another thread may
        // map new code at the same address and register it (VM-4).
        drop(self.registration.take());
        // SAFETY: the mapping was created in `new` and is no longer
        // registered; no thread can be executing this code because every
        // instance and function using it holds an `Arc` to us.
        unsafe { sys::release(self.base, self.mapped_len) };
    }
}
