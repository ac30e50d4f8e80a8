//! Max and min of a tensor by a scalar (ReLU6's `Clip(0, 6)` after the depthwise convolutions,
//! where tract cannot fuse it into a matrix product) for x86-64 with AVX-512 or AVX2.
//!
//! tract 0.23 runs these with its generic Rust loops, four lanes wide, one pass each; profiled
//! on EfficientNet-Lite0 they took about 9 % of a frame. Registered in tract's kernel table
//! (`Func::BinByScalar`), tract picks the AVX-512 ones where the CPU has AVX-512F, the AVX2
//! ones where it has AVX2, and keeps its own loop elsewhere. Each computes exactly what
//! `f32::max` / `f32::min` give element by element (a NaN element takes the scalar; a NaN
//! scalar leaves the elements as they are).

use std::arch::x86_64::*;

use tract_onnx::tract_core::internal::{TensorView, TractResult, inventory};
use tract_onnx::tract_core::tract_linalg::isa::{Arch, Isa, IsaReq};
use tract_onnx::tract_core::tract_linalg::routines::{Func, Routine, RoutineFactory};
use tract_onnx::tract_core::tract_linalg::{BinFn, BinOp};

/// The names tract reports for these kernels.
pub const MAX_AVX512: &str = "imgtui_avx512f_max_by_scalar_f32";
/// See [`MAX_AVX512`].
pub const MIN_AVX512: &str = "imgtui_avx512f_min_by_scalar_f32";
/// See [`MAX_AVX512`].
pub const MAX_AVX2: &str = "imgtui_avx2_max_by_scalar_f32";
/// See [`MAX_AVX512`].
pub const MIN_AVX2: &str = "imgtui_avx2_min_by_scalar_f32";

macro_rules! register {
    ($op:ident, $isa:ident, $name:ident, $run:expr) => {
        inventory::submit! {
            Routine {
                func: Func::BinByScalar(BinOp::$op),
                arch: Some(Arch::X86_64),
                isa: IsaReq::ANY.needing(&[Isa::$isa]),
                boost: 0,
                round_trip: false,
                factory: RoutineFactory::BinF32 {
                    name: || $name,
                    make: || bin($run),
                },
            }
        }
    };
}

register!(Max, X86_64Avx512f, MAX_AVX512, |x, s| unsafe {
    by_scalar_avx512::<true>(x, s)
});
register!(Min, X86_64Avx512f, MIN_AVX512, |x, s| unsafe {
    by_scalar_avx512::<false>(x, s)
});
register!(Max, X86_64Avx2, MAX_AVX2, |x, s| unsafe {
    by_scalar_avx2::<true>(x, s)
});
register!(Min, X86_64Avx2, MIN_AVX2, |x, s| unsafe {
    by_scalar_avx2::<false>(x, s)
});

/// tract's binary-kernel shape around `run(slice, scalar)`: `a` is rewritten in place, `b`
/// holds the scalar.
fn bin(run: fn(&mut [f32], f32)) -> Box<BinFn> {
    Box::new(
        move |a: &mut TensorView, b: &TensorView| -> TractResult<()> {
            let s = b.as_slice::<f32>()?[0];
            run(a.as_slice_mut::<f32>()?, s);
            Ok(())
        },
    )
}

/// `x[i] = x[i].max(s)` (`MAX`) or `x[i].min(s)`, 64 elements a step, then 16, then the rest
/// under a mask.
///
/// # Safety
/// Only on CPUs with AVX-512F (the registration requires it).
#[target_feature(enable = "avx512f")]
unsafe fn by_scalar_avx512<const MAX: bool>(x: &mut [f32], s: f32) {
    if s.is_nan() {
        return; // f32::max and f32::min ignore a NaN argument
    }
    // With one NaN operand the instructions return the second: the scalar, as f32::max does.
    let op = |v: __m512, s: __m512| {
        if MAX {
            _mm512_max_ps(v, s)
        } else {
            _mm512_min_ps(v, s)
        }
    };
    let sv = _mm512_set1_ps(s);
    let (n, p) = (x.len(), x.as_mut_ptr());
    let mut i = 0;
    unsafe {
        while i + 64 <= n {
            for j in 0..4 {
                let q = p.add(i + 16 * j);
                _mm512_storeu_ps(q, op(_mm512_loadu_ps(q), sv));
            }
            i += 64;
        }
        while i < n {
            let mask: __mmask16 = if n - i >= 16 {
                0xffff
            } else {
                (1u16 << (n - i)) - 1
            };
            let q = p.add(i);
            _mm512_mask_storeu_ps(q, mask, op(_mm512_maskz_loadu_ps(mask, q), sv));
            i += 16;
        }
    }
}

