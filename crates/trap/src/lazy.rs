//! Entering the compiler from lazily compiled code: the machine code of
//! the per-function stubs a lazily compiled module calls through, and the
//! hook that the architecture's `keel_lazy_trampoline` calls.
//!
//! # The stubs
//!
//! A lazily compiled module has a *call table*, one code address per
//! defined function, and three runs of code, all [`STUB_SIZE`] bytes a
//! function, within 2 GiB of the table:
//!
//! * `stub[i]` jumps to the address in `table[i]`. A function import
//!   made before function `i` was compiled points here, so it never goes
//!   stale.
//! * `lazy[i]` puts `i` in a scratch register (x86_64 `r11d`, riscv64
//!   `t0`) and jumps to `far`. `table[i]` starts as `lazy[i]`'s address,
//!   and becomes the compiled code's once function `i` is compiled. A
//!   function reference made before then points here too; the hook
//!   refreshes it.
//! * `far` (one) jumps to `keel_lazy_trampoline` at its absolute address.
//!
//! The trampoline saves the argument registers, calls the hook installed
//! with [`set_lazy_compile_hook`] with the callee's VMContext and `i`,
//! restores them and jumps to the code it returned. Calls between
//! functions of the module load `table[i]` and call it: once `i` is
//! compiled, straight to its code.

use core::sync::atomic::{AtomicUsize, Ordering};

/// Bytes of one stub and of one lazy entry.
pub const STUB_SIZE: usize = 16;

/// Bytes of the far jump.
pub const FAR_SIZE: usize = 32;

/// What compiles function `index` of the module of VMContext `vmctx` and
/// returns its code address; it leaves the activation with
/// [`raise`](crate::raise) if it cannot.
pub type LazyCompileHook = unsafe fn(vmctx: *mut u8, index: u32) -> *const u8;

/// The hook, as a `usize` (0 until set).
static HOOK: AtomicUsize = AtomicUsize::new(0);

/// Install the function that lazily compiled code's stubs call (keel-vm
/// installs its own before it writes any stub). Later calls replace it.
pub fn set_lazy_compile_hook(hook: LazyCompileHook) {
    HOOK.store(hook as usize, Ordering::Release);
}

/// Called by `keel_lazy_trampoline` with the callee's VMContext and the
/// defined function's index.
///
/// # Safety
///
/// Only the trampoline calls it, from a lazily compiled module's stub,
/// inside an activation, after [`set_lazy_compile_hook`].
#[unsafe(no_mangle)]
unsafe extern "C" fn keel_lazy_compile_entry(
    arg0: *mut u8,
    arg1: *mut u8,
    index: u32,
) -> *const u8 {
    // A function whose results need a return area takes its pointer
    // first, and the VMContext second; its stub says so.
    let (vmctx, index) = if index & VMCTX_IN_SECOND_ARGUMENT != 0 {
        (arg1, index & !VMCTX_IN_SECOND_ARGUMENT)
    } else {
        (arg0, index)
    };
    let hook = HOOK.load(Ordering::Acquire);
    // No stub is written before the hook is set (keel-vm sets it when
    // it makes the first stubs); a panic here aborts.
    assert!(
        hook != 0,
        "keel: a lazy stub ran before the compile hook was set"
    );
    // SAFETY: `HOOK` only ever holds a `LazyCompileHook` (set above).
    let hook = unsafe { core::mem::transmute::<usize, LazyCompileHook>(hook) };
    // SAFETY: our caller's contract is the hook's.
    unsafe { hook(vmctx, index) }
}

/// Set in the index a `lazy` stub passes ([`encode_lazy`]) when the
/// function's VMContext is its second argument, not its first: Cranelift
/// passes a return-area pointer first when the results do not fit the
/// return registers. Indices stay below this bit.
pub const VMCTX_IN_SECOND_ARGUMENT: u32 = 1 << 30;

/// The address of the architecture's `keel_lazy_trampoline`.
pub fn trampoline_address() -> usize {
    unsafe extern "C" {
        fn keel_lazy_trampoline();
    }
    keel_lazy_trampoline as unsafe extern "C" fn() as usize
}

/// Why stubs cannot be written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OutOfRange;

