//! A fully connected layer `y = x W + b` with W stored as [in, out], so the forward pass needs no
//! transpose and the exported ONNX graph is a plain MatMul + Add.

use candle_core::{Module, Tensor};

use super::bias_add::add_bias_relu;
use super::dense_product::dense_product;
use super::{add_bias, ParamRole, ParamStore};
use crate::error::Result;
use crate::onnx::GraphBuilder;
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
        Self::with_weight_role(params, prefix, inp, out, ParamRole::Weight, rng)
    }

    /// [`Self::new`] with the weight made in `role` (a decoder's first layer reads the latent
    /// code: [`ParamRole::LatentReader`]).
    pub fn with_weight_role(
        params: &mut ParamStore,
        prefix: &str,
        inp: usize,
        out: usize,
        role: ParamRole,
        rng: &mut SeededRng,
    ) -> Result<Self> {
        let bound = 1.0 / (inp as f32).sqrt();
        let weight = params.uniform(&format!("{prefix}.weight"), &[inp, out], bound, role, rng)?;
        let bias = params.uniform(
            &format!("{prefix}.bias"),
            &[out],
            bound,
            ParamRole::Bias,
            rng,
        )?;
        Ok(Self { weight, bias })
    }

    pub fn in_dim(&self) -> usize {
        self.weight.dims()[0]
    }

    pub fn out_dim(&self) -> usize {
        self.weight.dims()[1]
    }

    /// `relu(x W + b)`, a hidden layer, with the bias and ReLU fused (`bias_add.rs`).
    pub fn forward_relu(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        add_bias_relu(&dense_product(x, &self.weight)?, &self.bias)
    }

    /// The layer in a graph: `x W + b` as a product ([`GraphBuilder::matmul`]: MatMul, or the
    /// int8 pattern) and an Add (not Gemm), initializers `{name}.weight` and `{name}.bias`.
    pub fn emit(&self, g: &mut GraphBuilder, x: &str, name: &str) -> Result<String> {
        let mm = g.matmul(x, &self.weight, name)?;
        let b = g.tensor_weight(&format!("{name}.bias"), &self.bias)?;
        Ok(g.node("Add", &[&mm, &b], vec![], "add"))
    }

    /// Output columns `[start, start + len)` as their own MatMul + Add (an encoder head splits
    /// into mean and log-variance this way, with no Split op).
    pub fn emit_columns(
        &self,
        g: &mut GraphBuilder,
        x: &str,
        (start, len): (usize, usize),
        name: &str,
    ) -> Result<String> {
        let columns = Dense {
            weight: self.weight.narrow(1, start, len)?.contiguous()?,
            bias: self.bias.narrow(0, start, len)?.contiguous()?,
        };
        columns.emit(g, x, name)
    }
}

impl Module for Dense {
    fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        add_bias(&dense_product(x, &self.weight)?, &self.bias)
    }
}
