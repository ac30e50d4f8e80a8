//! Convolutions imgtui runs itself, channels last, on CPUs with AVX-512F: the stem of an image
//! network (3 input channels, where tract's lazy im2col reaches ~19 GFLOP/s) and the 1×1
//! expansion convolutions of MobileNet-style blocks (16–192 input channels on large maps, where
//! tract multiplies, then moves the result to channels last for the depthwise convolution).
//!
//! [`own_convolutions`] rewrites a typed tract model before it is optimised: each convolution of
//! those two shapes, with its bias, a following ReLU6 (`max(x, 0)`, `min(x, 6)`) and a following
//! move to channels last, becomes one [`ConvHwc`] node that writes its output channels last in
//! one pass. Elsewhere (no AVX-512F, other shapes) tract's own operations stay.
//!
//! The kernel is the direct convolution: for a tile of output positions and 64 output channels,
//! the sums stay in registers over every tap and input channel (each input value broadcast
//! against 16-channel rows of the kernel), so nothing is packed or re-read.

use std::sync::Arc;

use tract_onnx::prelude::*;
use tract_onnx::tract_core::internal::*;
use tract_onnx::tract_core::ops::binary::TypedBinOp;
use tract_onnx::tract_core::ops::change_axes::AxisOp;
use tract_onnx::tract_core::ops::cnn::{Conv, KernelFormat, PaddingSpec};
use tract_onnx::tract_core::ops::einsum::EinSum;
use tract_onnx::tract_core::ops::nn::DataFormat;

/// Output channels one register holds.
const LANES: usize = 16;

/// A convolution written channels last: input `[C, H, W]` or `[H, W, C]` (any leading axes of
/// size 1), read through `in_strides`; output `[Ho, Wo, O]` in `out_shape` (leading axes of size
/// 1 kept). `out[oy, ox, o] = clamp(bias[o] + Σ_{ky, kx, c} w[ky, kx, c, o] ·
/// in[c, oy·stride + ky − pad_top, ox·stride + kx − pad_left])`, the input taken as 0 outside.
#[derive(Debug, Clone, PartialEq)]
pub struct ConvHwc {
    /// Kernel height and width.
    kernel: (usize, usize),
    /// Stride, the same along both axes.
    stride: usize,
    /// Zero rows above and columns left of the input.
    pad: (usize, usize),
    /// Input channels, height and width.
    input: (usize, usize, usize),
    /// Elements between consecutive channels, rows and columns of the input.
    in_strides: (usize, usize, usize),
    /// Output height, width and channels.
    output: (usize, usize, usize),
    /// The output tensor's shape.
    out_shape: TVec<usize>,
    /// `[kh][kw][c][o_padded]`, `o_padded` the output channels rounded up to 16 (zeros after).
    weights: Arc<Vec<f32>>,
    /// `[o_padded]`.
    bias: Arc<Vec<f32>>,
    /// `(low, high)` the output is clamped to, if any (ReLU6: `(0, 6)`).
    clamp: Option<(f32, f32)>,
}

// Equality only tells ops apart; the weights are never NaN.
impl Eq for ConvHwc {}

impl ConvHwc {
    fn padded_outputs(&self) -> usize {
        self.output.2.div_ceil(LANES) * LANES
    }
}

impl Op for ConvHwc {
    fn name(&self) -> StaticName {
        "imgtui.ConvHwc".into()
    }

    fn info(&self) -> TractResult<Vec<String>> {
        Ok(vec![format!(
            "{}x{} stride {} pad {:?}, in {:?}, out {:?}, clamp {:?}",
            self.kernel.0,
            self.kernel.1,
            self.stride,
            self.pad,
            self.input,
            self.output,
            self.clamp
        )])
    }

    fn validation(&self) -> Validation {
        Validation::Rounding
    }

    op_as_typed_op!();
}

impl EvalOp for ConvHwc {
    op_out_of_plan!();

    fn eval(&self, _ctx: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let input = inputs[0].to_plain_array_view::<f32>()?;
        let x = input
            .as_slice()
            .context("ConvHwc: the input is not contiguous")?;
        let (c, h, w) = self.input;
        ensure!(x.len() == c * h * w, "ConvHwc: input of {} values", x.len());
        // SAFETY: every value is written below (each position, each channel below o).
        let mut output = unsafe { Tensor::uninitialized::<f32>(&self.out_shape)? };
        {
            let mut view = output.try_as_plain_ram_mut()?;
            let out = view.as_slice_mut::<f32>()?;
            let (ho, wo, o) = self.output;
            ensure!(
                out.len() == ho * wo * o,
                "ConvHwc: output of {} values",
                out.len()
            );
            // SAFETY: the input holds c·h·w values and the output ho·wo·o (checked), and the
            // op is only made where the CPU has AVX-512F (`own_convolutions`).
            unsafe { conv_avx512(self, x, out) };
        }
        Ok(tvec!(output.into_tvalue()))
    }
}

