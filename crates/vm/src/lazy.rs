//! Lazily compiled code ([`LazyCode`]): a module whose function bodies
//! are compiled when first called.
//!
//! # Layout
//!
//! One reservation of address space per module holds, in order:
//!
//! 1. the **call table** (read-write pages): one code address per defined
//!    function, which calls between the module's functions load and call;
//! 2. the **stubs** (read+execute pages): per function a `stub` that
//!    jumps through its table entry and a `lazy` entry that enters the
//!    compiler, then one far jump to `keel_lazy_trampoline`
//!    ([`keel_trap::lazy`] has the machine code);
//! 3. the **segments**: each compiled function's code, in pages of its
//!    own, written read-write and then made read+execute before it is
//!    published, never written again (W^X per segment).
//!
//! A table entry starts as the function's `lazy` entry and becomes its
//! code once compiled: later calls go straight to the code. A function
//! reference (`VMFuncRef`) made before then holds the `lazy` entry too;
//! the first call through it enters the compile hook, which compiles the
//! function if it is not yet and points the reference at the code, so
//! `call_indirect` and `call_ref` do not keep a detour. A function import
//! copies its entry from a reference but the hook cannot refresh copies:
//! an import made before compilation holds the `stub`, which follows the
//! table, so it never goes stale ([`LazyCode::import_wasm_call`]).
//!
//! The whole reservation is one entry of the code registry, whose
//! [`CodeInfo`] finds the segment of a pc among the published ones by
//! binary search, without a lock (segments are only appended, in address
//! order, and freed with the module).
//!
//! # Tiers
//!
//! When the compiler says so ([`LazyCompiler::tiers`]), a first call
//! compiles the function quickly, without optimizations (the *baseline*
//! tier), and asks the compiler for its optimized code
//! ([`LazyCompiler::tier_up`]), which another thread compiles into a
//! segment of its own ([`LazyHandle::optimize`]) and stores in the table,
//! so later calls run it. The baseline segment stays (a thread may still
//! run it) until the module drops. A function reference made or refreshed
//! while a function is at the baseline tier points at its stub, so it
//! follows the table too.
//!
//! # Ahead of calls
//!
//! After a call compiled a function, the compiler hears of it
//! ([`LazyCompiler::called_first`]) and may compile the functions it
//! calls ([`LazyHandle::callees`]) on other threads before they are
//! called ([`LazyHandle::precompile`]); a call that finds its function
//! being compiled waits for that compilation.
//!
//! # Compiling
//!
//! The first call of function `i` enters `keel_lazy_trampoline`, which
//! calls [`lazy_compile_hook`] with the callee's VMContext: its instance
//! leads to this `LazyCode`, whose [`LazyCompiler`] (keel's Cranelift)
//! compiles the body. One thread compiles a function; others calling it
//! meanwhile wait for that compilation. An error leaves the wasm call as
//! the embedder's error would ([`keel_trap::raise`]), and the function
//! stays uncompiled.

use crate::{VmError, sys};
use alloc::boxed::Box;
use alloc::format;
use alloc::sync::{Arc, Weak};
use core::any::Any;
use core::sync::atomic::{AtomicPtr, AtomicU8, AtomicUsize, Ordering};
use keel_translate::{CompiledText, DefinedFuncIndex, EntityRef, Module, Trap};
use keel_trap::Access;
use keel_trap::lazy::{FAR_SIZE, STUB_SIZE};

/// Compiles one function of a lazily compiled module.
pub trait LazyCompiler: Send + Sync {
    /// Compile defined function `def` with its calls to the module's
    /// functions going through the call table at address `call_table`.
    /// The result's `text` is the code; its tables are relative to it and
    /// its `functions` has the one function, at index 0.
    ///
    /// # Errors
    ///
    /// Why it could not: the value is what the failing wasm call returns
    /// (`keel` passes an `anyhow::Error`).
    /// With `optimized` false, compile quickly without optimizations
    /// (the baseline tier, see [`LazyCompiler::tiers`]).
    fn compile(
        &self,
        def: DefinedFuncIndex,
        call_table: usize,
        optimized: bool,
    ) -> Result<CompiledText, Box<dyn Any + Send>>;

