//! The process-wide registry of compiled code: which address ranges hold
//! wasm code, which of their instructions are trap sites, and (for the
//! runtime) what else is known about them.
//!
//! # Design
//!
//! Trap handlers (signal handlers, a kernel's exception vector) read the
//! registry, so reading takes no lock and allocates nothing: the registry
//! is an immutable, sorted [`Snapshot`] behind an atomic pointer. Writers
//! (registering or unregistering a text section) serialise on a mutex that
//! no reader ever takes, build a new snapshot, publish it with one atomic
//! swap and retire the old one. A retired snapshot is freed only when no
//! reader is inside a read section (`READERS` is zero), checked after the
//! swap, so a reader never sees freed memory (REG-1 below). Writers never
//! wait for readers: a reader interrupted on its own CPU by a writer cannot
//! deadlock it.
//!
//! Entries are keyed by a unique registration id, not by address: when one
//! text section is unmapped and another is mapped at the same address, the
//! old registration's removal cannot remove the new one. Callers
//! unregister before they unmap (keel-vm's `CodeMemory` does).
//!
//! Invariants:
//!
//! * **REG-1**: a snapshot reachable from `CURRENT`, or loaded from it by a
//!   reader that has incremented `READERS` first, is not freed until
//!   `READERS` has been observed zero after it was replaced.
//! * **REG-2**: a snapshot's entries are sorted by start address and never
//!   mutated after publication.

use alloc::boxed::Box;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::any::Any;
use core::ptr;
use core::sync::atomic::{AtomicPtr, AtomicU64, AtomicUsize, Ordering};
use keel_translate::{ExceptionCallSite, StackMap, Trap};
use spin::Mutex;

/// What the registry knows about one text section.
pub trait CodeInfo: Send + Sync + 'static {
    /// The trap raised at byte `offset` of the text, if it is a trap site.
    /// Called from trap handlers: must not allocate, lock or panic.
    fn lookup_trap(&self, offset: u32) -> Option<Trap>;

    /// The concrete type, for the runtime to symbolize frames.
    fn as_any(&self) -> &dyn Any;

    /// The exception handlers of the call whose return address is at byte
    /// `ret_offset` of the text, if it has any. Must not unwind (panic).
    fn exception_call_site(&self, ret_offset: u32) -> Option<&ExceptionCallSite> {
        let _ = ret_offset;
        None
    }

    /// The stack map of the call whose return address is at byte
    /// `ret_offset` of the text, if references are live across it. Must
    /// not unwind (panic).
    fn stack_map(&self, ret_offset: u32) -> Option<&StackMap> {
        let _ = ret_offset;
        None
    }
}

impl CodeInfo for keel_translate::CompiledText {
    fn lookup_trap(&self, offset: u32) -> Option<Trap> {
        keel_translate::CompiledText::lookup_trap(self, offset)
    }

    fn exception_call_site(&self, ret_offset: u32) -> Option<&ExceptionCallSite> {
        self.lookup_exception_call_site(ret_offset)
    }

    fn stack_map(&self, ret_offset: u32) -> Option<&StackMap> {
        self.lookup_stack_map(ret_offset)
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// One registered text section.
#[derive(Clone)]
struct Entry {
    /// First byte (raw address).
    start: usize,
    /// One past the last byte (raw address).
    end: usize,
    /// The registration's identity.
    id: u64,
    info: Arc<dyn CodeInfo>,
}

/// An immutable view of every registered text section (REG-2).
struct Snapshot {
    entries: Vec<Entry>,
}

impl Snapshot {
    /// The entry whose range contains `pc`.
    fn find(&self, pc: usize) -> Option<&Entry> {
        let i = self.entries.partition_point(|e| e.start <= pc);
        let entry = self.entries.get(i.checked_sub(1)?)?;
        (pc < entry.end).then_some(entry)
    }
}

/// The published snapshot, or null before the first registration.
static CURRENT: AtomicPtr<Snapshot> = AtomicPtr::new(ptr::null_mut());
/// Readers inside a read section (REG-1).
static READERS: AtomicUsize = AtomicUsize::new(0);
/// Serialises writers; never taken by readers.
static WRITER: Mutex<Writer> = Mutex::new(Writer {
    retired: Vec::new(),
});
/// Source of registration ids.
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// Writer-side state: snapshots replaced but perhaps still being read.
struct Writer {
    #[expect(
        clippy::vec_box,
        reason = "readers may still hold the boxes' addresses: the snapshots must not move"
    )]
    retired: Vec<Box<Snapshot>>,
}

