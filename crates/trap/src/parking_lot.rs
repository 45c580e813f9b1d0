//! The hosted platform's parking lot behind `memory.atomic.wait32`/`wait64`
//! and `memory.atomic.notify` (threads proposal): one queue of waiters per
//! address, under one lock that a waiter holds while it compares the value
//! and enqueues itself, and that a notifier holds while it dequeues, so no
//! wake-up is lost between the two.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, LazyLock, Mutex, MutexGuard};
use std::time::Instant;

/// One blocked thread.
struct Waiter {
    woken: Mutex<bool>,
    condvar: Condvar,
}

/// Waiters by address, oldest first.
static LOT: LazyLock<Mutex<HashMap<usize, VecDeque<Arc<Waiter>>>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// See [`Platform::atomic_wait`](crate::Platform::atomic_wait).
///
/// # Safety
///
/// `addr` is valid for `size`-byte atomic reads and aligned to `size`.
pub(crate) unsafe fn wait(
    addr: *const u8,
    expected: u64,
    size: u8,
    timeout: Option<core::time::Duration>,
    mut interrupt: Option<&mut dyn FnMut() -> bool>,
) -> u32 {
    let mut lot = lock(&LOT);
    // SAFETY: per the caller's contract.
    let current = unsafe {
        if size == 4 {
            u64::from(AtomicU32::from_ptr(addr.cast_mut().cast()).load(Ordering::SeqCst))
        } else {
            AtomicU64::from_ptr(addr.cast_mut().cast()).load(Ordering::SeqCst)
        }
    };
    if current != expected {
        return 1;
    }
    let waiter = Arc::new(Waiter {
        woken: Mutex::new(false),
        condvar: Condvar::new(),
    });
    lot.entry(addr as usize)
        .or_default()
        .push_back(waiter.clone());
    drop(lot);

    // No deadline: no timeout, or one past what `Instant` can represent.
    let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
    let period = crate::platform::ATOMIC_WAIT_INTERRUPT_PERIOD;
    let mut woken = lock(&waiter.woken);
    let mut result = 2;
    while !*woken {
        // How long to block before looking again: until the deadline, and
        // at most one interrupt period when there is a callback.
        let now = Instant::now();
        let mut slice = match deadline {
            Some(deadline) if now >= deadline => break,
            Some(deadline) => Some(deadline - now),
            None => None,
        };
        if interrupt.is_some() {
            slice = Some(slice.map_or(period, |s| s.min(period)));
        }
        woken = match slice {
            None => waiter
                .condvar
                .wait(woken)
                .unwrap_or_else(|e| e.into_inner()),
            Some(slice) => {
                waiter
                    .condvar
                    .wait_timeout(woken, slice)
                    .unwrap_or_else(|e| e.into_inner())
                    .0
            }
        };
        if *woken {
            break;
        }
        if let Some(interrupt) = interrupt.as_mut() {
            // Still queued, so a notify meanwhile is not lost; no lock is
            // held while the callback runs.
            drop(woken);
            let stop = interrupt();
            woken = lock(&waiter.woken);
            if stop && !*woken {
                result = 3;
                break;
            }
        }
    }
    if *woken {
        return 0;
    }
    drop(woken);
    // Timed out or interrupted: leave the queue, unless a notify took this
    // waiter out meanwhile (it then counted the wake-up, so report it).
    let mut lot = lock(&LOT);
    let Some(queue) = lot.get_mut(&(addr as usize)) else {
        return 0;
    };
    let Some(position) = queue.iter().position(|w| Arc::ptr_eq(w, &waiter)) else {
        return 0;
    };
    queue.remove(position);
    if queue.is_empty() {
        lot.remove(&(addr as usize));
    }
    result
}

/// See [`Platform::atomic_notify`](crate::Platform::atomic_notify).
pub(crate) fn notify(addr: *const u8, count: u32) -> u32 {
    let mut lot = lock(&LOT);
    let Some(queue) = lot.get_mut(&(addr as usize)) else {
        return 0;
    };
    let mut woken = 0;
    while woken < count {
        let Some(waiter) = queue.pop_front() else {
            break;
        };
        *lock(&waiter.woken) = true;
        waiter.condvar.notify_one();
        woken += 1;
    }
    if queue.is_empty() {
        lot.remove(&(addr as usize));
    }
    woken
}
