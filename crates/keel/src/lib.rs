//! keel: an embeddable WebAssembly runtime that compiles with Cranelift.
//!
//! The API follows Wasmtime's shape: an [`Engine`] compiles [`Module`]s, a
//! [`Store`] owns instances and host state, a [`Linker`] resolves imports,
//! and [`Func`], [`TypedFunc`], [`Memory`], [`Table`] and [`Global`] are
//! cheap handles into a store.
//!
//! ```
//! use keel::{Engine, Linker, Module, Store};
//!
//! let engine = Engine::default();
//! let module = Module::new(&engine, r#"
//!     (module
//!       (import "host" "double" (func $double (param i32) (result i32)))
//!       (func (export "run") (param i32) (result i32)
//!         local.get 0
//!         call $double
//!         i32.const 1
//!         i32.add))
//! "#)?;
//! let mut store = Store::new(&engine, ());
//! let mut linker = Linker::new(&engine);
//! linker.func_wrap("host", "double", |x: i32| x * 2)?;
//! let instance = linker.instantiate(&mut store, &module)?;
//! let run = instance.get_typed_func::<i32, i32>(&mut store, "run")?;
//! assert_eq!(run.call(&mut store, 20)?, 41);
//! # Ok::<(), keel::Error>(())
//! ```
//!
//! # Traps and errors
//!
//! Every fallible call returns [`Result`]. A WebAssembly trap is an
//! [`Error`] holding a [`Trap`], as in Wasmtime: `err.downcast_ref::<Trap>()`
//! gives it (`Trap::OutOfFuel`, `Trap::MemoryOutOfBounds`, ...) and
//! `err.downcast_ref::<WasmBacktrace>()` the wasm frames. An `Err` returned by a host function travels through the
//! wasm frames and comes back out of [`Func::call`] as that same error; a
//! panic in a host function resumes as a panic in the caller.
//!
//! # Features
//!
//! | feature    | default | effect                                              |
//! |------------|---------|-----------------------------------------------------|
//! | `std`      | yes     | hosted Linux platform, host CPU detection, parallel compilation, catching host panics |
//! | `compiler` | yes     | compile modules with Cranelift (keel-compile)       |
//! | `wat`      | yes     | accept the text format in [`Module::new`] (needs `std`) |
//!
//! # Bare metal
//!
//! Without `std` (`default-features = false, features = ["compiler"]`)
//! keel is `#![no_std]` + `alloc`: a kernel supplies a [`Platform`]
//! (memory mapping, whether faults reach keel, a per-CPU [`CpuLocal`]),
//! names the target and its CPU features, and calls [`trap_entry`] from
//! its exception vector:
//!
//! ```text
//! static PLATFORM: MyPlatform = MyPlatform::new();
//! static PLATFORM_REF: &dyn keel::Platform = &PLATFORM;
//!
//! let mut config = keel::Config::new();
//! config
//!     .platform(&PLATFORM_REF)
//!     .target("x86_64-unknown-none")?
//!     .cranelift_flag_enable("has_sse41")?;
//! let engine = keel::Engine::new(&config)?;
//! let module = keel::Module::from_binary(&engine, WASM)?;
//!
//! // In the page-fault (and #UD, #DE) handler:
//! // SAFETY: called on the faulting CPU with the faulting frame's state.
//! if !unsafe { keel::trap_entry(rip, rbp, cr2) } {
//!     // not a wasm trap: the kernel's own fault
//! }
//! ```
//!
//! `examples/kernel-x86_64` is a complete kernel that does this under QEMU.

#![no_std]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

mod prelude {
    pub use alloc::boxed::Box;
    pub use alloc::format;
    pub use alloc::string::{String, ToString};
    pub use alloc::vec;
    pub use alloc::vec::Vec;
}

mod activations;
#[cfg(feature = "cache")]
mod cache;
mod compat;
#[cfg(feature = "compiler")]
mod compiler;
#[cfg(not(feature = "compiler"))]
#[path = "compiler_disabled.rs"]
mod compiler;
mod config;
mod context;
mod engine;
mod epoch;
mod exception;
mod exception_state;
mod externals;
mod externref;
mod fiber;
mod fiber_state;
mod fuel;
mod func;
mod func_state;
mod gc_refs;
mod gc_state;
mod handles;
mod instance;
#[cfg(feature = "compiler")]
mod lazy;
mod linker;
mod matching;
mod module;
mod pooling;
mod profiling;
mod resource_limiter;
mod rooting;
mod shared_memory;
mod store;
mod trap;
mod type_registry;
mod typed;
mod types;
mod values;
mod vm_store;

