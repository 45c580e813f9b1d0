//! [`Linker`]: resolves imports by name.

use crate::func::{HostFn, new_host_func};
use crate::prelude::*;
use crate::store::StoreInner;
use crate::typed::IntoFunc;
use crate::{
    AsContext, AsContextMut, Caller, Engine, Extern, FuncType, Instance, Module, Result,
    WasmParams, WasmRet,
};
use hashbrown::HashMap;

type SharedHostFn<T> = HostFn<T>;

enum Definition<T> {
    /// An entity of a particular store.
    Extern(Extern),
    /// A host function, created in each store that instantiates with it.
    HostFunc(FuncType, SharedHostFn<T>),
}

impl<T> Clone for Definition<T> {
    fn clone(&self) -> Self {
        match self {
            Definition::Extern(e) => Definition::Extern(e.clone()),
            Definition::HostFunc(t, f) => Definition::HostFunc(t.clone(), f.clone()),
        }
    }
}

/// Names for imports: `(module, name)` → definition. Instantiating through
/// a linker looks each import of a module up by its two names.
pub struct Linker<T> {
    engine: Engine,
    definitions: HashMap<(String, String), Definition<T>>,
    allow_shadowing: bool,
}

impl<T> core::fmt::Debug for Linker<T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Linker")
            .field("definitions", &self.definitions.len())
            .finish_non_exhaustive()
    }
}

impl<T: 'static> Linker<T> {
    /// An empty linker for stores of `engine`.
    pub fn new(engine: &Engine) -> Self {
        Self {
            engine: engine.clone(),
            definitions: HashMap::new(),
            allow_shadowing: false,
        }
    }

    /// Whether a later definition may replace an earlier one of the same
    /// names. Default: no (it is an error).
    pub fn allow_shadowing(&mut self, allow: bool) -> &mut Self {
        self.allow_shadowing = allow;
        self
    }

    fn insert(&mut self, module: &str, name: &str, def: Definition<T>) -> Result<&mut Self> {
        let key = (module.to_string(), name.to_string());
        if !self.allow_shadowing && self.definitions.contains_key(&key) {
            anyhow::bail!("import `{module}::{name}` is already defined");
        }
        self.definitions.insert(key, def);
        Ok(self)
    }

    /// Define `module::name` as a host function from a Rust closure (see
    /// [`Func::wrap`](crate::Func::wrap)).
    ///
    /// # Errors
    ///
    /// If the name is taken and shadowing is off.
    pub fn func_wrap<Params, Results>(
        &mut self,
        module: &str,
        name: &str,
        func: impl IntoFunc<T, Params, Results>,
    ) -> Result<&mut Self> {
        let (ty, body) = func.into_func();
        let shared: SharedHostFn<T> = body;
        self.insert(module, name, Definition::HostFunc(ty, shared))
    }

    /// Define `module::name` as an async host function (see
    /// [`Func::wrap_async`](crate::Func::wrap_async)), as Wasmtime's
    /// `Linker::func_wrap_async`: `func` gets the [`Caller`] and the
    /// parameters as a tuple and returns a boxed future of the results;
    /// the calling guest is suspended while it is pending.
    ///
    /// # Errors
    ///
    /// If async support is not enabled
    /// ([`Config::async_support`](crate::Config::async_support)), or the
    /// name is taken and shadowing is off.
    pub fn func_wrap_async<Params, Results>(
        &mut self,
        module: &str,
        name: &str,
        func: impl for<'a> Fn(
            Caller<'a, T>,
            Params,
        ) -> Box<dyn core::future::Future<Output = Results> + Send + 'a>
        + Send
        + Sync
        + 'static,
    ) -> Result<&mut Self>
    where
        Params: WasmParams,
        Results: WasmRet,
    {
        crate::fiber::ensure_async_support(&self.engine, "async host functions")
            .map_err(|e| anyhow::anyhow!("cannot define `{module}::{name}`: {e}"))?;
        let (ty, body) = crate::typed::async_host_fn(func);
        self.insert(module, name, Definition::HostFunc(ty, body))
    }

    /// Define `module::name` as `item`, an entity of `store`.
    ///
    /// # Errors
    ///
    /// If the name is taken and shadowing is off.
    pub fn define(
        &mut self,
        _store: impl AsContext<Data = T>,
        module: &str,
        name: &str,
        item: impl Into<Extern>,
    ) -> Result<&mut Self> {
        self.insert(module, name, Definition::Extern(item.into()))
    }

    /// Define every export of `instance` under module name `module_name`.
    ///
    /// # Errors
    ///
    /// If a name is taken and shadowing is off.
    pub fn instance(
        &mut self,
        mut store: impl AsContextMut<Data = T>,
        module_name: &str,
        instance: Instance,
    ) -> Result<&mut Self> {
        let exports: Vec<(String, Extern)> = instance
            .exports(store.as_context_mut())
            .map(|e| (e.name().to_string(), e.into_extern()))
            .collect();
        for (name, ext) in exports {
            self.insert(module_name, &name, Definition::Extern(ext))?;
        }
        Ok(self)
    }

    fn resolve(&self, store: &mut StoreInner<T>, def: &Definition<T>) -> Result<Extern> {
        Ok(match def {
            Definition::Extern(e) => e.clone(),
            Definition::HostFunc(ty, f) => {
                Extern::Func(new_host_func(store, ty.clone(), f.clone())?)
            }
        })
    }

    /// The definition of `module::name`, if any.
    pub fn get(
        &self,
        mut store: impl AsContextMut<Data = T>,
        module: &str,
        name: &str,
    ) -> Option<Extern> {
        let def = self
            .definitions
            .get(&(module.to_string(), name.to_string()))?;
        self.resolve(store.as_context_mut().0, def).ok()
    }

    /// Instantiate `module`, resolving each import by name.
    ///
    /// # Errors
    ///
    /// "unknown import" if an import has no definition, and every error of
    /// [`Instance::new`].
    pub fn instantiate(
        &self,
        mut store: impl AsContextMut<Data = T>,
        module: &Module,
    ) -> Result<Instance> {
        let store = store.as_context_mut().0;
        let imports = self.resolve_imports(store, module)?;
        Instance::new_raw(store, module, &imports)
    }

    /// As [`Linker::instantiate`], running the start function on a stack
    /// of its own that async host functions and async yields can suspend
    /// (see [`Instance::new_async`]).
    ///
    /// # Errors
    ///
    /// As [`Linker::instantiate`] and [`Instance::new_async`].
    pub async fn instantiate_async(
        &self,
        mut store: impl AsContextMut<Data = T>,
        module: &Module,
    ) -> Result<Instance>
    where
        T: Send,
    {
        let store = store.as_context_mut().0;
        let imports = self.resolve_imports(store, module)?;
        Instance::new_raw_async(store, module, &imports).await
    }

    /// The definition of each import of `module`, in order.
    fn resolve_imports(&self, store: &mut StoreInner<T>, module: &Module) -> Result<Vec<Extern>> {
        if !Engine::same(&self.engine, module.engine()) {
            anyhow::bail!("module was compiled by another engine than the linker's");
        }
        let mut imports = Vec::with_capacity(module.inner.module.imports.len());
        for import in module.imports() {
            let def = self
                .definitions
                .get(&(import.module().to_string(), import.name().to_string()))
                .ok_or_else(|| {
                    crate::LinkError::UnknownImport {
                        module: import.module().to_string(),
                        name: import.name().to_string(),
                    }
                    .into_error()
                })?;
            imports.push(self.resolve(store, def)?);
        }
        Ok(imports)
    }
}
