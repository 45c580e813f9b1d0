//! Lazily initialized funcref tables (as Wasmtime's lazy table
//! initialization): a module's active element segments for a defined
//! funcref table are laid out once, at module creation, as the table's
//! initial contents by function index. An instance then leaves those
//! slots zero and marks them *pending* in a bitmap; the first read of a
//! pending slot builds the function reference and writes it.
//!
//! A slot's value is therefore:
//! * its pointer when non-zero;
//! * else the image's function when the slot is pending;
//! * else null.
//!
//! Every write clears the pending bit of the slots it writes (a null
//! written over a pending slot must stay null). Compiled code reads slots
//! inline and calls the `table_get_lazy` builtin only when it reads zero;
//! `table.set` of a null calls `table_clear_lazy`. The bulk operations and
//! the host API go through [`Instance`](crate::Instance), which keeps the
//! bitmap.

use alloc::boxed::Box;
use alloc::sync::Arc;
use alloc::vec;
use keel_translate::{
    ConstOp, DefinedTableIndex, ElemItems, ElemMode, EntityRef, FuncIndex, Module, PrimaryMap,
    WasmValType,
};

/// An image may cover at most this many slots per item its segments
/// place (plus [`SPARSE_SLACK`]), so that one segment at a large offset
/// does not make an image of millions of slots.
const MAX_SPARSENESS: usize = 4;

/// Slots an image may cover beyond `MAX_SPARSENESS` times its items.
const SPARSE_SLACK: usize = 1024;

/// "No function" in [`TableImage`]'s slots.
const NONE: u32 = u32::MAX;

/// The initial contents of one defined funcref table: for each of its
/// first `len` slots, the function index the active segments place there
/// (or none), and the bitmap of slots that hold a function.
#[derive(Debug)]
pub struct TableImage {
    funcs: Box<[u32]>,
    pending: Box<[u64]>,
}

/// A module's table images, one entry per defined table (`None`: the
/// table's active segments are written at instantiation).
pub type TableImages = PrimaryMap<DefinedTableIndex, Option<Arc<TableImage>>>;

impl TableImage {
    /// The images of `module`'s defined funcref tables.
    ///
    /// A table gets an image when every active element segment for it has
    /// a constant offset (`i32.const`), lies inside its minimum size, and
    /// has only function indices and `ref.null` as items, and the segments
    /// are not too sparse (at most 4 slots per item, plus 1,024).
    /// Otherwise its segments are written at instantiation, which also
    /// reports segments out of bounds as the spec requires.
    pub fn for_module(module: &Module) -> TableImages {
        let mut images = PrimaryMap::new();
        for (index, ty) in module.tables.iter() {
            if module.defined_table_index(index).is_none() {
                continue;
            }
            // A table with an initializer expression starts filled with its
            // value, not null: it is written at instantiation.
            let has_init = module.table_inits.iter().any(|(t, _)| *t == index);
            let image = if ty.element == WasmValType::FuncRef && !has_init {
                Self::build(module, index, ty.limits.min).map(Arc::new)
            } else {
                None
            };
            images.push(image);
        }
        images
    }

    fn build(module: &Module, table: keel_translate::TableIndex, min: u64) -> Option<Self> {
        // The segments, their offsets, and the image's length.
        let mut segments = vec![];
        let (mut len, mut items) = (0usize, 0usize);
        for (_, elem) in module.elems.iter() {
            let ElemMode::Active { table: t, offset } = &elem.mode else {
                continue;
            };
            if *t != table {
                continue;
            }
            let start = match offset.ops.as_slice() {
                [ConstOp::I32Const(start)] => u64::from(*start as u32),
                [ConstOp::I64Const(start)] => *start as u64,
                _ => return None,
            };
            let end = start.checked_add(elem.items.len() as u64)?;
            if end > min {
                return None;
            }
            len = len.max(end as usize);
            items += elem.items.len();
            segments.push((start as usize, &elem.items));
        }
        if segments.is_empty()
            || len
                > items
                    .saturating_mul(MAX_SPARSENESS)
                    .saturating_add(SPARSE_SLACK)
        {
            return None;
        }
        let mut funcs = vec![NONE; len].into_boxed_slice();
        let n = module.functions.len();
        for (start, items) in segments {
            let slots = &mut funcs[start..start + items.len()];
            match items {
                ElemItems::Functions(list) => {
                    for (slot, f) in slots.iter_mut().zip(list.iter()) {
                        *slot = match f.expand() {
                            Some(f) if f.index() < n => f.as_u32(),
                            _ => NONE,
                        };
                    }
                }
                ElemItems::Expressions { .. } => {
                    for (i, slot) in slots.iter_mut().enumerate() {
                        *slot = match items.expression(i) {
                            [ConstOp::RefFunc(f)] if f.index() < n => f.as_u32(),
                            [ConstOp::RefNull] => NONE,
                            _ => return None,
                        };
                    }
                }
            }
        }
        let mut pending = vec![0u64; len.div_ceil(64)].into_boxed_slice();
        for (i, f) in funcs.iter().enumerate() {
            if *f != NONE {
                pending[i / 64] |= 1 << (i % 64);
            }
        }
        Some(Self { funcs, pending })
    }

