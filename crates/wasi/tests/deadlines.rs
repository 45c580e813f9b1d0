//! An epoch deadline ends every WASI call that can block, and an endless
//! `memory.atomic.wait32`, within 100 ms of passing: in synchronous calls
//! ([`keel_wasi::p1::add_to_linker_sync`]) and in async ones
//! ([`keel_wasi::p1::add_to_linker_async`]), where a wait is a `Pending`
//! future that leaves the executor's thread free.

use core::future::Future;
use core::pin::pin;
use core::task::{Context, Poll, Waker};
use keel::{Config, Engine, Linker, Module, Store, Trap};
use keel_wasi::{HostFile, WasiCtx, WasiCtxBuilder};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long after the deadline passes the call must have ended.
const LATENCY: Duration = Duration::from_millis(100);

/// How long the guest waits before the deadline passes.
const BLOCKED_FOR: Duration = Duration::from_millis(300);

/// Guests that block forever in one call; each exports `memory` and
/// `run`. Descriptor 3 is a preopened TCP listener; stdin and stdout are
/// pipes that no one writes or reads.
const BLOCKING: &[(&str, &str)] = &[
    (
        "poll_oneoff of an hour",
        r#"(import "wasi_snapshot_preview1" "poll_oneoff"
              (func $poll (param i32 i32 i32 i32) (result i32)))
           (func (export "run") (result i32)
             ;; One relative monotonic clock subscription of 3,600 s.
             (i32.store8 (i32.const 8) (i32.const 0))
             (i32.store (i32.const 16) (i32.const 1))
             (i64.store (i32.const 24) (i64.const 3600000000000))
             (call $poll (i32.const 0) (i32.const 256) (i32.const 1) (i32.const 512)))"#,
    ),
    (
        "poll_oneoff on a silent pipe",
        r#"(import "wasi_snapshot_preview1" "poll_oneoff"
              (func $poll (param i32 i32 i32 i32) (result i32)))
           (func (export "run") (result i32)
             ;; fd_read subscription on stdin.
             (i32.store8 (i32.const 8) (i32.const 1))
             (i32.store (i32.const 16) (i32.const 0))
             (call $poll (i32.const 0) (i32.const 256) (i32.const 1) (i32.const 512)))"#,
    ),
    (
        "fd_read of a silent pipe",
        r#"(import "wasi_snapshot_preview1" "fd_read"
              (func $read (param i32 i32 i32 i32) (result i32)))
           (func (export "run") (result i32)
             (i32.store (i32.const 0) (i32.const 64))
             (i32.store (i32.const 4) (i32.const 100))
             (call $read (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 16)))"#,
    ),
    (
        "fd_write to a full pipe",
        r#"(import "wasi_snapshot_preview1" "fd_write"
              (func $write (param i32 i32 i32 i32) (result i32)))
           (func (export "run") (result i32) (local $errno i32)
             ;; 32 KiB per call until the pipe is full and the call waits.
             (i32.store (i32.const 0) (i32.const 1024))
             (i32.store (i32.const 4) (i32.const 32768))
             (loop $again
               (local.set $errno
                 (call $write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 16)))
               (br_if $again (i32.eqz (local.get $errno))))
             (local.get $errno))"#,
    ),
    (
        "sock_accept before anyone connects",
        r#"(import "wasi_snapshot_preview1" "sock_accept"
              (func $accept (param i32 i32 i32) (result i32)))
           (func (export "run") (result i32)
             (call $accept (i32.const 3) (i32.const 0) (i32.const 16)))"#,
    ),
    (
        "sock_recv from a silent client",
        r#"(import "wasi_snapshot_preview1" "sock_accept"
              (func $accept (param i32 i32 i32) (result i32)))
           (import "wasi_snapshot_preview1" "sock_recv"
              (func $recv (param i32 i32 i32 i32 i32 i32) (result i32)))
           (func (export "run") (result i32) (local $errno i32)
             (local.set $errno (call $accept (i32.const 3) (i32.const 0) (i32.const 16)))
             (if (local.get $errno) (then (return (i32.add (i32.const 1000) (local.get $errno)))))
             (i32.store (i32.const 0) (i32.const 64))
             (i32.store (i32.const 4) (i32.const 100))
             (call $recv (i32.load (i32.const 16)) (i32.const 0) (i32.const 1) (i32.const 0)
                         (i32.const 20) (i32.const 24)))"#,
    ),
    (
        "sock_send to a client that never reads",
        r#"(import "wasi_snapshot_preview1" "sock_accept"
              (func $accept (param i32 i32 i32) (result i32)))
           (import "wasi_snapshot_preview1" "sock_send"
              (func $send (param i32 i32 i32 i32 i32) (result i32)))
           (func (export "run") (result i32) (local $errno i32) (local $fd i32)
             (local.set $errno (call $accept (i32.const 3) (i32.const 0) (i32.const 16)))
             (if (local.get $errno) (then (return (i32.add (i32.const 1000) (local.get $errno)))))
             (local.set $fd (i32.load (i32.const 16)))
             (i32.store (i32.const 0) (i32.const 1024))
             (i32.store (i32.const 4) (i32.const 32768))
             (loop $again
               (local.set $errno
                 (call $send (local.get $fd) (i32.const 0) (i32.const 1) (i32.const 0)
                             (i32.const 20)))
               (br_if $again (i32.eqz (local.get $errno))))
             (local.get $errno))"#,
    ),
];

