//! Statically typed calls: [`TypedFunc`], and the traits that map Rust
//! types to wasm types for it and for host closures ([`IntoFunc`]).

use crate::func::{Caller, HostFn, call_raw};
use crate::prelude::*;
use crate::store::StoreOpaque;
use crate::{AsContextMut, Func, FuncType, Result, Rooted, ValType};
use core::marker::PhantomData;
use keel_vm::ValRaw;

/// The store a typed value is encoded in or decoded from (it roots the
/// GC references it decodes).
#[doc(hidden)]
pub struct RawStore<'a>(pub(crate) &'a mut StoreOpaque);

/// A Rust type that is a wasm value type.
pub trait WasmTy: Send + Sync + 'static {
    /// The wasm type.
    fn valtype() -> ValType;
    /// Encode for the array-call convention.
    ///
    /// # Errors
    ///
    /// If a reference is not rooted in the store.
    #[doc(hidden)]
    fn to_raw(self, store: &mut RawStore<'_>) -> Result<ValRaw>;
    /// Decode from the array-call convention.
    #[doc(hidden)]
    fn from_raw(store: &mut RawStore<'_>, raw: ValRaw) -> Self;
}

macro_rules! number_types {
    ($($ty:ty => $valtype:ident, $to:ident, $from:ident;)*) => {$(
        impl WasmTy for $ty {
            #[inline]
            fn valtype() -> ValType {
                ValType::$valtype
            }
            #[inline]
            fn to_raw(self, _: &mut RawStore<'_>) -> Result<ValRaw> {
                Ok(ValRaw::$to(self))
            }
            #[inline]
            fn from_raw(_: &mut RawStore<'_>, raw: ValRaw) -> Self {
                raw.$from()
            }
        }
    )*};
}

number_types! {
    i32 => I32, i32, get_i32;
    i64 => I64, i64, get_i64;
}

impl WasmTy for f32 {
    #[inline]
    fn valtype() -> ValType {
        ValType::F32
    }
    #[inline]
    fn to_raw(self, _: &mut RawStore<'_>) -> Result<ValRaw> {
        Ok(ValRaw::f32(self.to_bits()))
    }
    #[inline]
    fn from_raw(_: &mut RawStore<'_>, raw: ValRaw) -> Self {
        f32::from_bits(raw.get_f32())
    }
}

impl WasmTy for f64 {
    #[inline]
    fn valtype() -> ValType {
        ValType::F64
    }
    #[inline]
    fn to_raw(self, _: &mut RawStore<'_>) -> Result<ValRaw> {
        Ok(ValRaw::f64(self.to_bits()))
    }
    #[inline]
    fn from_raw(_: &mut RawStore<'_>, raw: ValRaw) -> Self {
        f64::from_bits(raw.get_f64())
    }
}

/// Rooted references: `(ref extern)`, `(ref any)` and, as `Option`s,
/// `externref` and `anyref`.
macro_rules! ref_types {
    ($($ty:ident => $heap:ident;)*) => {$(
        impl WasmTy for Rooted<crate::$ty> {
            fn valtype() -> ValType {
                ValType::reference(false, keel_translate::WasmHeapType::$heap)
            }
            fn to_raw(self, store: &mut RawStore<'_>) -> Result<ValRaw> {
                Ok(ValRaw::ptr(self.raw(store.0)?))
            }
            fn from_raw(store: &mut RawStore<'_>, raw: ValRaw) -> Self {
                Rooted::new(store.0, raw.get_ptr())
            }
        }

        impl WasmTy for Option<Rooted<crate::$ty>> {
            fn valtype() -> ValType {
                ValType::reference(true, keel_translate::WasmHeapType::$heap)
            }
            fn to_raw(self, store: &mut RawStore<'_>) -> Result<ValRaw> {
                match self {
                    Some(r) => r.to_raw(store),
                    None => Ok(ValRaw::ptr(0)),
                }
            }
            fn from_raw(store: &mut RawStore<'_>, raw: ValRaw) -> Self {
                match raw.get_ptr() {
                    0 => None,
                    p => Some(Rooted::new(store.0, p)),
                }
            }
        }
    )*};
}

ref_types! {
    ExternRef => Extern;
    AnyRef => Any;
}

impl WasmTy for crate::I31 {
    fn valtype() -> ValType {
        ValType::reference(false, keel_translate::WasmHeapType::I31)
    }
    fn to_raw(self, _: &mut RawStore<'_>) -> Result<ValRaw> {
        Ok(ValRaw::ptr(self.raw()))
    }
    fn from_raw(_: &mut RawStore<'_>, raw: ValRaw) -> Self {
        crate::I31::wrapping_u32((raw.get_ptr() >> 1) as u32)
    }
}

fn same_types(mine: &[ValType], tys: &[ValType]) -> Result<(), String> {
    if mine == tys {
        Ok(())
    } else {
        Err(format!("expected {tys:?}, found {mine:?}"))
    }
}

/// Parameters of a [`TypedFunc`]: `()`, one [`WasmTy`], or a tuple of them.
pub trait WasmParams: Send + Sync {
    /// Number of values.
    const COUNT: usize;
    /// The wasm types, in order.
    fn valtypes() -> Vec<ValType>;
    /// Check against a function's parameter types.
    ///
    /// # Errors
    ///
    /// A message naming the first mismatch.
    fn typecheck(tys: &[ValType]) -> Result<(), String> {
        same_types(&Self::valtypes(), tys)
    }
    /// Write into slots `0..COUNT`.
    ///
    /// # Errors
    ///
    /// If a reference is not rooted in the store.
    #[doc(hidden)]
    fn store(self, store: &mut RawStore<'_>, slots: &mut [ValRaw]) -> Result<()>;
    /// Read from slots `0..COUNT` (an async host function's parameters).
    #[doc(hidden)]
    fn load(store: &mut RawStore<'_>, slots: &[ValRaw]) -> Self;
}

/// Results of a [`TypedFunc`] or a host closure: `()`, one [`WasmTy`], or
/// a tuple of them.
pub trait WasmResults: Sized {
    /// Number of values.
    const COUNT: usize;
    /// The wasm types, in order.
    fn valtypes() -> Vec<ValType>;
    /// Check against a function's result types.
    ///
    /// # Errors
    ///
    /// A message naming the mismatch.
    fn typecheck(tys: &[ValType]) -> Result<(), String> {
        same_types(&Self::valtypes(), tys)
    }
    /// Read from slots `0..COUNT`.
    #[doc(hidden)]
    fn load(store: &mut RawStore<'_>, slots: &[ValRaw]) -> Self;
    /// Write into slots `0..COUNT`.
    ///
    /// # Errors
    ///
    /// If a reference is not rooted in the store.
    #[doc(hidden)]
    fn store(self, store: &mut RawStore<'_>, slots: &mut [ValRaw]) -> Result<()>;
}

impl<A: WasmTy> WasmParams for A {
    const COUNT: usize = 1;
    fn valtypes() -> Vec<ValType> {
        vec![A::valtype()]
    }
    #[inline]
    fn store(self, store: &mut RawStore<'_>, slots: &mut [ValRaw]) -> Result<()> {
        slots[0] = self.to_raw(store)?;
        Ok(())
    }
    #[inline]
    fn load(store: &mut RawStore<'_>, slots: &[ValRaw]) -> Self {
        A::from_raw(store, slots[0])
    }
}

impl<A: WasmTy> WasmResults for A {
    const COUNT: usize = 1;
    fn valtypes() -> Vec<ValType> {
        vec![A::valtype()]
    }
    #[inline]
    fn load(store: &mut RawStore<'_>, slots: &[ValRaw]) -> Self {
        A::from_raw(store, slots[0])
    }
    #[inline]
    fn store(self, store: &mut RawStore<'_>, slots: &mut [ValRaw]) -> Result<()> {
        slots[0] = self.to_raw(store)?;
        Ok(())
    }
}

macro_rules! count {
    () => { 0 };
    ($x:ident $($rest:ident)*) => { 1 + count!($($rest)*) };
}

macro_rules! impl_tuples {
    ($($A:ident $a:ident),*) => {
        impl<$($A: WasmTy),*> WasmParams for ($($A,)*) {
            const COUNT: usize = count!($($A)*);
            fn valtypes() -> Vec<ValType> {
                vec![$($A::valtype()),*]
            }
            #[allow(unused_variables, unused_mut, unused_assignments, reason = "empty tuple")]
            #[inline]
            fn store(self, store: &mut RawStore<'_>, slots: &mut [ValRaw]) -> Result<()> {
                let ($($a,)*) = self;
                let mut i = 0;
                $(slots[i] = $a.to_raw(store)?; i += 1;)*
                Ok(())
            }
            #[allow(unused_variables, unused_mut, unused_assignments, clippy::unused_unit, reason = "empty tuple")]
            #[inline]
            fn load(store: &mut RawStore<'_>, slots: &[ValRaw]) -> Self {
                let mut i = 0;
                ($({ let v = $A::from_raw(store, slots[i]); i += 1; v },)*)
            }
        }

        impl<$($A: WasmTy),*> WasmResults for ($($A,)*) {
            const COUNT: usize = count!($($A)*);
            fn valtypes() -> Vec<ValType> {
                vec![$($A::valtype()),*]
            }
            #[allow(unused_variables, unused_mut, unused_assignments, clippy::unused_unit, reason = "empty tuple")]
            #[inline]
            fn load(store: &mut RawStore<'_>, slots: &[ValRaw]) -> Self {
                let mut i = 0;
                ($({ let v = $A::from_raw(store, slots[i]); i += 1; v },)*)
            }
            #[allow(unused_variables, unused_mut, unused_assignments, reason = "empty tuple")]
            #[inline]
            fn store(self, store: &mut RawStore<'_>, slots: &mut [ValRaw]) -> Result<()> {
                let ($($a,)*) = self;
                let mut i = 0;
                $(slots[i] = $a.to_raw(store)?; i += 1;)*
                Ok(())
            }
        }

        impl<T: 'static, F, $($A,)* R> IntoFunc<T, ($($A,)*), R> for F
        where
            F: Fn($($A),*) -> R + Send + Sync + 'static,
            $($A: WasmTy,)*
            R: WasmRet,
        {
            #[allow(unused_variables, unused_mut, unused_assignments, reason = "no parameters")]
            fn into_func(self) -> (FuncType, HostFn<T>) {
                let ty = FuncType::new([$($A::valtype()),*], R::Results::valtypes());
                let body: HostFn<T> = HostFn::new(move |caller: Caller<'_, T>, slots: &mut [ValRaw]| {
                    let mut store = RawStore(&mut caller.store.opaque);
                    let mut i = 0;
                    $(let $a = $A::from_raw(&mut store, slots[i]); i += 1;)*
                    (self)($($a),*).into_result()?.store(&mut store, slots)
                });
                (ty, body)
            }
        }

        impl<T: 'static, F, $($A,)* R> IntoFunc<T, (Caller<'_, T>, $($A,)*), R> for F
        where
            F: Fn(Caller<'_, T>, $($A),*) -> R + Send + Sync + 'static,
            $($A: WasmTy,)*
            R: WasmRet,
        {
            #[allow(unused_variables, unused_mut, unused_assignments, reason = "no parameters")]
            fn into_func(self) -> (FuncType, HostFn<T>) {
                let ty = FuncType::new([$($A::valtype()),*], R::Results::valtypes());
                let body: HostFn<T> = HostFn::new(move |caller: Caller<'_, T>, slots: &mut [ValRaw]| {
                    let opaque: *mut StoreOpaque = &mut caller.store.opaque;
                    let mut i = 0;
                    // SAFETY: the caller's store, which nothing else uses
                    // while the parameters are decoded.
                    $(let $a = $A::from_raw(&mut RawStore(unsafe { &mut *opaque }), slots[i]); i += 1;)*
                    let results = (self)(caller, $($a),*).into_result()?;
                    // SAFETY: the closure has returned and dropped its
                    // `Caller`, the only other borrow of the store.
                    results.store(&mut RawStore(unsafe { &mut *opaque }), slots)
                });
                (ty, body)
            }
        }
    };
}

impl_tuples!();
impl_tuples!(A1 a1);
impl_tuples!(A1 a1, A2 a2);
impl_tuples!(A1 a1, A2 a2, A3 a3);
impl_tuples!(A1 a1, A2 a2, A3 a3, A4 a4);
impl_tuples!(A1 a1, A2 a2, A3 a3, A4 a4, A5 a5);
impl_tuples!(A1 a1, A2 a2, A3 a3, A4 a4, A5 a5, A6 a6);
impl_tuples!(A1 a1, A2 a2, A3 a3, A4 a4, A5 a5, A6 a6, A7 a7);
impl_tuples!(A1 a1, A2 a2, A3 a3, A4 a4, A5 a5, A6 a6, A7 a7, A8 a8);
impl_tuples!(A1 a1, A2 a2, A3 a3, A4 a4, A5 a5, A6 a6, A7 a7, A8 a8, A9 a9);
impl_tuples!(A1 a1, A2 a2, A3 a3, A4 a4, A5 a5, A6 a6, A7 a7, A8 a8, A9 a9, A10 a10);
impl_tuples!(A1 a1, A2 a2, A3 a3, A4 a4, A5 a5, A6 a6, A7 a7, A8 a8, A9 a9, A10 a10, A11 a11);
impl_tuples!(A1 a1, A2 a2, A3 a3, A4 a4, A5 a5, A6 a6, A7 a7, A8 a8, A9 a9, A10 a10, A11 a11, A12 a12);

/// What a host closure returns: [`WasmResults`] or `Result` of them.
pub trait WasmRet {
    /// The values returned on success.
    type Results: WasmResults;
    /// Convert into a `Result`.
    ///
    /// # Errors
    ///
    /// The closure's own error.
    fn into_result(self) -> Result<Self::Results>;
}

impl<R: WasmResults> WasmRet for R {
    type Results = R;
    fn into_result(self) -> Result<R> {
        Ok(self)
    }
}

impl<R: WasmResults> WasmRet for Result<R> {
    type Results = R;
    fn into_result(self) -> Result<R> {
        self
    }
}

/// The body of an async host function: decode the parameters, create the
/// closure's future and run it to completion on the call's fiber
/// ([`block_on`](crate::fiber::block_on)), then encode its output.
pub(crate) fn async_host_fn<T: 'static, P, R, F>(func: F) -> (FuncType, HostFn<T>)
where
    F: for<'a> Fn(Caller<'a, T>, P) -> Box<dyn core::future::Future<Output = R> + Send + 'a>
        + Send
        + Sync
        + 'static,
    P: WasmParams,
    R: WasmRet,
{
    let ty = FuncType::new(P::valtypes(), R::Results::valtypes());
    let body: HostFn<T> = HostFn::new(move |caller: Caller<'_, T>, slots: &mut [ValRaw]| {
        let opaque: *mut StoreOpaque = &mut caller.store.opaque;
        // SAFETY: the caller's store, which nothing else uses while the
        // parameters are decoded.
        let params = P::load(&mut RawStore(unsafe { &mut *opaque }), slots);
        let async_cx = caller.store.opaque.async_state.cx();
        let mut future = core::pin::Pin::from(func(caller, params));
        // SAFETY: the store's `async_cx` is null or the context of the
        // fiber running this call.
        let output = unsafe { crate::fiber::block_on(async_cx, future.as_mut())? };
        drop(future);
        // SAFETY: the future (and its `Caller`) is gone: nothing else
        // borrows the store.
        output
            .into_result()?
            .store(&mut RawStore(unsafe { &mut *opaque }), slots)
    });
    (ty, body)
}

/// A Rust closure usable as a host function of store data `T`; see
/// [`Func::wrap`]. `Params` and `Results` are inferred.
pub trait IntoFunc<T, Params, Results>: Send + Sync + 'static {
    #[doc(hidden)]
    fn into_func(self) -> (FuncType, HostFn<T>);
}