    /// Called after each function is published at `address`, for
    /// profilers and logging.
    fn compiled(&self, _def: DefinedFuncIndex, _address: usize, _len: usize) {}

    /// Whether the first call of `def` compiles the baseline tier and
    /// hands it to [`LazyCompiler::tier_up`] (default: no, first calls
    /// compile optimized code).
    fn tiers(&self, _def: DefinedFuncIndex) -> bool {
        false
    }

    /// Whether [`LazyCompiler::tiers`] may say yes for some function
    /// (it sizes the reservation for two tiers).
    fn may_tier(&self) -> bool {
        false
    }

    /// `def` runs baseline code: compile its optimized code when
    /// convenient, on another thread, with [`LazyHandle::optimize`]. The
    /// default leaves it at the baseline tier
    /// ([`LazyHandle::keep_baseline`]).
    fn tier_up(&self, code: LazyHandle, def: DefinedFuncIndex) {
        code.keep_baseline(def);
    }

    /// A call compiled `def` (not [`LazyHandle::precompile`]): the
    /// compiler may compile what it calls ahead of time, on other threads.
    /// Called on the calling thread; the default does nothing.
    fn called_first(&self, _code: LazyHandle, _def: DefinedFuncIndex) {}

    /// Whether the code of `def` takes a return-area pointer as its first
    /// argument and its VMContext second (its results do not fit the
    /// return registers), which its stub must tell the compile hook.
    fn vmctx_in_second_argument(&self, _def: DefinedFuncIndex) -> bool {
        false
    }

    /// The defined functions that `def` calls directly, for
    /// [`LazyHandle::callees`] (default: none known).
    fn callees(&self, _def: DefinedFuncIndex) -> alloc::vec::Vec<DefinedFuncIndex> {
        alloc::vec::Vec::new()
    }
}

/// A lazily compiled module's code, held weakly for work on other threads
/// ([`LazyCompiler::tier_up`], [`LazyCompiler::called_first`]): once the
/// module and its instances are gone, every method does nothing.
#[derive(Clone, Debug)]
pub struct LazyHandle {
    code: Weak<LazyInner>,
}

impl LazyHandle {
    /// Compile the optimized code of `def`, which runs baseline code, and
    /// switch later calls to it. A compilation error leaves the function
    /// at the baseline tier (the compiler reports it).
    pub fn optimize(&self, def: DefinedFuncIndex) {
        if let Some(inner) = self.code.upgrade() {
            inner.tier_up(def, true);
        }
    }

    /// Leave `def` at the baseline tier for good.
    pub fn keep_baseline(&self, def: DefinedFuncIndex) {
        if let Some(inner) = self.code.upgrade() {
            inner.tier_up(def, false);
        }
    }

    /// Compile `def` ahead of its first call unless it is compiled or
    /// being compiled; whether this call compiled it. An error is left
    /// for the first call to meet again.
    pub fn precompile(&self, def: DefinedFuncIndex) -> bool {
        let Some(inner) = self.code.upgrade() else {
            return false;
        };
        if def.index() >= inner.functions
            || inner.states[def.index()].load(Ordering::Acquire) != UNCOMPILED
        {
            return false;
        }
        matches!(inner.ensure(def, false), Ok((_, true)))
    }

    /// Whether `def` is not compiled yet (nor being compiled).
    pub fn is_uncompiled(&self, def: DefinedFuncIndex) -> bool {
        self.code.upgrade().is_some_and(|inner| {
            def.index() < inner.functions
                && inner.states[def.index()].load(Ordering::Acquire) == UNCOMPILED
        })
    }