/// A guest that waits forever on a shared memory (no WASI).
const ATOMIC_WAIT: &str = r#"(module
    (memory (export "memory") 1 1 shared)
    (func (export "run") (result i32)
      (memory.atomic.wait32 (i32.const 0) (i32.const 0) (i64.const -1))))"#;

/// What a guest's store holds, and what keeps its pipes and sockets open
/// and silent.
struct State {
    wasi: WasiCtx,
}

/// The far ends of a guest's stdio pipes and its TCP client, kept open
/// (and never read or written) while it runs.
struct Peers {
    _stdin: std::io::PipeWriter,
    _stdout: std::io::PipeReader,
    _client: std::thread::JoinHandle<()>,
}

/// A `WasiCtx` whose stdin and stdout are fresh pipes and whose
/// descriptor 3 is a listener that a client thread connects to (and
/// then neither sends to nor reads from) unless `connect` is false.
fn context(connect: bool) -> (WasiCtx, Peers) {
    let (stdin_rx, stdin_tx) = std::io::pipe().unwrap();
    let (stdout_rx, stdout_tx) = std::io::pipe().unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let client = std::thread::spawn(move || {
        if connect {
            let stream = TcpStream::connect(addr).unwrap();
            // Hold the connection, silent, until the guest is long done.
            std::thread::sleep(Duration::from_secs(3));
            drop(stream);
        }
    });
    let wasi = WasiCtxBuilder::new()
        .stdin(pipe_file(stdin_rx))
        .stdout(pipe_file(stdout_tx))
        .preopened_socket(listener)
        .build();
    (
        wasi,
        Peers {
            _stdin: stdin_tx,
            _stdout: stdout_rx,
            _client: client,
        },
    )
}

fn pipe_file(end: impl Into<std::os::fd::OwnedFd>) -> HostFile {
    let file = std::fs::File::from(end.into());
    HostFile::new(file)
}

fn engine(asynchronous: bool) -> Engine {
    let mut config = Config::new();
    config.epoch_interruption(true);
    config.async_support(asynchronous);
    Engine::new(&config).unwrap()
}

