//! The progress bar of `keel run` and `keel compile`: when stderr is a
//! terminal and a module's compilation has taken a second, a bar of
//! function bodies compiled out of the module's total, drawn with
//! `indicatif` and cleared when the module is done. Nothing otherwise.

use std::io::IsTerminal as _;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use keel::Config;

/// How long a compilation runs before its bar appears.
const DELAY: Duration = Duration::from_secs(1);

/// Show compilation progress on stderr, if it is a terminal.
pub fn configure(config: &mut Config) {
    if !std::io::stderr().is_terminal() {
        return;
    }
    let bar = Bar::new(DELAY, ProgressDrawTarget::stderr);
    config.compilation_progress(move |done, total| bar.update(done, total));
}

/// The progress of the module being compiled.
struct Bar {
    delay: Duration,
    target: fn() -> ProgressDrawTarget,
    state: Mutex<State>,
}

struct State {
    started: Instant,
    total: usize,
    bar: Option<ProgressBar>,
}

impl Bar {
    fn new(delay: Duration, target: fn() -> ProgressDrawTarget) -> Arc<Self> {
        Arc::new(Self {
            delay,
            target,
            state: Mutex::new(State {
                started: Instant::now(),
                total: 0,
                bar: None,
            }),
        })
    }

    /// `done` of `total` bodies of the current module are compiled
    /// (`done` 1 starts a module).
    fn update(&self, done: usize, total: usize) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if done == 1 || total != state.total {
            if let Some(bar) = state.bar.take() {
                bar.finish_and_clear();
            }
            state.started = Instant::now();
            state.total = total;
        }
        if state.bar.is_none() && done < total && state.started.elapsed() >= self.delay {
            let bar = ProgressBar::with_draw_target(Some(total as u64), (self.target)())
                .with_elapsed(state.started.elapsed());
            bar.set_style(
                ProgressStyle::with_template(
                    "compiling {wide_bar} {pos}/{len} functions ({elapsed})",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            state.bar = Some(bar);
        }
        if let Some(bar) = &state.bar {
            bar.set_position(done as u64);
            if done == total {
                bar.finish_and_clear();
                state.bar = None;
            }
        }
    }

    /// The position of the bar shown, if one is.
    #[cfg(test)]
    fn shown(&self) -> Option<u64> {
        let state = self.state.lock().unwrap();
        state.bar.as_ref().map(ProgressBar::position)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bar_appears_after_the_delay_and_goes_when_done() {
        let quick = Bar::new(Duration::from_secs(3600), ProgressDrawTarget::hidden);
        for done in 1..=10 {
            quick.update(done, 10);
            assert_eq!(quick.shown(), None);
        }
        let slow = Bar::new(Duration::ZERO, ProgressDrawTarget::hidden);
        slow.update(1, 10);
        assert_eq!(slow.shown(), Some(1));
        slow.update(7, 10);
        assert_eq!(slow.shown(), Some(7));
        slow.update(10, 10);
        assert_eq!(slow.shown(), None);
        // The next module starts its own bar.
        slow.update(1, 3);
        assert_eq!(slow.shown(), Some(1));
    }
}