impl TypedOp for ConvHwc {
    fn output_facts(&self, _inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        Ok(tvec!(f32::fact(&*self.out_shape)))
    }

    fn cost(&self, _inputs: &[&TypedFact]) -> TractResult<TVec<(Cost, TDim)>> {
        let (ho, wo, o) = self.output;
        let taps = self.kernel.0 * self.kernel.1 * self.input.0;
        Ok(tvec!((
            Cost::FMA(f32::datum_type()),
            (ho * wo * o * taps).to_dim()
        )))
    }

    as_op!();
}

/// Runs `op` over the whole output, in tiles of 4 positions of a row by 64 channels.
///
/// # Safety
/// The CPU has AVX-512F; `x` holds the input `op` describes (c·h·w values), `out` the output
/// (ho·wo·o values).
#[target_feature(enable = "avx512f")]
unsafe fn conv_avx512(op: &ConvHwc, x: &[f32], out: &mut [f32]) {
    let (ho, wo, o) = op.output;
    let blocks: Vec<usize> = (0..o).step_by(4 * LANES).collect();
    let out = out.as_mut_ptr();
    // SAFETY: as this function's, and (oy, ox..ox+t, co..) inside the output.
    let run = |oy: usize, ox: usize, t: usize, co: usize| unsafe {
        match ((o - co).div_ceil(LANES).min(4), t) {
            (4, 4) => tile::<4, 4>(op, x, out, oy, ox, co),
            (3, 4) => tile::<4, 3>(op, x, out, oy, ox, co),
            (2, 4) => tile::<4, 2>(op, x, out, oy, ox, co),
            (1, 4) => tile::<4, 1>(op, x, out, oy, ox, co),
            (4, _) => tile::<1, 4>(op, x, out, oy, ox, co),
            (3, _) => tile::<1, 3>(op, x, out, oy, ox, co),
            (2, _) => tile::<1, 2>(op, x, out, oy, ox, co),
            _ => tile::<1, 1>(op, x, out, oy, ox, co),
        }
    };
    let positions = || {
        (0..ho).flat_map(move |oy| {
            let mut ox = 0;
            std::iter::from_fn(move || {
                (ox < wo).then(|| {
                    let t = if wo - ox >= 4 { 4 } else { 1 };
                    ox += t;
                    (oy, ox - t, t)
                })
            })
        })
    };
    let kernel_bytes = op.weights.len() * 4;
    if kernel_bytes <= 256 << 10 {
        // A small kernel stays in cache anyway: each position's channels are written at once.
        for (oy, ox, t) in positions() {
            for &co in &blocks {
                run(oy, ox, t, co);
            }
        }
    } else {
        // A large one (small maps, many channels): one block of its rows (c × 64 values) stays
        // in cache while every position is computed.
        for &co in &blocks {
            for (oy, ox, t) in positions() {
                run(oy, ox, t, co);
            }
        }
    }
}