fn module(engine: &Engine, body: &str) -> Module {
    let wat = if body.starts_with("(module") {
        body.to_string()
    } else {
        format!(r#"(module {body} (memory (export "memory") 1))"#)
    };
    Module::new(engine, wat).unwrap()
}

/// Increment `engine`'s epoch after [`BLOCKED_FOR`]; the instant it did.
fn tick_later(engine: &Engine) -> std::thread::JoinHandle<Instant> {
    let engine = engine.clone();
    std::thread::spawn(move || {
        std::thread::sleep(BLOCKED_FOR);
        engine.increment_epoch();
        Instant::now()
    })
}

/// Check that `result` is the `Interrupt` trap, and that it came within
/// [`LATENCY`] of `ticked` (`ended` is when the call returned).
fn assert_interrupted(name: &str, result: keel::Result<i32>, ticked: Instant, ended: Instant) {
    match result {
        Err(e) => assert_eq!(
            e.downcast_ref::<Trap>().copied(),
            Some(Trap::Interrupt),
            "{name}: {e:?}"
        ),
        Ok(errno) => panic!("{name}: the call returned {errno} instead of waiting"),
    }
    let late = ended.saturating_duration_since(ticked);
    assert!(
        late < LATENCY,
        "{name}: ended {late:?} after the deadline passed"
    );
}

/// Wakes a parked thread.
struct Unpark(std::thread::Thread);

impl std::task::Wake for Unpark {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
}

/// Poll `future` on this thread, parking between polls until woken: the
/// output, when it came, and how many polls returned `Pending`.
fn block_on<F: Future>(future: F) -> (F::Output, Instant, usize) {
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut future = pin!(future);
    let mut pending = 0;
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return (output, Instant::now(), pending);
        }
        pending += 1;
        std::thread::park();
    }
}

/// Run each blocking guest (and the atomic wait) in a store whose epoch
/// deadline passes [`BLOCKED_FOR`] into the call, synchronously or as an
/// async call, and check that the call ends with `Interrupt` within
/// [`LATENCY`] of it; an async wait must also have been `Pending`, woken
/// by timers and the reactor rather than polled in a spin.
fn check_blocking_guests(asynchronous: bool) {
    let engine = engine(asynchronous);
    let mut linker: Linker<State> = Linker::new(&engine);
    if asynchronous {
        keel_wasi::p1::add_to_linker_async(&mut linker, |s: &mut State| &mut s.wasi).unwrap();
    } else {
        keel_wasi::p1::add_to_linker_sync(&mut linker, |s: &mut State| &mut s.wasi).unwrap();
    }
    for &(name, body) in BLOCKING.iter().chain(&[("atomic wait", ATOMIC_WAIT)]) {
        let module = module(&engine, body);
        let (wasi, _peers) = context(name.contains("client"));
        let mut store = Store::new(&engine, State { wasi });
        store.set_epoch_deadline(1);
        let instance = if asynchronous {
            block_on(linker.instantiate_async(&mut store, &module)).0
        } else {
            linker.instantiate(&mut store, &module)
        };
        let run = instance
            .unwrap()
            .get_typed_func::<(), i32>(&mut store, "run")
            .unwrap();
        let ticker = tick_later(&engine);
        let (result, ended, pending) = if asynchronous {
            block_on(run.call_async(&mut store, ()))
        } else {
            let result = run.call(&mut store, ());
            (result, Instant::now(), 0)
        };
        assert_interrupted(name, result, ticker.join().unwrap(), ended);
        if asynchronous && name != "atomic wait" {
            // 10 ms slices: about 30 wake-ups in 300 ms.
            assert!(pending >= 1, "{name}: the wait blocked the thread");
            assert!(pending < 200, "{name}: {pending} polls: a spin");
        }
    }
}

#[test]
fn blocking_calls_end_within_100ms_of_the_deadline() {
    check_blocking_guests(false);
}

#[test]
fn async_blocking_calls_are_pending_and_end_within_100ms_of_the_deadline() {
    check_blocking_guests(true);
}

