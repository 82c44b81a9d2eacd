//! A convolutional image encoder, the conv decoder mirrored: the image as a one-channel map,
//! then layers that each halve its sides (2x space-to-depth, then a 3x3 convolution), down to
//! the conv decoder's smallest map, then dense layers of the hidden widths. Space-to-depth
//! followed by a convolution downsamples as a stride-2 convolution does, and is the exact
//! adjoint layout of the decoder's sub-pixel upsampling; it is built from the same matmul on
//! gathered 3x3 neighbourhoods ([`super::patches_3x3`]), because candle's CPU convolution
//! backward is far slower. In ONNX each layer is `SpaceToDepth` (blocksize 2) + `Conv` (pads 1)
//! + `Relu` on NCHW maps.

use candle_core::{Module, Tensor};

use super::{
    add_bias_relu, first_grid, kernel_3x3_params, onnx_kernel_3x3, patches_3x3, Activation, Mlp,
    ParamRole, ParamStore,
};
use crate::error::{Error, Result};
use crate::onnx::{int_attr, ints_attr, GraphBuilder};
use crate::rng::SeededRng;

/// Sides a layer divides its input map's by.
const SCALE: usize = 2;

/// `relu(conv3x3(space_to_depth(x)))`: [n, h, w, c_in] -> [n, h / 2, w / 2, c_out], channels
/// last.
#[derive(Clone, Debug)]
pub struct DownConv {
    /// [9 * 4 c_in, c_out]; row `(ky * 3 + kx) * 4 c_in + (dy * 2 + dx) * c_in + c` reads
    /// input channel `c` at sub-pixel (dy, dx) of the half-size map's offset (ky - 1, kx - 1).
    pub weight: Tensor,
    /// [c_out].
    pub bias: Tensor,
    pub c_in: usize,
    pub c_out: usize,
}

impl DownConv {
    /// Creates `{prefix}.weight` and `{prefix}.bias`, PyTorch-style uniform init (bound
    /// 1/sqrt(fan_in), fan_in = 9 * 4 c_in).
    pub fn new(
        params: &mut ParamStore,
        prefix: &str,
        c_in: usize,
        c_out: usize,
        rng: &mut SeededRng,
    ) -> Result<Self> {
        let (weight, bias) = kernel_3x3_params(params, prefix, SCALE * SCALE * c_in, c_out, rng)?;
        Ok(Self {
            weight,
            bias,
            c_in,
            c_out,
        })
    }

    /// The layer on an NCHW map in a graph: SpaceToDepth (blocksize 2: channel `(dy * 2 + dx)
    /// * c_in + c`, our order), Conv (3x3, pads 1), Relu.
    pub fn emit(&self, g: &mut GraphBuilder, x: &str, name: &str) -> Result<String> {
        let folded = g.node(
            "SpaceToDepth",
            &[x],
            vec![int_attr("blocksize", SCALE as i64)],
            "space_to_depth",
        );
        let w = g.weight(
            &format!("{name}.weight"),
            &onnx_kernel_3x3(&self.weight)?,
            &[self.c_out, SCALE * SCALE * self.c_in, 3, 3],
        )?;
        let b = g.tensor_weight(&format!("{name}.bias"), &self.bias)?;
        let conv = g.node(
            "Conv",
            &[&folded, &w, &b],
            vec![
                ints_attr("kernel_shape", &[3, 3]),
                ints_attr("pads", &[1, 1, 1, 1]),
            ],
            "conv",
        );
        Ok(Activation::Relu.emit(g, &conv))
    }
}

impl Module for DownConv {
    fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let (n, h, w, c) = x.dims4()?;
        if c != self.c_in || !h.is_multiple_of(SCALE) || !w.is_multiple_of(SCALE) {
            candle_core::bail!(
                "a down conv expects {} channels and even sides, got {h} x {w} x {c}",
                self.c_in
            );
        }
        let (h, w) = (h / SCALE, w / SCALE);
        let folded = x
            .reshape((n, h, SCALE, w, SCALE, c))?
            .permute((0, 1, 3, 2, 4, 5))?
            .contiguous()?
            .reshape((n, h, w, SCALE * SCALE * c))?;
        let patches = patches_3x3(&folded)?;
        add_bias_relu(&patches.matmul(&self.weight)?, &self.bias)?.reshape((n, h, w, self.c_out))
    }
}

#[derive(Clone, Debug)]
pub struct ConvEncoder {
    /// Image to the smallest map, each halving the sides.
    pub down: Vec<DownConv>,
    /// The smallest map, flattened channels last, through the hidden widths; ReLU after each.
    pub dense: Mlp,
    /// Rows and columns of the image.
    pub image: (usize, usize),
}

