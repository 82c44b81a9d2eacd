//! A fully connected layer `y = x W + b` with W stored as [in, out], so the forward pass needs no
//! transpose and the exported ONNX graph is a plain MatMul + Add.

use candle_core::{DType, Module, Tensor};

use super::weight_only_matmul::weight_only_matmul;
use super::{add_bias, ParamStore};
use crate::error::Result;
use crate::rng::SeededRng;

#[derive(Clone, Debug)]
pub struct Dense {
    pub weight: Tensor,
    pub bias: Tensor,
}

impl Dense {
    /// Creates `{prefix}.weight` [inp, out] and `{prefix}.bias` [out], PyTorch-style uniform init.
    pub fn new(
        params: &mut ParamStore,
        prefix: &str,
        inp: usize,
        out: usize,
        rng: &mut SeededRng,
    ) -> Result<Self> {
        let bound = 1.0 / (inp as f32).sqrt();
        let weight = params.uniform(&format!("{prefix}.weight"), &[inp, out], bound, rng)?;
        let bias = params.uniform(&format!("{prefix}.bias"), &[out], bound, rng)?;
        Ok(Self { weight, bias })
    }

    pub fn in_dim(&self) -> usize {
        self.weight.dims()[0]
    }

    pub fn out_dim(&self) -> usize {
        self.weight.dims()[1]
    }
}

impl Module for Dense {
    fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        // A data batch (no graph behind it) needs no gradient of its own.
        let product = if !x.track_op() && x.device().is_cpu() && x.dtype() == DType::F32 {
            weight_only_matmul(x, &self.weight)?
        } else {
            x.matmul(&self.weight)?
        };
        add_bias(&product, &self.bias)
    }
}
