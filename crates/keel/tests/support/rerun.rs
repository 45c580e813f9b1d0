//! Running a test binary again in a child process, shared by the test
//! binaries that need it (`#[path]`-included).

/// A command that runs this test binary again: directly, or under the
/// emulator that `KEEL_TEST_RUNNER` names (e.g. `qemu-riscv64 -L
/// /usr/riscv64-linux-gnu`, as `scripts/riscv64-tests.sh` sets it), since
/// a process under qemu-user cannot exec a binary of its own architecture.
pub fn this_test_binary() -> std::process::Command {
    let exe = std::env::current_exe().unwrap();
    match std::env::var("KEEL_TEST_RUNNER") {
        Ok(runner) if !runner.trim().is_empty() => {
            let mut words = runner.split_whitespace();
            let mut command = std::process::Command::new(words.next().unwrap());
            command.args(words).arg(exe);
            command
        }
        _ => std::process::Command::new(exe),
    }
}
