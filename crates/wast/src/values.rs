//! Turning `.wast` literals into [`keel::Val`]s and checking results against
//! the patterns of `assert_return`.
//!
//! Floats are compared by their bit patterns, never with `==`, so that `-0`
//! differs from `+0` and NaN payloads are checked exactly. The two NaN
//! patterns of the spec testsuite are:
//!
//! * `nan:canonical`: a NaN whose mantissa has only its most significant
//!   ("quiet") bit set; the sign may be either;
//! * `nan:arithmetic`: any NaN with the quiet bit set, whatever the rest of
//!   the mantissa and the sign.

use std::fmt::Write as _;

use anyhow::{Result, anyhow, bail};
use keel::{AnyRef, ExternRef, Rooted, Store, Val};
use wast::core::{AbstractHeapType, HeapType, NanPattern, V128Pattern, WastArgCore, WastRetCore};
use wast::token::{F32, F64};

/// The exponent and quiet bit of an `f32`: all set in every quiet NaN.
const F32_QUIET_NAN: u32 = 0x7fc0_0000;
/// Every bit of an `f32` except the sign.
const F32_MAGNITUDE: u32 = 0x7fff_ffff;
/// The exponent and quiet bit of an `f64`: all set in every quiet NaN.
const F64_QUIET_NAN: u64 = 0x7ff8_0000_0000_0000;
/// Every bit of an `f64` except the sign.
const F64_MAGNITUDE: u64 = 0x7fff_ffff_ffff_ffff;

/// Whether `bits` is a canonical `f32` NaN: quiet bit set, rest of the
/// mantissa zero, either sign.
pub(crate) fn is_canonical_nan_f32(bits: u32) -> bool {
    bits & F32_MAGNITUDE == F32_QUIET_NAN
}

/// Whether `bits` is an arithmetic `f32` NaN: quiet bit set, any payload,
/// either sign.
pub(crate) fn is_arithmetic_nan_f32(bits: u32) -> bool {
    bits & F32_QUIET_NAN == F32_QUIET_NAN
}

/// Whether `bits` is a canonical `f64` NaN: quiet bit set, rest of the
/// mantissa zero, either sign.
pub(crate) fn is_canonical_nan_f64(bits: u64) -> bool {
    bits & F64_MAGNITUDE == F64_QUIET_NAN
}

/// Whether `bits` is an arithmetic `f64` NaN: quiet bit set, any payload,
/// either sign.
pub(crate) fn is_arithmetic_nan_f64(bits: u64) -> bool {
    bits & F64_QUIET_NAN == F64_QUIET_NAN
}

/// Whether the `f32` with bit pattern `bits` matches `pattern`.
pub(crate) fn f32_matches(bits: u32, pattern: &NanPattern<F32>) -> bool {
    match pattern {
        NanPattern::CanonicalNan => is_canonical_nan_f32(bits),
        NanPattern::ArithmeticNan => is_arithmetic_nan_f32(bits),
        NanPattern::Value(expected) => expected.bits == bits,
    }
}

/// Whether the `f64` with bit pattern `bits` matches `pattern`.
pub(crate) fn f64_matches(bits: u64, pattern: &NanPattern<F64>) -> bool {
    match pattern {
        NanPattern::CanonicalNan => is_canonical_nan_f64(bits),
        NanPattern::ArithmeticNan => is_arithmetic_nan_f64(bits),
        NanPattern::Value(expected) => expected.bits == bits,
    }
}

