//! Fuel ([`Config::consume_fuel`](crate::Config::consume_fuel)): the
//! store's budget of WebAssembly work, as Wasmtime's `Store::set_fuel`,
//! `get_fuel` and `fuel_async_yield_interval`. Compiled code counts
//! consumed fuel up from a negative number in the store context
//! (`fuel_consumed`) and calls the `out_of_gas` builtin at 0; what does
//! not fit in that counter waits in the store's reserve.

use crate::Result;
use crate::store::{Store, StoreOpaque};

impl<T> Store<T> {
    /// Set the fuel left for wasm in this store to `fuel` units
    /// ([`Config::consume_fuel`](crate::Config::consume_fuel)).
    ///
    /// # Errors
    ///
    /// If fuel is not enabled in the engine's configuration.
    pub fn set_fuel(&mut self, fuel: u64) -> Result<()> {
        self.inner.opaque.set_fuel(fuel)
    }

    /// The fuel left; 0 once wasm has trapped with
    /// [`Trap::OutOfFuel`](crate::Trap::OutOfFuel).
    ///
    /// # Errors
    ///
    /// If fuel is not enabled in the engine's configuration.
    pub fn get_fuel(&self) -> Result<u64> {
        self.inner.opaque.get_fuel()
    }

    /// In async calls, suspend the guest every `interval` units of fuel
    /// it consumes (as Wasmtime's method of the same name): its future
    /// returns `Pending` and wakes its task at once. The store's fuel
    /// still bounds the guest as a whole. `None` (the default) never
    /// yields. Synchronous calls are not affected.
    ///
    /// # Errors
    ///
    /// If fuel or async support is not enabled in the engine's
    /// configuration, or `interval` is `Some(0)`.
    pub fn fuel_async_yield_interval(&mut self, interval: Option<u64>) -> Result<()> {
        let opaque = &mut self.inner.opaque;
        opaque.ensure_fuel()?;
        crate::fiber::ensure_async_support(&opaque.engine, "fuel yields")?;
        anyhow::ensure!(interval != Some(0), "a fuel yield interval must not be 0");
        let left = opaque.fuel_left();
        opaque.async_state.set_fuel_yield_interval(interval);
        opaque.inject_fuel(left);
        Ok(())
    }
}

impl StoreOpaque {
    fn ensure_fuel(&self) -> Result<()> {
        anyhow::ensure!(
            self.engine.config().consume_fuel,
            "fuel is not configured in this store: enable `Config::consume_fuel`"
        );
        Ok(())
    }

    pub(crate) fn set_fuel(&mut self, fuel: u64) -> Result<()> {
        self.ensure_fuel()?;
        self.inject_fuel(fuel);
        Ok(())
    }

    /// Put up to `i64::MAX` of `fuel` in the counter compiled code uses
    /// and the rest in the reserve.
    pub(crate) fn inject_fuel(&mut self, fuel: u64) {
        let injected = fuel
            .min(i64::MAX as u64)
            .min(self.async_state.fuel_yield_interval().unwrap_or(u64::MAX));
        self.fuel_reserve = fuel - injected;
        // SAFETY: the store context is the store's own allocation; no
        // wasm runs while the store is borrowed here, or the running wasm
        // has written its counter back (before calls and builtins).
        unsafe { (*self.store_context.as_ptr()).fuel_consumed = -(injected as i64) };
    }

    pub(crate) fn get_fuel(&self) -> Result<u64> {
        self.ensure_fuel()?;
        Ok(self.fuel_left())
    }

    pub(crate) fn fuel_left(&self) -> u64 {
        // SAFETY: as in `inject_fuel`.
        let consumed = unsafe { (*self.store_context.as_ptr()).fuel_consumed };
        self.fuel_reserve
            .saturating_add_signed(consumed.saturating_neg())
    }
}