/// `stub[i]` at address `at`, jumping to the address held at `slot`.
///
/// # Errors
///
/// If `slot` is more than 2 GiB away.
pub fn encode_stub(at: usize, slot: usize) -> Result<[u8; STUB_SIZE], OutOfRange> {
    arch::stub(at, slot)
}

/// `lazy[i]` at address `at`, for defined function `index`, jumping to
/// the far jump at `far`.
///
/// # Errors
///
/// If `far` is more than 2 GiB away.
pub fn encode_lazy(at: usize, index: u32, far: usize) -> Result<[u8; STUB_SIZE], OutOfRange> {
    arch::lazy(at, index, far)
}

/// The far jump to `target` (absolute), to be placed 16-byte aligned.
pub fn encode_far(target: usize) -> [u8; FAR_SIZE] {
    arch::far(target)
}

/// The signed distance `to - from`, if it fits 32 bits.
fn displacement(from: usize, to: usize) -> Result<i32, OutOfRange> {
    i32::try_from(to as i64 - from as i64).map_err(|_| OutOfRange)
}

#[cfg(target_arch = "x86_64")]
mod arch {
    use super::{FAR_SIZE, OutOfRange, STUB_SIZE, displacement};

    /// `int3`, padding that traps if ever run.
    const PAD: u8 = 0xcc;

    pub(super) fn stub(at: usize, slot: usize) -> Result<[u8; STUB_SIZE], OutOfRange> {
        // jmp qword ptr [rip + disp32]
        let disp = displacement(at + 6, slot)?;
        let mut out = [PAD; STUB_SIZE];
        out[..2].copy_from_slice(&[0xff, 0x25]);
        out[2..6].copy_from_slice(&disp.to_le_bytes());
        Ok(out)
    }

    pub(super) fn lazy(at: usize, index: u32, far: usize) -> Result<[u8; STUB_SIZE], OutOfRange> {
        let mut out = [PAD; STUB_SIZE];
        // mov r11d, imm32
        out[..2].copy_from_slice(&[0x41, 0xbb]);
        out[2..6].copy_from_slice(&index.to_le_bytes());
        // jmp rel32
        out[6] = 0xe9;
        out[7..11].copy_from_slice(&displacement(at + 11, far)?.to_le_bytes());
        Ok(out)
    }

    pub(super) fn far(target: usize) -> [u8; FAR_SIZE] {
        let mut out = [PAD; FAR_SIZE];
        // jmp qword ptr [rip + 0]; the address follows.
        out[..6].copy_from_slice(&[0xff, 0x25, 0, 0, 0, 0]);
        out[6..14].copy_from_slice(&(target as u64).to_le_bytes());
        out
    }
}

#[cfg(target_arch = "riscv64")]
mod arch {
    use super::{FAR_SIZE, OutOfRange, STUB_SIZE, displacement};

    const T0: u32 = 5;
    const T1: u32 = 6;
    const NOP: u32 = 0x0000_0013;

    /// `value` split as `(hi20, lo12)`: `(hi20 << 12) + sign_extend(lo12)`
    /// is `value`.
    fn split(value: i32) -> (u32, u32) {
        let lo = ((value << 20) >> 20) as u32 & 0xfff;
        let hi = (value.wrapping_sub((lo as i32) << 20 >> 20) as u32) >> 12;
        (hi & 0xf_ffff, lo)
    }

    fn u_type(opcode: u32, rd: u32, imm20: u32) -> u32 {
        (imm20 << 12) | (rd << 7) | opcode
    }

    fn i_type(opcode: u32, funct3: u32, rd: u32, rs1: u32, imm12: u32) -> u32 {
        (imm12 << 20) | (rs1 << 15) | (funct3 << 12) | (rd << 7) | opcode
    }

    fn auipc(rd: u32, hi: u32) -> u32 {
        u_type(0x17, rd, hi)
    }

    fn lui(rd: u32, hi: u32) -> u32 {
        u_type(0x37, rd, hi)
    }

    fn ld(rd: u32, rs1: u32, lo: u32) -> u32 {
        i_type(0x03, 3, rd, rs1, lo)
    }