/// Converts an argument of `invoke` to a value keel can pass.
///
/// `(ref.extern N)` becomes a new [`ExternRef`] in `store` holding `N` as a
/// `u32`, so that a returned reference can be compared by that number.
///
/// # Errors
///
/// Host references and nulls of GC heap types have no [`Val`] to become.
pub(crate) fn arg_to_val(store: &mut Store<()>, arg: &WastArgCore<'_>) -> Result<Val> {
    Ok(match arg {
        WastArgCore::I32(v) => Val::I32(*v),
        WastArgCore::I64(v) => Val::I64(*v),
        WastArgCore::F32(v) => Val::F32(v.bits),
        WastArgCore::F64(v) => Val::F64(v.bits),
        WastArgCore::V128(v) => Val::V128(u128::from_le_bytes(v.to_le_bytes())),
        WastArgCore::RefNull(ty) if is_func_heap_type(ty) => Val::FuncRef(None),
        WastArgCore::RefNull(ty) if is_extern_heap_type(ty) => Val::ExternRef(None),
        WastArgCore::RefNull(ty) if is_exn_heap_type(ty) => Val::ExnRef(None),
        WastArgCore::RefNull(ty) if is_any_heap_type(ty) => Val::AnyRef(None),
        WastArgCore::RefNull(_) => {
            bail!("unsupported argument: a null reference of a concrete or shared heap type")
        }
        WastArgCore::RefExtern(n) => Val::ExternRef(Some(ExternRef::new(&mut *store, *n)?)),
        // The `any` view of host value `n` (`any.convert_extern`).
        WastArgCore::RefHost(n) => {
            let host = ExternRef::new(&mut *store, *n)?;
            Val::AnyRef(Some(AnyRef::convert_extern(store, host)?))
        }
    })
}

/// Whether `ty` is in the `any` hierarchy (GC), whose null is a null
/// anyref.
fn is_any_heap_type(ty: &HeapType<'_>) -> bool {
    matches!(
        ty,
        HeapType::Abstract {
            shared: false,
            ty: AbstractHeapType::Any
                | AbstractHeapType::Eq
                | AbstractHeapType::I31
                | AbstractHeapType::Struct
                | AbstractHeapType::Array
                | AbstractHeapType::None,
        }
    )
}

/// Whether `ty` is `func` or `nofunc`, the heap types whose null is a null
/// funcref.
fn is_func_heap_type(ty: &HeapType<'_>) -> bool {
    matches!(
        ty,
        HeapType::Abstract {
            ty: AbstractHeapType::Func | AbstractHeapType::NoFunc,
            ..
        }
    )
}

/// Whether `ty` is `extern` or `noextern`, the heap types whose null is a
/// null externref.
fn is_extern_heap_type(ty: &HeapType<'_>) -> bool {
    matches!(
        ty,
        HeapType::Abstract {
            ty: AbstractHeapType::Extern | AbstractHeapType::NoExtern,
            ..
        }
    )
}

/// Whether `ty` is `exn` or `noexn`, the heap types whose null is a null
/// exnref.
fn is_exn_heap_type(ty: &HeapType<'_>) -> bool {
    matches!(
        ty,
        HeapType::Abstract {
            ty: AbstractHeapType::Exn | AbstractHeapType::NoExn,
            ..
        }
    )
}

