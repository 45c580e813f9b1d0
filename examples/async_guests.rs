//! Scheduling guests like processes: async calls that an epoch deadline
//! and an async host function suspend, driven by a small round-robin loop
//! (no async runtime needed; any executor works the same way).
//!
//! * Each guest runs with `TypedFunc::call_async` on a stack of its own.
//! * A timer thread ticks the engine's epoch; each store yields at every
//!   tick (`Store::epoch_deadline_async_yield_and_update`), so the loop
//!   gets control back and runs the next guest.
//! * `host.sleep(ms)` is an async host function: the guest that calls it
//!   is suspended until the sleep ends while the others go on.
//! * The last guest is moved to another thread half-way and finished
//!   there: a suspended call is `Send`.
//!
//! Run it with `cargo run --example async_guests`.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use keel::{Caller, Config, Engine, Linker, Module, Store};

const GUEST: &str = r#"
(module
  (import "host" "report" (func $report (param i32 i32)))
  (import "host" "sleep" (func $sleep (param i32)))
  ;; `rounds` rounds of busy work, reporting after each; sleeps 20 ms
  ;; after round `sleep_at`.
  (func (export "work") (param $id i32) (param $rounds i32) (param $sleep_at i32)
    (local $round i32) (local $i i32)
    (loop $rounds
      (local.set $i (i32.const 20000000))
      (loop $busy
        (local.set $i (i32.sub (local.get $i) (i32.const 1)))
        (br_if $busy (local.get $i)))
      (call $report (local.get $id) (local.get $round))
      (if (i32.eq (local.get $round) (local.get $sleep_at))
        (then (call $sleep (i32.const 20))))
      (local.set $round (i32.add (local.get $round) (i32.const 1)))
      (br_if $rounds (i32.lt_u (local.get $round) (local.get $rounds))))))
"#;

/// Pending until `until`; a real executor would arm a timer with the
/// waker, this one is polled again by the loop.
struct Sleep {
    until: Instant,
}

impl Future for Sleep {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if Instant::now() >= self.until {
            Poll::Ready(())
        } else {
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
}

fn main() -> keel::Result<()> {
    let mut config = Config::new();
    config.async_support(true).epoch_interruption(true);
    let engine = Engine::new(&config)?;
    let module = Module::new(&engine, GUEST)?;

    let mut linker: Linker<u32> = Linker::new(&engine);
    linker.func_wrap(
        "host",
        "report",
        |caller: Caller<'_, u32>, id: i32, round: i32| {
            assert_eq!(*caller.data(), id as u32);
            println!("guest {id}: round {round} done");
        },
    )?;
    linker.func_wrap_async("host", "sleep", |caller: Caller<'_, u32>, (ms,): (i32,)| {
        let id = *caller.data();
        println!("guest {id}: sleeping {ms} ms");
        Box::new(async move {
            Sleep {
                until: Instant::now() + Duration::from_millis(ms as u64),
            }
            .await;
            println!("guest {id}: awake");
        })
    })?;

    // A 1 ms time slice: the timer thread ticks the epoch.
    let ticker = engine.clone();
    std::thread::spawn(move || {
        loop {
            std::thread::sleep(Duration::from_millis(1));
            ticker.increment_epoch();
        }
    });

    let mut stores: Vec<Store<u32>> = (0..3).map(|id| Store::new(&engine, id)).collect();
    let mut work = Vec::new();
    for store in &mut stores {
        store.set_epoch_deadline(1);
        store.epoch_deadline_async_yield_and_update(1);
        let instance = linker.instantiate(&mut *store, &module)?;
        work.push(instance.get_typed_func::<(i32, i32, i32), ()>(&mut *store, "work")?);
    }
    let mut guests: Vec<_> = stores
        .iter_mut()
        .zip(&work)
        .enumerate()
        .map(|(id, (store, work))| {
            let sleep_at = if id == 1 { 0 } else { -1 };
            Some(Box::pin(work.call_async(store, (id as i32, 3, sleep_at))))
        })
        .collect();

    // Round-robin: each poll runs a guest until its next yield.
    let mut cx = Context::from_waker(Waker::noop());
    let mut slices = [0u32; 3];
    let mut polls = 0;
    while guests[..2].iter().any(Option::is_some) {
        for (id, slot) in guests[..2].iter_mut().enumerate() {
            if let Some(guest) = slot {
                slices[id] += 1;
                if let Poll::Ready(result) = guest.as_mut().poll(&mut cx) {
                    result?;
                    println!("guest {id}: finished after {} polls", slices[id]);
                    *slot = None;
                }
            }
        }
        // Guest 2 runs a few slices here, then moves to another thread.
        if polls < 5
            && let Some(guest) = &mut guests[2]
        {
            polls += 1;
            slices[2] += 1;
            if let Poll::Ready(result) = guest.as_mut().poll(&mut cx) {
                result?;
                guests[2] = None;
            }
        }
    }
    if let Some(mut guest) = guests[2].take() {
        let slices = std::thread::scope(|s| {
            s.spawn(move || {
                let mut cx = Context::from_waker(Waker::noop());
                let mut more = 0;
                loop {
                    more += 1;
                    if let Poll::Ready(result) = guest.as_mut().poll(&mut cx) {
                        return result.map(|()| more);
                    }
                }
            })
            .join()
            .expect("the guest thread panicked")
        })?;
        println!("guest 2: finished on another thread after {slices} more polls");
    }
    Ok(())
}