impl ConvEncoder {
    /// `channels`: the feature maps' channels, smallest map first (the conv decoder's order);
    /// `hidden`: the dense widths after the smallest map. Layers named `{prefix}.down.{i}` from
    /// the image on, then `{prefix}.{i}`.
    pub fn new(
        params: &mut ParamStore,
        prefix: &str,
        channels: &[usize],
        hidden: &[usize],
        image: (usize, usize),
        rng: &mut SeededRng,
    ) -> Result<Self> {
        let grid = first_grid(image, channels)?;
        let mut c_in = 1;
        let mut down = Vec::with_capacity(channels.len());
        for (i, &c_out) in channels.iter().rev().enumerate() {
            down.push(DownConv::new(
                params,
                &format!("{prefix}.down.{i}"),
                c_in,
                c_out,
                rng,
            )?);
            c_in = c_out;
        }
        let smallest_map = (grid.0 * grid.1)
            .checked_mul(c_in)
            .ok_or_else(|| Error::Config(format!("{c_in} channels are too many")))?;
        let mut widths = vec![smallest_map];
        widths.extend(hidden);
        let dense = Mlp::new(
            params,
            prefix,
            &widths,
            Activation::Relu,
            ParamRole::Weight,
            rng,
        )?;
        Ok(Self { down, dense, image })
    }

    /// Width of the features it returns.
    pub fn out_dim(&self) -> usize {
        match self.dense.layers.last() {
            Some(layer) => layer.out_dim(),
            None => self.dense_input_dim(),
        }
    }

    /// Values in the smallest map.
    fn dense_input_dim(&self) -> usize {
        let halvings = self.down.len() as u32;
        let channels = self.down.last().map_or(1, |l| l.c_out);
        (self.image.0 >> halvings) * (self.image.1 >> halvings) * channels
    }

    /// [`Module::forward`] in a graph, on NCHW maps.
    pub fn emit(&self, g: &mut GraphBuilder, x: &str, name: &str) -> Result<String> {
        let (rows, cols) = (self.image.0 as i64, self.image.1 as i64);
        // One channel: NCHW and our rows' order agree.
        let mut h = g.reshape(x, &[-1, 1, rows, cols], &format!("{name}.image"));
        for (i, layer) in self.down.iter().enumerate() {
            h = layer.emit(g, &h, &format!("{name}.down.{i}"))?;
        }
        let nhwc = g.node(
            "Transpose",
            &[&h],
            vec![ints_attr("perm", &[0, 2, 3, 1])],
            "nhwc",
        );
        let flat = g.reshape(&nhwc, &[0, -1], &format!("{name}.flat"));
        self.dense.emit(g, &flat, name)
    }
}

impl Module for ConvEncoder {
    fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let n = x.dims2()?.0;
        let mut h = x.reshape((n, self.image.0, self.image.1, 1))?;
        for layer in &self.down {
            h = layer.forward(&h)?;
        }
        let flat = h.reshape((n, self.dense_input_dim()))?;
        self.dense.forward(&flat)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    /// Against a direct evaluation of the definition: out[i, j, o] is relu(bias + sum over
    /// (ky, kx, dy, dx, c) of weight * in[2 (i + ky - 1) + dy, 2 (j + kx - 1) + dx, c]), zero
    /// outside the map.
    #[test]
    fn down_conv_matches_the_definition() -> Result<()> {
        let dev = Device::Cpu;
        let mut params = ParamStore::new(&dev);
        let mut rng = SeededRng::new(5);
        let (n, h, w, c, c_out) = (2, 6, 4, 2, 3);
        let layer = DownConv::new(&mut params, "t", c, c_out, &mut rng)?;
        let values: Vec<f32> = (0..n * h * w * c)
            .map(|_| rng.uniform_range(-1.0, 1.0))
            .collect();
        let x = Tensor::from_vec(values.clone(), (n, h, w, c), &dev)?;
        let out = layer.forward(&x)?;
        assert_eq!(out.dims(), &[n, h / 2, w / 2, c_out]);
        let out = out.flatten_all()?.to_vec1::<f32>()?;
        let wt = layer.weight.flatten_all()?.to_vec1::<f32>()?;
        let b = layer.bias.to_vec1::<f32>()?;
        let (hh, hw) = (h / 2, w / 2);
        let mut positive = 0;
        for bi in 0..n {
            for i in 0..hh {
                for j in 0..hw {
                    for o in 0..c_out {
                        let mut acc = b[o];
                        for ky in 0..3 {
                            for kx in 0..3 {
                                let (y, xx) = (i + ky, j + kx);
                                if y < 1 || xx < 1 || y > hh || xx > hw {
                                    continue;
                                }
                                for dy in 0..2 {
                                    for dx in 0..2 {
                                        for ci in 0..c {
                                            let (py, px) = (2 * (y - 1) + dy, 2 * (xx - 1) + dx);
                                            let v = values[((bi * h + py) * w + px) * c + ci];
                                            let row =
                                                (ky * 3 + kx) * 4 * c + (dy * 2 + dx) * c + ci;
                                            acc += wt[row * c_out + o] * v;
                                        }
                                    }
                                }
                            }
                        }
                        let want = acc.max(0.0);
                        positive += usize::from(want > 0.0);
                        let got = out[((bi * hh + i) * hw + j) * c_out + o];
                        assert!((got - want).abs() < 1e-5, "{got} vs {want}");
                    }
                }
            }
        }
        // Both sides of the ReLU were exercised.
        assert!(positive > 0 && positive < out.len(), "{positive}");
        Ok(())
    }

