//! Convolutions imgtui runs itself on CPUs with AVX-512F, in place of tract's: the stem of an
//! image network (3 input channels, where tract's lazy im2col reaches ~19 GFLOP/s) and the 1×1
//! convolutions of MobileNet-style blocks (expansions and projections, where tract packs its
//! input and multiplies, then moves the result between channels-first and channels-last).
//!
//! [`own_convolutions`] rewrites a typed tract model before it is optimised: each such
//! convolution, with its bias, a following ReLU6 (`max(x, 0)`, `min(x, 6)`), a following move
//! back to channels last, or a following residual `Add`, becomes one [`DirectConv`] node that
//! reads its input and writes its output in the layouts the graph has there, in one pass.
//! Elsewhere (no AVX-512F, other shapes) tract's own operations stay.
//!
//! The kernel is the direct convolution: for a tile of 4 output positions and 64 output
//! channels, the sums stay in 16 registers over every tap and input channel (each input value
//! broadcast against 16-channel rows of the kernel), so nothing is packed or re-read; a
//! channels-first output is written with scatter stores.

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

/// A direct convolution: input `[C, H, W]` or `[H, W, C]` (any leading axes of size 1), read
/// through `in_strides`; output `[Ho, Wo, O]` or, with `channels_first_out`, `[O, Ho, Wo]`
/// (`out_shape` gives the tensor's shape). `out[o, oy, ox] = clamp(bias[o] + Σ_{ky, kx, c}
/// w[ky, kx, c, o] · in[c, oy·stride + ky − pad_top, ox·stride + kx − pad_left]) +
/// residual[o, oy, ox]`, the input taken as 0 outside the image, the residual (a second input
/// in the output's layout) only where `residual` is set.
#[derive(Debug, Clone, PartialEq)]
pub struct DirectConv {
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
    /// Whether the output is `[O, Ho, Wo]` rather than `[Ho, Wo, O]`.
    channels_first_out: bool,
    /// Whether a second input is added to the output (a residual connection).
    residual: bool,
}

// Equality only tells ops apart; the weights are never NaN.
impl Eq for DirectConv {}

impl DirectConv {
    fn padded_outputs(&self) -> usize {
        self.output.2.div_ceil(LANES) * LANES
    }
}

impl Op for DirectConv {
    fn name(&self) -> StaticName {
        "imgtui.DirectConv".into()
    }

    fn info(&self) -> TractResult<Vec<String>> {
        Ok(vec![format!(
            "{}x{} stride {} pad {:?}, in {:?}, out {:?}{}, clamp {:?}, residual {}",
            self.kernel.0,
            self.kernel.1,
            self.stride,
            self.pad,
            self.input,
            self.output,
            if self.channels_first_out {
                " channels first"
            } else {
                ""
            },
            self.clamp,
            self.residual
        )])
    }

    fn validation(&self) -> Validation {
        Validation::Rounding
    }

    op_as_typed_op!();
}

impl EvalOp for DirectConv {
    op_out_of_plan!();

    fn eval(&self, _ctx: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let input = inputs[0].to_plain_array_view::<f32>()?;
        let x = input
            .as_slice()
            .context("DirectConv: the input is not contiguous")?;
        let (c, h, w) = self.input;
        ensure!(
            x.len() == c * h * w,
            "DirectConv: input of {} values",
            x.len()
        );
        let (ho, wo, o) = self.output;
        let residual = match self.residual {
            true => Some(inputs[1].to_plain_array_view::<f32>()?),
            false => None,
        };
        let residual = match &residual {
            Some(r) => {
                let r = r
                    .as_slice()
                    .context("DirectConv: the residual is not contiguous")?;
                ensure!(
                    r.len() == ho * wo * o,
                    "DirectConv: residual of {} values",
                    r.len()
                );
                Some(r)
            }
            None => None,
        };
        // SAFETY: every value is written below (each position, each channel below o).
        let mut output = unsafe { Tensor::uninitialized::<f32>(&self.out_shape)? };
        {
            let mut view = output.try_as_plain_ram_mut()?;
            let out = view.as_slice_mut::<f32>()?;
            ensure!(
                out.len() == ho * wo * o,
                "DirectConv: output of {} values",
                out.len()
            );
            // SAFETY: the input holds c·h·w values, the output and the residual ho·wo·o
            // (checked), and the op is only made where the CPU has AVX-512F.
            unsafe { conv_avx512(self, x, residual, out) };
        }
        Ok(tvec!(output.into_tvalue()))
    }
}