/// Checks one result of an invocation against its expected pattern.
///
/// `store` owns any externref among the results; `(ref.extern N)` matches
/// a reference whose host value is the `u32` `N`, as [`arg_to_val`]
/// creates them.
///
/// # Errors
///
/// Says what was expected and what was found when they differ, and reports
/// patterns keel's [`Val`] cannot represent (host and GC references).
pub(crate) fn match_val(
    store: &mut Store<()>,
    actual: &Val,
    expected: &WastRetCore<'_>,
) -> Result<()> {
    // The host value `n` behind an externref, if it has one.
    fn host_value(store: &Store<()>, r: &Rooted<ExternRef>) -> Option<u32> {
        r.data(store).ok()??.downcast_ref::<u32>().copied()
    }
    let matched = match (actual, expected) {
        (Val::I32(a), WastRetCore::I32(e)) => a == e,
        (Val::I64(a), WastRetCore::I64(e)) => a == e,
        (Val::F32(a), WastRetCore::F32(e)) => f32_matches(*a, e),
        (Val::F64(a), WastRetCore::F64(e)) => f64_matches(*a, e),
        (Val::V128(a), WastRetCore::V128(e)) => v128_matches(*a, e),
        (Val::FuncRef(f), WastRetCore::RefNull(ty)) => {
            f.is_none() && ty.as_ref().is_none_or(is_func_heap_type)
        }
        (Val::ExternRef(r), WastRetCore::RefNull(ty)) => {
            r.is_none() && ty.as_ref().is_none_or(is_extern_heap_type)
        }
        (Val::ExnRef(r), WastRetCore::RefNull(ty)) => {
            r.is_none() && ty.as_ref().is_none_or(is_exn_heap_type)
        }
        (Val::AnyRef(r), WastRetCore::RefNull(ty)) => {
            r.is_none()
                && ty
                    .as_ref()
                    .is_none_or(|t| !matches!(t, HeapType::Abstract { .. }) || is_any_heap_type(t))
        }
        (Val::ExternRef(r), WastRetCore::RefExtern(expected)) => match (r, expected) {
            (None, _) => false,
            (Some(_), None) => true,
            (Some(r), Some(n)) => host_value(store, r) == Some(*n),
        },
        (Val::AnyRef(None), WastRetCore::RefHost(_)) => false,
        (Val::AnyRef(Some(r)), WastRetCore::RefHost(n)) => {
            let host = ExternRef::convert_any(&mut *store, *r)?;
            host_value(store, &host) == Some(*n)
        }
        (
            Val::AnyRef(None),
            WastRetCore::RefAny
            | WastRetCore::RefEq
            | WastRetCore::RefI31
            | WastRetCore::RefStruct
            | WastRetCore::RefArray,
        ) => false,
        (Val::AnyRef(Some(r)), WastRetCore::RefAny) => {
            r.matches_ty(&*store, &keel::HeapType::Any)?
        }
        (Val::AnyRef(Some(r)), WastRetCore::RefEq) => r.is_eqref(&*store)?,
        (Val::AnyRef(Some(r)), WastRetCore::RefI31) => r.is_i31(&*store)?,
        (Val::AnyRef(Some(r)), WastRetCore::RefStruct) => r.is_struct(&*store)?,
        (Val::AnyRef(Some(r)), WastRetCore::RefArray) => r.is_array(&*store)?,
        // keel cannot tell which function a funcref points to from outside
        // the instance, so `(ref.func $f)` is checked as "not null".
        (Val::FuncRef(f), WastRetCore::RefFunc(_)) => f.is_some(),
        (_, WastRetCore::Either(options)) => {
            if options
                .iter()
                .any(|option| match_val(store, actual, option).is_ok())
            {
                true
            } else {
                bail!(
                    "expected one of [{}], got {}",
                    options
                        .iter()
                        .map(describe_pattern)
                        .collect::<Vec<_>>()
                        .join(", "),
                    describe_val(actual)
                );
            }
        }
        (_, WastRetCore::RefI31Shared) => bail!(
            "unsupported result pattern {}: keel has no value of that type",
            describe_pattern(expected)
        ),
        _ => false,
    };
    if matched {
        Ok(())
    } else {
        Err(anyhow!(
            "expected {}, got {}",
            describe_pattern(expected),
            describe_val(actual)
        ))
    }
}

/// Whether the 128-bit vector `bits` (lane 0 in the low bits) matches
/// `pattern` lane by lane.
fn v128_matches(bits: u128, pattern: &V128Pattern) -> bool {
    let bytes = bits.to_le_bytes();
    match pattern {
        V128Pattern::I8x16(lanes) => lanes
            .iter()
            .zip(bytes)
            .all(|(e, a)| e.to_le_bytes()[0] == a),
        V128Pattern::I16x8(lanes) => lanes
            .iter()
            .zip(bytes.chunks_exact(2))
            .all(|(e, a)| e.to_le_bytes() == a),
        V128Pattern::I32x4(lanes) => lanes
            .iter()
            .zip(bytes.chunks_exact(4))
            .all(|(e, a)| e.to_le_bytes() == a),
        V128Pattern::I64x2(lanes) => lanes
            .iter()
            .zip(bytes.chunks_exact(8))
            .all(|(e, a)| e.to_le_bytes() == a),
        V128Pattern::F32x4(lanes) => lanes.iter().zip(bytes.chunks_exact(4)).all(|(e, a)| {
            let mut lane = [0; 4];
            lane.copy_from_slice(a);
            f32_matches(u32::from_le_bytes(lane), e)
        }),
        V128Pattern::F64x2(lanes) => lanes.iter().zip(bytes.chunks_exact(8)).all(|(e, a)| {
            let mut lane = [0; 8];
            lane.copy_from_slice(a);
            f64_matches(u64::from_le_bytes(lane), e)
        }),
    }
}

