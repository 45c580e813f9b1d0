//! The scheduler demo: three guests (`sched.wat`) run round-robin on this
//! one CPU as async calls ([`keel::TypedFunc::call_async`]), each on its
//! own fiber stack. The timer's tick advances the engine's epoch, and each
//! store's deadline yields (`Store::epoch_deadline_async_yield_and_update`),
//! so every timer tick suspends the running guest and the loop below
//! resumes the next one. Guest 1 also blocks in the async host call
//! `kernel.sleep`, which stays pending until enough ticks have passed while
//! the others run. The loop is the whole executor: futures polled with a
//! no-op waker, no `std`, no async runtime.

use crate::Machine;
use crate::guest::{Guest, config, load_guest};
use crate::ticks;
use alloc::boxed::Box;
use alloc::vec::Vec;
use core::future::Future;
use core::pin::Pin;
use core::sync::atomic::{AtomicU64, Ordering};
use core::task::{Context, Poll, Waker};
use keel::{Caller, Engine, Linker, Store};
use spin::Mutex;

/// Steps each guest runs.
const STEPS: i32 = 4;
/// The guest that sleeps, and at which step.
const SLEEPER: u32 = 1;
const SLEEP_AT: i32 = 1;

/// What happened, in order: (guest, step) for each progress call, and the
/// sleeper's sleep and wake-up as steps -1 and -2.
static EVENTS: Mutex<Vec<(u32, i32)>> = Mutex::new(Vec::new());

/// Per guest: the timer tick before which it is asleep (0: awake). The
/// scheduler does not resume a guest before its tick.
static WAKE_AT: [AtomicU64; 3] = [const { AtomicU64::new(0) }; 3];

/// Pending until the timer has ticked `until`; records it for the
/// scheduler in `WAKE_AT[guest]`.
struct Sleep {
    guest: usize,
    until: u64,
}

impl Future for Sleep {
    type Output = ();
    fn poll(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<()> {
        if ticks::ticks() >= self.until {
            WAKE_AT[self.guest].store(0, Ordering::Relaxed);
            Poll::Ready(())
        } else {
            WAKE_AT[self.guest].store(self.until, Ordering::Relaxed);
            Poll::Pending
        }
    }
}

/// Runs the three guests to completion and checks they took turns.
pub fn run<M: Machine>() -> keel::Result<()> {
    let mut config = config::<M>()?;
    config
        .consume_fuel(true)
        .epoch_interruption(true)
        .async_support(true)
        .max_wasm_stack(128 * 1024)
        .async_stack_size(256 * 1024);
    let engine = Engine::new(&config)?;
    let module = load_guest(&engine, Guest::Sched)?;
    ticks::drive_epochs_of(&engine);

    let mut linker: Linker<u32> = Linker::new(&engine);
    linker.func_wrap("kernel", "ticks", || ticks::ticks() as i64)?;
    linker.func_wrap(
        "kernel",
        "progress",
        |caller: Caller<'_, u32>, id: i32, step: i32| {
            kprintln!("guest {id}: step {step} at tick {}", ticks::ticks());
            EVENTS.lock().push((*caller.data(), step));
        },
    )?;
    linker.func_wrap_async(
        "kernel",
        "sleep",
        |caller: Caller<'_, u32>, (ticks,): (i32,)| {
            let id = *caller.data();
            let until = ticks::ticks() + ticks as u64;
            kprintln!("guest {id}: sleeping {ticks} ticks");
            EVENTS.lock().push((id, -1));
            Box::new(async move {
                Sleep {
                    guest: id as usize,
                    until,
                }
                .await;
                kprintln!("guest {id}: woke at tick {}", ticks::ticks());
                EVENTS.lock().push((id, -2));
            })
        },
    )?;

    let mut stores: Vec<Store<u32>> = (0..3).map(|id| Store::new(&engine, id)).collect();
    let mut workers = Vec::new();
    for store in &mut stores {
        store.set_fuel(u64::MAX)?;
        store.set_epoch_deadline(1);
        store.epoch_deadline_async_yield_and_update(1);
        let instance = linker.instantiate(&mut *store, &module)?;
        workers.push(instance.get_typed_func::<(i32, i32, i32), i32>(&mut *store, "worker")?);
    }
    kprintln!("scheduler: 3 guests, round-robin, preempted by the timer's epoch yield");
    let start = ticks::ticks();
    let mut tasks: Vec<_> = stores
        .iter_mut()
        .zip(&workers)
        .enumerate()
        .map(|(id, (store, worker))| {
            let sleep_at = if id as u32 == SLEEPER { SLEEP_AT } else { -1 };
            Some(Box::pin(
                worker.call_async(store, (id as i32, STEPS, sleep_at)),
            ))
        })
        .collect();
    let mut results = [None; 3];
    let mut slices = [0u32; 3];
    let mut cx = Context::from_waker(Waker::noop());
    while tasks.iter().any(Option::is_some) {
        let mut ran = false;
        for (id, slot) in tasks.iter_mut().enumerate() {
            let Some(task) = slot else { continue };
            if ticks::ticks() < WAKE_AT[id].load(Ordering::Relaxed) {
                continue;
            }
            ran = true;
            slices[id] += 1;
            if let Poll::Ready(result) = task.as_mut().poll(&mut cx) {
                results[id] = Some(result?);
                *slot = None;
            }
        }
        if !ran {
            // Everyone left is asleep: wait for the next timer interrupt.
            M::wait_for_interrupt();
        }
    }
    drop(tasks);
    let ticks = ticks::ticks() - start;
    for (id, result) in results.iter().enumerate() {
        kprintln!(
            "scheduler: guest {id} finished: {} in {} time slices",
            result.unwrap_or(-1),
            slices[id]
        );
    }
    let events = EVENTS.lock();
    // Interleaved: some guest made progress between two steps of another.
    let interleaved = events.windows(2).any(|w| w[0].0 != w[1].0)
        && (0..3).all(|id| {
            let mine: Vec<usize> = (0..events.len()).filter(|&i| events[i].0 == id).collect();
            mine.windows(2).any(|w| w[1] > w[0] + 1)
        });
    let slept = events.iter().position(|&e| e == (SLEEPER, -1));
    let woke = events.iter().position(|&e| e == (SLEEPER, -2));
    let others_while_asleep = match (slept, woke) {
        (Some(s), Some(w)) => events[s..w].iter().filter(|e| e.0 != SLEEPER).count(),
        _ => 0,
    };
    kprintln!("scheduler: interleaved: {interleaved}");
    kprintln!(
        "scheduler: while guest {SLEEPER} slept, the others made {others_while_asleep} steps"
    );
    kprintln!("scheduler: all 3 guests finished after {ticks} ticks");
    Ok(())
}