    /// Gradients through two layers (space-to-depth, the patch gather and its adjoint) against
    /// central differences of the input.
    #[test]
    fn input_gradient_matches_finite_differences() -> Result<()> {
        let dev = Device::Cpu;
        let mut params = ParamStore::new(&dev);
        let mut rng = SeededRng::new(9);
        let first = DownConv::new(&mut params, "a", 1, 3, &mut rng)?;
        let second = DownConv::new(&mut params, "b", 3, 6, &mut rng)?;
        let shape = (1, 8, 8, 1);
        let values: Vec<f32> = (0..64).map(|_| rng.uniform_range(-1.0, 1.0)).collect();
        let weights = Tensor::from_vec(rng.normal_vec(2 * 2 * 6), (1, 2, 2, 6), &dev)?;
        let loss = |x: &Tensor| -> candle_core::Result<Tensor> {
            second.forward(&first.forward(x)?)?.mul(&weights)?.sum_all()
        };
        let x = candle_core::Var::from_vec(values.clone(), shape, &dev)?;
        let grads = loss(x.as_tensor())?.backward()?;
        let grad = grads
            .get(x.as_tensor())
            .expect("input gradient")
            .flatten_all()?
            .to_vec1::<f32>()?;
        let eps = 1e-2f32;
        let mut nonzero = 0;
        for i in 0..values.len() {
            let at = |delta: f32| -> candle_core::Result<f32> {
                let mut v = values.clone();
                v[i] += delta;
                loss(&Tensor::from_vec(v, shape, &dev)?)?.to_scalar::<f32>()
            };
            let numeric = (at(eps)? - at(-eps)?) / (2.0 * eps);
            nonzero += usize::from(grad[i].abs() > 1e-4);
            assert!(
                (numeric - grad[i]).abs() < 2e-3,
                "input {i}: numeric {numeric} vs {}",
                grad[i]
            );
        }
        assert!(nonzero > values.len() / 2, "{nonzero} nonzero gradients");
        Ok(())
    }

    #[test]
    fn encodes_images_to_features_and_refuses_odd_maps() -> Result<()> {
        let dev = Device::Cpu;
        let mut params = ParamStore::new(&dev);
        let mut rng = SeededRng::new(2);
        let enc = ConvEncoder::new(&mut params, "e", &[4, 2], &[6], (8, 4), &mut rng)?;
        assert_eq!(
            (enc.down[0].c_in, enc.down[0].c_out, enc.down[1].c_out),
            (1, 2, 4)
        );
        assert_eq!(enc.dense.layers[0].in_dim(), 2 * 4);
        assert_eq!(enc.out_dim(), 6);
        let x = Tensor::from_vec(rng.normal_vec(5 * 32), (5, 32), &dev)?;
        let features = enc.forward(&x)?;
        assert_eq!(features.dims(), &[5, 6]);
        let rows = features.to_vec2::<f32>()?;
        assert!(rows[0]
            .iter()
            .zip(&rows[1])
            .any(|(a, b)| (a - b).abs() > 1e-4));
        let odd = Tensor::zeros((1, 3, 4, 1), candle_core::DType::F32, &dev)?;
        assert!(enc.down[0].forward(&odd).is_err());
        assert!(ConvEncoder::new(&mut params, "f", &[4, 2], &[6], (6, 4), &mut rng).is_err());
        Ok(())
    }
}