/// `T` output positions from `(oy, ox)` along the row and `V`·16 output channels from `co`:
/// the sums in `T`·`V` registers over every tap and input channel, then the clamp, then one
/// store per register (masked past the last channel).
///
/// # Safety
/// As [`conv_avx512`], with the tile inside the output.
#[inline]
#[target_feature(enable = "avx512f")]
unsafe fn tile<const T: usize, const V: usize>(
    op: &ConvHwc,
    x: &[f32],
    out: *mut f32,
    oy: usize,
    ox: usize,
    co: usize,
) {
    use std::arch::x86_64::*;
    let (c, h, w) = op.input;
    let (sc, sy, sx) = op.in_strides;
    let (kh, kw) = op.kernel;
    let o_pad = op.padded_outputs();
    let xp = x.as_ptr();
    let wp = op.weights.as_ptr();
    // SAFETY (every read below): weights hold kh·kw·c·o_pad values and co + V·16 ≤ o_pad; an
    // input offset is formed only for a row and column inside the image.
    unsafe {
        let mut acc = [[_mm512_setzero_ps(); V]; T];
        for a in acc.iter_mut() {
            for (v, r) in a.iter_mut().enumerate() {
                *r = _mm512_loadu_ps(op.bias.as_ptr().add(co + v * LANES));
            }
        }
        // No closures below: they would not inherit AVX-512 and would call each intrinsic.
        let mut cols = [None; T];
        for ky in 0..kh {
            let Some(iy) = (oy * op.stride + ky)
                .checked_sub(op.pad.0)
                .filter(|&iy| iy < h)
            else {
                continue;
            };
            for kx in 0..kw {
                let mut inside = true;
                for (t, col) in cols.iter_mut().enumerate() {
                    *col = ((ox + t) * op.stride + kx)
                        .checked_sub(op.pad.1)
                        .filter(|&ix| ix < w)
                        .map(|ix| iy * sy + ix * sx);
                    inside &= col.is_some();
                }
                let taps = wp.add((ky * kw + kx) * c * o_pad + co);
                let mut wv = [_mm512_setzero_ps(); V];
                if inside {
                    let mut at = [0usize; T];
                    for t in 0..T {
                        at[t] = cols[t].unwrap_or(0);
                    }
                    for ci in 0..c {
                        let row = taps.add(ci * o_pad);
                        for (v, r) in wv.iter_mut().enumerate() {
                            *r = _mm512_loadu_ps(row.add(v * LANES));
                        }
                        for t in 0..T {
                            let xv = _mm512_set1_ps(*xp.add(at[t] + ci * sc));
                            for v in 0..V {
                                acc[t][v] = _mm512_fmadd_ps(xv, wv[v], acc[t][v]);
                            }
                        }
                    }
                } else {
                    // At the image's edge: positions outside it add nothing.
                    for ci in 0..c {
                        let row = taps.add(ci * o_pad);
                        for (v, r) in wv.iter_mut().enumerate() {
                            *r = _mm512_loadu_ps(row.add(v * LANES));
                        }
                        for t in 0..T {
                            let Some(at) = cols[t] else { continue };
                            let xv = _mm512_set1_ps(*xp.add(at + ci * sc));
                            for v in 0..V {
                                acc[t][v] = _mm512_fmadd_ps(xv, wv[v], acc[t][v]);
                            }
                        }
                    }
                }
            }
        }
        let (_, wo, o) = op.output;
        let clamp = op
            .clamp
            .map(|(low, high)| (_mm512_set1_ps(low), _mm512_set1_ps(high)));
        for (t, a) in acc.iter().enumerate() {
            let base = out.add((oy * wo + ox + t) * o + co);
            for (v, &r) in a.iter().enumerate() {
                let r = match clamp {
                    Some((low, high)) => _mm512_min_ps(_mm512_max_ps(r, low), high),
                    None => r,
                };
                let left = o - co - v * LANES;
                if left >= LANES {
                    _mm512_storeu_ps(base.add(v * LANES), r);
                } else {
                    _mm512_mask_storeu_ps(base.add(v * LANES), (1u16 << left) - 1, r);
                }
            }
        }
    }
}

/// Replaces, in a decluttered model (after tract's `conv_nhwc` transform), the stem and the
/// 1×1 expansion convolutions by [`ConvHwc`], with their bias, ReLU6 and move to channels last
/// folded in. Does nothing on a CPU without AVX-512F. Returns how many it replaced.
///
/// Fails only when tract cannot apply a patch it was given.
pub fn own_convolutions(model: &mut TypedModel) -> TractResult<usize> {
    if !is_x86_feature_detected!("avx512f") {
        return Ok(0);
    }
    let mut replaced = 0;
    for id in 0..model.nodes().len() {
        let patch = if let Some(conv) = model.node(id).op_as::<Conv>() {
            stem(model, id, conv)?
        } else if let Some(einsum) = model.node(id).op_as::<EinSum>() {
            expansion(model, id, einsum)?
        } else {
            None
        };
        if let Some(patch) = patch {
            patch.apply(model)?;
            replaced += 1;
        }
    }
    if replaced > 0 {
        model.compact()?;
    }
    Ok(replaced)
}

/// The constant `node`'s input `slot` holds, if it is one.
fn konst(model: &TypedModel, node: &TypedNode, slot: usize) -> Option<Arc<Tensor>> {
    model
        .outlet_fact(*node.inputs.get(slot)?)
        .ok()?
        .konst
        .clone()
}