impl Writer {
    /// Publish `entries` as the new snapshot and retire the old one;
    /// return the retired snapshots no reader can hold any more, for the
    /// caller to drop after releasing the writer lock (dropping an entry
    /// may drop the last reference to code whose owner unregisters more
    /// code, which takes the lock again).
    #[must_use = "drop the returned snapshots after releasing the writer lock"]
    #[expect(
        clippy::vec_box,
        reason = "the retired snapshots are boxes readers held the addresses of"
    )]
    fn publish(&mut self, entries: Vec<Entry>) -> Vec<Box<Snapshot>> {
        let new = Box::into_raw(Box::new(Snapshot { entries }));
        let old = CURRENT.swap(new, Ordering::SeqCst);
        if !old.is_null() {
            // SAFETY: every published snapshot came from `Box::into_raw`
            // above, and it is no longer reachable from `CURRENT`; it is
            // only freed below, once no reader can hold it (REG-1).
            self.retired.push(unsafe { Box::from_raw(old) });
        }
        // A reader that incremented READERS after this load sees zero
        // here only if its increment comes later in the SeqCst order, so it
        // loads `new` (or a newer snapshot), never a retired one.
        if READERS.load(Ordering::SeqCst) == 0 {
            return core::mem::take(&mut self.retired);
        }
        Vec::new()
    }

    /// The entries of the current snapshot, copied.
    fn current_entries(&self) -> Vec<Entry> {
        let p = CURRENT.load(Ordering::SeqCst);
        if p.is_null() {
            return Vec::new();
        }
        // SAFETY: only writers replace or free snapshots and we hold the
        // writer lock, so the current one stays alive (REG-1).
        unsafe { (*p).entries.clone() }
    }
}

/// Decrements `READERS` when a read section ends, even by a panic.
struct ReadGuard;

