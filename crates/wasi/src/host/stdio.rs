//! The process's stdin, stdout and stderr, read and written directly
//! through their file descriptors (no buffering in between, so output
//! interleaves with the host's as the guest wrote it).

use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd};

use super::IoResultExt;
use crate::file::WasiFile;
use crate::types::{Errno, Filetype};

/// Character device when a terminal, unknown otherwise (a pipe or file),
/// as wasmtime-wasi reports stdio.
fn stdio_filetype(fd: impl AsFd) -> Filetype {
    if rustix::termios::isatty(fd) {
        Filetype::CharacterDevice
    } else {
        Filetype::Unknown
    }
}

/// The process's stdin.
#[derive(Clone, Copy, Debug, Default)]
pub struct Stdin;

impl WasiFile for Stdin {
    fn filetype(&self) -> Filetype {
        stdio_filetype(std::io::stdin())
    }

    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Errno> {
        std::io::stdin().lock().read(buf).errno()
    }

    fn pollable(&self) -> Option<i32> {
        Some(std::io::stdin().as_raw_fd())
    }
}

/// The process's stdout.
#[derive(Clone, Copy, Debug, Default)]
pub struct Stdout;

impl WasiFile for Stdout {
    fn filetype(&self) -> Filetype {
        stdio_filetype(std::io::stdout())
    }

    fn write(&mut self, buf: &[u8]) -> Result<usize, Errno> {
        let mut out = std::io::stdout().lock();
        out.write_all(buf).errno()?;
        out.flush().errno()?;
        Ok(buf.len())
    }

    fn pollable(&self) -> Option<i32> {
        Some(std::io::stdout().as_raw_fd())
    }
}

/// The process's stderr.
#[derive(Clone, Copy, Debug, Default)]
pub struct Stderr;

impl WasiFile for Stderr {
    fn filetype(&self) -> Filetype {
        stdio_filetype(std::io::stderr())
    }

    fn write(&mut self, buf: &[u8]) -> Result<usize, Errno> {
        std::io::stderr().lock().write_all(buf).errno()?;
        Ok(buf.len())
    }

    fn pollable(&self) -> Option<i32> {
        Some(std::io::stderr().as_raw_fd())
    }
}
