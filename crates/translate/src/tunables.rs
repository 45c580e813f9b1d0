//! Settings that compiled code and the runtime must agree on.

/// The memory layout compiled code may rely on; the runtime must reserve
/// memories accordingly (same values from the same engine configuration).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MemoryTunables {
    /// Bytes of address space reserved for each linear memory.
    pub reservation_bytes: u64,
    /// Bytes of inaccessible address space after each reservation.
    pub guard_bytes: u64,
    /// Whether out-of-bounds accesses may be caught as faults (signals or
    /// an exception vector). If false, every access is checked explicitly.
    pub signals_based_traps: bool,
}

impl Default for MemoryTunables {
    fn default() -> Self {
        Self {
            reservation_bytes: 1 << 32,
            guard_bytes: 2 << 30,
            signals_based_traps: true,
        }
    }
}

impl MemoryTunables {
    /// Whether an access of `access_bytes` at static `offset` from a
    /// 32-bit index can skip its bounds check: the highest byte it can
    /// touch, `(2^32 - 1) + offset + access_bytes - 1`, lies inside the
    /// reservation or its guard region, so any out-of-bounds access
    /// faults.
    pub fn elide_bounds_check(&self, offset: u64, access_bytes: u64) -> bool {
        self.signals_based_traps
            && self.reservation_bytes >= 1 << 32
            && offset
                .checked_add(access_bytes)
                .is_some_and(|end| end <= self.guard_bytes)
    }

    /// Whether a linear memory with `maximum_pages` may move when it grows:
    /// without signals-based traps (explicit bounds checks, e.g. a kernel
    /// without an MMU) a memory with no declared maximum reserves only
    /// what it holds and is reallocated on growth. Compiled code must then
    /// reload the memory's base after every call; the runtime must lay the
    /// memory out the same way.
    pub fn memory_may_move(&self, maximum_pages: Option<u64>) -> bool {
        !self.signals_based_traps && maximum_pages.is_none()
    }
}
