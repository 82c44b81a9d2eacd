//! A stack of dense layers with ReLU between them and a chosen output activation.

use candle_core::{Module, Tensor};
use serde::{Deserialize, Serialize};

use super::{Dense, ParamRole, ParamStore};
use crate::error::Result;
use crate::onnx::GraphBuilder;
use crate::rng::SeededRng;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Activation {
    Identity,
    Relu,
    Sigmoid,
}

impl Activation {
    pub fn apply(self, x: &Tensor) -> candle_core::Result<Tensor> {
        match self {
            Activation::Identity => Ok(x.clone()),
            Activation::Relu => x.relu(),
            Activation::Sigmoid => candle_nn::ops::sigmoid(x),
        }
    }

    /// [`Self::apply`] in a graph (no node for the identity).
    pub fn emit(self, g: &mut GraphBuilder, x: &str) -> String {
        match self {
            Activation::Identity => x.to_string(),
            Activation::Relu => g.node("Relu", &[x], vec![], "relu"),
            Activation::Sigmoid => g.node("Sigmoid", &[x], vec![], "sigmoid"),
        }
    }
}

#[derive(Clone, Debug)]
pub struct Mlp {
    pub layers: Vec<Dense>,
    pub output: Activation,
}

impl Mlp {
    /// `widths` lists every layer's size, input first: `[784, 512, 512, 64]` is three layers.
    /// Layers are named `{prefix}.0`, `{prefix}.1`, ...; the first layer's weight is made in
    /// `first` (a decoder's reads the latent code), the others as plain weights.
    pub fn new(
        params: &mut ParamStore,
        prefix: &str,
        widths: &[usize],
        output: Activation,
        first: ParamRole,
        rng: &mut SeededRng,
    ) -> Result<Self> {
        let layers = widths
            .windows(2)
            .enumerate()
            .map(|(i, w)| {
                let role = if i == 0 { first } else { ParamRole::Weight };
                Dense::with_weight_role(params, &format!("{prefix}.{i}"), w[0], w[1], role, rng)
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self { layers, output })
    }
}

impl Mlp {
    /// The input of the last layer (the last hidden activation, or `x` itself for a single
    /// layer) and the output; a second head can then read the same hidden features.
    pub fn forward_split(&self, x: &Tensor) -> candle_core::Result<(Tensor, Tensor)> {
        let Some((last, hidden)) = self.layers.split_last() else {
            return Ok((x.clone(), x.clone()));
        };
        let mut h = x.clone();
        for layer in hidden {
            h = layer.forward_relu(&h)?;
        }
        let out = self.output.apply(&last.forward(&h)?)?;
        Ok((h, out))
    }

    /// The forward pass in a graph, layers named `{name}.{i}` as in [`Self::new`].
    pub fn emit(&self, g: &mut GraphBuilder, x: &str, name: &str) -> Result<String> {
        let last = self.layers.len().saturating_sub(1);
        let mut h = x.to_string();
        for (i, layer) in self.layers.iter().enumerate() {
            h = layer.emit(g, &h, &format!("{name}.{i}"))?;
            let act = if i == last {
                self.output
            } else {
                Activation::Relu
            };
            h = act.emit(g, &h);
        }
        Ok(h)
    }

    /// [`Self::forward_split`] in a graph: the last layer's input and the output.
    pub fn emit_split(
        &self,
        g: &mut GraphBuilder,
        x: &str,
        name: &str,
    ) -> Result<(String, String)> {
        let Some((last, hidden)) = self.layers.split_last() else {
            return Ok((x.to_string(), x.to_string()));
        };
        let mut h = x.to_string();
        for (i, layer) in hidden.iter().enumerate() {
            h = layer.emit(g, &h, &format!("{name}.{i}"))?;
            h = Activation::Relu.emit(g, &h);
        }
        let out = last.emit(g, &h, &format!("{name}.{}", hidden.len()))?;
        let out = self.output.emit(g, &out);
        Ok((h, out))
    }
}

impl Module for Mlp {
    fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let last = self.layers.len().saturating_sub(1);
        let mut h = x.clone();
        for (i, layer) in self.layers.iter().enumerate() {
            h = if i == last {
                self.output.apply(&layer.forward(&h)?)?
            } else {
                layer.forward_relu(&h)?
            };
        }
        Ok(h)
    }
}