/// The scalar a binary operation `name` ("Max", "Add"…) at `node` applies to its first input.
fn by_scalar(model: &TypedModel, node: &TypedNode, name: &str) -> Option<f32> {
    let op = node.op_as::<TypedBinOp>()?;
    if op.0.name() != name || node.inputs.len() != 2 {
        return None;
    }
    let k = konst(model, node, 1)?;
    (k.len() == 1)
        .then(|| k.cast_to_scalar::<f32>().ok())
        .flatten()
}

/// What follows the node `start` that can be folded into a convolution: a ReLU6 (as tract
/// declutters it: Max 0, then Min 6) and the moves `want`, in the graph's order. Returns the
/// clamp and the last node folded; `None` unless every move in `want` was found.
fn follow(
    model: &TypedModel,
    start: usize,
    want: &[AxisOp],
) -> Option<(Option<(f32, f32)>, usize)> {
    let is_output = |id: usize| model.outputs.iter().any(|o| o.node == id);
    let mut want = want.iter().peekable();
    let (mut clamp, mut id) = (None, start);
    loop {
        let next = model
            .single_succ(id)
            .ok()
            .flatten()
            .filter(|_| !is_output(id));
        if let Some(succ) = next {
            if let Some(op) = succ.op_as::<AxisOp>() {
                if want.peek() == Some(&op) {
                    want.next();
                    id = succ.id;
                    continue;
                }
            } else if let (None, Some(low)) = (clamp, by_scalar(model, succ, "Max")) {
                let after = model
                    .single_succ(succ.id)
                    .ok()
                    .flatten()
                    .filter(|_| !is_output(succ.id));
                if let Some((after, high)) =
                    after.and_then(|a| Some((a, by_scalar(model, a, "Min")?)))
                {
                    clamp = Some((low, high));
                    id = after.id;
                    continue;
                }
            }
        }
        return want.peek().is_none().then_some((clamp, id));
    }
}

/// The stem: a channels-last convolution of an image with at most 4 channels.
fn stem(model: &TypedModel, id: usize, conv: &Conv) -> TractResult<Option<TypedModelPatch>> {
    let node = model.node(id);
    let spec = &conv.pool_spec;
    let ok = conv.group == 1
        && conv.q_params.is_none()
        && conv.kernel_fmt == KernelFormat::OIHW
        && spec.data_format == DataFormat::NHWC
        && spec.input_channels <= 4
        && spec.kernel_shape.len() == 2
        && spec.dilations().iter().all(|&d| d == 1)
        && spec.strides()[0] == spec.strides()[1];
    let pad = match &spec.padding {
        PaddingSpec::Explicit(before, _) if before.len() == 2 => (before[0], before[1]),
        PaddingSpec::Valid => (0, 0),
        _ => return Ok(None),
    };
    let (Some(kernel), Some(bias)) = (konst(model, node, 1), konst(model, node, 2)) else {
        return Ok(None);
    };
    let in_fact = model.outlet_fact(node.inputs[0])?;
    let out_fact = model.outlet_fact(OutletId::new(id, 0))?;
    let (Some(ins), Some(outs)) = (in_fact.shape.as_concrete(), out_fact.shape.as_concrete())
    else {
        return Ok(None);
    };
    if !ok || ins.len() != 4 || ins[0] != 1 || in_fact.datum_type != f32::datum_type() {
        return Ok(None);
    }
    let (h, w, c) = (ins[1], ins[2], ins[3]);
    let (ho, wo, o) = (outs[1], outs[2], outs[3]);
    let (kh, kw) = (spec.kernel_shape[0], spec.kernel_shape[1]);
    if kernel.shape() != [o, c, kh, kw] || bias.len() != o {
        return Ok(None);
    }
    let kernel = floats(&kernel)?;
    let o_pad = o.div_ceil(LANES) * LANES;
    let mut weights = vec![0f32; kh * kw * c * o_pad];
    for oc in 0..o {
        for ci in 0..c {
            for ky in 0..kh {
                for kx in 0..kw {
                    weights[((ky * kw + kx) * c + ci) * o_pad + oc] =
                        kernel[((oc * c + ci) * kh + ky) * kw + kx];
                }
            }
        }
    }
    // A ReLU6 in channels-first between moves there and back, as conv_nhwc leaves it.
    let (clamp, last) = match follow(model, id, &[AxisOp::Move(3, 1), AxisOp::Move(1, 3)]) {
        Some(found) => found,
        None => (None, id),
    };
    let op = ConvHwc {
        kernel: (kh, kw),
        stride: spec.strides()[0],
        pad,
        input: (c, h, w),
        in_strides: (1, w * c, c),
        output: (ho, wo, o),
        out_shape: outs.into(),
        weights: Arc::new(weights),
        bias: Arc::new(padded(&bias, o_pad)?),
        clamp,
    };
    patch_in(model, node.inputs[0], op, last).map(Some)
}

