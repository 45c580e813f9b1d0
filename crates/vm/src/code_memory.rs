//! Executable memory holding one linked text section (VM-4), and what the
//! trap registry knows about it.

use crate::{VmError, sys};
use alloc::format;
use alloc::sync::Arc;
use core::any::Any;
use keel_translate::{CompiledText, FunctionLoc, Module, Trap};
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
    fn lookup_trap(&self, offset: u32) -> Option<Trap> {
        self.text.lookup_trap(offset)
    }

    fn exception_call_site(&self, ret_offset: u32) -> Option<&keel_translate::ExceptionCallSite> {
        self.text.lookup_exception_call_site(ret_offset)
    }

    fn stack_map(&self, ret_offset: u32) -> Option<&keel_translate::StackMap> {
        self.text.lookup_stack_map(ret_offset)
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// A text section in executable memory, registered for trap handling:
/// either a mapping keel made and copied the code into, or memory the
/// embedder owns (an artifact loaded with `deserialize_raw`).
#[derive(Debug)]
pub struct CodeMemory {
    base: *mut u8,
    len: usize,
    /// Bytes keel mapped (and unmaps on drop), or 0 for borrowed code.
    mapped_len: usize,
    text: Arc<CompiledText>,
    /// Dropped (unregistered) before the mapping is released.
    registration: Option<keel_trap::CodeRegistration>,
}

// SAFETY: the code is immutable after `new`/`from_static` (VM-4); sharing
// its address between threads is sound.
unsafe impl Send for CodeMemory {}
// SAFETY: as above, no interior mutability.
unsafe impl Sync for CodeMemory {}

impl CodeMemory {
    /// Map a copy of `code` executable and register it, with its metadata
    /// `text` (whose own `text` bytes are not used) and `module`, the
    /// module it was compiled from, if any, for trap handling and
    /// backtraces.
    ///
    /// # Errors
    ///
    /// [`VmError::Platform`] (with the platform's error as source) if
    /// mapping or protecting memory fails.
    pub fn new(
        code: &[u8],
        text: Arc<CompiledText>,
        module: Option<Arc<Module>>,
    ) -> Result<Self, VmError> {
        let len = code.len().max(1);
        let mapped_len = len.next_multiple_of(sys::page_size());
        let base = sys::reserve(mapped_len)
            .map_err(|e| VmError::platform("cannot reserve memory for compiled code", e))?;
        // SAFETY: `base` is a fresh mapping of `mapped_len >= code.len()`
        // bytes; we write the code while it is writable, then make it
        // read+execute, and never write it again (VM-4).
        unsafe {
            if let Err(e) = sys::protect(base, mapped_len, Access::ReadWrite) {
                sys::release(base, mapped_len);
                return Err(VmError::platform("cannot make code memory writable", e));
            }
            core::ptr::copy_nonoverlapping(code.as_ptr(), base, code.len());
            if let Err(e) = sys::protect(base, mapped_len, Access::ReadExecute) {
                sys::release(base, mapped_len);
                return Err(VmError::platform("cannot make code memory executable", e));
            }
        }
        keel_trap::arch::flush_icache(base, len);
        Ok(Self::register(base, code.len(), mapped_len, text, module))
    }

    /// Register `code`, which already lies in executable memory, without
    /// copying it.
    ///
    /// # Safety
    ///
    /// `code` must be executable for as long as the program runs, hold
    /// machine code for this CPU that `text` describes truthfully (keel
    /// runs it and trusts its tables), and not be written while registered.
    pub unsafe fn from_static(
        code: &'static [u8],
        text: Arc<CompiledText>,
        module: Option<Arc<Module>>,
    ) -> Self {
        keel_trap::arch::flush_icache(code.as_ptr(), code.len());
        Self::register(code.as_ptr().cast_mut(), code.len(), 0, text, module)
    }

    fn register(
        base: *mut u8,
        len: usize,
        mapped_len: usize,
        text: Arc<CompiledText>,
        module: Option<Arc<Module>>,
    ) -> Self {
        let info = Arc::new(ModuleCode {
            text: text.clone(),
            module,
        });
        let registration = keel_trap::register_code(base as usize, len.max(1), info);
        Self {
            base,
            len,
            mapped_len,
            text,
            registration: Some(registration),
        }
    }

    /// The metadata of the code.
    pub fn text(&self) -> &CompiledText {
        &self.text
    }

    /// The machine code, as it is in memory.
    pub fn code(&self) -> &[u8] {
        // SAFETY: `base..base + len` is mapped readable (read+execute) and
        // never written after construction (VM-4).
        unsafe { core::slice::from_raw_parts(self.base, self.len) }
    }

    /// Check that this code can serve `module`: every defined function
    /// lies inside the text, and every function the host can reach (an
    /// escaped one) has its array-to-wasm trampoline. Done once when a
    /// module is created, so that building a function reference later
    /// ([`Instance::func_ref`](crate::Instance::func_ref)) cannot fail.
    ///
    /// # Errors
    ///
    /// [`VmError::ImplLimit`] naming the first function that does not
    /// match (a corrupted or foreign artifact).
    pub fn check_module(&self, module: &Module) -> Result<(), VmError> {
        self.check(module, true)
    }

    /// [`check_module`](Self::check_module) for the trampolines of a
    /// lazily compiled module, whose text has no functions: every escaped
    /// function's type has its array-to-wasm trampoline.
    ///
    /// # Errors
    ///
    /// As [`check_module`](Self::check_module).
    pub fn check_trampolines(&self, module: &Module) -> Result<(), VmError> {
        self.check(module, false)
    }

    fn check(&self, module: &Module, functions: bool) -> Result<(), VmError> {
        let text = &*self.text;
        let defined = if functions {
            module.functions.len() - module.num_imported_funcs as usize
        } else {
            0
        };
        if text.functions.len() != defined {
            return Err(VmError::ImplLimit(format!(
                "compiled code has {} functions, the module defines {defined}",
                text.functions.len()
            )));
        }
        for (index, ty) in module.functions.iter() {
            let Some(def) = module.defined_func_index(index) else {
                continue;
            };
            let bad = || {
                VmError::ImplLimit(format!(
                    "compiled code does not match its module (function {})",
                    index.as_u32()
                ))
            };
            if functions {
                self.resolve(text.functions[def]).ok_or_else(bad)?;
            }
            match text.array_to_wasm_trampoline(*ty) {
                Some(loc) => {
                    self.resolve(loc).ok_or_else(bad)?;
                }
                None if module.escaped_funcs.contains(index) => return Err(bad()),
                None => {}
            }
        }
        Ok(())
    }

    /// The address of the code at `loc`, or `None` when `loc` does not
    /// lie inside this text.
    pub fn resolve(&self, loc: FunctionLoc) -> Option<*const u8> {
        let end = loc.start.checked_add(loc.length)?;
        if end as usize > self.len {
            return None;
        }
        // SAFETY: `loc.start <= len`, checked above: the result is inside
        // (or one past) the code.
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
        if self.mapped_len == 0 {
            // Borrowed code: the embedder owns it.
            return;
        }
        // SAFETY: the mapping was created in `new` and is no longer
        // registered; no thread can be executing this code because every
        // instance and function using it holds an `Arc` to us.
        unsafe { sys::release(self.base, self.mapped_len) };
    }
}