#[cfg(feature = "cache")]
pub use cache::{Cache, CacheConfig, DEFAULT_FILES_TOTAL_SIZE_SOFT_LIMIT};
pub use config::Config;
pub use context::{AsContext, AsContextMut};
pub use engine::Engine;
pub use epoch::EpochDeadline;
pub use exception::{ExnRef, ThrownException};
pub use func::Caller;
pub use gc_refs::{
    AnyRef, ArrayRef, ArrayRefPre, ArrayType, EqRef, FieldType, GcHeapOutOfMemory, I31,
    StorageType, StructRef, StructRefPre, StructType,
};
pub use handles::{Extern, ExternRef, Func, Global, Instance, Memory, Table, Tag};
pub use instance::Export;
#[cfg(feature = "std")]
pub use keel_trap::HostedPlatform;
pub use keel_trap::{Access, CpuLocal, MemoryImageSource, Platform, PlatformError, trap_entry};
pub use linker::Linker;
pub use matching::LinkError;
pub use module::Module;
pub use pooling::{InstanceAllocationStrategy, PoolingAllocationConfig};
pub use profiling::ProfilingStrategy;
#[cfg(feature = "std")]
pub use profiling::perf_map_path;
pub use resource_limiter::{
    DEFAULT_INSTANCE_LIMIT, DEFAULT_MEMORY_LIMIT, DEFAULT_TABLE_LIMIT, ResourceLimiter,
    StoreLimits, StoreLimitsBuilder,
};
pub use rooting::{GcRef, GcRootIndex, OwnedRooted, RootScope, Rooted};
pub use shared_memory::{SharedMemory, WaitResult};
pub use store::{Store, StoreContext, StoreContextMut, UpdateDeadline};
pub use trap::{FrameInfo, WasmBacktrace};
#[doc(hidden)]
pub use typed::RawStore;
pub use typed::{IntoFunc, TypedFunc, WasmParams, WasmResults, WasmRet, WasmTy};
pub use types::{
    ExportType, ExternType, FuncType, GlobalType, HeapType, ImportType, MemoryType, Mutability,
    RefType, TableType, TagType, ValType,
};
pub use values::{Ref, Val};

pub use keel_translate::{DisplayName, SharedTypeIndex, Trap, TypeRef};

/// Why a module was refused: [`WasmError::InvalidWasm`] (malformed or
/// invalid, with the byte offset), [`WasmError::Unsupported`] (a feature
/// keel does not implement) or [`WasmError::ImplLimit`] (past one of
/// keel's implementation limits, see [`limits`]). Downcast it from the
/// error of [`Module::new`]: `err.downcast_ref::<keel::WasmError>()`.
pub use keel_translate::WasmError;

/// keel's implementation limits (counts and sizes a module or instance may
/// reach).
pub use keel_translate::limits;

/// A code generator failure (Cranelift or the target), downcastable from
/// the error of [`Module::new`]; invalid and unsupported modules are
/// [`WasmError`]s instead.
#[cfg(feature = "compiler")]
pub use keel_compile::CompileError;

/// Why a runtime resource (linear memory, table, code memory) could not be
/// created or grown, downcastable from instantiation and
/// [`Memory::new`]/[`Table::new`] errors; its
/// [`source`](core::error::Error::source) is the platform's (OS) error.
pub use keel_vm::VmError;

/// Why an artifact cannot be loaded: malformed or corrupted bytes, or
/// code for another machine or other settings, downcastable from the error
/// of [`Module::deserialize`].
pub use keel_vm::artifact::ArtifactError;

/// The error type of every keel API: an [`anyhow::Error`]. Traps are
/// [`Trap`] values inside it; translation errors are
/// [`keel_translate::WasmError`].
pub type Error = anyhow::Error;

pub use anyhow::{bail, ensure, format_err};

/// `Result` with keel's [`Error`].
pub type Result<T, E = Error> = core::result::Result<T, E>;
