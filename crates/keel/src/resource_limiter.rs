//! [`ResourceLimiter`]: the embedder's say over how large a store's
//! memories and tables grow and how many instances, memories and tables
//! it holds, with the ready-made [`StoreLimits`]. Same shape and meaning
//! as Wasmtime's `ResourceLimiter` and `StoreLimits`.

use crate::Result;
use crate::prelude::*;

/// The default of [`ResourceLimiter::instances`]: instances per store.
pub const DEFAULT_INSTANCE_LIMIT: usize = 10_000;
/// The default of [`ResourceLimiter::tables`]: tables per store.
pub const DEFAULT_TABLE_LIMIT: usize = 10_000;
/// The default of [`ResourceLimiter::memories`]: linear memories per store.
pub const DEFAULT_MEMORY_LIMIT: usize = 10_000;

/// Decides whether a store's linear memories and tables may grow, and
/// bounds how many instances, memories and tables the store may hold.
/// Install one with [`Store::limiter`](crate::Store::limiter).
///
/// keel consults it when a memory or table is created (at instantiation,
/// for each defined memory and table, with `current` = 0 and `desired` =
/// its minimum; refusing fails [`Instance::new`](crate::Instance::new)),
/// when wasm runs `memory.grow` / `table.grow`, and when the host calls
/// [`Memory::grow`](crate::Memory::grow) or
/// [`Table::grow`](crate::Table::grow). The counts are read when the
/// limiter is installed and enforced at each instantiation.
pub trait ResourceLimiter {
    /// A linear memory wants to grow from `current` to `desired` bytes;
    /// `maximum` is its declared maximum in bytes, if any (keel never
    /// grows past it, whatever this returns).
    ///
    /// `Ok(true)` allows the growth; `Ok(false)` refuses it (`memory.grow`
    /// returns -1, `Memory::grow` and instantiation fail); `Err` traps the
    /// running wasm with that error (or fails the host call).
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> Result<bool>;

    /// Growing a memory failed after [`memory_growing`](Self::memory_growing)
    /// allowed it (past its maximum, or the platform could not provide the
    /// memory). `Ok` lets `memory.grow` return -1; `Err` traps with it.
    /// Default: `Ok(())`.
    fn memory_grow_failed(&mut self, error: crate::Error) -> Result<()> {
        let _ = error;
        Ok(())
    }

    /// A table wants to grow from `current` to `desired` elements; as
    /// [`memory_growing`](Self::memory_growing).
    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> Result<bool>;

    /// Growing a table failed after [`table_growing`](Self::table_growing)
    /// allowed it. Default: `Ok(())`.
    fn table_grow_failed(&mut self, error: crate::Error) -> Result<()> {
        let _ = error;
        Ok(())
    }

    /// How many instances the store may hold. Default:
    /// [`DEFAULT_INSTANCE_LIMIT`].
    fn instances(&self) -> usize {
        DEFAULT_INSTANCE_LIMIT
    }

    /// How many tables (defined by instances or created by the host) the
    /// store may hold. Default: [`DEFAULT_TABLE_LIMIT`].
    fn tables(&self) -> usize {
        DEFAULT_TABLE_LIMIT
    }

    /// How many linear memories the store may hold. Default:
    /// [`DEFAULT_MEMORY_LIMIT`].
    fn memories(&self) -> usize {
        DEFAULT_MEMORY_LIMIT
    }

    /// The size in bytes past which this limiter refuses any memory, if it
    /// has such a fixed bound; keel names it in its errors. Default: `None`.
    /// (A keel addition; Wasmtime's trait has no such method.)
    fn memory_size_limit(&self) -> Option<usize> {
        None
    }

    /// The element count past which this limiter refuses any table, if it
    /// has such a fixed bound; keel names it in its errors. Default:
    /// `None`. (A keel addition, as
    /// [`memory_size_limit`](Self::memory_size_limit).)
    fn table_elements_limit(&self) -> Option<usize> {
        None
    }

    /// A host function wants to allocate `bytes` of host memory for the
    /// guest for the length of one call (a WASI function's copy of
    /// `poll_oneoff`'s subscriptions and their events), through
    /// [`Caller::host_memory_allocating`](crate::Caller::host_memory_allocating).
    /// `Ok(true)` allows it; `Ok(false)` refuses it (WASI functions then
    /// return `ENOMEM`); `Err` ends the call with that error. Default:
    /// `Ok(true)`. (A keel addition: Wasmtime's limiter governs only
    /// memories, tables and counts.)
    ///
    /// # Errors
    ///
    /// Whatever the limiter decides should end the call.
    fn host_memory_allocating(&mut self, bytes: usize) -> Result<bool> {
        let _ = bytes;
        Ok(true)
    }
}

