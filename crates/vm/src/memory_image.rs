//! Copy-on-write memory images: a module's data segments laid out once,
//! page-aligned, as the initial contents of a linear memory, which each
//! new instance maps copy-on-write instead of copying the segments (as
//! Wasmtime's `memory-init-cow`). The mapping comes from the platform
//! ([`Platform::memory_image_new`](keel_trap::Platform::memory_image_new);
//! hosted: a `memfd`); platforms without it keep the copying path.

use crate::{VmError, sys};
use alloc::vec;
use keel_translate::{ConstOp, DataMode, DefinedMemoryIndex, Module, PrimaryMap, WASM_PAGE_SIZE};
use keel_trap::MemoryImageSource;

/// Below this many bytes of data, copying the segments is cheaper than a
/// mapping (and the page fault of its first write).
const MIN_IMAGE_DATA: usize = 4096;

/// An image may be at most this many times its data (plus one wasm page),
/// so that sparse segments far apart do not make a huge image.
const MAX_SPARSENESS: usize = 4;

/// The initial contents of one defined memory: `source` holds the bytes
/// that belong at `offset..offset + source.len` (both page-aligned); all
/// other bytes are zero.
#[derive(Debug)]
pub struct MemoryImage {
    offset: usize,
    source: MemoryImageSource,
    /// Unique in the process (never reused), so that a pooled memory can
    /// tell whether it still holds this image.
    id: u64,
}

/// The next [`MemoryImage::id`] (0 means "no image").
static NEXT_ID: core::sync::atomic::AtomicU64 = core::sync::atomic::AtomicU64::new(1);

/// A module's images, one entry per defined memory (`None`: the memory's
/// data segments are copied at instantiation).
pub type MemoryImages = PrimaryMap<DefinedMemoryIndex, Option<MemoryImage>>;

impl MemoryImage {
    /// The images of `module`'s defined memories.
    ///
    /// A memory gets an image when every active data segment for it has a
    /// constant offset (`i32.const`) and lies inside its minimum size, and
    /// there is enough data to be worth a mapping; otherwise (and when the
    /// platform cannot map images) its segments are copied at
    /// instantiation, which also reports segments out of bounds as the
    /// spec requires. A platform that fails to make an image only loses
    /// the optimization.
    pub fn for_module(module: &Module) -> MemoryImages {
        let mut images = PrimaryMap::new();
        for (index, ty) in module.memories.iter() {
            if module.defined_memory_index(index).is_none() {
                continue;
            }
            let min_bytes = ty.pages_to_bytes(ty.limits.min);
            images.push(Self::build(module, index, min_bytes));
        }
        images
    }

    fn build(module: &Module, memory: keel_translate::MemoryIndex, min_bytes: u64) -> Option<Self> {
        let page = sys::page_size();
        let mut segments = vec![];
        let mut data_bytes = 0usize;
        for (_, segment) in module.data.iter() {
            let DataMode::Active { memory: m, offset } = &segment.mode else {
                continue;
            };
            if *m != memory {
                continue;
            }
            let start = match offset.ops.as_slice() {
                [ConstOp::I32Const(start)] => u64::from(*start as u32),
                [ConstOp::I64Const(start)] => *start as u64,
                _ => return None,
            };
            let end = start.checked_add(segment.data.len() as u64)?;
            if end > min_bytes {
                return None;
            }
            data_bytes += segment.data.len();
            segments.push((start as usize, &segment.data));
        }
        if data_bytes < MIN_IMAGE_DATA {
            return None;
        }
        let first = segments.iter().map(|(s, _)| *s).min()?;
        let last = segments.iter().map(|(s, d)| *s + d.len()).max()?;
        let offset = first - first % page;
        let end = last.next_multiple_of(page);
        let len = end - offset;
        if len > data_bytes.saturating_mul(MAX_SPARSENESS) + WASM_PAGE_SIZE as usize {
            return None;
        }
        let mut bytes = vec![0u8; len];
        // In order: a later segment overwrites an earlier one.
        for (start, data) in segments {
            bytes[start - offset..start - offset + data.len()].copy_from_slice(data);
        }
        let platform = sys::platform().ok()?;
        let source = platform.memory_image_new(&bytes).ok()??;
        if source.len != len {
            // SAFETY: the image came from this platform and is freed once.
            unsafe { platform.memory_image_free(&source) };
            return None;
        }
        let id = NEXT_ID.fetch_add(1, core::sync::atomic::Ordering::Relaxed);
        Some(Self { offset, source, id })
    }

    /// The image's process-wide id (never 0).
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The byte offset in the memory where the image starts.
    pub fn offset(&self) -> usize {
        self.offset
    }

    /// The image's length in bytes.
    pub fn len(&self) -> usize {
        self.source.len
    }

    /// Whether the image is empty (never: empty images are not made).
    pub fn is_empty(&self) -> bool {
        self.source.len == 0
    }

    /// Map the image into a memory whose base is `base`.
    ///
    /// # Safety
    ///
    /// `base + offset .. base + offset + len` must be accessible memory
    /// of a live reservation with no references into it.
    pub(crate) unsafe fn map_at(&self, base: *mut u8) -> Result<(), VmError> {
        let platform = sys::platform()?;
        // SAFETY: the offset lies inside the memory per the caller.
        let addr = unsafe { base.add(self.offset) };
        let addr = core::ptr::NonNull::new(addr)
            .ok_or_else(|| VmError::ImplLimit("memory image at a null address".into()))?;
        // SAFETY: per the caller's contract; the image is live (self).
        unsafe { platform.memory_image_map(&self.source, addr) }
            .map_err(|e| VmError::platform("cannot map a memory image", e))
    }
}

impl Drop for MemoryImage {
    fn drop(&mut self) {
        if let Ok(platform) = sys::platform() {
            // SAFETY: the source came from this platform and is freed once;
            // memories it is mapped into keep their contents (platform
            // contract).
            unsafe { platform.memory_image_free(&self.source) };
        }
    }
}
