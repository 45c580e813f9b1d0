//! How GC objects are laid out in memory: the header every object of a
//! store's GC heap starts with, and where a struct's fields and an
//! array's elements are. The compiler reads fields at these offsets and
//! the runtime traces and allocates by them, so both take them from here.
//!
//! A reference into the `any`, `extern` or `exn` hierarchy is one
//! pointer-sized word: 0 is null, an odd word is an unboxed `i31`
//! (`(value << 1) | 1`, spec:
//! [`ref.i31`](https://webassembly.github.io/spec/core/exec/instructions.html#exec-ref-i31)),
//! and any other word is the address of an object, which starts with a
//! [`vmgc_header`]. Objects never move.

use crate::prelude::*;
use crate::{WasmCompositeType, WasmFieldType, WasmStorageType, WasmValType};

/// Offsets and values of the header every GC object starts with: its
/// engine type id (`u32`) and its flags (`u32`).
pub mod vmgc_header {
    /// `ty: u32`: the engine-wide id of the object's struct or array
    /// type, or [`EXN_TYPE`] / [`EXTERN_TYPE`].
    pub const TYPE: u32 = 0;
    /// `flags: u32`: [`STRUCT`] or [`ARRAY`] (set at allocation, read by
    /// casts) and the collector's bits.
    pub const FLAGS: u32 = 4;
    /// Size of the header in bytes.
    pub const SIZE: u32 = 8;
    /// The type id of exception objects.
    pub const EXN_TYPE: u32 = u32::MAX;
    /// The type id of a host value behind an `externref` (it lives
    /// outside the GC heap, as long as its store).
    pub const EXTERN_TYPE: u32 = u32::MAX - 1;
    /// Flag: the object is a struct.
    pub const STRUCT: u32 = 1 << 8;
    /// Flag: the object is an array.
    pub const ARRAY: u32 = 1 << 9;
}

/// Offsets in an array object.
pub mod vmgc_array {
    /// `len: u32`: the number of elements.
    pub const LEN: u32 = 8;
    /// Offset of element 0; element `i` is at `ELEMS + i * size`.
    pub const ELEMS: u32 = 16;
}

/// Alignment of every GC object, in bytes (a `v128` field needs 16).
pub const GC_ALIGN: u32 = 16;

/// The largest object keel allocates, in bytes: larger arrays trap
/// (`AllocationTooLarge`) whatever the heap's limit.
pub const GC_MAX_OBJECT_SIZE: u64 = 1 << 32;

/// Whether values of `ty` are references the collector traces: into the
/// `any`, `extern` or `exn` hierarchy (function references point to
/// `VMFuncRef`s, which the instances own).
pub fn is_gc_ref(ty: WasmValType) -> bool {
    ty.is_any_ref() || ty.is_exn_ref() || ty.is_extern_ref()
}

/// Whether a field of type `ty` holds a traced reference.
pub fn is_gc_ref_field(ty: WasmStorageType) -> bool {
    matches!(ty, WasmStorageType::Val(t) if is_gc_ref(t))
}

/// Where a struct's fields are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GcStructLayout {
    /// The object's size in bytes, header included: a multiple of 8, of
    /// 16 when a field is a `v128` (objects are as aligned as their size
    /// is, up to [`GC_ALIGN`]).
    pub size: u32,
    /// The byte offset of each field, in field order.
    pub offsets: Box<[u32]>,
}

impl GcStructLayout {
    /// Lay out a struct of `fields`: each field aligned to its size, the
    /// largest first (in field order among equal sizes), after the
    /// header.
    pub fn new(fields: &[WasmFieldType]) -> Self {
        let mut order: Vec<usize> = (0..fields.len()).collect();
        order.sort_by_key(|&i| core::cmp::Reverse(fields[i].element.byte_size()));
        let mut offsets = alloc::vec![0u32; fields.len()];
        let mut end = vmgc_header::SIZE;
        for i in order {
            let size = fields[i].element.byte_size();
            let at = end.next_multiple_of(size);
            offsets[i] = at;
            end = at + size;
        }
        let has_v128 = fields.iter().any(|f| f.element.byte_size() == 16);
        Self {
            size: end.next_multiple_of(if has_v128 { GC_ALIGN } else { 8 }),
            offsets: offsets.into(),
        }
    }