/// A [`ResourceLimiter`] with fixed bounds, built with
/// [`StoreLimitsBuilder`]; unset bounds do not limit (counts default to
/// 10,000 each, as Wasmtime's).
///
/// ```
/// use keel::{Engine, Module, Store, StoreLimits, StoreLimitsBuilder};
///
/// struct State { limits: StoreLimits }
/// let engine = Engine::default();
/// let mut store = Store::new(&engine, State {
///     limits: StoreLimitsBuilder::new().memory_size(1 << 20).build(),
/// });
/// store.limiter(|state| &mut state.limits);
/// let module = Module::new(&engine, "(module (memory 17))")?; // 17 pages > 1 MiB
/// let err = keel::Instance::new(&mut store, &module, &[]).unwrap_err();
/// assert!(format!("{err:#}").contains("1048576 bytes"), "{err:#}");
/// # Ok::<(), keel::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct StoreLimits {
    memory_size: Option<usize>,
    table_elements: Option<usize>,
    instances: usize,
    tables: usize,
    memories: usize,
    trap_on_grow_failure: bool,
    host_memory: Option<usize>,
}

impl Default for StoreLimits {
    fn default() -> Self {
        Self {
            memory_size: None,
            table_elements: None,
            instances: DEFAULT_INSTANCE_LIMIT,
            tables: DEFAULT_TABLE_LIMIT,
            memories: DEFAULT_MEMORY_LIMIT,
            trap_on_grow_failure: false,
            host_memory: None,
        }
    }
}

impl ResourceLimiter for StoreLimits {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> Result<bool> {
        let allow = self.memory_size.is_none_or(|limit| desired <= limit)
            && maximum.is_none_or(|max| desired <= max);
        if !allow && self.trap_on_grow_failure {
            anyhow::bail!("forcing trap when growing memory to {desired} bytes");
        }
        Ok(allow)
    }

    fn memory_grow_failed(&mut self, error: crate::Error) -> Result<()> {
        if self.trap_on_grow_failure {
            return Err(error.context("forcing a memory growth failure to be a trap"));
        }
        Ok(())
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> Result<bool> {
        let allow = self.table_elements.is_none_or(|limit| desired <= limit)
            && maximum.is_none_or(|max| desired <= max);
        if !allow && self.trap_on_grow_failure {
            anyhow::bail!("forcing trap when growing table to {desired} elements");
        }
        Ok(allow)
    }

    fn table_grow_failed(&mut self, error: crate::Error) -> Result<()> {
        if self.trap_on_grow_failure {
            return Err(error.context("forcing a table growth failure to be a trap"));
        }
        Ok(())
    }

    fn instances(&self) -> usize {
        self.instances
    }

    fn tables(&self) -> usize {
        self.tables
    }

    fn memories(&self) -> usize {
        self.memories
    }

    fn memory_size_limit(&self) -> Option<usize> {
        self.memory_size
    }

    fn table_elements_limit(&self) -> Option<usize> {
        self.table_elements
    }

    fn host_memory_allocating(&mut self, bytes: usize) -> Result<bool> {
        Ok(self.host_memory.is_none_or(|limit| bytes <= limit))
    }
}

/// Builds [`StoreLimits`].
#[derive(Clone, Debug, Default)]
pub struct StoreLimitsBuilder(StoreLimits);

impl StoreLimitsBuilder {
    /// No limits beyond the default counts.
    pub fn new() -> Self {
        Self::default()
    }

    /// The largest any one linear memory may be, in bytes.
    pub fn memory_size(mut self, bytes: usize) -> Self {
        self.0.memory_size = Some(bytes);
        self
    }

    /// The most elements any one table may have.
    pub fn table_elements(mut self, elements: usize) -> Self {
        self.0.table_elements = Some(elements);
        self
    }

    /// How many instances the store may hold.
    pub fn instances(mut self, limit: usize) -> Self {
        self.0.instances = limit;
        self
    }

    /// How many tables the store may hold.
    pub fn tables(mut self, limit: usize) -> Self {
        self.0.tables = limit;
        self
    }

    /// How many linear memories the store may hold.
    pub fn memories(mut self, limit: usize) -> Self {
        self.0.memories = limit;
        self
    }

    /// The most host memory, in bytes, one host call may allocate for
    /// the guest ([`ResourceLimiter::host_memory_allocating`]; a keel
    /// addition). Unset: no limit beyond the host functions' own.
    pub fn host_memory(mut self, bytes: usize) -> Self {
        self.0.host_memory = Some(bytes);
        self
    }