/// A function with a known Rust signature: calls take and return Rust
/// values without boxing. Made by [`Func::typed`] or
/// [`Instance::get_typed_func`](crate::Instance::get_typed_func).
pub struct TypedFunc<P, R> {
    func: Func,
    _marker: PhantomData<fn(P) -> R>,
}

impl<P, R> Clone for TypedFunc<P, R> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<P, R> Copy for TypedFunc<P, R> {}

impl<P, R> core::fmt::Debug for TypedFunc<P, R> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_tuple("TypedFunc").field(&self.func).finish()
    }
}

impl<P: WasmParams, R: WasmResults> TypedFunc<P, R> {
    pub(crate) fn new(func: Func) -> Self {
        Self {
            func,
            _marker: PhantomData,
        }
    }

    /// The untyped function.
    pub fn func(&self) -> &Func {
        &self.func
    }

    /// Call the function.
    ///
    /// # Errors
    ///
    /// If the call traps ([`Trap`](crate::Trap)) or a host function it
    /// reaches returns an error.
    ///
    /// # Panics
    ///
    /// If `store` does not own the function, or a host function panics.
    pub fn call(&self, mut store: impl AsContextMut, params: P) -> Result<R> {
        let inner = store.as_context_mut().0;
        inner.opaque.check(self.func.store);
        let func_ref = inner.opaque.funcs.func_ref(self.func.index);
        let n = P::COUNT.max(R::COUNT);
        let mut inline = [ValRaw::default(); 8];
        let mut heap;
        let slots: &mut [ValRaw] = if n <= inline.len() {
            &mut inline[..n]
        } else {
            heap = vec![ValRaw::default(); n];
            &mut heap
        };
        params.store(&mut RawStore(&mut inner.opaque), slots)?;
        // SAFETY: the types were checked when this TypedFunc was made and
        // `slots` has room for parameters and results.
        unsafe { call_raw(inner, func_ref, slots)? };
        Ok(R::load(&mut RawStore(&mut inner.opaque), slots))
    }