/// A 1×1 expansion as tract leaves it after `conv_nhwc`: `EinSum` `IHW,OI->HWO` (channels-first
/// in, channels-last out), a bias (an `Add` of `O` constants) and a ReLU6.
fn expansion(
    model: &TypedModel,
    id: usize,
    einsum: &EinSum,
) -> TractResult<Option<TypedModelPatch>> {
    let node = model.node(id);
    let axes = einsum.axes.to_string();
    if einsum.q_params.is_some() || !matches!(axes.as_str(), "IHW,OI->HWO" | "NIHW,OI->HWO") {
        return Ok(None);
    }
    let Some(filters) = konst(model, node, 1) else {
        return Ok(None);
    };
    let in_fact = model.outlet_fact(node.inputs[0])?;
    let Some(ins) = in_fact.shape.as_concrete() else {
        return Ok(None);
    };
    let ins: Vec<usize> = ins.iter().copied().skip_while(|&d| d == 1).collect();
    let [c, h, w] = ins[..] else {
        return Ok(None);
    };
    let o = filters.shape()[0];
    if filters.shape() != [o, c] || in_fact.datum_type != f32::datum_type() {
        return Ok(None);
    }
    let Some(add) = model.single_succ(id)? else {
        return Ok(None);
    };
    let Some(bias) = add
        .op_as::<TypedBinOp>()
        .filter(|op| op.0.name() == "Add" && add.inputs[0].node == id)
        .and_then(|_| konst(model, add, 1))
        .filter(|b| b.len() == o)
    else {
        return Ok(None);
    };
    let Some((clamp, last)) = follow(model, add.id, &[]) else {
        return Ok(None);
    };
    let out_fact = model.outlet_fact(OutletId::new(last, 0))?;
    if out_fact.shape.as_concrete() != Some(&[h, w, o][..]) {
        return Ok(None);
    }
    let filters = floats(&filters)?;
    let o_pad = o.div_ceil(LANES) * LANES;
    let mut weights = vec![0f32; c * o_pad];
    for oc in 0..o {
        for ci in 0..c {
            weights[ci * o_pad + oc] = filters[oc * c + ci];
        }
    }
    // A 1×1 convolution is one long row: tiles of 4 run across the ends of the rows.
    let op = ConvHwc {
        kernel: (1, 1),
        stride: 1,
        pad: (0, 0),
        input: (c, 1, h * w),
        in_strides: (h * w, h * w, 1),
        output: (1, h * w, o),
        out_shape: tvec![h, w, o],
        weights: Arc::new(weights),
        bias: Arc::new(padded(&bias, o_pad)?),
        clamp,
    };
    patch_in(model, node.inputs[0], op, last).map(Some)
}

/// The values of `t` as f32, in its order.
fn floats(t: &Tensor) -> TractResult<Vec<f32>> {
    let t = t.cast_to::<f32>()?;
    Ok(t.to_plain_array_view::<f32>()?.iter().copied().collect())
}

/// `values` as f32, zeros after them up to `len`.
fn padded(values: &Tensor, len: usize) -> TractResult<Vec<f32>> {
    let mut out = floats(values)?;
    out.resize(len, 0.0);
    Ok(out)
}

