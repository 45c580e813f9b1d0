//! How instances get their memories and tables
//! ([`Config::allocation_strategy`](crate::Config::allocation_strategy)):
//! on demand (the default) or from a pool made once per engine, as
//! Wasmtime's `InstanceAllocationStrategy`.

/// Where instances' linear memories and tables come from.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub enum InstanceAllocationStrategy {
    /// Reserve each memory and allocate each table when an instance is
    /// made, and release them when its store drops (the default).
    #[default]
    OnDemand,
    /// Take them from a pool with fixed limits, made with the engine:
    /// memory reservations and table arrays are reused by one instance
    /// after another (a memory is reset, `madvise(MADV_DONTNEED)` when
    /// hosted, so no instance sees another's data), which saves the
    /// system calls of reserving and releasing address space.
    /// Instantiation fails with an error naming the limit when one is
    /// reached.
    Pooling(PoolingAllocationConfig),
}

/// The limits of the pooling allocator
/// ([`InstanceAllocationStrategy::Pooling`]); names and defaults follow
/// Wasmtime's `PoolingAllocationConfig`.
#[derive(Clone, Debug)]
pub struct PoolingAllocationConfig {
    pub(crate) limits: keel_vm::PoolLimits,
}

impl Default for PoolingAllocationConfig {
    fn default() -> Self {
        Self {
            limits: keel_vm::PoolLimits {
                total_core_instances: 1000,
                total_memories: 1000,
                total_tables: 1000,
                max_memory_size: 4 << 30,
                table_elements: 20_000,
                max_memories_per_module: 1,
                max_tables_per_module: 1,
            },
        }
    }
}

impl PoolingAllocationConfig {
    /// The default limits: 1,000 instances, memories and tables; memories
    /// of up to 4 GiB; tables of up to 20,000 elements; one memory and
    /// one table per module.
    pub fn new() -> Self {
        Self::default()
    }

    /// Instances alive at once, across the engine's stores.
    pub fn total_core_instances(&mut self, count: u32) -> &mut Self {
        self.limits.total_core_instances = count;
        self
    }

    /// Linear memories alive at once. Each takes a reservation of address
    /// space (with guard pages: the engine's memory reservation plus its
    /// guard region, 6 GiB by default), made when first needed and kept.
    pub fn total_memories(&mut self, count: u32) -> &mut Self {
        self.limits.total_memories = count;
        self
    }

    /// Tables alive at once.
    pub fn total_tables(&mut self, count: u32) -> &mut Self {
        self.limits.total_tables = count;
        self
    }

    /// The largest a linear memory may be or grow to, in bytes (at most
    /// 4 GiB; rounded up to 64 KiB pages). A module whose memory needs
    /// more at instantiation fails to instantiate; `memory.grow` past it
    /// returns -1.
    pub fn max_memory_size(&mut self, bytes: usize) -> &mut Self {
        self.limits.max_memory_size = bytes as u64;
        self
    }

    /// The most elements a table may have or grow to.
    pub fn table_elements(&mut self, elements: usize) -> &mut Self {
        self.limits.table_elements = elements as u64;
        self
    }

    /// The most linear memories one module may define.
    pub fn max_memories_per_module(&mut self, count: u32) -> &mut Self {
        self.limits.max_memories_per_module = count;
        self
    }

    /// The most tables one module may define.
    pub fn max_tables_per_module(&mut self, count: u32) -> &mut Self {
        self.limits.max_tables_per_module = count;
        self
    }
}