    /// As [`TypedFunc::call`], on a stack of its own that async host
    /// functions and async yields can suspend; see
    /// [`Func::call_async`].
    ///
    /// # Errors
    ///
    /// If async support is not enabled, the stack for the call cannot be
    /// allocated, and every error of [`TypedFunc::call`].
    ///
    /// # Panics
    ///
    /// As [`TypedFunc::call`].
    pub async fn call_async(&self, mut store: impl AsContextMut<Data: Send>, params: P) -> Result<R>
    where
        R: Send,
    {
        let inner = store.as_context_mut().0;
        crate::fiber::ensure_async_support(&inner.opaque.engine, "async calls")?;
        inner.opaque.check(self.func.store);
        let func_ref = crate::fiber::SendPtr(inner.opaque.funcs.func_ref(self.func.index));
        let mut slots = vec![ValRaw::default(); P::COUNT.max(R::COUNT)];
        params.store(&mut RawStore(&mut inner.opaque), &mut slots)?;
        crate::fiber::on_fiber(inner, move |store| {
            let func_ref = func_ref.get();
            // SAFETY: as in `call`.
            unsafe { call_raw(store, func_ref, &mut slots) }
                .map(|()| R::load(&mut RawStore(&mut store.opaque), &slots))
        })
        .await?
    }
}
