//! In-memory stdio: give a guest fixed input, capture its output.
//!
//! ```
//! use keel_wasi::pipe::{MemoryInputPipe, MemoryOutputPipe};
//! let stdout = MemoryOutputPipe::new(1 << 20);
//! let mut builder = keel_wasi::WasiCtxBuilder::new();
//! builder
//!     .stdin(MemoryInputPipe::new("input"))
//!     .stdout(stdout.clone());
//! let ctx = builder.build();
//! // ... run a guest with `ctx`, then:
//! assert!(stdout.contents().is_empty());
//! # drop(ctx);
//! ```

use alloc::sync::Arc;
use alloc::vec::Vec;

use spin::Mutex;

use crate::file::WasiFile;
use crate::types::{Errno, Filestat, Filetype};

/// A readable stream over fixed bytes (for stdin): reads return them in
/// order, then end of file.
#[derive(Clone, Debug)]
pub struct MemoryInputPipe {
    inner: Arc<Mutex<(Vec<u8>, usize)>>,
}

impl MemoryInputPipe {
    /// A pipe that yields `bytes`, then end of file.
    pub fn new(bytes: impl Into<Vec<u8>>) -> MemoryInputPipe {
        MemoryInputPipe {
            inner: Arc::new(Mutex::new((bytes.into(), 0))),
        }
    }
}

impl WasiFile for MemoryInputPipe {
    fn filetype(&self) -> Filetype {
        Filetype::Unknown
    }

    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Errno> {
        let mut inner = self.inner.lock();
        let (bytes, pos) = &mut *inner;
        let rest = &bytes[*pos..];
        let n = rest.len().min(buf.len());
        buf[..n].copy_from_slice(&rest[..n]);
        *pos += n;
        Ok(n)
    }

    fn bytes_ready(&self) -> Option<u64> {
        let inner = self.inner.lock();
        Some((inner.0.len() - inner.1) as u64)
    }

    fn filestat(&self) -> Result<Filestat, Errno> {
        Ok(Filestat::of_type(Filetype::Unknown))
    }
}

/// A writable stream that collects what is written, up to a capacity, for
/// stdout/stderr. Clones share the buffer: keep one to read the output.
#[derive(Clone, Debug)]
pub struct MemoryOutputPipe {
    capacity: usize,
    buffer: Arc<Mutex<Vec<u8>>>,
}

impl MemoryOutputPipe {
    /// An empty pipe that accepts up to `capacity` bytes; writes past it
    /// fail with `ENOSPC`.
    pub fn new(capacity: usize) -> MemoryOutputPipe {
        MemoryOutputPipe {
            capacity,
            buffer: Arc::new(Mutex::new(Vec::new())),
        }
    }

    /// A copy of everything written so far.
    pub fn contents(&self) -> Vec<u8> {
        self.buffer.lock().clone()
    }
}

impl WasiFile for MemoryOutputPipe {
    fn filetype(&self) -> Filetype {
        Filetype::Unknown
    }

    fn write(&mut self, buf: &[u8]) -> Result<usize, Errno> {
        let mut buffer = self.buffer.lock();
        if buffer.len() + buf.len() > self.capacity {
            return Err(Errno::Nospc);
        }
        buffer.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn filestat(&self) -> Result<Filestat, Errno> {
        Ok(Filestat::of_type(Filetype::Unknown))
    }
}

/// A stream that reads as end of file and discards writes (stdio not
/// given to the builder).
#[derive(Clone, Copy, Debug, Default)]
pub struct Closed;

impl WasiFile for Closed {
    fn filetype(&self) -> Filetype {
        Filetype::Unknown
    }

    fn read(&mut self, _buf: &mut [u8]) -> Result<usize, Errno> {
        Ok(0)
    }

    fn write(&mut self, buf: &[u8]) -> Result<usize, Errno> {
        Ok(buf.len())
    }

    fn bytes_ready(&self) -> Option<u64> {
        Some(0)
    }
}
