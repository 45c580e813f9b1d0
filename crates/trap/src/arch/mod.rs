//! Per-architecture pieces: the jump buffer and the jump back into
//! `catch_traps`.

#[cfg(target_arch = "x86_64")]
mod x86_64;
#[cfg(target_arch = "x86_64")]
pub(crate) use x86_64::*;
