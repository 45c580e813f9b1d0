//! [`Trap`]: the WebAssembly traps keel can raise.

use core::fmt;

macro_rules! trap_codes {
    ($($(#[$doc:meta])* $name:ident = $n:literal, $msg:literal;)*) => {
        /// A WebAssembly trap: why execution stopped (spec:
        /// [Traps](https://webassembly.github.io/spec/core/intro/overview.html#trap); the individual
        /// [instructions](https://webassembly.github.io/spec/core/exec/instructions.html) say when
        /// each one arises). The store's state is as the trapping
        /// instruction left it.
        ///
        /// Wasmtime's `Trap`, with the same variant names: the error of a
        /// call that trapped holds one, found with
        /// `err.downcast_ref::<Trap>()`, and the wasm backtrace is the
        /// error's context (`WasmBacktrace` in keel).
        ///
        /// Displayed as Wasmtime displays it, `wasm trap: ` and the
        /// [`message`](Trap::message), which is the text the spec
        /// testsuite's `assert_trap` expects.
        #[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        #[non_exhaustive]
        #[repr(u8)]
        pub enum Trap {
            $($(#[$doc])* $name = $n,)*
        }

        impl Trap {
            /// Every trap code, in discriminant order.
            pub const ALL: &'static [Trap] = &[$(Trap::$name,)*];

            /// The code with discriminant `byte`, if any.
            pub fn from_u8(byte: u8) -> Option<Trap> {
                match byte {
                    $($n => Some(Trap::$name),)*
                    _ => None,
                }
            }

            /// The spec's message for this trap.
            pub fn message(self) -> &'static str {
                match self {
                    $(Trap::$name => $msg,)*
                }
            }
        }
    };
}

trap_codes! {
    /// The call stack grew past `Config::max_wasm_stack` (the spec's
    /// [execution limits](https://webassembly.github.io/spec/core/appendix/implementation.html#impl-exec)
    /// allow bounding it; "call stack exhausted" in the testsuite).
    StackOverflow = 1, "call stack exhausted";
    /// A load, store or bulk operation was outside the linear memory
    /// (spec:
    /// [Memory Instructions](https://webassembly.github.io/spec/core/exec/instructions.html#memory-instructions)).
    MemoryOutOfBounds = 2, "out of bounds memory access";
    /// A table index was outside the table (spec:
    /// [Table Instructions](https://webassembly.github.io/spec/core/exec/instructions.html#table-instructions),
    /// [`call_indirect`](https://webassembly.github.io/spec/core/exec/instructions.html#exec-call-indirect)).
    TableOutOfBounds = 3, "undefined element: out of bounds table access";
    /// `call_indirect` found a null entry (spec:
    /// [`call_indirect`](https://webassembly.github.io/spec/core/exec/instructions.html#exec-call-indirect)).
    IndirectCallToNull = 4, "uninitialized element";
    /// `call_indirect` found a function of another type (spec:
    /// [`call_indirect`](https://webassembly.github.io/spec/core/exec/instructions.html#exec-call-indirect)).
    BadSignature = 5, "indirect call type mismatch";
    /// Signed integer division overflowed (spec:
    /// [`idiv_s`](https://webassembly.github.io/spec/core/exec/numerics.html#op-idiv-s)).
    IntegerOverflow = 6, "integer overflow";
    /// Integer division or remainder by zero (spec:
    /// [Integer Operations](https://webassembly.github.io/spec/core/exec/numerics.html#integer-operations)).
    IntegerDivisionByZero = 7, "integer divide by zero";
    /// A float-to-integer conversion of NaN or an out-of-range value
    /// (spec:
    /// [`trunc_u`](https://webassembly.github.io/spec/core/exec/numerics.html#op-trunc-u),
    /// [`trunc_s`](https://webassembly.github.io/spec/core/exec/numerics.html#op-trunc-s)).
    BadConversionToInteger = 8, "invalid conversion to integer";
    /// The `unreachable` instruction executed (spec:
    /// [`unreachable`](https://webassembly.github.io/spec/core/exec/instructions.html#exec-unreachable)).
    UnreachableCodeReached = 9, "unreachable";
    /// A null reference was dereferenced.
    NullReference = 10, "null reference";
    /// The store's fuel ran out (`Config::consume_fuel`); Wasmtime's
    /// `Trap::OutOfFuel`.
    OutOfFuel = 11, "all fuel consumed by WebAssembly";
    /// The store's epoch deadline was reached and its behaviour is to trap
    /// (`Config::epoch_interruption`); Wasmtime's `Trap::Interrupt`.
    Interrupt = 12, "interrupt";
    /// An atomic access (threads proposal) at an address that is not a
    /// multiple of its size (spec:
    /// [threads Overview](https://github.com/WebAssembly/threads/blob/main/proposals/threads/Overview.md#alignment)).
    HeapMisaligned = 13, "unaligned atomic";
    /// `memory.atomic.wait32`/`wait64` on a memory that is not shared.
    AtomicWaitNonSharedMemory = 14, "expected shared memory";
    /// `memory.atomic.wait32`/`wait64` on a platform that cannot block a
    /// thread (`Platform::atomic_wait` is not implemented).
    AtomicWaitUnsupported = 15, "atomic wait is not supported by this platform";
    /// `ref.cast` (or `br_on_cast` lowered to one) of a value not of the
    /// target type.
    CastFailure = 16, "cast failure";
    /// An array access, fill, copy or initialization out of the array's
    /// bounds.
    ArrayOutOfBounds = 17, "out of bounds array access";
    /// A GC allocation (`struct.new`, `array.new*`) the store's GC heap
    /// cannot hold: larger than an object may be, or past the heap's
    /// limit after a collection.
    AllocationTooLarge = 18, "allocation size too large";
}

impl fmt::Display for Trap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "wasm trap: {}", self.message())
    }
}

impl core::error::Error for Trap {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        for &code in Trap::ALL {
            assert_eq!(Trap::from_u8(code as u8), Some(code));
        }
        assert_eq!(Trap::from_u8(0), None);
        assert_eq!(Trap::from_u8(200), None);
    }
}
