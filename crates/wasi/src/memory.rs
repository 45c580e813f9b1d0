//! Checked access to the guest's linear memory: every pointer and length
//! the guest passes is checked here, so an out-of-range one becomes
//! `EFAULT` (and a misaligned one `EINVAL`, as wiggle-generated hosts do)
//! instead of a host panic.

use crate::types::Errno;

/// The guest's linear memory during one WASI call.
pub(crate) struct GuestMemory<'a> {
    data: &'a mut [u8],
}

impl<'a> GuestMemory<'a> {
    pub(crate) fn new(data: &'a mut [u8]) -> GuestMemory<'a> {
        GuestMemory { data }
    }

    /// The byte range `ptr..ptr + len` of memory, checked.
    fn range(&self, ptr: u32, len: u32) -> Result<core::ops::Range<usize>, Errno> {
        let start = ptr as usize;
        let end = start.checked_add(len as usize).ok_or(Errno::Fault)?;
        if end > self.data.len() {
            return Err(Errno::Fault);
        }
        Ok(start..end)
    }

    /// Check that `count` elements of `size` bytes and alignment `align`
    /// starting at `ptr` are in bounds and aligned; returns the byte length.
    pub(crate) fn check_array(
        &self,
        ptr: u32,
        count: u32,
        size: u32,
        align: u32,
    ) -> Result<u32, Errno> {
        let len = count.checked_mul(size).ok_or(Errno::Fault)?;
        self.range(ptr, len)?;
        if !ptr.is_multiple_of(align) {
            return Err(Errno::Inval);
        }
        Ok(len)
    }

    /// `len` bytes at `ptr`.
    pub(crate) fn slice(&self, ptr: u32, len: u32) -> Result<&[u8], Errno> {
        let range = self.range(ptr, len)?;
        Ok(&self.data[range])
    }

    /// `len` bytes at `ptr`, mutably.
    pub(crate) fn slice_mut(&mut self, ptr: u32, len: u32) -> Result<&mut [u8], Errno> {
        let range = self.range(ptr, len)?;
        Ok(&mut self.data[range])
    }

    /// `N` bytes at `ptr`, which must be `align`-aligned.
    fn bytes<const N: usize>(&self, ptr: u32, align: u32) -> Result<[u8; N], Errno> {
        let range = self.range(ptr, N as u32)?;
        if !ptr.is_multiple_of(align) {
            return Err(Errno::Inval);
        }
        let mut out = [0; N];
        out.copy_from_slice(&self.data[range]);
        Ok(out)
    }

    fn put<const N: usize>(&mut self, ptr: u32, align: u32, bytes: [u8; N]) -> Result<(), Errno> {
        let range = self.range(ptr, N as u32)?;
        if !ptr.is_multiple_of(align) {
            return Err(Errno::Inval);
        }
        self.data[range].copy_from_slice(&bytes);
        Ok(())
    }

    pub(crate) fn read_u8(&self, ptr: u32) -> Result<u8, Errno> {
        Ok(self.bytes::<1>(ptr, 1)?[0])
    }

    pub(crate) fn read_u16(&self, ptr: u32) -> Result<u16, Errno> {
        self.bytes(ptr, 2).map(u16::from_le_bytes)
    }

    pub(crate) fn read_u32(&self, ptr: u32) -> Result<u32, Errno> {
        self.bytes(ptr, 4).map(u32::from_le_bytes)
    }

    pub(crate) fn read_u64(&self, ptr: u32) -> Result<u64, Errno> {
        self.bytes(ptr, 8).map(u64::from_le_bytes)
    }

    pub(crate) fn write_u8(&mut self, ptr: u32, value: u8) -> Result<(), Errno> {
        self.put(ptr, 1, [value])
    }

    pub(crate) fn write_u16(&mut self, ptr: u32, value: u16) -> Result<(), Errno> {
        self.put(ptr, 2, value.to_le_bytes())
    }

    pub(crate) fn write_u32(&mut self, ptr: u32, value: u32) -> Result<(), Errno> {
        self.put(ptr, 4, value.to_le_bytes())
    }

    pub(crate) fn write_u64(&mut self, ptr: u32, value: u64) -> Result<(), Errno> {
        self.put(ptr, 8, value.to_le_bytes())
    }

    /// The UTF-8 string of `len` bytes at `ptr`: `EFAULT` out of range,
    /// `EILSEQ` if not UTF-8.
    pub(crate) fn str(&self, ptr: u32, len: u32) -> Result<&str, Errno> {
        core::str::from_utf8(self.slice(ptr, len)?).map_err(|_| Errno::Ilseq)
    }

    /// The `(buf, buf_len)` pairs of an `iovec`/`ciovec` array of `count`
    /// entries at `ptr`, each checked to lie in memory.
    pub(crate) fn iovecs(
        &self,
        ptr: u32,
        count: u32,
    ) -> Result<alloc::vec::Vec<(u32, u32)>, Errno> {
        self.check_array(ptr, count, crate::types::layout::IOVEC_SIZE, 4)?;
        let mut out = alloc::vec::Vec::with_capacity(count as usize);
        for i in 0..count {
            let entry = ptr + i * crate::types::layout::IOVEC_SIZE;
            let buf = self.read_u32(entry)?;
            let len = self.read_u32(entry + 4)?;
            self.range(buf, len)?;
            out.push((buf, len));
        }
        Ok(out)
    }
}
