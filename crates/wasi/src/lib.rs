//! WASI preview 1 (`wasi_snapshot_preview1`) for keel, over keel's public
//! API, shaped like wasmtime-wasi's preview 1:
//!
//! ```no_run
//! use keel::{Engine, Linker, Module, Store};
//! use keel_wasi::{DirPerms, FilePerms, WasiCtx, WasiCtxBuilder};
//!
//! struct State {
//!     wasi: WasiCtx,
//! }
//!
//! # fn main() -> keel::Result<()> {
//! let engine = Engine::default();
//! let module = Module::from_file(&engine, "hello.wasm")?;
//! let mut linker = Linker::new(&engine);
//! keel_wasi::p1::add_to_linker_sync(&mut linker, |state: &mut State| &mut state.wasi)?;
//! let wasi = WasiCtxBuilder::new()
//!     .args(&["hello.wasm", "world"])
//!     .inherit_stdio()
//!     .preopened_dir("/tmp/sandbox", "/sandbox", DirPerms::all(), FilePerms::all())?
//!     .build();
//! let mut store = Store::new(&engine, State { wasi });
//! let instance = linker.instantiate(&mut store, &module)?;
//! let start = instance.get_typed_func::<(), ()>(&mut store, "_start")?;
//! match start.call(&mut store, ()) {
//!     Ok(()) => {}
//!     Err(e) => match e.downcast_ref::<keel_wasi::I32Exit>() {
//!         Some(exit) => println!("exited with {}", exit.0),
//!         None => return Err(e),
//!     },
//! }
//! # Ok(())
//! # }
//! ```
//!
//! # Layout
//!
//! * The core is `no_std` + `alloc`: argument and pointer decoding
//!   ([`p1::add_to_linker_sync`]), the descriptor table, rights and errno mapping
//!   ([`WasiCtx`]), and dispatch to four traits a home implements:
//!   [`WasiFile`] and [`WasiDir`] for files and directories (a kernel's
//!   VFS), [`WasiClocks`], [`WasiRandom`] and [`WasiSched`].
//! * The `std` feature (on by default) adds the hosted backend: host
//!   directories sandboxed by [`cap-std`](https://docs.rs/cap-std) (no
//!   path resolves outside a preopen, by `..`, absolute paths or
//!   symbolic links), the process's stdio and environment, the OS clocks
//!   and random source, `poll(2)` for `poll_oneoff`, and preopened TCP
//!   listeners for the `sock_*` functions.
//!
//! Guest pointers and lengths are checked against the memory: one out of
//! range gives `EFAULT`, a misaligned one `EINVAL`, a path that is not
//! UTF-8 `EILSEQ`; nothing a guest passes can make the host panic.
//!
//! Reference: [the preview 1 witx and its
//! documentation](https://github.com/WebAssembly/WASI/blob/wasi-0.1/preview1/docs.md).

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

mod ctx;
mod dir;
mod file;
mod memory;
pub mod p1;
pub mod pipe;
mod sched;
pub mod types;

#[cfg(feature = "std")]
mod host;

pub use ctx::{WasiCtx, WasiCtxBuilder};
pub use dir::{OpenOptions, Opened, WasiDir};
pub use file::WasiFile;
pub use p1::{MAX_IOVECS, MAX_PATH_LEN, MAX_POLL_SUBSCRIPTIONS, MODULE};
pub use sched::{PollFd, WaitFuture, WasiClocks, WasiRandom, WasiSched};
pub use types::{DirPerms, Errno, FilePerms};

#[cfg(feature = "std")]
pub use host::{
    HostClocks, HostDir, HostFile, HostRandom, HostSched, Stderr, Stdin, Stdout, TcpListenerFile,
    TcpStreamFile,
};

/// The error a guest's `proc_exit(code)` ends the call with: the call
/// returns `Err`, and `err.downcast_ref::<I32Exit>()` gives the code.
/// Every `i32` is passed through; `keel run` exits the process with it
/// (see its documentation for codes outside 0..=255).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct I32Exit(pub i32);

impl core::fmt::Display for I32Exit {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Exited with i32 exit status {}", self.0)
    }
}

impl core::error::Error for I32Exit {}
