//! Corrupted artifacts: valid artifacts of a few modules (and of modules
//! wasm-smith generates), mutated by bit flips, truncation, overwritten
//! words and changed section sizes and offsets, must only ever give `Ok`
//! or `Err` from `Module::deserialize`, never a panic, an abort or a read
//! outside the bytes. Inputs that already are ELF files are used as they
//! are, so libFuzzer's own mutations of found artifacts apply too.
//!
//! Loaded modules are dropped without running: the machine code is
//! trusted by contract, and a flip in it cannot be detected.

#![no_main]

use arbitrary::{Arbitrary, Unstructured};
use libfuzzer_sys::fuzz_target;
use std::sync::LazyLock;

static ENGINE: LazyLock<keel::Engine> = LazyLock::new(keel_fuzz::keel_engine);

/// Artifacts of modules that exercise every metadata section.
static ARTIFACTS: LazyLock<Vec<Vec<u8>>> = LazyLock::new(|| {
    [
        "(module)",
        r#"(module (func (export "f") (param i32) (result i32) local.get 0))"#,
        r#"(module
            (import "env" "h" (func $h (param i64) (result i64)))
            (import "env" "g" (global i32))
            (type $t (func (param f32) (result f32)))
            (memory (export "m") 1 2) (table 4 funcref)
            (global $x (mut i64) (i64.const 5))
            (global i32 (global.get 0))
            (data (i32.const 16) "hello") (data "passive")
            (elem (i32.const 0) $a $b) (elem funcref (ref.func $a) (ref.null func))
            (elem declare func $b)
            (func $a (export "a") (param f32) (result f32)
              local.get 0 i32.const 1 call_indirect (type $t))
            (func $b (param f32) (result f32) local.get 0 f32.sqrt)
            (func (export "c") (param i64) (result i64) local.get 0 call $h
              i32.const 8 i32.load drop)
            (start $s) (func $s))"#,
    ]
    .iter()
    .map(|wat| {
        ENGINE
            .precompile_module(wat.as_bytes())
            .expect("precompiling a seed module")
    })
    .collect()
});

/// One change to an artifact.
#[derive(Arbitrary, Debug)]
enum Mutation {
    /// Flip bit `bit % 8` of byte `at % len`.
    FlipBit { at: usize, bit: u8 },
    /// Keep only the first `len % (len + 1)` bytes.
    Truncate { len: usize },
    /// Write `value` at `at % len` (little-endian, clipped at the end).
    Write { at: usize, value: u64 },
    /// Change field `field % 4` (sh_offset, sh_size, sh_addralign, sh_name)
    /// of section header `section` to `value`.
    SectionHeader { section: u16, field: u8, value: u64 },
}

fn apply(bytes: &mut Vec<u8>, mutation: &Mutation) {
    if bytes.is_empty() {
        return;
    }
    let len = bytes.len();
    match *mutation {
        Mutation::FlipBit { at, bit } => bytes[at % len] ^= 1 << (bit % 8),
        Mutation::Truncate { len: keep } => bytes.truncate(keep % (len + 1)),
        Mutation::Write { at, value } => {
            let at = at % len;
            let end = (at + 8).min(len);
            bytes[at..end].copy_from_slice(&value.to_le_bytes()[..end - at]);
        }
        Mutation::SectionHeader {
            section,
            field,
            value,
        } => {
            // ELF64: e_shoff at 0x28, e_shentsize at 0x3a, e_shnum at 0x3c.
            let word = |b: &[u8], at: usize, n: usize| -> Option<u64> {
                let s = b.get(at..at + n)?;
                let mut w = [0u8; 8];
                w[..n].copy_from_slice(s);
                Some(u64::from_le_bytes(w))
            };
            let (Some(shoff), Some(shnum)) = (word(bytes, 0x28, 8), word(bytes, 0x3c, 2)) else {
                return;
            };
            if shnum == 0 {
                return;
            }
            let header = shoff as usize + (u64::from(section) % shnum) as usize * 64;
            // sh_name at 0, sh_offset at 0x18, sh_size at 0x20, sh_addralign at 0x30.
            let (at, n) = match field % 4 {
                0 => (header + 0x18, 8),
                1 => (header + 0x20, 8),
                2 => (header + 0x30, 8),
                _ => (header, 4),
            };
            if let Some(slot) = bytes.get_mut(at..at + n) {
                slot.copy_from_slice(&value.to_le_bytes()[..n]);
            }
        }
    }
}

/// This build's identity as artifacts record it (`VERSION+ID`), taken
/// from a fresh artifact.
static BUILD: LazyLock<Vec<u8>> = LazyLock::new(|| {
    let artifact = &ARTIFACTS[0];
    let at = build_id_at(artifact).expect("an artifact records its keel build");
    artifact[at..at + BUILD_ID_LEN].to_vec()
});

/// The length of a workspace build id (16 hex digits).
const BUILD_ID_LEN: usize = 16;

/// Where the build id of the `VERSION+ID` string an artifact records
/// starts in `bytes`: the first `+` after a digit and before 16 hex digits.
fn build_id_at(bytes: &[u8]) -> Option<usize> {
    (1..bytes.len().saturating_sub(BUILD_ID_LEN)).find_map(|at| {
        let id = bytes.get(at + 1..at + 1 + BUILD_ID_LEN)?;
        let found = bytes[at] == b'+'
            && bytes[at - 1].is_ascii_digit()
            && id
                .iter()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b));
        found.then_some(at + 1)
    })
}

fuzz_target!(|data: &[u8]| {
    let mut bytes = if data.starts_with(b"\x7fELF") {
        // Committed seeds were written by an earlier build: give them this
        // build's identity, or every one would stop at the stale check.
        let mut bytes = data.to_vec();
        if let Some(at) = build_id_at(&bytes) {
            bytes[at..at + BUILD_ID_LEN].copy_from_slice(&BUILD);
        }
        bytes
    } else {
        let mut u = Unstructured::new(data);
        // Mostly the fixed artifacts (fast); now and then a generated
        // module, whose compilation dominates the run.
        let Ok(choice) = u.int_in_range(0..=ARTIFACTS.len() * 8) else {
            return;
        };
        let mut bytes = match ARTIFACTS.get(choice % (ARTIFACTS.len() + 1)) {
            Some(artifact) if choice < ARTIFACTS.len() * 8 => artifact.clone(),
            _ => {
                let Some(wasm) = keel_fuzz::terminating_module(&mut u, true, false) else {
                    return;
                };
                match ENGINE.precompile_module(&wasm) {
                    Ok(artifact) => artifact,
                    Err(e) => panic!("keel rejected a valid module: {e:#}"),
                }
            }
        };
        let mutations: Vec<Mutation> = u.arbitrary().unwrap_or_default();
        for m in mutations.iter().take(8) {
            apply(&mut bytes, m);
        }
        bytes
    };
    // SAFETY: the module is dropped without running any of its code.
    if let Ok(module) = unsafe { keel::Module::deserialize(&ENGINE, &bytes) } {
        drop(module);
    }
    bytes.clear();
});
