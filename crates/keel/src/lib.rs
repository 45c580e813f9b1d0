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
//! [`Error`] holding a [`Trap`]: `err.downcast_ref::<Trap>()` gives its
//! [`TrapCode`]. An `Err` returned by a host function travels through the
//! wasm frames and comes back out of [`Func::call`] as that same error; a
//! panic in a host function resumes as a panic in the caller.
//!
//! # Features
//!
//! | feature    | default | effect                                              |
//! |------------|---------|-----------------------------------------------------|
//! | `compiler` | yes     | compile modules with Cranelift (keel-compile)       |
//! | `wat`      | yes     | accept the text format in [`Module::new`]           |

mod engine;
mod externals;
mod externref;
mod func;
mod instance;
mod linker;
mod module;
mod store;
mod trap;
mod typed;
mod types;
mod values;

pub use engine::{Config, Engine};
pub use externals::{Global, Memory, Table};
pub use externref::ExternRef;
pub use func::{Caller, Func};
pub use instance::{Export, Extern, Instance};
pub use linker::Linker;
pub use module::Module;
pub use store::{AsContext, AsContextMut, Store, StoreContext, StoreContextMut};
pub use trap::{FrameInfo, Trap, WasmBacktrace};
pub use typed::{IntoFunc, TypedFunc, WasmParams, WasmResults, WasmRet, WasmTy};
pub use types::{
    ExportType, ExternType, FuncType, GlobalType, ImportType, MemoryType, Mutability, TableType,
    ValType,
};
pub use values::Val;

pub use keel_translate::TrapCode;

/// The error type of every keel API: an [`anyhow::Error`]. Traps are
/// [`Trap`] values inside it; translation errors are
/// [`keel_translate::TranslateError`].
pub type Error = anyhow::Error;

/// `Result` with keel's [`Error`].
pub type Result<T, E = Error> = core::result::Result<T, E>;
