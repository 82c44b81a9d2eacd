//! The 3x3 neighbourhoods of a channels-last map as matrix rows ("im2col"), zero outside the
//! map, with a backward pass that adds each row back onto the positions it read ("col2im").
//! Built from candle's `pad_with_zeros`, `narrow` and `cat`, the same gather took about 10 ms
//! forward for a [64, 14, 14, 32] map on the development machine, and its backward pads every
//! tap's gradient back to the full map: the conv decoder trained ten times slower than the MLP
//! one. These loops copy contiguous channel runs once each way.

use candle_core::{CpuStorage, CustomOp1, DType, Layout, Shape, Tensor};

use super::bias_add::contiguous_f32;
use super::{ParamRole, ParamStore};
use crate::error::Result;
use crate::rng::SeededRng;

/// Blocks of `c` columns in each patch row: taps `(ky, kx)` in row-major order, each the `c`
/// channels at offset `(ky - 1, kx - 1)`.
const TAPS: usize = 9;

/// [n, h, w, c] -> [n * h * w, 9 c]: row `(b, i, j)` holds the channels at `(i + ky - 1, j + kx -
/// 1)` for taps `(ky, kx)` in row-major order, zeros outside the map.
pub fn patches_3x3(x: &Tensor) -> candle_core::Result<Tensor> {
    if x.device().is_cpu() && x.dtype() == DType::F32 && x.rank() == 4 {
        x.contiguous()?.apply_op1(Im2Col)
    } else {
        patches_by_ops(x)
    }
}

/// The parameters of a 3x3 convolution on [`patches_3x3`]'s rows of a `c`-channel map:
/// `{prefix}.weight` [9 c, columns] and `{prefix}.bias` [columns], PyTorch-style uniform init
/// (bound 1/sqrt(fan_in), fan_in = 9 c).
pub fn kernel_3x3_params(
    params: &mut ParamStore,
    prefix: &str,
    c: usize,
    columns: usize,
    rng: &mut SeededRng,
) -> Result<(Tensor, Tensor)> {
    let fan_in = TAPS * c;
    let bound = 1.0 / (fan_in as f32).sqrt();
    let weight = params.uniform(
        &format!("{prefix}.weight"),
        &[fan_in, columns],
        bound,
        ParamRole::Weight,
        rng,
    )?;
    let bias = params.uniform(
        &format!("{prefix}.bias"),
        &[columns],
        bound,
        ParamRole::Bias,
        rng,
    )?;
    Ok((weight, bias))
}

/// A kernel on [`patches_3x3`]'s rows, [9 c, c_out] (row `(ky * 3 + kx) * c + ch`), as ONNX's
/// `Conv` wants it: [c_out, c, 3, 3], as f32 values in row-major order.
pub fn onnx_kernel_3x3(weight: &Tensor) -> candle_core::Result<Vec<f32>> {
    let (rows, c_out) = weight.dims2()?;
    if !rows.is_multiple_of(TAPS) {
        candle_core::bail!("a 3x3 kernel has 9 c rows, not {rows}");
    }
    weight
        .reshape((3, 3, rows / TAPS, c_out))?
        .permute((3, 2, 0, 1))?
        .flatten_all()?
        .to_vec1::<f32>()
}

/// The same gather with candle's general ops (any device; the reference for the tests).
fn patches_by_ops(x: &Tensor) -> candle_core::Result<Tensor> {
    let (n, h, w, c) = x.dims4()?;
    let padded = x.pad_with_zeros(1, 1, 1)?.pad_with_zeros(2, 1, 1)?;
    let mut taps = Vec::with_capacity(TAPS);
    for ky in 0..3 {
        let row = padded.narrow(1, ky, h)?;
        for kx in 0..3 {
            taps.push(row.narrow(2, kx, w)?);
        }
    }
    Tensor::cat(&taps, 3)?.reshape((n * h * w, TAPS * c))
}

/// Calls `f(row, tap, source)` for every map position `row` (`(b * h + i) * w + j`) and tap
/// whose source position `(b, i + ky - 1, j + kx - 1)` lies inside the map.
fn for_each_tap(n: usize, h: usize, w: usize, mut f: impl FnMut(usize, usize, usize)) {
    for b in 0..n {
        for i in 0..h {
            for j in 0..w {
                let row = (b * h + i) * w + j;
                for ky in 0..3 {
                    let Some(y) = (i + ky).checked_sub(1).filter(|y| *y < h) else {
                        continue;
                    };
                    for kx in 0..3 {
                        let Some(x) = (j + kx).checked_sub(1).filter(|x| *x < w) else {
                            continue;
                        };
                        f(row, ky * 3 + kx, (b * h + y) * w + x);
                    }
                }
            }
        }
    }
}

