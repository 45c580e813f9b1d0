//! A guest blocked in the host is still bounded (issue 29): `keel run -W
//! timeout=1s` stops guests that wait in WASI calls or in
//! `memory.atomic.wait32` forever, and a huge `random_get`, within two
//! seconds; host work and allocation per call stay bounded; `fd_write`
//! reports exactly what it wrote. The guests are in `tests/wasi_bounds/`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn guest(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/wasi_bounds")
        .join(format!("{name}.wat"))
}

/// `keel run ARGS... GUEST` with stdin a pipe kept open and empty until
/// the process ends; its output and how long it ran.
fn run(name: &str, args: &[&str]) -> (Output, Duration) {
    let start = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_keel"))
        .arg("run")
        .args(args)
        .arg(guest(name))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawning keel");
    // Stdin stays open (and silent) while we wait: `wait_with_output`
    // would close it.
    let stdin = child.stdin.take();
    let output = child.wait_with_output().expect("waiting for keel");
    drop(stdin);
    (output, start.elapsed())
}

/// Stopped by the timeout with an interrupt trap, within 2 s of a 1 s
/// timeout (the epoch thread ticks, and waits look every 10 ms).
fn assert_interrupted_in_time(name: &str) {
    let (output, took) = run(name, &["-W", "timeout=1s"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{name}: {stderr}");
    assert!(stderr.contains("interrupt"), "{name}: {stderr}");
    assert!(took < Duration::from_secs(2), "{name}: took {took:?}");
    assert!(took >= Duration::from_millis(900), "{name}: took {took:?}");
}

#[test]
fn poll_oneoff_of_an_hour_is_stopped_by_the_timeout() {
    assert_interrupted_in_time("poll_an_hour");
}

#[test]
fn fd_read_of_a_silent_stdin_is_stopped_by_the_timeout() {
    assert_interrupted_in_time("read_stdin");
}

#[test]
fn an_endless_atomic_wait_is_stopped_by_the_timeout() {
    assert_interrupted_in_time("atomic_wait");
}

#[test]
fn random_get_of_4_gib_is_stopped_by_the_timeout() {
    assert_interrupted_in_time("random_4gib");
}

#[test]
fn poll_oneoff_with_50_million_subscriptions_is_refused() {
    let (output, took) = run("poll_50m_subscriptions", &[]);
    assert_eq!(
        output.status.code(),
        Some(28),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(took < Duration::from_secs(10), "took {took:?}");
}

#[test]
fn fd_write_of_4_gib_reports_exactly_what_it_wrote() {
    let start = Instant::now();
    let status = Command::new(env!("CARGO_BIN_EXE_keel"))
        .arg("run")
        .arg(guest("write_4gib"))
        .stdout(Stdio::null())
        .status()
        .expect("running keel");
    assert_eq!(status.code(), Some(0), "errno or count wrong");
    assert!(start.elapsed() < Duration::from_secs(60));
}
