//! Vectors (`wasm_xxx_vec_t`): a size and a pointer to that many
//! elements, owned by whoever holds the vector. keel allocates their
//! storage as a boxed slice, so only vectors made by these functions may
//! be deleted by them (as the standard says: own data comes from
//! `wasm_xxx_new` functions).
//!
//! Spec: the "Vectors" section of
//! [wasm.h](https://github.com/WebAssembly/wasm-c-api/blob/main/include/wasm.h).

use crate::prelude::*;

/// Defines `$vec` (`{ size, data }` of `$elem`) and its five functions
/// `$new_empty`, `$new_uninitialized`, `$new`, `$copy` and `$delete`.
/// `$elem` is either a plain value (copied with `Clone`, dropped with
/// the vector) or an owned pointer `*mut T` to a boxed `T` (copied with
/// `T: Clone`, deleted with the vector; a null element is allowed).
macro_rules! declare_vec {
    (
        $(#[$meta:meta])*
        $vec:ident of value $elem:ty,
        $new_empty:ident, $new_uninitialized:ident, $new:ident, $copy:ident, $delete:ident
    ) => {
        $(#[$meta])*
        #[repr(C)]
        #[derive(Debug)]
        pub struct $vec {
            /// Number of elements.
            pub size: usize,
            /// The first element (null when `size` is 0).
            pub data: *mut $elem,
        }

        impl $vec {
            /// The elements, borrowed.
            ///
            /// # Safety
            ///
            /// `data` points at `size` initialized elements, or `size` is 0.
            pub unsafe fn as_slice(&self) -> &[$elem] {
                // SAFETY: per the contract.
                unsafe { $crate::vec::raw_slice(self.data, self.size) }
            }

            /// A vector owning `items`.
            pub fn from_vec(items: Vec<$elem>) -> Self {
                let (size, data) = $crate::vec::into_raw_parts(items);
                Self { size, data }
            }

            /// Take the elements out, leaving the vector empty.
            ///
            /// # Safety
            ///
            /// The vector was made by this module (its storage is a boxed
            /// slice of `size` elements), or is empty.
            pub unsafe fn take(&mut self) -> Vec<$elem> {
                // SAFETY: per the contract.
                unsafe { $crate::vec::take_raw(&mut self.size, &mut self.data) }
            }
        }

        #[doc = concat!("Make `*out` an empty `", stringify!($vec), "`.")]
        ///
        /// # Safety
        ///
        /// `out` points at writable memory for a vector.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn $new_empty(out: *mut $vec) {
            // SAFETY: per the contract.
            unsafe { out.write($vec::from_vec(Vec::new())) };
        }

        #[doc = concat!("Make `*out` a `", stringify!($vec), "` of `size` zeroed elements.")]
        ///
        /// # Safety
        ///
        /// `out` points at writable memory for a vector.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn $new_uninitialized(out: *mut $vec, size: usize) {
            let items = (0..size).map(|_| <$elem as $crate::vec::ValueElem>::zeroed()).collect();
            // SAFETY: per the contract.
            unsafe { out.write($vec::from_vec(items)) };
        }

        #[doc = concat!("Make `*out` a `", stringify!($vec), "` of the `size` elements at `data`, whose ownership passes to the vector (the array itself stays the caller's).")]
        ///
        /// # Safety
        ///
        /// `out` points at writable memory for a vector; `data` points at
        /// `size` initialized elements (or `size` is 0).
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn $new(out: *mut $vec, size: usize, data: *const $elem) {
            let items = if size == 0 || data.is_null() {
                Vec::new()
            } else {
                // SAFETY: per the contract; the elements are moved in (the
                // standard passes their ownership).
                unsafe { core::slice::from_raw_parts(data, size) }
                    .iter()
                    // SAFETY: each element is moved out once.
                    .map(|e| unsafe { core::ptr::read(e) })
                    .collect()
            };
            // SAFETY: per the contract.
            unsafe { out.write($vec::from_vec(items)) };
        }

        #[doc = concat!("Make `*out` a copy of `src`, a `", stringify!($vec), "`.")]
        ///
        /// # Safety
        ///
        /// `out` points at writable memory for a vector; `src` at a valid
        /// vector.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn $copy(out: *mut $vec, src: *const $vec) {
            // SAFETY: per the contract.
            unsafe { out.write((*src).clone()) };
        }

        #[doc = concat!("Free the storage of `v`, a `", stringify!($vec), "`, and leave it empty.")]
        ///
        /// # Safety
        ///
        /// `v` is null or points at a vector made by keel.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn $delete(v: *mut $vec) {
            // SAFETY: per the contract.
            if let Some(v) = unsafe { v.as_mut() } {
                // SAFETY: per the contract.
                for mut e in unsafe { v.take() } {
                    // SAFETY: each element is owned by the vector.
                    unsafe { $crate::vec::ValueElem::release(&mut e) };
                }
            }
        }

        impl Clone for $vec {
            fn clone(&self) -> Self {
                // SAFETY: vectors held by keel's objects are valid.
                Self::from_vec(unsafe { self.as_slice() }.iter().map($crate::vec::ValueElem::copy).collect())
            }
        }

        impl Drop for $vec {
            /// Only vectors keel's objects hold are dropped by Rust (a
            /// vector the C side holds is a plain struct it deletes).
            fn drop(&mut self) {
                // SAFETY: keel-made, as above.
                for mut e in unsafe { self.take() } {
                    // SAFETY: each element is owned by the vector.
                    unsafe { $crate::vec::ValueElem::release(&mut e) };
                }
            }
        }
    };
    (
        $(#[$meta:meta])*
        $vec:ident of owned $elem:ty,
        $new_empty:ident, $new_uninitialized:ident, $new:ident, $copy:ident, $delete:ident
    ) => {
        $(#[$meta])*
        #[repr(C)]
        #[derive(Debug)]
        pub struct $vec {
            /// Number of elements.
            pub size: usize,
            /// The first element (null when `size` is 0); each element is
            /// an owned pointer, or null.
            pub data: *mut *mut $elem,
        }

        impl $vec {
            /// The element pointers, borrowed.
            ///
            /// # Safety
            ///
            /// `data` points at `size` element pointers, or `size` is 0.
            pub unsafe fn as_slice(&self) -> &[*mut $elem] {
                // SAFETY: per the contract.
                unsafe { $crate::vec::raw_slice(self.data, self.size) }
            }

            /// A vector owning `items`.
            pub fn from_boxes(items: Vec<Box<$elem>>) -> Self {
                let ptrs: Vec<*mut $elem> = items.into_iter().map(Box::into_raw).collect();
                Self::from_ptrs(ptrs)
            }

            fn from_ptrs(ptrs: Vec<*mut $elem>) -> Self {
                let (size, data) = $crate::vec::into_raw_parts(ptrs);
                Self { size, data }
            }

            /// Take the element pointers out (owned), leaving the vector
            /// empty.
            ///
            /// # Safety
            ///
            /// The vector was made by this module, or is empty.
            pub unsafe fn take(&mut self) -> Vec<*mut $elem> {
                // SAFETY: per the contract.
                unsafe { $crate::vec::take_raw(&mut self.size, &mut self.data) }
            }
        }

        #[doc = concat!("Make `*out` an empty `", stringify!($vec), "`.")]
        ///
        /// # Safety
        ///
        /// `out` points at writable memory for a vector.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn $new_empty(out: *mut $vec) {
            // SAFETY: per the contract.
            unsafe { out.write($vec::from_ptrs(Vec::new())) };
        }

        #[doc = concat!("Make `*out` a `", stringify!($vec), "` of `size` null elements.")]
        ///
        /// # Safety
        ///
        /// `out` points at writable memory for a vector.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn $new_uninitialized(out: *mut $vec, size: usize) {
            // SAFETY: per the contract.
            unsafe { out.write($vec::from_ptrs(vec![core::ptr::null_mut(); size])) };
        }

        #[doc = concat!("Make `*out` a `", stringify!($vec), "` of the `size` element pointers at `data`, taking ownership of the elements (not of the array).")]
        ///
        /// # Safety
        ///
        /// `out` points at writable memory for a vector; `data` points at
        /// `size` pointers, each null or an owned element made by keel.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn $new(out: *mut $vec, size: usize, data: *const *mut $elem) {
            let ptrs = if size == 0 || data.is_null() {
                Vec::new()
            } else {
                // SAFETY: per the contract.
                unsafe { core::slice::from_raw_parts(data, size) }.to_vec()
            };
            // SAFETY: per the contract.
            unsafe { out.write($vec::from_ptrs(ptrs)) };
        }

        #[doc = concat!("Make `*out` a deep copy of `src`, a `", stringify!($vec), "` (each element copied).")]
        ///
        /// # Safety
        ///
        /// `out` points at writable memory for a vector; `src` at a valid
        /// vector whose elements are null or valid.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn $copy(out: *mut $vec, src: *const $vec) {
            // SAFETY: per the contract.
            unsafe { out.write((*src).clone()) };
        }

        #[doc = concat!("Delete the elements of `v`, a `", stringify!($vec), "`, free its storage and leave it empty.")]
        ///
        /// # Safety
        ///
        /// `v` is null or points at a vector made by keel whose elements
        /// are null or owned and made by keel.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn $delete(v: *mut $vec) {
            // SAFETY: per the contract.
            if let Some(v) = unsafe { v.as_mut() } {
                // SAFETY: per the contract.
                drop(unsafe { $vec::from_ptrs(v.take()) });
            }
        }

        impl Clone for $vec {
            fn clone(&self) -> Self {
                // SAFETY: vectors held by keel's objects are valid.
                let ptrs = unsafe { self.as_slice() }
                    .iter()
                    // SAFETY: elements are null or valid.
                .map(|&p| match unsafe { p.as_ref() } {
                        Some(elem) => Box::into_raw(Box::new(elem.clone())),
                        None => core::ptr::null_mut(),
                    })
                    .collect();
                Self::from_ptrs(ptrs)
            }
        }

        impl Drop for $vec {
            /// Deletes the elements; only vectors keel's objects hold (or
            /// that `wasm_xxx_vec_delete` took) are dropped by Rust.
            fn drop(&mut self) {
                // SAFETY: keel-made, as above.
                for p in unsafe { self.take() } {
                    if !p.is_null() {
                        // SAFETY: an owned element made by keel.
                        drop(unsafe { Box::from_raw(p) });
                    }
                }
            }
        }
    };
}
pub(crate) use declare_vec;