/// [`by_scalar_avx512`] with 256-bit registers: 32 elements a step, then 8, then one by one.
///
/// # Safety
/// Only on CPUs with AVX2 (the registration requires it).
#[target_feature(enable = "avx2")]
unsafe fn by_scalar_avx2<const MAX: bool>(x: &mut [f32], s: f32) {
    if s.is_nan() {
        return;
    }
    let op = |v: __m256, s: __m256| {
        if MAX {
            _mm256_max_ps(v, s)
        } else {
            _mm256_min_ps(v, s)
        }
    };
    let sv = _mm256_set1_ps(s);
    let (n, p) = (x.len(), x.as_mut_ptr());
    let mut i = 0;
    unsafe {
        while i + 32 <= n {
            for j in 0..4 {
                let q = p.add(i + 8 * j);
                _mm256_storeu_ps(q, op(_mm256_loadu_ps(q), sv));
            }
            i += 32;
        }
        while i + 8 <= n {
            let q = p.add(i);
            _mm256_storeu_ps(q, op(_mm256_loadu_ps(q), sv));
            i += 8;
        }
    }
    for v in &mut x[i..] {
        *v = if MAX { v.max(s) } else { v.min(s) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each kernel against `f32::max` / `f32::min` on every length up to 200, at every offset
    /// from an aligned start, with NaN, infinities and signed zeros among the values and as the
    /// scalar.
    fn matches_the_formula(max: fn(&mut [f32], f32), min: fn(&mut [f32], f32)) {
        let special = [f32::NAN, f32::INFINITY, f32::NEG_INFINITY, 0.0, -0.0, 6.0];
        let value = |i: usize| match i % 11 {
            0 => special[(i / 11) % special.len()],
            _ => ((i * 7919) % 1001) as f32 / 50.0 - 10.0,
        };
        let all: Vec<f32> = (0..208).map(value).collect();
        for s in [0.0, 6.0, -3.5, f32::NAN, f32::INFINITY] {
            for start in 0..4 {
                for len in 0..=200 {
                    for (run, reference) in [
                        (max, f32::max as fn(f32, f32) -> f32),
                        (min, f32::min as fn(f32, f32) -> f32),
                    ] {
                        let mut got = all[start..start + len].to_vec();
                        run(&mut got, s);
                        for (k, (&g, &x)) in got.iter().zip(&all[start..]).enumerate() {
                            let want = reference(x, s);
                            assert!(
                                g == want || (g.is_nan() && want.is_nan()),
                                "scalar {s}, element {k} of {len}: {x} gave {g}, not {want}"
                            );
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn avx512_matches_the_formula() {
        if is_x86_feature_detected!("avx512f") {
            matches_the_formula(
                |x, s| unsafe { by_scalar_avx512::<true>(x, s) },
                |x, s| unsafe { by_scalar_avx512::<false>(x, s) },
            );
        } else {
            eprintln!("skipped: this CPU has no AVX-512F");
        }
    }

    #[test]
    fn avx2_matches_the_formula() {
        if is_x86_feature_detected!("avx2") {
            matches_the_formula(
                |x, s| unsafe { by_scalar_avx2::<true>(x, s) },
                |x, s| unsafe { by_scalar_avx2::<false>(x, s) },
            );
        } else {
            eprintln!("skipped: this CPU has no AVX2");
        }
    }

    /// tract picks the widest of these kernels the CPU can run.
    #[test]
    fn tract_uses_the_widest() {
        use tract_onnx::prelude::DatumType;
        use tract_onnx::tract_core::tract_linalg::{isa, routines};
        for (op, wide, narrow) in [
            (BinOp::Max, MAX_AVX512, MAX_AVX2),
            (BinOp::Min, MIN_AVX512, MIN_AVX2),
        ] {
            let picked = routines::best_for(Func::BinByScalar(op), DatumType::F32, &isa::native())
                .map(|r| r.name());
            if is_x86_feature_detected!("avx512f") {
                assert_eq!(picked, Some(wide));
            } else if is_x86_feature_detected!("avx2") {
                assert_eq!(picked, Some(narrow));
            }
        }
    }
}
