//! The context types and traits through which APIs take a store:
//! [`StoreContext`] and [`StoreContextMut`] (borrows of a store), and
//! [`AsContext`] and [`AsContextMut`], implemented by [`Store`], the
//! contexts, [`Caller`](crate::Caller) (in `func.rs`) and references to
//! any of them, as in Wasmtime.

use crate::store::{Store, StoreContext, StoreContextMut};
use crate::{Engine, Result};

impl<T> StoreContext<'_, T> {
    /// The host data.
    pub fn data(&self) -> &T {
        &self.0.data
    }
}

impl<T> StoreContextMut<'_, T> {
    /// The host data.
    pub fn data(&self) -> &T {
        &self.0.data
    }

    /// The host data, mutably.
    pub fn data_mut(&mut self) -> &mut T {
        &mut self.0.data
    }

    /// The store's engine.
    pub fn engine(&self) -> &Engine {
        &self.0.opaque.engine
    }

    /// As [`Store::set_fuel`].
    ///
    /// # Errors
    ///
    /// If fuel is not enabled in the engine's configuration.
    pub fn set_fuel(&mut self, fuel: u64) -> Result<()> {
        self.0.opaque.set_fuel(fuel)
    }

    /// As [`Store::get_fuel`].
    ///
    /// # Errors
    ///
    /// If fuel is not enabled in the engine's configuration.
    pub fn get_fuel(&self) -> Result<u64> {
        self.0.opaque.get_fuel()
    }

    /// As [`Store::set_epoch_deadline`].
    pub fn set_epoch_deadline(&mut self, ticks_beyond_current: u64) {
        self.0.opaque.set_epoch_deadline(ticks_beyond_current);
    }

    /// As [`Store::epoch_deadline_trap`]; called from the epoch callback,
    /// the next deadline traps.
    pub fn epoch_deadline_trap(&mut self) {
        self.0.set_epoch_callback(None);
    }
}

/// Something that gives shared access to a store: [`Store`],
/// [`StoreContext`], [`StoreContextMut`], [`Caller`](crate::Caller), or a reference to one.
pub trait AsContext {
    /// The store's host data type.
    type Data;

    /// Borrow the store.
    fn as_context(&self) -> StoreContext<'_, Self::Data>;
}

/// Something that gives exclusive access to a store.
pub trait AsContextMut: AsContext {
    /// Borrow the store exclusively.
    fn as_context_mut(&mut self) -> StoreContextMut<'_, Self::Data>;
}

impl<T> AsContext for Store<T> {
    type Data = T;
    fn as_context(&self) -> StoreContext<'_, T> {
        StoreContext(&self.inner)
    }
}

impl<T> AsContextMut for Store<T> {
    fn as_context_mut(&mut self) -> StoreContextMut<'_, T> {
        StoreContextMut(&mut self.inner)
    }
}

impl<T> AsContext for StoreContext<'_, T> {
    type Data = T;
    fn as_context(&self) -> StoreContext<'_, T> {
        StoreContext(self.0)
    }
}

impl<T> AsContext for StoreContextMut<'_, T> {
    type Data = T;
    fn as_context(&self) -> StoreContext<'_, T> {
        StoreContext(self.0)
    }
}

impl<T> AsContextMut for StoreContextMut<'_, T> {
    fn as_context_mut(&mut self) -> StoreContextMut<'_, T> {
        StoreContextMut(self.0)
    }
}

impl<C: AsContext + ?Sized> AsContext for &C {
    type Data = C::Data;
    fn as_context(&self) -> StoreContext<'_, C::Data> {
        (**self).as_context()
    }
}

impl<C: AsContext + ?Sized> AsContext for &mut C {
    type Data = C::Data;
    fn as_context(&self) -> StoreContext<'_, C::Data> {
        (**self).as_context()
    }
}

impl<C: AsContextMut + ?Sized> AsContextMut for &mut C {
    fn as_context_mut(&mut self) -> StoreContextMut<'_, C::Data> {
        (**self).as_context_mut()
    }
}

impl<'a, T> From<&'a Store<T>> for StoreContext<'a, T> {
    fn from(s: &'a Store<T>) -> Self {
        StoreContext(&s.inner)
    }
}

impl<'a, T> From<&'a mut Store<T>> for StoreContext<'a, T> {
    fn from(s: &'a mut Store<T>) -> Self {
        StoreContext(&s.inner)
    }
}

impl<'a, T> From<StoreContextMut<'a, T>> for StoreContext<'a, T> {
    fn from(c: StoreContextMut<'a, T>) -> Self {
        StoreContext(c.0)
    }
}

impl<'a, T> From<&'a StoreContextMut<'_, T>> for StoreContext<'a, T> {
    fn from(c: &'a StoreContextMut<'_, T>) -> Self {
        StoreContext(c.0)
    }
}

impl<'a, T> From<&'a mut Store<T>> for StoreContextMut<'a, T> {
    fn from(s: &'a mut Store<T>) -> Self {
        StoreContextMut(&mut s.inner)
    }
}

impl<'a, T> From<&'a mut StoreContextMut<'_, T>> for StoreContextMut<'a, T> {
    fn from(c: &'a mut StoreContextMut<'_, T>) -> Self {
        StoreContextMut(c.0)
    }
}
