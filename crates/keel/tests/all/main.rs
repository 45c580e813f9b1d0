//! keel's integration tests, one module per topic.

mod calls;
mod control;
mod errors;
mod exceptions;
mod lazy_funcrefs;
mod lazy_tables;
mod memory;
mod memory_images;
mod nan;
mod pooling;
mod profiling;
mod refs;
mod stress;
mod traps;
mod wasm3;

/// The default engine (guard pages) and one with explicit bounds checks:
/// the two memory modes.
fn engines() -> [keel::Engine; 2] {
    let mut explicit = keel::Config::new();
    explicit.signals_based_traps(false);
    [
        keel::Engine::default(),
        keel::Engine::new(&explicit).unwrap(),
    ]
}

/// The trap code of `err`, if it is a trap.
fn trap_code(err: &keel::Error) -> Option<keel::TrapCode> {
    err.downcast_ref::<keel::Trap>().map(|t| t.code())
}