/// A value as the failure messages show it: type, value and float bits.
pub(crate) fn describe_val(val: &Val) -> String {
    match val {
        Val::I32(v) => format!("i32:{v}"),
        Val::I64(v) => format!("i64:{v}"),
        Val::F32(bits) => format!("f32:{} (0x{bits:08x})", f32::from_bits(*bits)),
        Val::F64(bits) => format!("f64:{} (0x{bits:016x})", f64::from_bits(*bits)),
        Val::V128(bits) => format!("v128:0x{bits:032x}"),
        Val::FuncRef(None) => "funcref:null".to_string(),
        Val::FuncRef(Some(_)) => "funcref:non-null".to_string(),
        Val::ExternRef(None) => "externref:null".to_string(),
        Val::ExternRef(Some(_)) => "externref:non-null".to_string(),
        Val::AnyRef(None) => "anyref:null".to_string(),
        Val::AnyRef(Some(_)) => "anyref:non-null".to_string(),
        Val::ExnRef(None) => "exnref:null".to_string(),
        Val::ExnRef(Some(_)) => "exnref:non-null".to_string(),
    }
}

/// A list of values as the failure messages show it.
pub(crate) fn describe_vals(vals: &[Val]) -> String {
    let parts: Vec<String> = vals.iter().map(describe_val).collect();
    format!("[{}]", parts.join(", "))
}