    /// The defined functions `def` calls directly
    /// ([`LazyCompiler::callees`]).
    pub fn callees(&self, def: DefinedFuncIndex) -> alloc::vec::Vec<DefinedFuncIndex> {
        self.code
            .upgrade()
            .map(|inner| inner.compiler.callees(def))
            .unwrap_or_default()
    }
}

/// One compiled function's code and tables.
#[derive(Debug)]
pub struct Segment {
    /// Its first byte.
    start: usize,
    /// Bytes of code.
    len: usize,
    /// Its tables, with offsets from the start of the reservation (the
    /// registry's offsets).
    text: CompiledText,
    /// The function.
    def: DefinedFuncIndex,
}

/// Not compiled; being compiled; compiled at the baseline tier, the
/// optimized code pending (the table holds the baseline code); compiled
/// for good (the table holds the code).
const UNCOMPILED: u8 = 0;
const COMPILING: u8 = 1;
const BASELINE: u8 = 2;
const COMPILED: u8 = 3;

/// Successive segments start this many bytes further into their first
/// page (a cache line), wrapping at [`STAGGER_SPAN`].
const STAGGER_STEP: usize = 64;

/// The largest start offset of a segment in its first page, plus one
/// step: 16 positions.
const STAGGER_SPAN: usize = 1024;

/// What the registry and the instances share.
pub struct LazyInner {
    /// Itself, for [`LazyHandle`]s.
    me: Weak<LazyInner>,
    module: Arc<Module>,
    compiler: Box<dyn LazyCompiler>,
    base: *mut u8,
    reserved: usize,
    /// The call table: `functions` addresses at `base`.
    table: *const AtomicUsize,
    functions: usize,
    /// Address of `stub[0]`; `lazy[0]` follows the stubs.
    stubs: usize,
    /// Compilation state per function.
    states: Box<[AtomicU8]>,
    /// Where segments go; placing a segment takes this lock, lookups
    /// never do.
    next: spin::Mutex<Frontier>,
    /// The published segments, in address order; `published` of them
    /// (up to two per function: baseline and optimized).
    segments: Box<[AtomicPtr<Segment>]>,
    published: AtomicUsize,
    /// Functions compiled (at either tier).
    compiled: AtomicUsize,
    /// Functions at the baseline tier whose optimized code is pending.
    baseline: AtomicUsize,
}

/// Where the next segment goes in a [`LazyInner`]'s reservation.
#[derive(Debug)]
struct Frontier {
    /// The first page past the published segments.
    next: usize,
    /// The end of the read-write pages made ahead of `next`.
    writable: usize,
}

/// Bytes of code pages made read-write at a time ahead of the segments.
const WRITABLE_CHUNK: usize = 64 << 10;

// SAFETY: the raw pointers are to the reservation this value owns until
// it drops; the call table is only accessed atomically, stubs and
// published segments are immutable, and `next` is behind a lock.
unsafe impl Send for LazyInner {}
// SAFETY: as above.
unsafe impl Sync for LazyInner {}