/// The `size` elements at `data` (none if `size` is 0 or `data` null).
///
/// # Safety
///
/// Otherwise `data` points at `size` initialized elements, alive for `'a`.
pub(crate) unsafe fn raw_slice<'a, T>(data: *mut T, size: usize) -> &'a [T] {
    if size == 0 || data.is_null() {
        &[]
    } else {
        // SAFETY: per the contract.
        unsafe { core::slice::from_raw_parts(data, size) }
    }
}

/// `items` as a vector's size and data: a boxed slice, or null when
/// empty.
pub(crate) fn into_raw_parts<T>(items: Vec<T>) -> (usize, *mut T) {
    let items: Box<[T]> = items.into_boxed_slice();
    match items.len() {
        0 => (0, core::ptr::null_mut()),
        size => (size, Box::into_raw(items).cast::<T>()),
    }
}

/// Take the elements of the vector `(size, data)`, leaving it empty.
///
/// # Safety
///
/// The vector was made by `into_raw_parts`, or is empty.
pub(crate) unsafe fn take_raw<T>(size: &mut usize, data: &mut *mut T) -> Vec<T> {
    let (n, p) = (
        core::mem::take(size),
        core::mem::replace(data, core::ptr::null_mut()),
    );
    if n == 0 || p.is_null() {
        return Vec::new();
    }
    // SAFETY: per the contract, a boxed slice of `n` elements.
    unsafe { Box::from_raw(core::ptr::slice_from_raw_parts_mut(p, n)) }.into_vec()
}

