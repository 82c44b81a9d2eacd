//! Micro blobs (`edgevae_runtime::micro`) of a trained run: the same sampler and filter as the
//! ONNX graphs, as one layer table and weight sections per graph, for the no_std backend. MLP
//! models only: the micro backend has no convolution kernels.

use candle_core::Tensor;

use crate::error::{Error, Result};
use crate::model::{Decoder, Encoder, VarianceHead};
use crate::nn::{Activation, Dense, Mlp};
use crate::train::LoadedRun;
use edgevae_runtime::core::{GraphRole, MicroPrecision};
use edgevae_runtime::micro::format::{self, BlobSpec, Group, LayerWeights};

/// A layer's parameters as the blob stores them: the weight `[outputs][inputs]`, the bias.
struct Owned {
    group: Group,
    activation: format::Activation,
    skip: bool,
    inputs: usize,
    outputs: usize,
    weight: Vec<f32>,
    bias: Vec<f32>,
}

fn activation(a: Activation) -> format::Activation {
    match a {
        Activation::Identity => format::Activation::Identity,
        Activation::Relu => format::Activation::Relu,
        Activation::Sigmoid => format::Activation::Sigmoid,
    }
}

fn dense(layer: &Dense, group: Group, act: Activation, skip: bool) -> Result<Owned> {
    // candle's weight is [inputs, outputs]; the blob's rows are output channels.
    let weight: Tensor = layer.weight.t()?.contiguous()?;
    Ok(Owned {
        group,
        activation: activation(act),
        skip,
        inputs: layer.in_dim(),
        outputs: layer.out_dim(),
        weight: weight.flatten_all()?.to_vec1::<f32>()?,
        bias: layer.bias.to_vec1::<f32>()?,
    })
}

/// An MLP's layers: ReLU between them, its output activation on the last.
fn mlp(m: &Mlp, group: Group) -> Result<Vec<Owned>> {
    let last = m.layers.len().saturating_sub(1);
    m.layers
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let act = if i == last {
                m.output
            } else {
                Activation::Relu
            };
            dense(l, group, act, false)
        })
        .collect()
}

fn not_mlp(what: &str) -> Error {
    Error::Config(format!(
        "micro blobs are for MLP models: this model's {what} is convolutional (export its ONNX \
         graphs instead)"
    ))
}

/// The blob of `run`'s graph of `role`, weights stored in `precision`.
pub fn blob(run: &LoadedRun, role: GraphRole, precision: MicroPrecision) -> Result<Vec<u8>> {
    let s1 = &run.stage1;
    let Decoder::Dense(decoder) = &s1.decoder else {
        return Err(not_mlp("decoder"));
    };
    let mut layers = Vec::new();
    match role {
        GraphRole::Sampler => {
            let s2 = &run.stage2.decoder;
            layers.extend(mlp(&s2.hidden, Group::Stage2Decoder)?);
            layers.push(dense(
                &s2.out,
                Group::Stage2Decoder,
                Activation::Identity,
                true,
            )?);
            layers.extend(mlp(decoder, Group::Stage1Decoder)?);
        }
        GraphRole::Filter => {
            let Encoder::Mlp(encoder) = &s1.encoder else {
                return Err(not_mlp("encoder"));
            };
            layers.extend(mlp(encoder, Group::Stage1Encoder)?);
            layers.push(dense(
                &s1.head,
                Group::EncoderHead,
                Activation::Identity,
                false,
            )?);
            layers.extend(mlp(decoder, Group::Stage1Decoder)?);
            match &s1.variance_head {
                Some(VarianceHead::Dense(head)) => layers.push(dense(
                    head,
                    Group::VarianceHead,
                    Activation::Identity,
                    false,
                )?),
                Some(VarianceHead::Conv(_)) => return Err(not_mlp("variance head")),
                None => {}
            }
        }
    }
    let robust = s1.config.robust.as_ref();
    let spec = BlobSpec {
        role,
        precision,
        input_dim: s1.config.input_dim,
        latent: s1.config.latent,
        robust: robust.is_some(),
        sigmoid_output: s1.config.output == Activation::Sigmoid,
        variance_range: robust.map_or(0.0, |r| r.log_variance_range as f32),
        variance_floor: robust.map_or(0.0, |r| r.variance_floor as f32),
    };
    let views: Vec<LayerWeights<'_>> = layers
        .iter()
        .map(|l| LayerWeights {
            group: l.group,
            activation: l.activation,
            skip: l.skip,
            inputs: l.inputs,
            outputs: l.outputs,
            weight: &l.weight,
            bias: &l.bias,
        })
        .collect();
    format::encode(spec, &views).map_err(|e| Error::Config(format!("micro blob: {e}")))
}