struct Im2Col;

impl CustomOp1 for Im2Col {
    fn name(&self) -> &'static str {
        "edgevae-im2col-3x3"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        let x = contiguous_f32(s, l, self.name())?;
        let (n, h, w, c) = l.shape().dims4()?;
        let width = TAPS * c;
        let mut out = vec![0.0f32; n * h * w * width];
        for_each_tap(n, h, w, |row, tap, src| {
            let dst = row * width + tap * c;
            out[dst..dst + c].copy_from_slice(&x[src * c..src * c + c]);
        });
        Ok((CpuStorage::F32(out), Shape::from((n * h * w, width))))
    }

    fn bwd(
        &self,
        arg: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<Option<Tensor>> {
        let (n, h, w, c) = arg.dims4()?;
        Ok(Some(grad.contiguous()?.apply_op1_no_bwd(&Col2Im {
            n,
            h,
            w,
            c,
        })?))
    }
}

/// The adjoint of [`Im2Col`]: [n * h * w, 9 c] -> [n, h, w, c], each patch row added back onto
/// the positions it was read from.
struct Col2Im {
    n: usize,
    h: usize,
    w: usize,
    c: usize,
}

impl CustomOp1 for Col2Im {
    fn name(&self) -> &'static str {
        "edgevae-col2im-3x3"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        let g = contiguous_f32(s, l, self.name())?;
        let Self { n, h, w, c } = *self;
        let width = TAPS * c;
        if g.len() != n * h * w * width {
            candle_core::bail!("{}: gradient of {} values", self.name(), g.len())
        }
        let mut out = vec![0.0f32; n * h * w * c];
        for_each_tap(n, h, w, |row, tap, src| {
            let from = &g[row * width + tap * c..row * width + tap * c + c];
            for (o, v) in out[src * c..src * c + c].iter_mut().zip(from) {
                *o += v;
            }
        });
        Ok((CpuStorage::F32(out), Shape::from((n, h, w, c))))
    }
}

#[cfg(test)]
mod tests {
    use candle_core::{Device, Var};

    use super::*;

    #[test]
    fn patches_and_their_gradient_match_candles_ops() -> candle_core::Result<()> {
        let dev = Device::Cpu;
        let (n, h, w, c) = (2, 3, 5, 4);
        let values: Vec<f32> = (0..n * h * w * c)
            .map(|i| (i as f32 * 0.61).sin())
            .collect();
        let x = Var::from_vec(values, (n, h, w, c), &dev)?;
        let ours = patches_3x3(x.as_tensor())?;
        let theirs = patches_by_ops(x.as_tensor())?;
        assert_eq!(ours.dims(), &[n * h * w, 9 * c]);
        assert_eq!(ours.to_vec2::<f32>()?, theirs.to_vec2::<f32>()?);
        // Position (0, 0, 0): its first tap (-1, -1) is outside, the centre tap is x itself.
        let first = ours.get(0)?.to_vec1::<f32>()?;
        assert!(first[..c].iter().all(|v| *v == 0.0));
        let centre = x.as_tensor().get(0)?.get(0)?.get(0)?.to_vec1::<f32>()?;
        assert_eq!(&first[4 * c..5 * c], &centre[..]);

        let weights = Tensor::from_vec(
            (0..n * h * w * 9 * c)
                .map(|i| (i % 7) as f32 - 3.0)
                .collect(),
            (n * h * w, 9 * c),
            &dev,
        )?;
        let g_ours = (ours * &weights)?.sum_all()?.backward()?;
        let g_theirs = (theirs * &weights)?.sum_all()?.backward()?;
        let a = g_ours
            .get(&x)
            .expect("gradient")
            .flatten_all()?
            .to_vec1::<f32>()?;
        let e = g_theirs
            .get(&x)
            .expect("gradient")
            .flatten_all()?
            .to_vec1::<f32>()?;
        assert_eq!(a, e);
        Ok(())
    }
}