/// Two guests on one thread: while one sleeps an hour in `poll_oneoff`,
/// the other runs, sleeps 50 ms, reads what a thread writes to its
/// stdin, and finishes; then a deadline ends the first.
#[test]
fn async_waits_leave_the_thread_to_other_guests() {
    let engine = engine(true);
    let mut linker: Linker<State> = Linker::new(&engine);
    keel_wasi::p1::add_to_linker_async(&mut linker, |s: &mut State| &mut s.wasi).unwrap();
    let sleeper = module(&engine, BLOCKING[0].1);
    let reader = module(
        &engine,
        r#"(import "wasi_snapshot_preview1" "poll_oneoff"
              (func $poll (param i32 i32 i32 i32) (result i32)))
           (import "wasi_snapshot_preview1" "fd_read"
              (func $read (param i32 i32 i32 i32) (result i32)))
           (func (export "run") (result i32) (local $errno i32)
             (i32.store8 (i32.const 8) (i32.const 0))
             (i32.store (i32.const 16) (i32.const 1))
             (i64.store (i32.const 24) (i64.const 50000000))
             (local.set $errno
               (call $poll (i32.const 0) (i32.const 256) (i32.const 1) (i32.const 512)))
             (if (local.get $errno) (then (return (i32.sub (i32.const 0) (local.get $errno)))))
             (i32.store (i32.const 0) (i32.const 64))
             (i32.store (i32.const 4) (i32.const 100))
             (local.set $errno
               (call $read (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 16)))
             (if (local.get $errno) (then (return (i32.sub (i32.const 0) (local.get $errno)))))
             ;; The byte count, and the first byte read.
             (i32.add (i32.mul (i32.load (i32.const 16)) (i32.const 1000))
                      (i32.load8_u (i32.const 64))))"#,
    );
    let (wasi_a, _peers_a) = context(false);
    let (stdin_rx, mut stdin_tx) = std::io::pipe().unwrap();
    let wasi_b = WasiCtxBuilder::new().stdin(pipe_file(stdin_rx)).build();
    let mut store_a = Store::new(&engine, State { wasi: wasi_a });
    let mut store_b = Store::new(&engine, State { wasi: wasi_b });
    store_a.set_epoch_deadline(1);
    store_b.set_epoch_deadline(100);
    let a = block_on(linker.instantiate_async(&mut store_a, &sleeper))
        .0
        .unwrap()
        .get_typed_func::<(), i32>(&mut store_a, "run")
        .unwrap();
    let b = block_on(linker.instantiate_async(&mut store_b, &reader))
        .0
        .unwrap()
        .get_typed_func::<(), i32>(&mut store_b, "run")
        .unwrap();
    let writer = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(150));
        stdin_tx.write_all(b"hi").unwrap();
        stdin_tx
    });
    // Should the sleeper hold the thread, this ends it after 2 s, and
    // the order below shows it.
    let backstop = engine.clone();
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(2));
        backstop.increment_epoch();
    });
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut fa = pin!(a.call_async(&mut store_a, ()));
    let mut fb = pin!(b.call_async(&mut store_b, ()));
    let (mut ra, mut rb) = (None, None);
    let mut order = Vec::new();
    while ra.is_none() || rb.is_none() {
        if ra.is_none()
            && let Poll::Ready(r) = fa.as_mut().poll(&mut cx)
        {
            ra = Some(r);
            order.push('a');
        }
        if rb.is_none()
            && let Poll::Ready(r) = fb.as_mut().poll(&mut cx)
        {
            rb = Some(r);
            order.push('b');
            // Now end the sleeper.
            engine.increment_epoch();
        }
        if ra.is_none() || rb.is_none() {
            std::thread::park_timeout(Duration::from_millis(50));
        }
    }
    assert_eq!(order, ['b', 'a'], "the sleeping guest held the thread");
    assert_eq!(rb.unwrap().unwrap(), 2000 + i32::from(b'h'));
    let err = ra.unwrap().unwrap_err();
    assert_eq!(err.downcast_ref::<Trap>().copied(), Some(Trap::Interrupt));
    let mut tx = writer.join().unwrap();
    tx.flush().unwrap();
}