impl TypedOp for DirectConv {
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
/// The CPU has AVX-512F; `x` holds the input `op` describes (c·h·w values), `out` and
/// `residual` the output's (ho·wo·o values).
#[target_feature(enable = "avx512f")]
unsafe fn conv_avx512(op: &DirectConv, x: &[f32], residual: Option<&[f32]>, out: &mut [f32]) {
    let (ho, wo, o) = op.output;
    let blocks: Vec<usize> = (0..o).step_by(4 * LANES).collect();
    let out = out.as_mut_ptr();
    let res = residual.map_or(std::ptr::null(), <[f32]>::as_ptr);
    // SAFETY: as this function's, and (oy, ox..ox+t, co..) inside the output.
    let run = |oy: usize, ox: usize, t: usize, co: usize| unsafe {
        match ((o - co).div_ceil(LANES).min(4), t) {
            (4, 4) => tile::<4, 4>(op, x, res, out, oy, ox, co),
            (3, 4) => tile::<4, 3>(op, x, res, out, oy, ox, co),
            (2, 4) => tile::<4, 2>(op, x, res, out, oy, ox, co),
            (1, 4) => tile::<4, 1>(op, x, res, out, oy, ox, co),
            (4, _) => tile::<1, 4>(op, x, res, out, oy, ox, co),
            (3, _) => tile::<1, 3>(op, x, res, out, oy, ox, co),
            (2, _) => tile::<1, 2>(op, x, res, out, oy, ox, co),
            _ => tile::<1, 1>(op, x, res, out, oy, ox, co),
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
    op: &DirectConv,
    x: &[f32],
    res: *const f32,
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
        let (ho, wo, o) = op.output;
        let clamp = op
            .clamp
            .map(|(low, high)| (_mm512_set1_ps(low), _mm512_set1_ps(high)));
        // Channels first: channel k of a register goes k·positions values further on.
        let positions = (ho * wo) as i32;
        let apart = _mm512_mullo_epi32(
            _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
            _mm512_set1_epi32(positions),
        );
        for (t, a) in acc.iter().enumerate() {
            let position = oy * wo + ox + t;
            for (v, &r) in a.iter().enumerate() {
                let mut r = match clamp {
                    Some((low, high)) => _mm512_min_ps(_mm512_max_ps(r, low), high),
                    None => r,
                };
                let first = co + v * LANES;
                let left = o - first;
                let mask: __mmask16 = if left >= LANES {
                    !0
                } else {
                    (1u16 << left) - 1
                };
                if op.channels_first_out {
                    let at = first * ho * wo + position;
                    if !res.is_null() {
                        let add = _mm512_mask_i32gather_ps::<4>(
                            _mm512_setzero_ps(),
                            mask,
                            apart,
                            res.add(at),
                        );
                        r = _mm512_add_ps(r, add);
                    }
                    _mm512_mask_i32scatter_ps::<4>(out.add(at), mask, apart, r);
                } else {
                    let at = position * o + first;
                    if !res.is_null() {
                        r = _mm512_add_ps(r, _mm512_maskz_loadu_ps(mask, res.add(at)));
                    }
                    _mm512_mask_storeu_ps(out.add(at), mask, r);
                }
            }
        }
    }
}

/// Replaces, in a decluttered model (after tract's `conv_nhwc` transform), the stem and the
/// 1×1 expansion convolutions by [`DirectConv`], with their bias, ReLU6 and move to channels last
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
            pointwise(model, id, einsum)?
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
    // The image itself channels first, moved to channels last for the convolution: read it
    // where it is.
    let mut input = node.inputs[0];
    let mut in_strides = (1, w * c, c);
    let producer = model.node(input.node);
    if producer.op_as::<AxisOp>() == Some(&AxisOp::Move(1, 3))
        && model.outlet_fact(producer.inputs[0])?.shape.as_concrete() == Some(&[1, c, h, w][..])
    {
        input = producer.inputs[0];
        in_strides = (h * w, w, 1);
    }
    let op = DirectConv {
        kernel: (kh, kw),
        stride: spec.strides()[0],
        pad,
        input: (c, h, w),
        in_strides,
        output: (ho, wo, o),
        out_shape: outs.into(),
        weights: Arc::new(weights),
        bias: Arc::new(padded(&bias, o_pad)?),
        clamp,
        channels_first_out: false,
        residual: false,
    };
    patch_in(model, &[input], op, last).map(Some)
}

/// A 1×1 convolution as tract leaves it after `conv_nhwc`: an `EinSum` over channels
/// (`IHW` or `HWI` in, `HWO` or `OHW` out, optionally with a batch axis of 1 in front), a bias
/// (an `Add` of `O` constants), then a ReLU6 or a residual `Add` if there is one.
fn pointwise(
    model: &TypedModel,
    id: usize,
    einsum: &EinSum,
) -> TractResult<Option<TypedModelPatch>> {
    let node = model.node(id);
    let axes = einsum.axes.to_string();
    let Some((inputs, output)) = axes.split_once("->") else {
        return Ok(None);
    };
    let channels_first_in = match inputs.trim_start_matches('N') {
        "IHW,OI" => true,
        "HWI,OI" => false,
        _ => return Ok(None),
    };
    let channels_first_out = match output {
        "OHW" => true,
        "HWO" => false,
        _ => return Ok(None),
    };
    // Channels first in and out (the first block's projection) comes after a move from the
    // depthwise convolution's channels-last output, which tract folds into its packing and
    // this would not: left to tract (0.33 ms against 0.42 with the move).
    if channels_first_in && channels_first_out {
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
    let [a, b, d] = ins[..] else {
        return Ok(None);
    };
    let (c, h, w) = if channels_first_in {
        (a, b, d)
    } else {
        (d, a, b)
    };
    let o = filters.shape()[0];
    if einsum.q_params.is_some()
        || filters.shape() != [o, c]
        || in_fact.datum_type != f32::datum_type()
    {
        return Ok(None);
    }
    let Some(add) = model.single_succ(id)? else {
        return Ok(None);
    };
    // Broadcast along the channel axis only: [O, 1, 1] before positions, [1, 1, O] after.
    let channel_axis = |b: &Arc<Tensor>| {
        let shape = b.shape();
        let at = if channels_first_out {
            shape.len().checked_sub(3)
        } else {
            shape.len().checked_sub(1)
        };
        at.is_some_and(|at| {
            shape
                .iter()
                .enumerate()
                .all(|(i, &d)| d == if i == at { o } else { 1 })
        })
    };
    let Some(bias) = add
        .op_as::<TypedBinOp>()
        .filter(|op| op.0.name() == "Add" && add.inputs[0].node == id)
        .and_then(|_| konst(model, add, 1))
        .filter(channel_axis)
    else {
        return Ok(None);
    };
    let Some((clamp, mut last)) = follow(model, add.id, &[]) else {
        return Ok(None);
    };
    let out_shape: TVec<usize> = if channels_first_out {
        tvec![o, h, w]
    } else {
        tvec![h, w, o]
    };
    // A residual connection: an Add of another tensor of the output's shape.
    let mut residual = None;
    if clamp.is_none()
        && !model.outputs.iter().any(|out| out.node == last)
        && let Some(succ) = model.single_succ(last)?
    {
        let is_add = succ
            .op_as::<TypedBinOp>()
            .is_some_and(|op| op.0.name() == "Add");
        let other = succ.inputs.iter().find(|i| i.node != last).copied();
        if let (true, Some(other), 2) = (is_add, other, succ.inputs.len()) {
            let fact = model.outlet_fact(other)?;
            if fact.konst.is_none() && fact.shape.as_concrete() == Some(&out_shape[..]) {
                residual = Some(other);
                last = succ.id;
            }
        }
    }
    let out_fact = model.outlet_fact(OutletId::new(last, 0))?;
    if out_fact.shape.as_concrete() != Some(&out_shape[..]) {
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
    let positions = h * w;
    let op = DirectConv {
        kernel: (1, 1),
        stride: 1,
        pad: (0, 0),
        input: (c, 1, positions),
        in_strides: if channels_first_in {
            (positions, positions, 1)
        } else {
            (1, positions * c, c)
        },
        output: (1, positions, o),
        out_shape,
        weights: Arc::new(weights),
        bias: Arc::new(padded(&bias, o_pad)?),
        clamp,
        channels_first_out,
        residual: residual.is_some(),
    };
    let inputs: TVec<OutletId> = std::iter::once(node.inputs[0]).chain(residual).collect();
    patch_in(model, &inputs, op, last).map(Some)
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

/// A patch that feeds `inputs` to `op` and puts its output where node `last`'s was.
fn patch_in(
    model: &TypedModel,
    inputs: &[OutletId],
    op: DirectConv,
    last: usize,
) -> TractResult<TypedModelPatch> {
    let mut patch = TypedModelPatch::default();
    let tapped = inputs
        .iter()
        .map(|&i| patch.tap_model(model, i))
        .collect::<TractResult<TVec<_>>>()?;
    let name = format!("{}.imgtui_direct_conv", model.node(last).name);
    let wired = patch.wire_node(name, op, &tapped)?;
    patch.shunt_outside(model, OutletId::new(last, 0), wired[0])?;
    Ok(patch)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The formula, one output value at a time.
    fn reference(op: &DirectConv, x: &[f32], residual: Option<&[f32]>) -> Vec<f32> {
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
                    let at = if op.channels_first_out {
                        (oc * ho + oy) * wo + ox
                    } else {
                        (oy * wo + ox) * o + oc
                    };
                    out[at] = v + residual.map_or(0.0, |r| r[at]);
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
    ) -> DirectConv {
        let (c, h, w) = input;
        let o_pad = output.2.div_ceil(LANES) * LANES;
        let mut weights = values(kernel.0 * kernel.1 * c * o_pad, 7);
        for (i, v) in weights.iter_mut().enumerate() {
            if i % o_pad >= output.2 {
                *v = 0.0;
            }
        }
        DirectConv {
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
            channels_first_out: false,
            residual: false,
        }
    }

    fn check(op: &DirectConv) {
        if !is_x86_feature_detected!("avx512f") {
            eprintln!("skipped: this CPU has no AVX-512F");
            return;
        }
        let (c, h, w) = op.input;
        let (ho, wo, o) = op.output;
        let x = values(c * h * w, 11);
        let r = values(ho * wo * o, 5);
        let residual = op.residual.then_some(&r[..]);
        let mut inputs = tvec!(Tensor::from_shape(&[c * h * w], &x).unwrap().into_tvalue());
        if let Some(r) = residual {
            inputs.push(Tensor::from_shape(&[r.len()], r).unwrap().into_tvalue());
        }
        let result = op.eval(&EvalContext::out_of_plan(), inputs).unwrap();
        let got: Vec<f32> = result[0]
            .to_plain_array_view::<f32>()
            .unwrap()
            .iter()
            .copied()
            .collect();
        let want = reference(op, &x, residual);
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

    #[test]
    fn a_projection_to_channels_first_with_a_residual_matches_the_formula() {
        // Channels-last in, channels-first out (scatter stores), as the projections: 144 → 24
        // on 56×56 (here one row of 59 positions), 672 → 112, and 40 channels without residual.
        for (c, positions, o, residual) in [
            (144, 59, 24, true),
            (672, 13, 112, true),
            (24, 9, 40, false),
        ] {
            let mut conv = op(
                (1, 1),
                1,
                (0, 0),
                (c, 1, positions),
                false,
                (1, positions, o),
                None,
            );
            conv.channels_first_out = true;
            conv.residual = residual;
            check(&conv);
        }
        // Channels-first in and channels-last out with a residual.
        let mut conv = op((1, 1), 1, (0, 0), (16, 1, 30), true, (1, 30, 96), None);
        conv.residual = true;
        check(&conv);
    }
}
