//! Channels-last depthwise convolution kernels for x86-64: AVX-512 and AVX2 + FMA.
//!
//! tract 0.23 looks its depthwise inner loop up in a kernel table and has none for x86-64, so
//! it runs a scalar loop that reads and writes the output once per tap (3–5 GFLOP/s). These
//! keep the channels of one output position in registers across all taps (64 in four 512-bit
//! registers, or 32 in four 256-bit ones). Registered in tract's table, tract picks the AVX-512
//! one where the CPU has AVX-512F, the AVX2 one where it has AVX2 and FMA, and keeps its own
//! loop elsewhere.

use std::arch::x86_64::*;

use tract_onnx::tract_core::internal::inventory;
use tract_onnx::tract_core::tract_linalg::isa::{Arch, Isa, IsaReq};
use tract_onnx::tract_core::tract_linalg::routines::{Func, Routine, RoutineFactory};

/// The name tract reports for the AVX2 + FMA kernel.
pub const NAME: &str = "imgtui_avx2_fma_depthwise_c_f32";

/// The name tract reports for the AVX-512 kernel.
pub const NAME_AVX512: &str = "imgtui_avx512f_depthwise_c_f32";

inventory::submit! {
    Routine {
        func: Func::DepthwiseC,
        arch: Some(Arch::X86_64),
        isa: IsaReq::ANY.needing(&[Isa::X86_64Avx2, Isa::X86_64Fma]),
        boost: 0,
        round_trip: false,
        factory: RoutineFactory::DepthwiseCF32 { name: NAME, run: depthwise_c_f32 },
    }
}

inventory::submit! {
    Routine {
        func: Func::DepthwiseC,
        arch: Some(Arch::X86_64),
        isa: IsaReq::ANY.needing(&[Isa::X86_64Avx512f]),
        boost: 0,
        round_trip: false,
        factory: RoutineFactory::DepthwiseCF32 { name: NAME_AVX512, run: depthwise_c_f32_avx512 },
    }
}

/// [`depthwise_c_f32`] with 512-bit registers: 64 channels a step, then 16, then the rest
/// under a mask.
///
/// # Safety
/// As [`depthwise_c_f32`], on CPUs with AVX-512F (the registration requires it).
#[target_feature(enable = "avx512f")]
#[allow(clippy::too_many_arguments)]
unsafe fn depthwise_c_f32_avx512(
    input: *const f32,
    output: *mut f32,
    kernel: *const f32,
    taps: &[usize],
    offsets: &[isize],
    bias: *const f32,
    channels: usize,
    k_stride: usize,
    len: usize,
    in_stride: isize,
    out_stride: isize,
) {
    let rows: Vec<*const f32> = taps
        .iter()
        .map(|&t| kernel.wrapping_add(t * k_stride))
        .collect();
    unsafe {
        // Two output positions at a time share each load of the kernel's 64 channels.
        let pairs = (len / 2) as isize;
        for i in (0..pairs).map(|p| 2 * p) {
            let (x0, x1) = (
                input.offset(i * in_stride),
                input.offset((i + 1) * in_stride),
            );
            let (o0, o1) = (
                output.offset(i * out_stride),
                output.offset((i + 1) * out_stride),
            );
            let mut c = 0;
            while c + 64 <= channels {
                let b: [__m512; 4] = std::array::from_fn(|j| _mm512_loadu_ps(bias.add(c + 16 * j)));
                let (mut a0, mut a1) = (b, b);
                for (&k, &off) in rows.iter().zip(offsets) {
                    let (k, y0, y1) = (k.add(c), x0.offset(off).add(c), x1.offset(off).add(c));
                    for j in 0..4 {
                        let w = _mm512_loadu_ps(k.add(16 * j));
                        a0[j] = _mm512_fmadd_ps(w, _mm512_loadu_ps(y0.add(16 * j)), a0[j]);
                        a1[j] = _mm512_fmadd_ps(w, _mm512_loadu_ps(y1.add(16 * j)), a1[j]);
                    }
                }
                for j in 0..4 {
                    _mm512_storeu_ps(o0.add(c + 16 * j), a0[j]);
                    _mm512_storeu_ps(o1.add(c + 16 * j), a1[j]);
                }
                c += 64;
            }
            if c < channels {
                let (rest, done) = (channels - c, c);
                depthwise_c_f32_avx512_tail(x0, o0, &rows, offsets, bias, done, rest);
                depthwise_c_f32_avx512_tail(x1, o1, &rows, offsets, bias, done, rest);
            }
        }
        for i in 2 * pairs..len as isize {
            let x = input.offset(i * in_stride);
            let out = output.offset(i * out_stride);
            let mut c = 0;
            while c + 64 <= channels {
                let mut acc = [
                    _mm512_loadu_ps(bias.add(c)),
                    _mm512_loadu_ps(bias.add(c + 16)),
                    _mm512_loadu_ps(bias.add(c + 32)),
                    _mm512_loadu_ps(bias.add(c + 48)),
                ];
                for (&k, &off) in rows.iter().zip(offsets) {
                    let (k, x) = (k.add(c), x.offset(off).add(c));
                    for (j, a) in acc.iter_mut().enumerate() {
                        *a = _mm512_fmadd_ps(
                            _mm512_loadu_ps(k.add(16 * j)),
                            _mm512_loadu_ps(x.add(16 * j)),
                            *a,
                        );
                    }
                }
                for (j, a) in acc.iter().enumerate() {
                    _mm512_storeu_ps(out.add(c + 16 * j), *a);
                }
                c += 64;
            }
            if c < channels {
                depthwise_c_f32_avx512_tail(x, out, &rows, offsets, bias, c, channels - c);
            }
        }
    }
}