/// A patch that feeds `input` to `op` and puts its output where node `last`'s was.
fn patch_in(
    model: &TypedModel,
    input: OutletId,
    op: ConvHwc,
    last: usize,
) -> TractResult<TypedModelPatch> {
    let mut patch = TypedModelPatch::default();
    let tapped = patch.tap_model(model, input)?;
    let name = format!("{}.imgtui_conv_hwc", model.node(last).name);
    let wired = patch.wire_node(name, op, &[tapped])?;
    patch.shunt_outside(model, OutletId::new(last, 0), wired[0])?;
    Ok(patch)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The formula, one output value at a time.
    fn reference(op: &ConvHwc, x: &[f32]) -> Vec<f32> {
        let (c, h, w) = op.input;
        let (sc, sy, sx) = op.in_strides;
        let (ho, wo, o) = op.output;
        let o_pad = op.padded_outputs();
        let mut out = vec![0f32; ho * wo * o];
        for oy in 0..ho {
            for ox in 0..wo {
                for oc in 0..o {
                    let mut sum = op.bias[oc] as f64;
                    for ky in 0..op.kernel.0 {
                        for kx in 0..op.kernel.1 {
                            let iy = (oy * op.stride + ky) as isize - op.pad.0 as isize;
                            let ix = (ox * op.stride + kx) as isize - op.pad.1 as isize;
                            if iy < 0 || ix < 0 || iy >= h as isize || ix >= w as isize {
                                continue;
                            }
                            for ci in 0..c {
                                let xv = x[ci * sc + iy as usize * sy + ix as usize * sx];
                                let wv =
                                    op.weights[((ky * op.kernel.1 + kx) * c + ci) * o_pad + oc];
                                sum += xv as f64 * wv as f64;
                            }
                        }
                    }
                    let mut v = sum as f32;
                    if let Some((low, high)) = op.clamp {
                        v = v.max(low).min(high);
                    }
                    out[(oy * wo + ox) * o + oc] = v;
                }
            }
        }
        out
    }

    fn values(n: usize, seed: u32) -> Vec<f32> {
        (0..n)
            .map(|i| {
                let k = (i as u32).wrapping_mul(2_654_435_761).wrapping_add(seed);
                (k >> 8) as f32 / (1 << 24) as f32 * 4.0 - 2.0
            })
            .collect()
    }

    #[allow(clippy::too_many_arguments)]
    fn op(
        kernel: (usize, usize),
        stride: usize,
        pad: (usize, usize),
        input: (usize, usize, usize),
        channels_first: bool,
        output: (usize, usize, usize),
        clamp: Option<(f32, f32)>,
    ) -> ConvHwc {
        let (c, h, w) = input;
        let o_pad = output.2.div_ceil(LANES) * LANES;
        let mut weights = values(kernel.0 * kernel.1 * c * o_pad, 7);
        for (i, v) in weights.iter_mut().enumerate() {
            if i % o_pad >= output.2 {
                *v = 0.0;
            }
        }
        ConvHwc {
            kernel,
            stride,
            pad,
            input,
            in_strides: if channels_first {
                (h * w, w, 1)
            } else {
                (1, w * c, c)
            },
            output,
            out_shape: tvec![output.0, output.1, output.2],
            weights: Arc::new(weights),
            bias: Arc::new(values(o_pad, 3)),
            clamp,
        }
    }

    fn check(op: &ConvHwc) {
        if !is_x86_feature_detected!("avx512f") {
            eprintln!("skipped: this CPU has no AVX-512F");
            return;
        }
        let (c, h, w) = op.input;
        let x = values(c * h * w, 11);
        let result = op
            .eval(
                &EvalContext::out_of_plan(),
                tvec!(Tensor::from_shape(&[c * h * w], &x).unwrap().into_tvalue()),
            )
            .unwrap();
        let got: Vec<f32> = result[0]
            .to_plain_array_view::<f32>()
            .unwrap()
            .iter()
            .copied()
            .collect();
        let want = reference(op, &x);
        assert_eq!(got.len(), want.len());
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            assert!(
                (g - w).abs() <= 1e-4 * (1.0 + w.abs()),
                "at {i}: {g} against {w}"
            );
        }
    }

    #[test]
    fn a_stem_with_stride_padding_and_relu6_matches_the_formula() {
        // 3×3, stride 2, padding only before (as the ONNX export's explicit pads), 3 → 32.
        check(&op(
            (3, 3),
            2,
            (0, 0),
            (3, 15, 13),
            false,
            (7, 6, 32),
            Some((0.0, 6.0)),
        ));
        check(&op(
            (3, 3),
            2,
            (1, 1),
            (3, 16, 16),
            false,
            (8, 8, 32),
            Some((0.0, 6.0)),
        ));
        // Output channels that do not fill a register, and no clamp.
        check(&op((3, 3), 1, (1, 1), (3, 9, 9), false, (9, 9, 20), None));
    }

    #[test]
    fn a_pointwise_expansion_from_channels_first_matches_the_formula() {
        // 16 → 96 and 24 → 144 as in EfficientNet-Lite0; widths that leave 1–3 positions over.
        check(&op(
            (1, 1),
            1,
            (0, 0),
            (16, 9, 14),
            true,
            (9, 14, 96),
            Some((0.0, 6.0)),
        ));
        check(&op(
            (1, 1),
            1,
            (0, 0),
            (24, 7, 7),
            true,
            (7, 7, 144),
            Some((0.0, 6.0)),
        ));
        check(&op((1, 1), 1, (0, 0), (40, 3, 5), true, (3, 5, 200), None));
    }
}
