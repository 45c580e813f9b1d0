//! The builtin functions (libcalls) compiled code calls into the runtime.
//!
//! [`foreach_builtin!`](crate::foreach_builtin) is the single list: the
//! compiler derives each call's signature from it and the runtime its
//! table of implementations, so the two cannot drift apart.

/// Invoke `$mac!` with the list of builtins, each written as
/// `name(param types) -> result type;` where types are `vmctx`, `i32`,
/// `i64`, `f32` or `f64`. The position in the list is the builtin's index
/// in the VMContext's builtin array.
#[macro_export]
macro_rules! foreach_builtin {
    ($mac:ident) => {
        $mac! {
            /// `memory.grow`: grow memory `memory_index` by `delta` pages;
            /// returns the old size in pages, or -1.
            memory32_grow(vmctx: vmctx, memory_index: i32, delta: i32) -> i32;
            /// Raise the trap whose [`TrapCode`](crate::TrapCode) discriminant
            /// is `code`; never returns.
            raise_trap(vmctx: vmctx, code: i32) -> i32;
        }
    };
}

macro_rules! builtin_indices {
    ($($(#[$doc:meta])* $name:ident($($p:ident: $t:ident),*) -> $r:ident;)*) => {
        /// The index of a builtin in the VMContext's builtin array.
        #[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
        pub struct BuiltinFunctionIndex(u32);

        #[allow(non_upper_case_globals, reason = "constants are named after the builtins")]
        impl BuiltinFunctionIndex {
            builtin_indices!(@consts 0u32; $($name)*);

            /// The number of builtins.
            pub const COUNT: u32 = [$(stringify!($name)),*].len() as u32;

            /// The index as a `u32`.
            pub const fn index(self) -> u32 {
                self.0
            }

            /// The builtin's name.
            pub fn name(self) -> &'static str {
                [$(stringify!($name)),*][self.0 as usize]
            }
        }
    };
    (@consts $n:expr; $first:ident $($rest:ident)*) => {
        #[doc = concat!("The `", stringify!($first), "` builtin.")]
        pub const $first: BuiltinFunctionIndex = BuiltinFunctionIndex($n);
        builtin_indices!(@consts $n + 1; $($rest)*);
    };
    (@consts $n:expr;) => {};
}

foreach_builtin!(builtin_indices);
