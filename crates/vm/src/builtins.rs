//! The builtins compiled code calls, one per entry of
//! [`foreach_builtin!`](keel_translate::foreach_builtin).

use crate::Instance;
use keel_translate::{MemoryIndex, TrapCode};
use keel_trap::{TrapRecord, UnwindReason};

macro_rules! builtin_ty {
    (vmctx) => { *mut u8 };
    (i32) => { u32 };
    (i64) => { u64 };
    (f32) => { f32 };
    (f64) => { f64 };
}

macro_rules! builtins_array {
    ($($(#[$doc:meta])* $name:ident($($p:ident: $t:ident),*) -> $r:ident;)*) => {
        /// The table of builtin entry points every VMContext points to, in
        /// [`BuiltinFunctionIndex`](keel_translate::BuiltinFunctionIndex) order.
        #[repr(C)]
        #[allow(non_snake_case, reason = "fields are named after the builtins")]
        pub struct VMBuiltinFunctionsArray {
            $($(#[$doc])* $name: unsafe extern "C" fn($(builtin_ty!($t)),*) -> builtin_ty!($r),)*
        }

        /// The builtins of this runtime.
        pub static BUILTINS: VMBuiltinFunctionsArray = VMBuiltinFunctionsArray {
            $($name: impls::$name,)*
        };
    };
}
keel_translate::foreach_builtin!(builtins_array);

mod impls {
    use super::*;

    /// `memory.grow` (spec §4.4.7): the old size in pages, or -1.
    pub(super) unsafe extern "C" fn memory32_grow(vmctx: *mut u8, index: u32, delta: u32) -> u32 {
        // SAFETY: compiled code passes its own live VMContext.
        let instance = unsafe { Instance::from_vmctx(vmctx) };
        match instance.memory_grow(MemoryIndex::from_u32(index), u64::from(delta)) {
            Some(old) => old as u32,
            None => u32::MAX,
        }
    }

    /// Raise trap `code` in the calling wasm code.
    pub(super) unsafe extern "C" fn raise_trap(_vmctx: *mut u8, code: u32) -> u32 {
        let code = u8::try_from(code)
            .ok()
            .and_then(TrapCode::from_u8)
            .unwrap_or(TrapCode::UnreachableCodeReached);
        // SAFETY: called from wasm, so an activation is live; this frame
        // holds nothing to drop (TRAP-1).
        unsafe { keel_trap::raise(UnwindReason::Trap(TrapRecord { code, pc: 0, fp: 0 })) }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn builtins_array_has_one_pointer_per_builtin() {
        assert_eq!(
            std::mem::size_of::<super::VMBuiltinFunctionsArray>(),
            keel_translate::BuiltinFunctionIndex::COUNT as usize * std::mem::size_of::<usize>()
        );
    }
}