    /// Turn refused or failed growth into a trap instead of a -1 result
    /// (Wasmtime's `trap_on_grow_failure`).
    pub fn trap_on_grow_failure(mut self, trap: bool) -> Self {
        self.0.trap_on_grow_failure = trap;
        self
    }

    /// The limits.
    pub fn build(self) -> StoreLimits {
        self.0
    }
}

/// The closure installed by [`Store::limiter`].
pub(crate) type LimiterFn<T> = Box<dyn (FnMut(&mut T) -> &mut dyn ResourceLimiter) + Send + Sync>;

/// How many instances, memories and tables a store has created, and how
/// many it allows (from its [`ResourceLimiter`], read when it is
/// installed).
pub(crate) struct ResourceCounts {
    instances: usize,
    memories: usize,
    tables: usize,
    instance_limit: usize,
    memory_limit: usize,
    table_limit: usize,
}

impl Default for ResourceCounts {
    /// Nothing created; Wasmtime's default limits.
    fn default() -> Self {
        ResourceCounts {
            instances: 0,
            memories: 0,
            tables: 0,
            instance_limit: DEFAULT_INSTANCE_LIMIT,
            memory_limit: DEFAULT_MEMORY_LIMIT,
            table_limit: DEFAULT_TABLE_LIMIT,
        }
    }
}

impl ResourceCounts {
    /// Enforce `limiter`'s counts from now on.
    pub(crate) fn set_limits(&mut self, limiter: &dyn ResourceLimiter) {
        (self.instance_limit, self.memory_limit, self.table_limit) =
            (limiter.instances(), limiter.memories(), limiter.tables());
    }

    /// Count `instances` new instances with `memories` memories and
    /// `tables` tables against the limits.
    ///
    /// # Errors
    ///
    /// If a count would pass its limit (the error names it); the counts
    /// checked before it stay raised.
    pub(crate) fn bump(&mut self, memories: usize, tables: usize, instances: usize) -> Result<()> {
        fn bump(count: &mut usize, limit: usize, n: usize, what: &str) -> Result<()> {
            let new = count.saturating_add(n);
            if new > limit {
                anyhow::bail!(
                    "resource limit exceeded: {what} count too high at {new} (the store allows {limit})"
                );
            }
            *count = new;
            Ok(())
        }
        bump(
            &mut self.instances,
            self.instance_limit,
            instances,
            "instance",
        )?;
        bump(&mut self.memories, self.memory_limit, memories, "memory")?;
        bump(&mut self.tables, self.table_limit, tables, "table")?;
        Ok(())
    }
}

/// Ask `limiter` (the store's, if it has one), at creation, whether a
/// memory of type `ty` (its minimum, and its declared maximum) may exist;
/// `what` names it in errors.
///
/// # Errors
///
/// If the limiter refuses (the error gives the size and the limit), or
/// returns an error itself.
pub(crate) fn check_new_memory(
    limiter: Option<&mut dyn ResourceLimiter>,
    what: impl FnOnce() -> String,
    ty: &keel_translate::MemoryType,
) -> Result<()> {
    let (minimum, maximum) = (ty.limits.min, ty.limits.max);
    let bytes = |p: u64| usize::try_from(ty.pages_to_bytes(p)).unwrap_or(usize::MAX);
    let Some(limiter) = limiter else {
        return Ok(());
    };
    if !limiter.memory_growing(0, bytes(minimum), maximum.map(bytes))? {
        let limit = match limiter.memory_size_limit() {
            Some(l) => format!("the store's limit of {l} bytes"),
            None => "the store's resource limiter".into(),
        };
        anyhow::bail!(
            "{}: minimum size of {minimum} pages ({} bytes) exceeds {limit}",
            what(),
            bytes(minimum)
        );
    }
    Ok(())
}

/// As [`check_new_memory`] for a table of `minimum` elements.
///
/// # Errors
///
/// As [`check_new_memory`].
pub(crate) fn check_new_table(
    limiter: Option<&mut dyn ResourceLimiter>,
    what: impl FnOnce() -> String,
    minimum: u64,
    maximum: Option<u64>,
) -> Result<()> {
    let n = |e: u64| usize::try_from(e).unwrap_or(usize::MAX);
    let Some(limiter) = limiter else {
        return Ok(());
    };
    if !limiter.table_growing(0, n(minimum), maximum.map(n))? {
        let limit = match limiter.table_elements_limit() {
            Some(l) => format!("the store's limit of {l} elements"),
            None => "the store's resource limiter".into(),
        };
        anyhow::bail!(
            "{}: minimum size of {minimum} elements exceeds {limit}",
            what()
        );
    }
    Ok(())
}