/// An expected result as the failure messages show it.
fn describe_pattern(pattern: &WastRetCore<'_>) -> String {
    fn nan32(p: &NanPattern<F32>) -> String {
        match p {
            NanPattern::CanonicalNan => "nan:canonical".to_string(),
            NanPattern::ArithmeticNan => "nan:arithmetic".to_string(),
            NanPattern::Value(v) => format!("{} (0x{:08x})", f32::from_bits(v.bits), v.bits),
        }
    }
    fn nan64(p: &NanPattern<F64>) -> String {
        match p {
            NanPattern::CanonicalNan => "nan:canonical".to_string(),
            NanPattern::ArithmeticNan => "nan:arithmetic".to_string(),
            NanPattern::Value(v) => format!("{} (0x{:016x})", f64::from_bits(v.bits), v.bits),
        }
    }
    match pattern {
        WastRetCore::I32(v) => format!("i32:{v}"),
        WastRetCore::I64(v) => format!("i64:{v}"),
        WastRetCore::F32(p) => format!("f32:{}", nan32(p)),
        WastRetCore::F64(p) => format!("f64:{}", nan64(p)),
        WastRetCore::V128(p) => {
            let mut out = String::from("v128:");
            // Writing to a String cannot fail.
            let _ = match p {
                V128Pattern::I8x16(l) => write!(out, "i8x16 {l:?}"),
                V128Pattern::I16x8(l) => write!(out, "i16x8 {l:?}"),
                V128Pattern::I32x4(l) => write!(out, "i32x4 {l:?}"),
                V128Pattern::I64x2(l) => write!(out, "i64x2 {l:?}"),
                V128Pattern::F32x4(l) => {
                    let lanes: Vec<String> = l.iter().map(nan32).collect();
                    write!(out, "f32x4 [{}]", lanes.join(", "))
                }
                V128Pattern::F64x2(l) => {
                    let lanes: Vec<String> = l.iter().map(nan64).collect();
                    write!(out, "f64x2 [{}]", lanes.join(", "))
                }
            };
            out
        }
        WastRetCore::RefNull(None) => "ref.null".to_string(),
        WastRetCore::RefNull(Some(ty)) if is_func_heap_type(ty) => "ref.null func".to_string(),
        WastRetCore::RefNull(Some(ty)) if is_extern_heap_type(ty) => "ref.null extern".to_string(),
        WastRetCore::RefNull(Some(_)) => "ref.null (other heap type)".to_string(),
        WastRetCore::RefExtern(None) => "ref.extern".to_string(),
        WastRetCore::RefExtern(Some(n)) => format!("ref.extern {n}"),
        WastRetCore::RefHost(_) => "ref.host".to_string(),
        WastRetCore::RefFunc(_) => "ref.func".to_string(),
        WastRetCore::RefAny => "ref.any".to_string(),
        WastRetCore::RefEq => "ref.eq".to_string(),
        WastRetCore::RefArray => "ref.array".to_string(),
        WastRetCore::RefStruct => "ref.struct".to_string(),
        WastRetCore::RefI31 => "ref.i31".to_string(),
        WastRetCore::RefI31Shared => "ref.i31_shared".to_string(),
        WastRetCore::Either(options) => {
            let parts: Vec<String> = options.iter().map(describe_pattern).collect();
            format!("either [{}]", parts.join(", "))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use keel::Engine;

    fn new_store() -> Store<()> {
        Store::new(&Engine::default(), ())
    }

    fn f32v(bits: u32) -> NanPattern<F32> {
        NanPattern::Value(F32 { bits })
    }

    fn f64v(bits: u64) -> NanPattern<F64> {
        NanPattern::Value(F64 { bits })
    }

    #[test]
    fn f32_canonical_nan() {
        assert!(is_canonical_nan_f32(0x7fc0_0000));
        assert!(is_canonical_nan_f32(0xffc0_0000), "negative sign allowed");
        assert!(
            !is_canonical_nan_f32(0x7fc0_0001),
            "payload beyond quiet bit"
        );
        assert!(!is_canonical_nan_f32(0x7fa0_0000), "signalling NaN");
        assert!(!is_canonical_nan_f32(0x7f80_0000), "infinity");
        assert!(!is_canonical_nan_f32(0x3f80_0000), "1.0");
        assert!(is_canonical_nan_f32(f32::NAN.to_bits()));
    }

    #[test]
    fn f32_arithmetic_nan() {
        assert!(is_arithmetic_nan_f32(0x7fc0_0000));
        assert!(is_arithmetic_nan_f32(0x7fc0_0001));
        assert!(is_arithmetic_nan_f32(0xffff_ffff));
        assert!(!is_arithmetic_nan_f32(0x7fa0_0000), "signalling NaN");
        assert!(!is_arithmetic_nan_f32(0x7f80_0000), "infinity");
        assert!(
            !is_arithmetic_nan_f32(0x0040_0000),
            "quiet bit without exponent"
        );
    }

    #[test]
    fn f64_canonical_nan() {
        assert!(is_canonical_nan_f64(0x7ff8_0000_0000_0000));
        assert!(is_canonical_nan_f64(0xfff8_0000_0000_0000));
        assert!(!is_canonical_nan_f64(0x7ff8_0000_0000_0001));
        assert!(!is_canonical_nan_f64(0x7ff4_0000_0000_0000));
        assert!(!is_canonical_nan_f64(0x7ff0_0000_0000_0000));
        assert!(is_canonical_nan_f64(f64::NAN.to_bits()));
    }

    #[test]
    fn f64_arithmetic_nan() {
        assert!(is_arithmetic_nan_f64(0x7ff8_0000_0000_0000));
        assert!(is_arithmetic_nan_f64(0xfff8_0000_dead_beef));
        assert!(!is_arithmetic_nan_f64(0x7ff4_0000_0000_0000));
        assert!(!is_arithmetic_nan_f64(0x7ff0_0000_0000_0000));
        assert!(!is_arithmetic_nan_f64(0x0008_0000_0000_0000));
    }

    #[test]
    fn float_values_compare_by_bits() {
        assert!(f32_matches(0x8000_0000, &f32v(0x8000_0000)));
        assert!(
            !f32_matches(0x0000_0000, &f32v(0x8000_0000)),
            "+0 is not -0"
        );
        assert!(
            f32_matches(0x7fc0_0001, &f32v(0x7fc0_0001)),
            "NaN payload exact"
        );
        assert!(!f32_matches(0x7fc0_0000, &f32v(0x7fc0_0001)));
        assert!(!f64_matches(0, &f64v(0x8000_0000_0000_0000)));
        assert!(f64_matches(
            0x7ff8_0000_0000_0001,
            &f64v(0x7ff8_0000_0000_0001)
        ));
        assert!(f64_matches(
            0xfff8_0000_0000_0000,
            &NanPattern::CanonicalNan
        ));
        assert!(!f64_matches(
            0x7ff8_0000_0000_0001,
            &NanPattern::CanonicalNan
        ));
        assert!(f64_matches(
            0x7ff8_0000_0000_0001,
            &NanPattern::ArithmeticNan
        ));
    }

    #[test]
    fn match_val_checks_type_and_value() {
        let mut store = new_store();
        assert!(match_val(&mut store, &Val::I32(7), &WastRetCore::I32(7)).is_ok());
        assert!(match_val(&mut store, &Val::I32(7), &WastRetCore::I32(8)).is_err());
        assert!(match_val(&mut store, &Val::I64(7), &WastRetCore::I32(7)).is_err());
        let err = match_val(&mut store, &Val::I64(-1), &WastRetCore::I64(1)).unwrap_err();
        assert_eq!(err.to_string(), "expected i64:1, got i64:-1");
        assert!(
            match_val(
                &mut store,
                &Val::F32(0x7fc0_0000),
                &WastRetCore::F32(NanPattern::CanonicalNan)
            )
            .is_ok()
        );
        assert!(
            match_val(
                &mut store,
                &Val::F64(0x7ff8_0000_0000_0000),
                &WastRetCore::F32(NanPattern::CanonicalNan)
            )
            .is_err()
        );
    }

    #[test]
    fn match_val_either() {
        let mut store = new_store();
        let either = WastRetCore::Either(vec![WastRetCore::I32(1), WastRetCore::I32(2)]);
        assert!(match_val(&mut store, &Val::I32(2), &either).is_ok());
        assert!(match_val(&mut store, &Val::I32(3), &either).is_err());
    }

    #[test]
    fn match_val_refs() {
        let mut store = new_store();
        assert!(match_val(&mut store, &Val::FuncRef(None), &WastRetCore::RefNull(None)).is_ok());
        assert!(match_val(&mut store, &Val::FuncRef(None), &WastRetCore::RefFunc(None)).is_err());
        assert!(match_val(&mut store, &Val::I32(0), &WastRetCore::RefExtern(None)).is_err());
    }

    #[test]
    fn v128_lanes() {
        // Lane 0 lives in the low bits.
        let v = 0x0000_0004_0000_0003_0000_0002_0000_0001_u128;
        assert!(v128_matches(v, &V128Pattern::I32x4([1, 2, 3, 4])));
        assert!(!v128_matches(v, &V128Pattern::I32x4([4, 3, 2, 1])));
        assert!(v128_matches(
            v,
            &V128Pattern::I64x2([0x2_0000_0001, 0x4_0000_0003])
        ));
        let nans = (u128::from(0x7fc0_0000_u32) << 32) | u128::from(0x7fc0_0001_u32);
        assert!(v128_matches(
            nans,
            &V128Pattern::F32x4([
                NanPattern::ArithmeticNan,
                NanPattern::CanonicalNan,
                f32v(0),
                f32v(0)
            ])
        ));
        assert!(!v128_matches(
            nans,
            &V128Pattern::F32x4([
                NanPattern::CanonicalNan,
                NanPattern::CanonicalNan,
                f32v(0),
                f32v(0)
            ])
        ));
        assert!(v128_matches(u128::MAX, &V128Pattern::I8x16([-1; 16])));
    }

    #[test]
    fn args_convert() {
        let mut store = new_store();
        assert!(matches!(
            arg_to_val(&mut store, &WastArgCore::I32(-5)).unwrap(),
            Val::I32(-5)
        ));
        assert!(matches!(
            arg_to_val(
                &mut store,
                &WastArgCore::F64(F64 {
                    bits: 0x8000_0000_0000_0000
                })
            )
            .unwrap(),
            Val::F64(0x8000_0000_0000_0000)
        ));
        let r = arg_to_val(&mut store, &WastArgCore::RefExtern(7)).unwrap();
        assert!(match_val(&mut store, &r, &WastRetCore::RefExtern(Some(7))).is_ok());
        assert!(match_val(&mut store, &r, &WastRetCore::RefExtern(Some(8))).is_err());
        assert!(match_val(&mut store, &r, &WastRetCore::RefExtern(None)).is_ok());
        assert!(match_val(&mut store, &r, &WastRetCore::RefNull(None)).is_err());
        // `ref.host N` is the `any` view of host value N.
        let h = arg_to_val(&mut store, &WastArgCore::RefHost(1)).unwrap();
        assert!(matches!(h, Val::AnyRef(Some(_))));
        assert!(match_val(&mut store, &h, &WastRetCore::RefHost(1)).is_ok());
        assert!(match_val(&mut store, &h, &WastRetCore::RefHost(2)).is_err());
        assert!(match_val(&mut store, &h, &WastRetCore::RefAny).is_ok());
        assert!(match_val(&mut store, &h, &WastRetCore::RefEq).is_err());
        assert!(match_val(&mut store, &h, &WastRetCore::RefStruct).is_err());
    }
}
