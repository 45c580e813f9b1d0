//! Preopened TCP sockets: a listener the guest accepts connections on, and
//! the connections it gets.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::os::fd::AsRawFd;

use super::IoResultExt;
use crate::file::WasiFile;
use crate::types::{Errno, FdFlags, Filetype};

/// A listening TCP socket given to the guest
/// ([`WasiCtxBuilder::preopened_socket`](crate::WasiCtxBuilder::preopened_socket)).
#[derive(Debug)]
pub struct TcpListenerFile {
    listener: TcpListener,
}

impl TcpListenerFile {
    /// Wrap a bound, listening socket.
    pub fn new(listener: TcpListener) -> TcpListenerFile {
        TcpListenerFile { listener }
    }
}

impl WasiFile for TcpListenerFile {
    fn filetype(&self) -> Filetype {
        Filetype::SocketStream
    }

    fn sock_accept(&mut self, flags: FdFlags) -> Result<Box<dyn WasiFile>, Errno> {
        let (stream, _) = self.listener.accept().errno()?;
        stream
            .set_nonblocking(flags.contains(FdFlags::NONBLOCK))
            .errno()?;
        Ok(Box::new(TcpStreamFile { stream }))
    }

    fn pollable(&self) -> Option<i32> {
        Some(self.listener.as_raw_fd())
    }
}

/// An accepted TCP connection.
#[derive(Debug)]
pub struct TcpStreamFile {
    stream: TcpStream,
}

impl TcpStreamFile {
    /// Wrap a connected stream.
    pub fn new(stream: TcpStream) -> TcpStreamFile {
        TcpStreamFile { stream }
    }
}

impl WasiFile for TcpStreamFile {
    fn filetype(&self) -> Filetype {
        Filetype::SocketStream
    }

    fn fdflags(&self) -> FdFlags {
        match rustix::fs::fcntl_getfl(&self.stream) {
            Ok(flags) if flags.contains(rustix::fs::OFlags::NONBLOCK) => FdFlags::NONBLOCK,
            _ => FdFlags::empty(),
        }
    }

    fn set_fdflags(&mut self, flags: FdFlags) -> Result<(), Errno> {
        if !(flags - FdFlags::NONBLOCK).is_empty() {
            return Err(Errno::Inval);
        }
        self.stream
            .set_nonblocking(flags.contains(FdFlags::NONBLOCK))
            .errno()
    }

    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Errno> {
        self.stream.read(buf).errno()
    }

    fn write(&mut self, buf: &[u8]) -> Result<usize, Errno> {
        self.stream.write(buf).errno()
    }

    fn sock_recv(&mut self, buf: &mut [u8], peek: bool) -> Result<(usize, bool), Errno> {
        let n = if peek {
            self.stream.peek(buf)
        } else {
            self.stream.read(buf)
        };
        Ok((n.errno()?, false))
    }

    fn sock_send(&mut self, buf: &[u8]) -> Result<usize, Errno> {
        self.stream.write(buf).errno()
    }

    fn sock_shutdown(&mut self, read: bool, write: bool) -> Result<(), Errno> {
        let how = match (read, write) {
            (true, true) => Shutdown::Both,
            (true, false) => Shutdown::Read,
            _ => Shutdown::Write,
        };
        self.stream.shutdown(how).errno()
    }

    fn pollable(&self) -> Option<i32> {
        Some(self.stream.as_raw_fd())
    }
}