impl Drop for ReadGuard {
    fn drop(&mut self) {
        READERS.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Run `f` on the current snapshot without locking or allocating.
fn read<R>(f: impl FnOnce(&Snapshot) -> R) -> R {
    static EMPTY: Snapshot = Snapshot {
        entries: Vec::new(),
    };
    READERS.fetch_add(1, Ordering::SeqCst);
    let _guard = ReadGuard;
    let p = CURRENT.load(Ordering::SeqCst);
    if p.is_null() {
        return f(&EMPTY);
    }
    // SAFETY: READERS was incremented before the load, so the snapshot is
    // not freed while `_guard` lives (REG-1), and it is never mutated
    // (REG-2).
    f(unsafe { &*p })
}

/// Keeps a text section registered; unregisters it when dropped.
///
/// Drop it before the code's memory is unmapped or reused.
#[derive(Debug)]
pub struct CodeRegistration {
    id: u64,
}

/// Register `len` bytes of code at `start` (a raw address), described by
/// `info` (whose offsets are relative to `start`). The code stays
/// registered until the returned [`CodeRegistration`] is dropped.
///
/// Takes the writer lock and copies the registry (O(registered sections));
/// never call it from a trap handler.
pub fn register_code(start: usize, len: usize, info: Arc<dyn CodeInfo>) -> CodeRegistration {
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    let entry = Entry {
        start,
        end: start.saturating_add(len),
        id,
        info,
    };
    let mut writer = WRITER.lock();
    let mut entries = writer.current_entries();
    let at = entries.partition_point(|e| e.start <= start);
    entries.insert(at, entry);
    let garbage = writer.publish(entries);
    drop(writer);
    drop(garbage);
    CodeRegistration { id }
}

impl Drop for CodeRegistration {
    fn drop(&mut self) {
        let mut writer = WRITER.lock();
        let mut entries = writer.current_entries();
        let removed: Vec<Entry> = entries.extract_if(.., |e| e.id == self.id).collect();
        let garbage = writer.publish(entries);
        // Dropped without the lock: the entry may hold the last reference
        // to code whose owner unregisters more code.
        drop(writer);
        drop(removed);
        drop(garbage);
    }
}

/// The registered text containing `pc`: its start address and information.
pub fn lookup_code(pc: usize) -> Option<(usize, Arc<dyn CodeInfo>)> {
    read(|s| s.find(pc).map(|e| (e.start, e.info.clone())))
}

/// Call `f` with the start and information of the registered text
/// containing `pc`, inside one read section (no reference count is
/// taken). Lock- and allocation-free.
pub(crate) fn with_code<R>(pc: usize, f: impl FnOnce(usize, &dyn CodeInfo) -> R) -> Option<R> {
    read(|s| s.find(pc).map(|e| f(e.start, &*e.info)))
}

/// Whether `pc` lies in registered code. Lock- and allocation-free.
pub(crate) fn is_registered_code(pc: usize) -> bool {
    read(|s| s.find(pc).is_some())
}

/// The trap raised at `pc`, if `pc` is a trap site of registered code.
/// Lock- and allocation-free: safe to call from a trap handler.
pub fn lookup_trap(pc: usize) -> Option<Trap> {
    read(|s| {
        let e = s.find(pc)?;
        e.info.lookup_trap(u32::try_from(pc - e.start).ok()?)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fixed(u32, Trap);

    impl CodeInfo for Fixed {
        fn lookup_trap(&self, offset: u32) -> Option<Trap> {
            (offset == self.0).then_some(self.1)
        }
        fn as_any(&self) -> &dyn Any {
            self
        }
    }

    // Addresses far from anything real code could be mapped at in tests.
    const BASE: usize = 0x7fff_0000_0000;

    #[test]
    fn same_address_reregistered_keeps_the_newer_entry() {
        let old = register_code(BASE, 64, Arc::new(Fixed(4, Trap::UnreachableCodeReached)));
        // The old code is "unmapped" and new code lands at the same address
        // before the old registration is dropped (the race of issue 10).
        let new = register_code(BASE, 64, Arc::new(Fixed(8, Trap::IntegerOverflow)));
        drop(old);
        assert_eq!(lookup_trap(BASE + 8), Some(Trap::IntegerOverflow));
        assert_eq!(lookup_trap(BASE + 4), None);
        drop(new);
        assert_eq!(lookup_trap(BASE + 8), None);
        assert!(!is_registered_code(BASE + 8));
    }

    #[test]
    fn lookups_find_the_containing_range() {
        let a = register_code(BASE + 0x1000, 16, Arc::new(Fixed(0, Trap::StackOverflow)));
        let b = register_code(
            BASE + 0x2000,
            16,
            Arc::new(Fixed(15, Trap::TableOutOfBounds)),
        );
        assert_eq!(lookup_trap(BASE + 0x1000), Some(Trap::StackOverflow));
        assert_eq!(lookup_trap(BASE + 0x200f), Some(Trap::TableOutOfBounds));
        assert!(!is_registered_code(BASE + 0x1010));
        assert!(!is_registered_code(BASE + 0x0fff));
        assert_eq!(
            lookup_code(BASE + 0x2001).map(|(s, _)| s),
            Some(BASE + 0x2000)
        );
        drop((a, b));
    }

    #[test]
    fn concurrent_registration_and_lookup() {
        extern crate std;
        let threads: Vec<_> = (0..4usize)
            .map(|t| {
                std::thread::spawn(move || {
                    for i in 0..2000usize {
                        let start = BASE + 0x10_0000 + (t * 0x1000);
                        let code = if i % 2 == 0 {
                            Trap::IntegerOverflow
                        } else {
                            Trap::StackOverflow
                        };
                        let r = register_code(start, 32, Arc::new(Fixed(3, code)));
                        assert_eq!(lookup_trap(start + 3), Some(code));
                        drop(r);
                        assert_eq!(lookup_trap(start + 3), None);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
    }
}