/// An element of a vector of values (`wasm_byte_vec_t`,
/// `wasm_val_vec_t`).
pub trait ValueElem: Sized {
    /// What `wasm_xxx_vec_new_uninitialized` fills a vector with (all
    /// bits zero; a null reference for `wasm_val_t`).
    fn zeroed() -> Self;
    /// A copy that owns what it refers to.
    fn copy(&self) -> Self;
    /// Release what the element owns.
    ///
    /// # Safety
    ///
    /// The element owns what it refers to, and is not used afterwards.
    unsafe fn release(&mut self) {}
}

impl ValueElem for u8 {
    fn zeroed() -> Self {
        0
    }
    fn copy(&self) -> Self {
        *self
    }
}

declare_vec!(
    /// `wasm_byte_vec_t` (also `wasm_name_t` and `wasm_message_t`): bytes.
    wasm_byte_vec_t of value u8,
    wasm_byte_vec_new_empty,
    wasm_byte_vec_new_uninitialized,
    wasm_byte_vec_new,
    wasm_byte_vec_copy,
    wasm_byte_vec_delete
);

impl wasm_byte_vec_t {
    /// A vector holding a copy of `bytes`.
    pub fn from_bytes(bytes: &[u8]) -> Self {
        Self::from_vec(bytes.to_vec())
    }

    /// The bytes as text (lossily).
    pub fn to_string_lossy(&self) -> String {
        // SAFETY: vectors held by keel's objects or passed by C are valid.
        String::from_utf8_lossy(unsafe { self.as_slice() }).into_owned()
    }
}