    fn addiw(rd: u32, rs1: u32, lo: u32) -> u32 {
        i_type(0x1b, 0, rd, rs1, lo)
    }

    fn jr(rs1: u32, lo: u32) -> u32 {
        i_type(0x67, 0, 0, rs1, lo)
    }

    fn words(w: [u32; 4]) -> [u8; STUB_SIZE] {
        let mut out = [0; STUB_SIZE];
        for (chunk, word) in out.chunks_exact_mut(4).zip(w) {
            chunk.copy_from_slice(&word.to_le_bytes());
        }
        out
    }

    pub(super) fn stub(at: usize, slot: usize) -> Result<[u8; STUB_SIZE], OutOfRange> {
        // auipc t0, hi; ld t0, lo(t0); jr t0
        let (hi, lo) = split(displacement(at, slot)?);
        Ok(words([auipc(T0, hi), ld(T0, T0, lo), jr(T0, 0), NOP]))
    }

    pub(super) fn lazy(at: usize, index: u32, far: usize) -> Result<[u8; STUB_SIZE], OutOfRange> {
        // lui t0, hi; addiw t0, t0, lo (index < 2^31); auipc t1, hi; jr lo(t1)
        let index = i32::try_from(index).map_err(|_| OutOfRange)?;
        let (ihi, ilo) = split(index);
        let (hi, lo) = split(displacement(at + 8, far)?);
        Ok(words([
            lui(T0, ihi),
            addiw(T0, T0, ilo),
            auipc(T1, hi),
            jr(T1, lo),
        ]))
    }

    pub(super) fn far(target: usize) -> [u8; FAR_SIZE] {
        // auipc t1, 0; ld t1, 16(t1); jr t1; nop; the address at +16.
        let mut out = [0; FAR_SIZE];
        out[..16].copy_from_slice(&words([auipc(T1, 0), ld(T1, T1, 16), jr(T1, 0), NOP]));
        out[16..24].copy_from_slice(&(target as u64).to_le_bytes());
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(target_arch = "x86_64")]
    fn x86_64_encodings() {
        let stub = encode_stub(0x1000, 0x2000).unwrap();
        assert_eq!(&stub[..6], &[0xff, 0x25, 0xfa, 0x0f, 0, 0]);
        let lazy = encode_lazy(0x3000, 7, 0x3010).unwrap();
        assert_eq!(&lazy[..11], &[0x41, 0xbb, 7, 0, 0, 0, 0xe9, 5, 0, 0, 0]);
        let lazy = encode_lazy(0x3000, 7 | VMCTX_IN_SECOND_ARGUMENT, 0x3010).unwrap();
        assert_eq!(&lazy[..6], &[0x41, 0xbb, 7, 0, 0, 0x40]);
        assert!(encode_stub(0, 1 << 40).is_err());
    }

    #[test]
    #[cfg(target_arch = "riscv64")]
    fn riscv64_encodings() {
        let word = |code: &[u8; STUB_SIZE], i: usize| {
            u32::from_le_bytes(code[4 * i..4 * i + 4].try_into().unwrap())
        };
        // `lui t0, hi; addiw t0, t0, lo` loads the index, flag included.
        for index in [0, 7, 0x7ff, 0x800, 12345, 7 | VMCTX_IN_SECOND_ARGUMENT] {
            let lazy = encode_lazy(0x3000, index, 0x3010).unwrap();
            let (lui, addiw) = (word(&lazy, 0), word(&lazy, 1));
            assert_eq!(lui & 0xfff, 0x2b7, "lui t0");
            assert_eq!(addiw & 0xfffff, 0x2829b, "addiw t0, t0");
            let value = (lui & 0xffff_f000) as i32 + ((addiw as i32) >> 20);
            assert_eq!(value as u32, index);
        }
        // `auipc t0, hi; ld t0, lo(t0); jr t0` reaches the slot.
        let stub = encode_stub(0x1000, 0x2000).unwrap();
        let (auipc, ld) = (word(&stub, 0), word(&stub, 1));
        assert_eq!((auipc & 0xffff_f000) as i32 + ((ld as i32) >> 20), 0x1000);
        assert!(encode_stub(0, 1 << 40).is_err());
    }
}