    /// The offsets of the fields the collector traces.
    pub fn ref_offsets(&self, fields: &[WasmFieldType]) -> Box<[u32]> {
        fields
            .iter()
            .zip(self.offsets.iter())
            .filter(|(f, _)| is_gc_ref_field(f.element))
            .map(|(_, o)| *o)
            .collect()
    }
}

/// An array object's size in bytes for `len` elements of `elem_size`
/// bytes, rounded up to 8 bytes; `None` past [`GC_MAX_OBJECT_SIZE`].
pub fn array_size(elem_size: u32, len: u32) -> Option<u32> {
    let bytes = u64::from(vmgc_array::ELEMS) + u64::from(elem_size) * u64::from(len);
    let bytes = bytes.next_multiple_of(8);
    u32::try_from(bytes)
        .ok()
        .filter(|b| u64::from(*b) < GC_MAX_OBJECT_SIZE)
}

/// What the runtime needs to allocate and trace objects of one type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GcTypeLayout {
    /// A struct type.
    Struct {
        /// Object size in bytes.
        size: u32,
        /// Offsets of the traced reference fields.
        refs: Box<[u32]>,
    },
    /// An array type.
    Array {
        /// Element size in bytes.
        elem_size: u32,
        /// Whether the elements are traced references.
        elem_ref: bool,
    },
}

impl GcTypeLayout {
    /// The layout of objects of `ty`, or `None` for function types.
    pub fn of(ty: &WasmCompositeType) -> Option<Self> {
        match ty {
            WasmCompositeType::Func(_) => None,
            WasmCompositeType::Struct(fields) => {
                let layout = GcStructLayout::new(fields);
                Some(Self::Struct {
                    size: layout.size,
                    refs: layout.ref_offsets(fields),
                })
            }
            WasmCompositeType::Array(field) => Some(Self::Array {
                elem_size: field.element.byte_size(),
                elem_ref: is_gc_ref_field(field.element),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(element: WasmStorageType) -> WasmFieldType {
        WasmFieldType {
            element,
            mutable: true,
        }
    }

    #[test]
    fn struct_fields_are_aligned_and_packed() {
        let fields = [
            field(WasmStorageType::I8),
            field(WasmStorageType::Val(WasmValType::I64)),
            field(WasmStorageType::I16),
            field(WasmStorageType::Val(WasmValType::V128)),
            field(WasmStorageType::Val(WasmValType::I32)),
        ];
        let layout = GcStructLayout::new(&fields);
        // v128 at 16, i64 at 32, i32 at 40, i16 at 44, i8 at 46.
        assert_eq!(&*layout.offsets, &[46, 32, 44, 16, 40]);
        assert_eq!(layout.size, 48);
        for (f, o) in fields.iter().zip(layout.offsets.iter()) {
            assert_eq!(o % f.element.byte_size(), 0, "{f} at {o}");
            assert!(*o >= vmgc_header::SIZE);
        }
        let empty = GcStructLayout::new(&[]);
        assert_eq!(empty.size, 8);
        // Without a v128 field, sizes are multiples of 8.
        let small = GcStructLayout::new(&[
            field(WasmStorageType::Val(WasmValType::I64)),
            field(WasmStorageType::Val(WasmValType::I32)),
        ]);
        assert_eq!((small.size, &*small.offsets), (24, &[8, 16][..]));
    }

    #[test]
    fn ref_fields_are_traced() {
        let fields = [
            field(WasmStorageType::Val(WasmValType::I32)),
            field(WasmStorageType::Val(WasmValType::ExternRef)),
            field(WasmStorageType::Val(WasmValType::FuncRef)),
            field(WasmStorageType::Val(WasmValType::EXNREF)),
        ];
        let layout = GcStructLayout::new(&fields);
        let refs = layout.ref_offsets(&fields);
        assert_eq!(&*refs, &[layout.offsets[1], layout.offsets[3]]);
    }

    #[test]
    fn array_sizes_round_up_and_stop_at_the_limit() {
        assert_eq!(array_size(1, 0), Some(16));
        assert_eq!(array_size(1, 1), Some(24));
        assert_eq!(array_size(8, 2), Some(32));
        assert_eq!(array_size(16, 1), Some(32));
        assert_eq!(array_size(16, u32::MAX), None);
        assert_eq!(array_size(1, u32::MAX), None);
    }
}