/// Channels `from..from + count` of one output position, 16 at a time, the last few under a
/// mask (masked lanes are neither read nor written).
///
/// # Safety
/// As [`depthwise_c_f32_avx512`].
#[target_feature(enable = "avx512f")]
unsafe fn depthwise_c_f32_avx512_tail(
    x: *const f32,
    out: *mut f32,
    rows: &[*const f32],
    offsets: &[isize],
    bias: *const f32,
    from: usize,
    count: usize,
) {
    let end = from + count;
    let mut c = from;
    unsafe {
        while c < end {
            let mask: __mmask16 = if end - c >= 16 {
                0xffff
            } else {
                (1u16 << (end - c)) - 1
            };
            let mut acc = _mm512_maskz_loadu_ps(mask, bias.add(c));
            for (&k, &off) in rows.iter().zip(offsets) {
                let (k, x) = (k.add(c), x.offset(off).add(c));
                acc = _mm512_fmadd_ps(
                    _mm512_maskz_loadu_ps(mask, k),
                    _mm512_maskz_loadu_ps(mask, x),
                    acc,
                );
            }
            _mm512_mask_storeu_ps(out.add(c), mask, acc);
            c += 16;
        }
    }
}

/// `len` output positions of `channels` contiguous channels: position `i`, channel `c` is
/// `bias[c]` plus, for each tap `t`, `kernel[taps[t] * k_stride + c]` times
/// `input[i * in_stride + offsets[t] + c]` (tract's `DepthwiseCF32` contract).
///
/// # Safety
/// Every address that formula names must be valid, and tract calls it only on CPUs with AVX2
/// and FMA (the registration requires them).
#[target_feature(enable = "avx2,fma")]
#[allow(clippy::too_many_arguments)]
unsafe fn depthwise_c_f32(
    input: *const f32,
    output: *mut f32,
    kernel: *const f32,
    taps: &[usize],
    offsets: &[isize],
    bias: *const f32,
    channels: usize,
    k_stride: usize,
    len: usize,
    in_stride: isize,
    out_stride: isize,
) {
    // The kernel rows of the taps, in tap order: `kernel + taps[t] * k_stride`.
    let rows: Vec<*const f32> = taps
        .iter()
        .map(|&t| kernel.wrapping_add(t * k_stride))
        .collect();
    unsafe {
        for i in 0..len as isize {
            let x = input.offset(i * in_stride);
            let out = output.offset(i * out_stride);
            let mut c = 0;
            while c + 32 <= channels {
                let mut acc = [
                    _mm256_loadu_ps(bias.add(c)),
                    _mm256_loadu_ps(bias.add(c + 8)),
                    _mm256_loadu_ps(bias.add(c + 16)),
                    _mm256_loadu_ps(bias.add(c + 24)),
                ];
                for (&k, &off) in rows.iter().zip(offsets) {
                    let (k, x) = (k.add(c), x.offset(off).add(c));
                    for (j, a) in acc.iter_mut().enumerate() {
                        *a = _mm256_fmadd_ps(
                            _mm256_loadu_ps(k.add(8 * j)),
                            _mm256_loadu_ps(x.add(8 * j)),
                            *a,
                        );
                    }
                }
                for (j, a) in acc.iter().enumerate() {
                    _mm256_storeu_ps(out.add(c + 8 * j), *a);
                }
                c += 32;
            }
            while c + 8 <= channels {
                let mut acc = _mm256_loadu_ps(bias.add(c));
                for (&k, &off) in rows.iter().zip(offsets) {
                    let (k, x) = (k.add(c), x.offset(off).add(c));
                    acc = _mm256_fmadd_ps(_mm256_loadu_ps(k), _mm256_loadu_ps(x), acc);
                }
                _mm256_storeu_ps(out.add(c), acc);
                c += 8;
            }
            while c < channels {
                let mut sum = *bias.add(c);
                for (&k, &off) in rows.iter().zip(offsets) {
                    sum = (*k.add(c)).mul_add(*x.offset(off).add(c), sum);
                }
                *out.add(c) = sum;
                c += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type Kernel = unsafe fn(
        *const f32,
        *mut f32,
        *const f32,
        &[usize],
        &[isize],
        *const f32,
        usize,
        usize,
        usize,
        isize,
        isize,
    );

    /// The AVX2 kernel against the contract's formula, on odd channel counts and strides.
    #[test]
    fn avx2_matches_the_formula() {
        if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
            matches_the_formula(depthwise_c_f32);
        } else {
            eprintln!("skipped: this CPU has no AVX2 + FMA");
        }
    }

    /// The AVX-512 kernel against the contract's formula.
    #[test]
    fn avx512_matches_the_formula() {
        if is_x86_feature_detected!("avx512f") {
            matches_the_formula(depthwise_c_f32_avx512);
        } else {
            eprintln!("skipped: this CPU has no AVX-512F");
        }
    }

    fn matches_the_formula(kernel_fn: Kernel) {
        let value = |i: usize| ((i * 7919) % 101) as f32 / 50.0 - 1.0;
        for channels in [1, 7, 8, 16, 17, 32, 45, 64, 96, 113, 144] {
            let (k_stride, len, in_stride, out_stride) = (channels + 3, 5, 2 * channels, channels);
            let taps = [0usize, 2, 4];
            let offsets = [0isize, channels as isize, 3 * channels as isize];
            let input: Vec<f32> = (0..len * in_stride + 4 * channels).map(value).collect();
            let kernel: Vec<f32> = (0..5 * k_stride).map(|i| value(i + 13)).collect();
            let bias: Vec<f32> = (0..channels).map(|i| value(i + 29)).collect();
            let mut out = vec![f32::NAN; len * out_stride];
            unsafe {
                kernel_fn(
                    input.as_ptr(),
                    out.as_mut_ptr(),
                    kernel.as_ptr(),
                    &taps,
                    &offsets,
                    bias.as_ptr(),
                    channels,
                    k_stride,
                    len,
                    in_stride as isize,
                    out_stride as isize,
                )
            };
            for i in 0..len {
                for c in 0..channels {
                    let want = bias[c]
                        + taps
                            .iter()
                            .zip(offsets)
                            .map(|(&t, off)| {
                                kernel[t * k_stride + c] * input[i * in_stride + off as usize + c]
                            })
                            .sum::<f32>();
                    let got = out[i * out_stride + c];
                    assert!(
                        (got - want).abs() < 1e-5,
                        "{channels} channels: {got} vs {want}"
                    );
                }
            }
        }
    }

    /// tract picks the widest of these kernels the CPU can run.
    #[test]
    fn tract_uses_the_widest() {
        use tract_onnx::prelude::DatumType;
        use tract_onnx::tract_core::tract_linalg::{isa, routines};
        let picked = routines::best_for(Func::DepthwiseC, DatumType::F32, &isa::native());
        let picked = picked.map(|r| r.name());
        if is_x86_feature_detected!("avx512f") {
            assert_eq!(picked, Some(NAME_AVX512));
        } else if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
            assert_eq!(picked, Some(NAME));
        }
    }
}
