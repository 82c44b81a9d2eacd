//! A 3x3 convolution followed by a 2x depth-to-space ("sub-pixel") upsampling: [n, h, w, c_in]
//! -> [n, 2h, 2w, c_out], channels last. It upsamples as a stride-2 transposed convolution does,
//! without the checkerboard pattern, and it is built from matmuls: candle's CPU backward of a
//! convolution runs its transposed convolution as plain loops (hundreds of times slower than its
//! matmul), so the 3x3 neighbourhoods are gathered ([`super::patches_3x3`]) and multiplied by
//! the kernel as one [9 c_in, 4 c_out] matrix. In ONNX the layer is `Conv` (pads 1) +
//! `DepthToSpace` (blocksize 2, mode DCR) on NCHW maps.

use candle_core::{Module, Tensor};

use super::{add_bias, kernel_3x3_params, onnx_kernel_3x3, patches_3x3, ParamStore};
use crate::error::Result;
use crate::onnx::{int_attr, ints_attr, string_attr, GraphBuilder};
use crate::rng::SeededRng;

const KERNEL: usize = SubPixelConv::KERNEL;
const SCALE: usize = SubPixelConv::SCALE;

#[derive(Clone, Debug)]
pub struct SubPixelConv {
    /// [KERNEL * KERNEL * c_in, SCALE * SCALE * c_out]; row `(ky * 3 + kx) * c_in + c` reads
    /// input channel `c` at offset (ky - 1, kx - 1); column `(dy * 2 + dx) * c_out + o` is output
    /// channel `o` at sub-pixel (dy, dx).
    pub weight: Tensor,
    /// [SCALE * SCALE * c_out], same column order.
    pub bias: Tensor,
    pub c_in: usize,
    pub c_out: usize,
}

impl SubPixelConv {
    /// Kernel side.
    pub const KERNEL: usize = 3;
    /// Upsampling factor per side.
    pub const SCALE: usize = 2;

    /// Creates `{prefix}.weight` and `{prefix}.bias`, PyTorch-style uniform init (bound
    /// 1/sqrt(fan_in), fan_in = 9 c_in).
    pub fn new(
        params: &mut ParamStore,
        prefix: &str,
        c_in: usize,
        c_out: usize,
        rng: &mut SeededRng,
    ) -> Result<Self> {
        let (weight, bias) = kernel_3x3_params(params, prefix, c_in, SCALE * SCALE * c_out, rng)?;
        Ok(Self {
            weight,
            bias,
            c_in,
            c_out,
        })
    }

    /// The kernel as ONNX's `Conv` wants it: [SCALE^2 c_out, c_in, KERNEL, KERNEL], as f32 values
    /// in row-major order.
    pub fn onnx_kernel(&self) -> Result<Vec<f32>> {
        Ok(onnx_kernel_3x3(&self.weight)?)
    }

    /// The layer on an NCHW map in a graph: Conv (3x3, pads 1) to `4 c_out` channels, then
    /// DepthToSpace (blocksize 2, mode DCR: our column order `(dy, dx, o)`).
    pub fn emit(&self, g: &mut GraphBuilder, x: &str, name: &str) -> Result<String> {
        let w = g.weight(
            &format!("{name}.weight"),
            &self.onnx_kernel()?,
            &[SCALE * SCALE * self.c_out, self.c_in, KERNEL, KERNEL],
        )?;
        let b = g.tensor_weight(&format!("{name}.bias"), &self.bias)?;
        let conv = g.node(
            "Conv",
            &[x, &w, &b],
            vec![
                ints_attr("kernel_shape", &[KERNEL as i64, KERNEL as i64]),
                ints_attr("pads", &[1, 1, 1, 1]),
            ],
            "conv",
        );
        Ok(g.node(
            "DepthToSpace",
            &[&conv],
            vec![
                int_attr("blocksize", SCALE as i64),
                string_attr("mode", "DCR"),
            ],
            "depth_to_space",
        ))
    }
}

impl Module for SubPixelConv {
    fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let (n, h, w, c) = x.dims4()?;
        if c != self.c_in {
            candle_core::bail!("sub-pixel conv expects {} channels, got {c}", self.c_in);
        }
        let patches = patches_3x3(x)?;
        let y = add_bias(&patches.matmul(&self.weight)?, &self.bias)?;
        y.reshape((n, h, w, SCALE, SCALE, self.c_out))?
            .permute((0, 1, 3, 2, 4, 5))?
            .contiguous()?
            .reshape((n, h * SCALE, w * SCALE, self.c_out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    /// Against a direct evaluation of the definition: out[y, x, o] with y = 2 i + dy, x = 2 j + dx
    /// is bias + sum over (ky, kx, c) of weight * in[i + ky - 1, j + kx - 1, c] (zero outside).
    #[test]
    fn matches_the_definition() -> Result<()> {
        let dev = Device::Cpu;
        let mut params = ParamStore::new(&dev);
        let mut rng = SeededRng::new(3);
        let layer = SubPixelConv::new(&mut params, "t", 2, 3, &mut rng)?;
        let (n, h, w, c) = (2, 3, 4, 2);
        let values: Vec<f32> = (0..n * h * w * c)
            .map(|_| rng.uniform_range(-1.0, 1.0))
            .collect();
        let x = Tensor::from_vec(values.clone(), (n, h, w, c), &dev)?;
        let out = layer.forward(&x)?;
        assert_eq!(out.dims(), &[n, 2 * h, 2 * w, 3]);
        let out = out.flatten_all()?.to_vec1::<f32>()?;
        let wt = layer.weight.flatten_all()?.to_vec1::<f32>()?;
        let b = layer.bias.to_vec1::<f32>()?;
        let cols = 12;
        for bi in 0..n {
            for i in 0..h {
                for j in 0..w {
                    for dy in 0..2 {
                        for dx in 0..2 {
                            for o in 0..3 {
                                let col = (dy * 2 + dx) * 3 + o;
                                let mut acc = b[col];
                                for ky in 0..3 {
                                    for kx in 0..3 {
                                        let (y, xx) = (i + ky, j + kx);
                                        if y < 1 || xx < 1 || y > h || xx > w {
                                            continue;
                                        }
                                        for ci in 0..c {
                                            let v =
                                                values[((bi * h + y - 1) * w + xx - 1) * c + ci];
                                            acc += wt[((ky * 3 + kx) * c + ci) * cols + col] * v;
                                        }
                                    }
                                }
                                let got =
                                    out[((bi * 2 * h + 2 * i + dy) * 2 * w + 2 * j + dx) * 3 + o];
                                assert!((got - acc).abs() < 1e-5, "{got} vs {acc}");
                            }
                        }
                    }
                }
            }
        }
        Ok(())
    }

    #[test]
    fn onnx_kernel_is_output_input_row_column() -> Result<()> {
        let dev = Device::Cpu;
        let mut params = ParamStore::new(&dev);
        let layer = SubPixelConv::new(&mut params, "t", 2, 1, &mut SeededRng::new(1))?;
        let wt = layer.weight.flatten_all()?.to_vec1::<f32>()?;
        let k = layer.onnx_kernel()?;
        // ONNX [o, c, ky, kx] from ours [(ky * 3 + kx) * c_in + c, o], 4 columns.
        for o in 0..4 {
            for c in 0..2 {
                for ky in 0..3 {
                    for kx in 0..3 {
                        let ours = wt[((ky * 3 + kx) * 2 + c) * 4 + o];
                        assert_eq!(k[((o * 2 + c) * 3 + ky) * 3 + kx], ours);
                    }
                }
            }
        }
        Ok(())
    }
}