impl core::fmt::Debug for LazyInner {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("LazyCode")
            .field("functions", &self.functions)
            .field("compiled", &self.published.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

/// A lazily compiled module's code: its call table, stubs and compiled
/// segments, registered for trap handling. Shared by the module and its
/// instances.
#[derive(Debug)]
pub struct LazyCode {
    inner: Arc<LazyInner>,
    /// Dropped (unregistered) before `inner` can be.
    _registration: keel_trap::CodeRegistration,
}

impl LazyCode {
    /// Reserve and lay out the code of `module`, of which `compiler`
    /// compiles each function when first called, with room for
    /// `code_bytes` bytes of compiled code (each function also takes up
    /// to a page more).
    ///
    /// # Errors
    ///
    /// [`VmError::Platform`] if memory cannot be reserved or protected,
    /// [`VmError::ImplLimit`] if the module has 2^30 functions or more.
    pub fn new(
        module: Arc<Module>,
        compiler: Box<dyn LazyCompiler>,
        code_bytes: usize,
    ) -> Result<Self, VmError> {
        keel_trap::lazy::set_lazy_compile_hook(lazy_compile_hook);
        let functions = module.num_defined_funcs() as usize;
        if functions >= keel_trap::lazy::VMCTX_IN_SECOND_ARGUMENT as usize {
            return Err(VmError::ImplLimit(format!(
                "{functions} functions are too many to compile lazily"
            )));
        }
        let page = sys::page_size();
        let table_len = (functions * 8).next_multiple_of(page).max(page);
        let stubs_len = (2 * functions * STUB_SIZE + FAR_SIZE).next_multiple_of(page);
        // Each function may be compiled twice (baseline and optimized),
        // each in pages of its own, starting up to `STAGGER_SPAN` bytes in.
        let tiers = if compiler.may_tier() { 2 } else { 1 };
        let code_len = code_bytes
            .saturating_mul(tiers)
            .checked_add(functions.saturating_mul((page + STAGGER_SPAN) * tiers))
            .and_then(|n| n.checked_add(1 << 20))
            .ok_or_else(|| VmError::ImplLimit("the lazy code reservation overflows".into()))?
            .next_multiple_of(page);
        // Tables address code by u32 offsets from the reservation's start.
        let reserved = (table_len + stubs_len + code_len).min(u32::MAX as usize / page * page);
        if reserved < table_len + stubs_len + page {
            return Err(VmError::ImplLimit(format!(
                "{functions} functions leave no room for lazily compiled code"
            )));
        }
        let base = sys::reserve(reserved)
            .map_err(|e| VmError::platform("cannot reserve memory for lazily compiled code", e))?;
        let base_addr = base as usize;
        let stubs = base_addr + table_len;
        let lazies = stubs + functions * STUB_SIZE;
        let far = lazies + functions * STUB_SIZE;
        // SAFETY: `base..base + reserved` is our fresh reservation; the
        // table and stub pages lie inside it. Both are written while
        // read-write, and the stubs made read+execute before any address
        // into them is handed out.
        let setup = unsafe {
            (|| -> Result<(), VmError> {
                sys::protect(base, table_len + stubs_len, Access::ReadWrite)
                    .map_err(|e| VmError::platform("cannot make the call table writable", e))?;
                let table = base.cast::<usize>();
                let out_of_range = || VmError::ImplLimit("lazy stubs out of branch range".into());
                for i in 0..functions {
                    let stub = stubs + i * STUB_SIZE;
                    let lazy = lazies + i * STUB_SIZE;
                    let slot = base_addr + i * 8;
                    table.add(i).write(lazy);
                    let code =
                        keel_trap::lazy::encode_stub(stub, slot).map_err(|_| out_of_range())?;
                    core::ptr::copy_nonoverlapping(code.as_ptr(), stub as *mut u8, STUB_SIZE);
                    let mut index = i as u32;
                    if compiler.vmctx_in_second_argument(DefinedFuncIndex::new(i)) {
                        index |= keel_trap::lazy::VMCTX_IN_SECOND_ARGUMENT;
                    }
                    let code = keel_trap::lazy::encode_lazy(lazy, index, far)
                        .map_err(|_| out_of_range())?;
                    core::ptr::copy_nonoverlapping(code.as_ptr(), lazy as *mut u8, STUB_SIZE);
                }
                let code = keel_trap::lazy::encode_far(keel_trap::lazy::trampoline_address());
                core::ptr::copy_nonoverlapping(code.as_ptr(), far as *mut u8, FAR_SIZE);
                sys::protect(stubs as *mut u8, stubs_len, Access::ReadExecute)
                    .map_err(|e| VmError::platform("cannot make the lazy stubs executable", e))?;
                keel_trap::arch::flush_icache(stubs as *const u8, stubs_len);
                Ok(())
            })()
        };
        if let Err(e) = setup {
            // SAFETY: nothing refers to the reservation yet.
            unsafe { sys::release(base, reserved) };
            return Err(e);
        }
        let inner = Arc::new_cyclic(|me| LazyInner {
            me: me.clone(),
            module,
            compiler,
            base,
            reserved,
            table: base.cast::<AtomicUsize>(),
            functions,
            stubs,
            states: (0..functions).map(|_| AtomicU8::new(UNCOMPILED)).collect(),
            next: spin::Mutex::new(Frontier {
                next: stubs + stubs_len,
                writable: stubs + stubs_len,
            }),
            segments: (0..functions * tiers)
                .map(|_| AtomicPtr::new(core::ptr::null_mut()))
                .collect(),
            published: AtomicUsize::new(0),
            compiled: AtomicUsize::new(0),
            baseline: AtomicUsize::new(0),
        });
        let registration = keel_trap::register_code(base_addr, reserved, inner.clone());
        Ok(Self {
            inner,
            _registration: registration,
        })
    }

    /// The call table's address: what the compiler bakes into calls.
    pub fn call_table(&self) -> usize {
        self.inner.base as usize
    }

    /// The entry of defined function `def` for a function reference: its
    /// code once compiled, its stub at the baseline tier, else its `lazy`
    /// entry (the first call through the reference compiles it and
    /// points the reference at the code).
    ///
    /// # Panics
    ///
    /// If `def` is not a defined function of the module (a keel bug).
    pub fn wasm_call(&self, def: DefinedFuncIndex) -> *const u8 {
        self.inner.wasm_call(def)
    }

    /// The entry point to copy into a function import from a function
    /// reference whose entry is `wasm_call`: `wasm_call` itself, unless it
    /// is the `lazy` entry of a lazily compiled function, which only a
    /// reference may hold (the compile hook refreshes references, not
    /// copies); then that function's code if it is compiled, else its
    /// stub.
    pub fn import_wasm_call(wasm_call: *const u8) -> *const u8 {
        let Some((_, info)) = keel_trap::lookup_code(wasm_call as usize) else {
            return wasm_call;
        };
        let Some(inner) = info.as_any().downcast_ref::<LazyInner>() else {
            return wasm_call;
        };
        match inner.lazy_entry_at(wasm_call as usize) {
            Some(def) => inner.stable_wasm_call(def),
            None => wasm_call,
        }
    }

    /// How many functions are compiled (at either tier).
    pub fn compiled(&self) -> usize {
        self.inner.compiled.load(Ordering::Acquire)
    }

    /// How many functions run baseline code while their optimized code is
    /// pending ([`LazyCompiler::tiers`]).
    pub fn pending_tier_ups(&self) -> usize {
        self.inner.baseline.load(Ordering::Acquire)
    }

    /// Compile defined function `def` now if it is not yet, as its first
    /// call would; its code address.
    ///
    /// # Errors
    ///
    /// The compiler's error.
    pub fn compile(&self, def: DefinedFuncIndex) -> Result<*const u8, Box<dyn Any + Send>> {
        self.inner.ensure(def, false).map(|(code, _)| code)
    }
}

impl LazyInner {
    fn slot(&self, def: DefinedFuncIndex) -> &AtomicUsize {
        assert!(def.index() < self.functions, "no defined function {def:?}");
        // SAFETY: the table has `functions` entries, initialized in `new`,
        // and lives as long as `self`.
        unsafe { &*self.table.add(def.index()) }
    }

    /// `stub[def]`'s address.
    fn stub(&self, def: DefinedFuncIndex) -> *const u8 {
        (self.stubs + def.index() * STUB_SIZE) as *const u8
    }

    /// `lazy[def]`'s address (the lazy entries follow the stubs).
    fn lazy_entry(&self, def: DefinedFuncIndex) -> *const u8 {
        (self.stubs + (self.functions + def.index()) * STUB_SIZE) as *const u8
    }

    /// The entry of `def` for a function reference: its code once
    /// compiled for good; its stub at the baseline tier (the table will
    /// move to the optimized code); before that its `lazy` entry, so the
    /// first call through the reference enters the compile hook, which
    /// points the reference at the code ([`lazy_compile_hook`]).
    fn wasm_call(&self, def: DefinedFuncIndex) -> *const u8 {
        match self.states[def.index()].load(Ordering::Acquire) {
            COMPILED => self.slot(def).load(Ordering::Acquire) as *const u8,
            BASELINE => self.stub(def),
            _ => self.lazy_entry(def),
        }
    }

    /// The entry of `def` for a copy the compile hook cannot refresh (a
    /// function import of another instance): its code once compiled for
    /// good, else its stub, which follows the call table.
    fn stable_wasm_call(&self, def: DefinedFuncIndex) -> *const u8 {
        match self.states[def.index()].load(Ordering::Acquire) {
            COMPILED => self.slot(def).load(Ordering::Acquire) as *const u8,
            _ => self.stub(def),
        }
    }

    /// The defined function whose `lazy` entry is at `address`, if it is
    /// one.
    fn lazy_entry_at(&self, address: usize) -> Option<DefinedFuncIndex> {
        let lazies = self.lazy_entry(DefinedFuncIndex::new(0)) as usize;
        let offset = address.checked_sub(lazies)?;
        (offset % STUB_SIZE == 0 && offset / STUB_SIZE < self.functions)
            .then(|| DefinedFuncIndex::new(offset / STUB_SIZE))
    }

    /// The code of `def`, compiling it unless it is (or another thread
    /// is compiling it: then wait for that), and whether this call
    /// compiled it; `from_call` when a call of `def` asks.
    fn ensure(
        &self,
        def: DefinedFuncIndex,
        from_call: bool,
    ) -> Result<(*const u8, bool), Box<dyn Any + Send>> {
        let state = &self.states[def.index()];
        loop {
            match state.compare_exchange(
                UNCOMPILED,
                COMPILING,
                Ordering::Acquire,
                Ordering::Acquire,
            ) {
                Ok(_) => break,
                Err(BASELINE | COMPILED) => {
                    return Ok((self.slot(def).load(Ordering::Acquire) as *const u8, false));
                }
                Err(_) => wait(),
            }
        }
        let tiers = self.compiler.tiers(def);
        let result = self
            .compiler
            .compile(def, self.base as usize, !tiers)
            .and_then(|text| {
                self.place(def, text)
                    .map_err(|e| Box::new(e) as Box<dyn Any + Send>)
            });
        match result {
            Ok(address) => {
                self.slot(def).store(address, Ordering::Release);
                self.compiled.fetch_add(1, Ordering::AcqRel);
                if tiers {
                    self.baseline.fetch_add(1, Ordering::AcqRel);
                    state.store(BASELINE, Ordering::Release);
                    self.compiler.tier_up(self.handle(), def);
                } else {
                    state.store(COMPILED, Ordering::Release);
                }
                if from_call {
                    self.compiler.called_first(self.handle(), def);
                }
                Ok((address as *const u8, true))
            }
            Err(e) => {
                state.store(UNCOMPILED, Ordering::Release);
                Err(e)
            }
        }
    }

    fn handle(&self) -> LazyHandle {
        LazyHandle {
            code: self.me.clone(),
        }
    }

    /// Move `def` from the baseline tier to its final code: the optimized
    /// code compiled now when `optimize`, else (or if that fails) the
    /// baseline code it has.
    fn tier_up(&self, def: DefinedFuncIndex, optimize: bool) {
        let state = &self.states[def.index()];
        if state.load(Ordering::Acquire) != BASELINE {
            return;
        }
        if optimize {
            let placed = self
                .compiler
                .compile(def, self.base as usize, true)
                .ok()
                .and_then(|text| self.place(def, text).ok());
            if let Some(address) = placed {
                self.slot(def).store(address, Ordering::Release);
            }
        }
        state.store(COMPILED, Ordering::Release);
        self.baseline.fetch_sub(1, Ordering::AcqRel);
    }

    /// Copy `text`'s code into fresh pages of the reservation, make them
    /// executable and publish the segment; its address.
    fn place(&self, def: DefinedFuncIndex, mut text: CompiledText) -> Result<usize, VmError> {
        let code = core::mem::take(&mut text.text);
        let page = sys::page_size();
        let mut next = self.next.lock();
        let n = self.published.load(Ordering::Relaxed);
        // Segments start at staggered offsets into their first page, so
        // that functions do not all share their low 12 address bits
        // (branch predictors index by them: page-aligned targets of one
        // `call_indirect` ran the `indirect` workload 4-10 % slower).
        let stagger = (n * STAGGER_STEP) % STAGGER_SPAN;
        let pages = next.next;
        let len = (stagger + code.len().max(1)).next_multiple_of(page);
        let start = pages + stagger;
        let end = self.base as usize + self.reserved;
        if end - pages < len {
            return Err(VmError::ImplLimit(format!(
                "the lazily compiled code of this module outgrew its {} byte reservation",
                self.reserved
            )));
        }
        // The pages past the last segment are made read-write ahead, a
        // chunk at a time, so that placing a segment changes the access of
        // its pages once (to read+execute), not twice.
        if next.writable < pages + len {
            let to = (pages + len).max(next.writable + WRITABLE_CHUNK).min(end);
            // SAFETY: `writable..to` lies in our reservation past every
            // published segment: no code runs there and nothing refers to
            // it.
            unsafe {
                sys::protect(
                    next.writable as *mut u8,
                    to - next.writable,
                    Access::ReadWrite,
                )
                .map_err(|e| VmError::platform("cannot make code memory writable", e))?;
            }
            next.writable = to;
        }
        // SAFETY: `pages..pages + len` lies in our reservation past every
        // published segment and the stubs, and is read-write (above): no
        // code runs there yet. It is made read+execute before the segment
        // is published (W^X), and never written again.
        unsafe {
            core::ptr::copy_nonoverlapping(code.as_ptr(), start as *mut u8, code.len());
            sys::protect(pages as *mut u8, len, Access::ReadExecute)
                .map_err(|e| VmError::platform("cannot make code memory executable", e))?;
        }
        keel_trap::arch::flush_icache(start as *const u8, code.len());
        next.next = pages + len;
        // The reservation is under 4 GiB (`new`).
        text.rebase((start - self.base as usize) as u32)
            .map_err(VmError::ImplLimit)?;
        let segment = Box::into_raw(Box::new(Segment {
            start,
            len: code.len(),
            text,
            def,
        }));
        self.segments[n].store(segment, Ordering::Release);
        self.published.store(n + 1, Ordering::Release);
        drop(next);
        self.compiler.compiled(def, start, code.len());
        Ok(start)
    }

    /// The published segment containing address `pc`.
    fn segment(&self, pc: usize) -> Option<&Segment> {
        let n = self.published.load(Ordering::Acquire);
        let get = |i: usize| {
            // SAFETY: the first `n` pointers are published segments, which
            // live as long as `self`.
            unsafe { &*self.segments[i].load(Ordering::Acquire) }
        };
        let (mut lo, mut hi) = (0, n);
        while lo < hi {
            let mid = (lo + hi) / 2;
            if get(mid).start <= pc {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        let s = get(lo.checked_sub(1)?);
        (pc < s.start + s.len).then_some(s)
    }

    /// The segment holding registry offset `offset` (from the start of
    /// the reservation, as its tables' offsets are).
    fn locate(&self, offset: u32) -> Option<&Segment> {
        self.segment(self.base as usize + offset as usize)
    }

    /// The defined function at registry offset `offset`, the wasm offset
    /// of its code there and that of the function's first byte (its
    /// body's start), for backtraces.
    pub fn frame(&self, offset: usize) -> Option<(DefinedFuncIndex, Option<u32>, Option<u32>)> {
        let offset = u32::try_from(offset).ok()?;
        let s = self.locate(offset)?;
        // The segment starts with the function; the reservation is under
        // 4 GiB (`new`).
        let first = u32::try_from(s.start - self.base as usize).ok()?;
        Some((s.def, s.text.wasm_offset(offset), s.text.wasm_offset(first)))
    }

    /// The module.
    pub fn module(&self) -> &Arc<Module> {
        &self.module
    }
}

impl keel_trap::CodeInfo for LazyInner {
    fn lookup_trap(&self, offset: u32) -> Option<Trap> {
        self.locate(offset)?.text.lookup_trap(offset)
    }

    fn exception_call_site(&self, ret_offset: u32) -> Option<&keel_translate::ExceptionCallSite> {
        self.locate(ret_offset)?
            .text
            .lookup_exception_call_site(ret_offset)
    }

    fn stack_map(&self, ret_offset: u32) -> Option<&keel_translate::StackMap> {
        self.locate(ret_offset)?.text.lookup_stack_map(ret_offset)
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

impl Drop for LazyInner {
    fn drop(&mut self) {
        let n = *self.published.get_mut();
        for slot in &self.segments[..n] {
            // SAFETY: published segments came from `Box::into_raw` in
            // `place` and nothing refers to them once we drop.
            drop(unsafe { Box::from_raw(slot.load(Ordering::Relaxed)) });
        }
        // SAFETY: the reservation is ours; the registry entry that could
        // lead to it is gone (it held an `Arc` to us), and no code runs in
        // it because every instance and module using it held one too.
        unsafe { sys::release(self.base, self.reserved) };
    }
}

/// Wait a little for another thread's compilation.
fn wait() {
    #[cfg(feature = "std")]
    std::thread::yield_now();
    #[cfg(not(feature = "std"))]
    core::hint::spin_loop();
}

/// The hook `keel_lazy_trampoline` calls: compile defined function
/// `index` of the instance whose VMContext is `vmctx`, or leave the wasm
/// call with the compiler's error.
///
/// # Safety
///
/// `vmctx` must be the live VMContext of an instance of a lazily compiled
/// module, passed by its stub inside an activation.
unsafe fn lazy_compile_hook(vmctx: *mut u8, index: u32) -> *const u8 {
    // SAFETY: per the contract, a live VMContext (VM-1).
    let instance = unsafe { crate::Instance::from_vmctx(vmctx) };
    let def = DefinedFuncIndex::from_u32(index);
    // The `Arc` is dropped before `raise` below, which drops nothing on
    // this frame (TRAP-1).
    let result = match instance.lazy_code().cloned() {
        Some(lazy) => lazy.inner.ensure(def, true).map(|(code, _)| {
            // A call through a function reference made before the
            // compilation arrives here once: point the reference at the
            // code, so later calls skip the stub. (Calls through the call
            // table or a stub arrive here at most once per compilation
            // anyway; then the reference may not be handed out yet, and
            // writing its entry is harmless.)
            // SAFETY: this thread runs wasm code of `instance`'s store, so
            // it has the store to itself (VM-5), and the entry is one a
            // reference of `def` may hold.
            unsafe { instance.set_func_ref_wasm_call(def, lazy.inner.wasm_call(def)) };
            code
        }),
        None => {
            Err(Box::new("a lazy stub called for a module compiled eagerly") as Box<dyn Any + Send>)
        }
    };
    match result {
        Ok(code) => code,
        Err(payload) => {
            let reason = keel_trap::UnwindReason::User(payload, keel_trap::RawBacktrace::default());
            // SAFETY: stubs run inside the activation that entered wasm;
            // nothing on this frame needs dropping (TRAP-1).
            unsafe { keel_trap::raise(reason) }
        }
    }
}
