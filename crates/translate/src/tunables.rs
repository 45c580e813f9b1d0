//! Settings that compiled code and the runtime must agree on.

use crate::MemoryType;

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
    /// Whether an access of `access_bytes` at static `offset` into a
    /// memory of type `ty` can skip its bounds check: the memory relies on
    /// guard pages ([`MemoryType::guard_pages_apply`]: 32-bit, 64 KiB
    /// pages) and the highest byte the access can touch,
    /// `(2^32 - 1) + offset + access_bytes - 1`, lies inside the
    /// reservation or its guard region, so any out-of-bounds access
    /// faults.
    pub fn elide_bounds_check(&self, ty: &MemoryType, offset: u64, access_bytes: u64) -> bool {
        self.signals_based_traps
            && ty.guard_pages_apply()
            && self.reservation_bytes >= 1 << 32
            && offset
                .checked_add(access_bytes)
                .is_some_and(|end| end <= self.guard_bytes)
    }

    /// Whether a linear memory of type `ty` may move when it grows.
    /// Compiled code must then reload the memory's base after every call;
    /// the runtime must lay the memory out the same way.
    ///
    /// * A 32-bit memory of 64 KiB pages moves only without signals-based
    ///   traps (explicit bounds checks, e.g. a kernel without an MMU) and
    ///   without a declared maximum: it then reserves only what it holds
    ///   and is reallocated on growth.
    /// * A shared memory never moves.
    /// * Any other memory (64-bit, or 1-byte pages) is checked explicitly
    ///   and stays in place only when its declared maximum fits in
    ///   [`MemoryTunables::reservation_bytes`], which is then reserved.
    pub fn memory_may_move(&self, ty: &MemoryType) -> bool {
        if ty.shared {
            // Other threads use it while it grows: it reserves its
            // (required) maximum and stays.
            false
        } else if ty.guard_pages_apply() {
            !self.signals_based_traps && ty.limits.max.is_none()
        } else {
            ty.limits
                .max
                .is_none_or(|max| ty.pages_to_bytes(max) > self.reservation_bytes)
        }
    }
}