    /// Number of slots the image covers (from slot 0).
    pub fn len(&self) -> usize {
        self.funcs.len()
    }

    /// Whether the image covers no slot.
    pub fn is_empty(&self) -> bool {
        self.funcs.is_empty()
    }
}

/// The lazy state of one table of an instance: its image and which of
/// the image's slots are still pending.
#[derive(Debug)]
pub(crate) struct LazyTable {
    image: Arc<TableImage>,
    pending: Box<[u64]>,
}

impl LazyTable {
    /// Every function slot of `image` pending.
    pub(crate) fn new(image: Arc<TableImage>) -> Self {
        let pending = image.pending.clone();
        Self { image, pending }
    }

    /// If slot `i` is pending, clear it and return its function.
    #[inline]
    pub(crate) fn take(&mut self, i: usize) -> Option<FuncIndex> {
        let word = self.pending.get_mut(i / 64)?;
        let bit = 1u64 << (i % 64);
        if *word & bit == 0 {
            return None;
        }
        *word &= !bit;
        Some(FuncIndex::from_u32(self.image.funcs[i]))
    }

    /// Clear the pending bits of slots `start..start + len` (written).
    pub(crate) fn clear(&mut self, start: usize, len: usize) {
        let end = start.saturating_add(len).min(self.image.len());
        for i in start..end {
            if i % 64 == 0 && i + 64 <= end {
                self.pending[i / 64] = 0;
            } else {
                self.pending[i / 64] &= !(1u64 << (i % 64));
            }
        }
    }

    /// Number of slots the image covers (from slot 0).
    pub(crate) fn len(&self) -> usize {
        self.image.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn module(wat: &str) -> Module {
        let wasm = wat::parse_str(wat).unwrap();
        keel_translate::translate_module(&wasm, keel_translate::wasm_features())
            .unwrap()
            .module
    }

    #[test]
    fn image_follows_segments_in_order() {
        let m = module(
            r#"(module (table 8 funcref)
                (func $a) (func $b)
                (elem (i32.const 1) func $a $b)
                (elem (i32.const 2) funcref (ref.null func) (ref.func $a)))"#,
        );
        let images = TableImage::for_module(&m);
        let image = images[DefinedTableIndex::from_u32(0)].as_ref().unwrap();
        assert_eq!(&*image.funcs, &[NONE, 0, NONE, 0]);
        assert_eq!(&*image.pending, &[0b1010]);
        let mut lazy = LazyTable::new(image.clone());
        assert_eq!(lazy.take(0), None);
        assert_eq!(lazy.take(1), Some(FuncIndex::from_u32(0)));
        assert_eq!(lazy.take(1), None);
        lazy.clear(0, 100);
        assert_eq!(lazy.take(3), None);
        assert_eq!(lazy.take(1000), None);
    }

    #[test]
    fn no_image_when_a_segment_could_trap_or_is_not_constant() {
        for wat in [
            // Past the minimum: instantiation must trap.
            "(module (table 2 funcref) (func $a) (elem (i32.const 1) func $a $a))",
            // An imported global's offset.
            "(module (global $g (import \"m\" \"g\") i32) (table 2 funcref) (func $a)
               (elem (global.get $g) func $a))",
            // Too sparse: one item 100,000 slots in.
            "(module (table 200000 funcref) (func $a) (elem (i32.const 100000) func $a))",
            // No segment.
            "(module (table 2 funcref))",
            // An externref table.
            "(module (table 2 externref) (elem (i32.const 0) externref (ref.null extern)))",
        ] {
            let images = TableImage::for_module(&module(wat));
            assert!(images.values().all(Option::is_none), "{wat}");
        }
    }

    #[test]
    fn clear_handles_partial_and_whole_words() {
        let mut wat = alloc::string::String::from(
            "(module (table 200 funcref) (func $a) (elem (i32.const 0) func",
        );
        for _ in 0..200 {
            wat += " $a";
        }
        wat += "))";
        let images = TableImage::for_module(&module(&wat));
        let mut lazy = LazyTable::new(images[DefinedTableIndex::from_u32(0)].clone().unwrap());
        lazy.clear(3, 150);
        let left: alloc::vec::Vec<usize> = (0..200).filter(|&i| lazy.take(i).is_some()).collect();
        let expected: alloc::vec::Vec<usize> = (0..3).chain(153..200).collect();
        assert_eq!(left, expected);
    }
}