/// An epoch callback that lets the guest go on (async yield) does not
/// restart a relative `poll_oneoff` timeout: a 300 ms sleep ends after
/// about 300 ms though the deadline passes every 20 ms, and `sched_yield`
/// in an async call is a `Pending` poll.
#[test]
fn async_yields_keep_the_timeout_and_sched_yield_is_pending() {
    let engine = engine(true);
    let mut linker: Linker<State> = Linker::new(&engine);
    keel_wasi::p1::add_to_linker_async(&mut linker, |s: &mut State| &mut s.wasi).unwrap();
    let module = module(
        &engine,
        r#"(import "wasi_snapshot_preview1" "poll_oneoff"
              (func $poll (param i32 i32 i32 i32) (result i32)))
           (import "wasi_snapshot_preview1" "sched_yield" (func $yield (result i32)))
           (func (export "sleep") (result i32)
             (i32.store8 (i32.const 8) (i32.const 0))
             (i32.store (i32.const 16) (i32.const 1))
             (i64.store (i32.const 24) (i64.const 300000000))
             (call $poll (i32.const 0) (i32.const 256) (i32.const 1) (i32.const 512)))
           (func (export "yield") (result i32) (call $yield))"#,
    );
    let (wasi, _peers) = context(false);
    let mut store = Store::new(&engine, State { wasi });
    store.epoch_deadline_async_yield_and_update(1);
    let instance = block_on(linker.instantiate_async(&mut store, &module))
        .0
        .unwrap();
    let sleep = instance
        .get_typed_func::<(), i32>(&mut store, "sleep")
        .unwrap();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let ticker = {
        let (engine, stop) = (engine.clone(), stop.clone());
        std::thread::spawn(move || {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(20));
                engine.increment_epoch();
            }
        })
    };
    let started = Instant::now();
    let (result, ended, pending) = block_on(sleep.call_async(&mut store, ()));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    ticker.join().unwrap();
    assert_eq!(result.unwrap(), 0, "errno");
    let took = ended - started;
    assert!(took >= Duration::from_millis(300), "slept only {took:?}");
    assert!(
        took < Duration::from_secs(2),
        "the timeout restarted: {took:?}"
    );
    assert!(pending >= 1);

    let yield_ = instance
        .get_typed_func::<(), i32>(&mut store, "yield")
        .unwrap();
    store.set_epoch_deadline(1_000_000);
    let (result, _, pending) = block_on(yield_.call_async(&mut store, ()));
    assert_eq!(result.unwrap(), 0);
    assert_eq!(pending, 1, "sched_yield is one Pending poll");
}

/// Sanity check of the far ends: what the guest of "fd_write to a full
/// pipe" wrote is there, whole 4,096-byte pieces after the first wait.
#[test]
fn a_full_pipe_gets_exactly_what_was_counted() {
    let engine = engine(false);
    let mut linker: Linker<State> = Linker::new(&engine);
    keel_wasi::p1::add_to_linker_sync(&mut linker, |s: &mut State| &mut s.wasi).unwrap();
    let module = module(
        &engine,
        r#"(import "wasi_snapshot_preview1" "fd_write"
              (func $write (param i32 i32 i32 i32) (result i32)))
           (global $total (mut i32) (i32.const 0))
           (func (export "total") (result i32) (global.get $total))
           (func (export "run") (result i32) (local $errno i32)
             (i32.store (i32.const 0) (i32.const 1024))
             (i32.store (i32.const 4) (i32.const 32768))
             (loop $again
               (local.set $errno
                 (call $write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 16)))
               (if (i32.eqz (local.get $errno))
                 (then
                   (global.set $total (i32.add (global.get $total) (i32.load (i32.const 16))))
                   (br $again))))
             (local.get $errno))"#,
    );
    let (stdout_rx, stdout_tx) = std::io::pipe().unwrap();
    let wasi = WasiCtxBuilder::new().stdout(pipe_file(stdout_tx)).build();
    let mut store = Store::new(&engine, State { wasi });
    store.set_epoch_deadline(1);
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let run = instance
        .get_typed_func::<(), i32>(&mut store, "run")
        .unwrap();
    let ticker = tick_later(&engine);
    let result = run.call(&mut store, ());
    let ticked = ticker.join().unwrap();
    assert_interrupted("fd_write to a full pipe", result, ticked, Instant::now());
    store.set_epoch_deadline(1000);
    let total = instance
        .get_typed_func::<(), i32>(&mut store, "total")
        .unwrap()
        .call(&mut store, ())
        .unwrap();
    // Close the write end (the store owns it) and read everything.
    drop(store);
    let mut data = Vec::new();
    let mut rx = stdout_rx;
    rx.read_to_end(&mut data).unwrap();
    assert_eq!(data.len(), total as usize, "counted bytes");
    assert!(total > 0);
}
