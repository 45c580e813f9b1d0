//! The builtin functions (libcalls) compiled code calls into the runtime.
//!
//! [`foreach_builtin!`](crate::foreach_builtin) is the single list: the
//! compiler derives each call's signature from it and the runtime its
//! table of implementations, so the two cannot drift apart.

/// Invoke `$mac!` with the list of builtins, each written as
/// `name(param types) -> result type;` where types are `vmctx`, `ptr` (a
/// pointer-sized reference), `i32`, `i64`, `f32` or `f64`. The position in the list is the builtin's index
/// in the VMContext's builtin array.
#[macro_export]
macro_rules! foreach_builtin {
    ($mac:ident) => {
        $mac! {
            /// `memory.grow`: grow memory `memory_index` by `delta` pages
            /// (addresses, lengths and sizes are `i64` for every memory
            /// and table; compiled code zero-extends 32-bit ones);
            /// returns the old size in pages, -1 if it cannot grow, or
            /// [`GROW_TRAP`](crate::builtin::GROW_TRAP) if the store's
            /// resource limiter failed the growth (the caller traps).
            memory_grow(vmctx: vmctx, memory_index: i32, delta: i64) -> i64;
            /// `memory.fill`: returns 0, or non-zero if out of bounds (the
            /// caller traps).
            memory_fill(vmctx: vmctx, memory_index: i32, dst: i64, value: i32, len: i64) -> i32;
            /// `memory.copy`: returns 0, or non-zero if out of bounds.
            memory_copy(vmctx: vmctx, dst_memory: i32, dst: i64, src_memory: i32, src: i64, len: i64) -> i32;
            /// `memory.init`: returns 0, or non-zero if out of bounds.
            memory_init(vmctx: vmctx, memory_index: i32, data_index: i32, dst: i64, src: i32, len: i32) -> i32;
            /// `data.drop`; returns 0.
            data_drop(vmctx: vmctx, data_index: i32) -> i32;
            /// `table.grow`: returns the old size, -1, or
            /// [`GROW_TRAP`](crate::builtin::GROW_TRAP) (as `memory_grow`).
            table_grow(vmctx: vmctx, table_index: i32, init: ptr, delta: i64) -> i64;
            /// `table.fill`: returns 0, or non-zero if out of bounds.
            table_fill(vmctx: vmctx, table_index: i32, dst: i64, value: ptr, len: i64) -> i32;
            /// `table.copy`: returns 0, or non-zero if out of bounds.
            table_copy(vmctx: vmctx, dst_table: i32, src_table: i32, dst: i64, src: i64, len: i64) -> i32;
            /// `table.init`: returns 0, or non-zero if out of bounds.
            table_init(vmctx: vmctx, table_index: i32, elem_index: i32, dst: i64, src: i32, len: i32) -> i32;
            /// `elem.drop`; returns 0.
            elem_drop(vmctx: vmctx, elem_index: i32) -> i32;
            /// The fuel counter reached zero: the store refuels (returns 0,
            /// the counter in the store context is updated) or returns
            /// non-zero and the caller traps with `OutOfFuel`.
            out_of_gas(vmctx: vmctx) -> i32;
            /// The engine's epoch reached the store's deadline: the store
            /// moves the deadline (returns 0; the new deadline is in the
            /// store context) or returns non-zero and the caller traps
            /// with `Interrupt`.
            new_epoch(vmctx: vmctx) -> i32;
            /// `ref.func`: the address of function `func_index`'s
            /// `VMFuncRef` in this instance, built first if it is not yet
            /// (function references are built lazily, when first handed
            /// out).
            ref_func(vmctx: vmctx, func_index: i32) -> ptr;
            /// A funcref table slot read as zero (`table.get`,
            /// `call_indirect`): its value, after initializing it if it
            /// was pending in a lazily initialized table. `slot` is the
            /// slot's address (the code has it at hand, where the index
            /// would be one more value to keep alive across the call).
            table_get_lazy(vmctx: vmctx, table_index: i32, slot: ptr) -> ptr;
            /// `table.set` wrote a null into funcref table slot `index`:
            /// the slot is no longer pending (it stays null); returns 0.
            table_clear_lazy(vmctx: vmctx, table_index: i32, index: i32) -> i32;
            /// `memory.atomic.wait32`/`wait64` at host address `addr` (checked
            /// in bounds and aligned) of a shared memory: block while the
            /// `size`-byte value there is `expected`, for at most `timeout`
            /// nanoseconds (negative: no limit); returns 0 (woken), 1 (not
            /// equal), 2 (timed out), or 3 if the platform cannot block
            /// (the caller traps).
            memory_atomic_wait(vmctx: vmctx, addr: ptr, expected: i64, size: i32, timeout: i64) -> i32;
            /// `memory.atomic.notify` at host address `addr` of a shared
            /// memory: wake up to `count` waiters; returns how many woke.
            memory_atomic_notify(vmctx: vmctx, addr: ptr, count: i32) -> i32;
            /// A `catch` or `catch_all` handler has read the payload of
            /// exception `exn`: free it unless it ever became an `exnref`
            /// value; returns 0.
            exn_release(vmctx: vmctx, exn: ptr) -> i32;
            /// `throw`: allocate an exception of tag `tag_index` whose
            /// payload is the tag type's parameters, stored as 16-byte
            /// `ValRaw`s at `values`, and unwind to its handler. Compiled
            /// code reaches it only through the unwind stub
            /// ([`UNWIND_STUB`](BuiltinFunctionIndex::UNWIND_STUB)), which
            /// passes this builtin's own address as `target` and adds `pc`
            /// (the return address into the throwing frame) and `fp` (its
            /// frame pointer). Never returns.
            throw(vmctx: vmctx, tag_index: i32, values: ptr, target: ptr, pc: ptr, fp: ptr) -> i32;
            /// `throw_ref` of the non-null exception reference `exn`
            /// (compiled code traps on null), through the unwind stub as
            /// `throw` is. Never returns.
            throw_ref(vmctx: vmctx, exn: ptr, unused: ptr, target: ptr, pc: ptr, fp: ptr) -> i32;
            /// Whether engine type `actual` is `expected` or declares it
            /// as a (transitive) supertype: 1 or 0. The slow path of
            /// `call_indirect` to a non-final type and of casts to
            /// concrete types.
            is_subtype(vmctx: vmctx, actual: i32, expected: i32) -> i32;
            /// `struct.new*` and `array.new*`: allocate a zeroed object of
            /// module type `type_index` (an array of `len` elements) on
            /// the store's GC heap, collecting first when the heap is due;
            /// returns the object, or 0 when it cannot be allocated (the
            /// caller traps with `AllocationTooLarge`). Compiled code
            /// reaches it through the unwind stub (as `throw`), so that a
            /// collection can walk the calling frames.
            gc_alloc(vmctx: vmctx, type_index: i32, len: i32, target: ptr, pc: ptr, fp: ptr) -> ptr;
            /// `array.new_data` / `array.new_elem` of module array type
            /// `indices & 0xffff_ffff` from segment `indices >> 32`, `len`
            /// (`range >> 32`) elements from element or byte offset
            /// `range & 0xffff_ffff`, through the unwind stub as
            /// `gc_alloc`. Returns the array, or 0 when the segment range
            /// is out of bounds, or 1 when it cannot be allocated.
            array_new_segment(vmctx: vmctx, indices: i64, range: i64, target: ptr, pc: ptr, fp: ptr) -> ptr;
            /// `array.fill` of `len` elements of `elem_size` bytes from
            /// `index` of the non-null `array` with the value in the
            /// 16-byte slot at `value`: returns 0, or non-zero if out of
            /// bounds.
            array_fill(vmctx: vmctx, array: ptr, index: i32, value: ptr, len: i32, elem_size: i32) -> i32;
            /// `array.copy` of `len` elements of `elem_size` bytes from
            /// `src_index` of the non-null `src` to `dst_index` of the
            /// non-null `dst`: returns 0, or non-zero if out of bounds.
            array_copy(vmctx: vmctx, dst: ptr, dst_index: i32, src: ptr, src_index: i32, len: i32, elem_size: i32) -> i32;
            /// `array.init_data` / `array.init_elem` of the non-null
            /// `array` of module type `indices & 0xffff_ffff` from segment
            /// `indices >> 32`: `len` elements from `src` to `dst`.
            /// Returns 0, 1 if out of the array's bounds, 2 if out of the
            /// segment's.
            array_init_segment(vmctx: vmctx, array: ptr, indices: i64, dst: i32, src: i32, len: i32) -> i32;
        }
    };
}

/// What `memory32_grow` and `table_grow` return when the store's resource
/// limiter failed the growth with an error: the caller traps and the
/// runtime reports the limiter's error. Neither -1 nor any size: a
/// memory's size in pages is at most its size in bytes, which the host's
/// address space bounds far below 2^64 - 2, and tables have at most
/// [`MAX_TABLE_ELEMENTS`](crate::limits::MAX_TABLE_ELEMENTS) elements.
pub const GROW_TRAP: u64 = u64::MAX - 1;

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

            /// The slot after the builtins: the unwind stub, which compiled
            /// code calls (Cranelift's `tail` convention) with three
            /// arguments and an unwinding builtin's address (`throw`,
            /// `throw_ref`) to enter that builtin with the throwing frame's
            /// return address and frame pointer.
            pub const UNWIND_STUB: u32 = Self::COUNT;

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
