//! AdamW with state we own, so it can be checkpointed and resumed (candle-nn's cannot), and with
//! weight decay applied only where it makes sense: never to a learned log-variance such as
//! log gamma (decaying it would pull gamma toward 1 and fight the model).

use std::cell::RefCell;
use std::collections::HashMap;

use candle_core::{Device, Tensor, Var};
use serde::{Deserialize, Serialize};

use super::fused_adamw::{AdamWStep, FusedAdamW};
use super::ParamStore;
use crate::error::{Error, Result};

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct AdamWConfig {
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
    pub weight_decay: f64,
    /// Group shrinkage of the decoder's input layer (the weights that read the latent code):
    /// after each step every latent dimension's row of weights loses `lr * latent_decay` of its
    /// Euclidean norm (a proximal group-lasso step). A row the reconstruction does not hold up
    /// reaches zero, and the KL term then takes that dimension's encoder variance to 1; rows in
    /// use barely notice. The pruning that makes the active-dimension count track the data's
    /// manifold dimension then happens within a short schedule.
    #[serde(default)]
    pub latent_decay: f64,
    /// Learning-rate multiplier for learned log-variances (log gamma). With the shared rate,
    /// Adam moves log gamma by about lr per step, so a short schedule ends with gamma far above
    /// the reconstruction error it should track; a larger rate lets it follow.
    #[serde(default = "default_log_gamma_lr_scale")]
    pub log_gamma_lr_scale: f64,
}

fn default_log_gamma_lr_scale() -> f64 {
    10.0
}

impl Default for AdamWConfig {
    fn default() -> Self {
        Self {
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.0,
            latent_decay: 0.0,
            log_gamma_lr_scale: default_log_gamma_lr_scale(),
        }
    }
}

struct Slot {
    name: String,
    var: Var,
    /// Decoupled weight decay rate of this parameter.
    decay: f64,
    /// Row-norm shrinkage per unit learning rate (latent readers only).
    group_shrink: f64,
    lr_scale: f64,
    moments: Moments,
}

/// First and second moment estimates: host vectors updated by the fused pass on CPU, tensors on
/// other devices.
enum Moments {
    Host { m: Vec<f32>, v: Vec<f32> },
    Device { m: Tensor, v: Tensor },
}

impl Moments {
    fn zeros(var: &Var) -> Result<Self> {
        Ok(if var.device().is_cpu() {
            let n = var.elem_count();
            Moments::Host {
                m: vec![0.0; n],
                v: vec![0.0; n],
            }
        } else {
            Moments::Device {
                m: var.zeros_like()?,
                v: var.zeros_like()?,
            }
        })
    }

    /// (m, v) as tensors of `var`'s shape, on the CPU for host moments.
    fn tensors(&self, var: &Var) -> Result<(Tensor, Tensor)> {
        Ok(match self {
            Moments::Host { m, v } => (
                Tensor::from_slice(m, var.dims(), &Device::Cpu)?,
                Tensor::from_slice(v, var.dims(), &Device::Cpu)?,
            ),
            Moments::Device { m, v } => (m.clone(), v.clone()),
        })
    }

    fn set(&mut self, m: &Tensor, v: &Tensor, var: &Var) -> Result<()> {
        *self = match self {
            Moments::Host { .. } => Moments::Host {
                m: m.flatten_all()?.to_vec1()?,
                v: v.flatten_all()?.to_vec1()?,
            },
            Moments::Device { .. } => Moments::Device {
                m: m.to_device(var.device())?,
                v: v.to_device(var.device())?,
            },
        };
        Ok(())
    }
}

pub struct AdamW {
    config: AdamWConfig,
    slots: Vec<Slot>,
    step: u64,
}

/// Parameters whose name ends like this are exempt from weight decay.
const NO_DECAY_SUFFIXES: [&str; 2] = ["log_gamma", ".bias"];
/// Scales each row r of `w` ([in, out]) by max(0, 1 - amount / ||r||).
fn shrink_rows(w: &Tensor, amount: f64) -> Result<Tensor> {
    let norms = w.sqr()?.sum_keepdim(1)?.sqrt()?;
    let scale = (norms.clamp(1e-12, f64::INFINITY)?.recip()? * (-amount))?
        .affine(1.0, 1.0)?
        .relu()?;
    Ok(w.broadcast_mul(&scale)?)
}

/// The decoder layers that read a latent code (stage 1's decoder, stage 2's decoder).
const LATENT_READER_SUFFIXES: [&str; 2] =
    ["stage1.decoder.0.weight", "stage2.decoder.hidden.0.weight"];

impl AdamW {
    pub fn new(params: &ParamStore, config: AdamWConfig) -> Result<Self> {
        let slots = params
            .vars()
            .map(|(name, var)| {
                Ok(Slot {
                    name: name.to_string(),
                    var: var.clone(),
                    decay: if NO_DECAY_SUFFIXES.iter().any(|s| name.ends_with(s)) {
                        0.0
                    } else {
                        config.weight_decay
                    },
                    group_shrink: if LATENT_READER_SUFFIXES.iter().any(|s| name.ends_with(s)) {
                        config.latent_decay
                    } else {
                        0.0
                    },
                    lr_scale: if name.ends_with("log_gamma") {
                        config.log_gamma_lr_scale
                    } else {
                        1.0
                    },
                    moments: Moments::zeros(var)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            config,
            slots,
            step: 0,
        })
    }

    pub fn steps_taken(&self) -> u64 {
        self.step
    }

    /// One update from the gradients of `loss` at learning rate `lr`.
    pub fn backward_step(&mut self, loss: &Tensor, lr: f64) -> Result<()> {
        let grads = loss.backward()?;
        self.step += 1;
        let c = self.config;
        let t = self.step as i32;
        let bias1 = 1.0 - c.beta1.powi(t);
        let bias2 = 1.0 - c.beta2.powi(t);
        // theta <- theta (1 - lr wd) - lr * (m / bias1) / (sqrt(v / bias2) + eps)
        for slot in &mut self.slots {
            let step_size = lr * slot.lr_scale / bias1;
            let Some(g) = grads.get(slot.var.as_tensor()) else {
                continue;
            };
            let keep = 1.0 - lr * slot.decay;
            match &mut slot.moments {
                Moments::Host { m, v } => {
                    let op = FusedAdamW {
                        step: AdamWStep {
                            beta1: c.beta1 as f32,
                            beta2: c.beta2 as f32,
                            eps: c.eps as f32,
                            step_size: step_size as f32,
                            inv_bias2: (1.0 / bias2) as f32,
                            keep: keep as f32,
                        },
                        m: RefCell::new(m.as_mut_slice()),
                        v: RefCell::new(v.as_mut_slice()),
                    };
                    slot.var.as_tensor().inplace_op2(&g.contiguous()?, &op)?;
                }
                Moments::Device { m, v } => {
                    // Gradients carry the op graph of the step that made them; the moments must
                    // not, or each step's graph would stay alive through them.
                    let g = g.detach();
                    *m = ((&*m * c.beta1)? + (&g * (1.0 - c.beta1))?)?.detach();
                    *v = ((&*v * c.beta2)? + (g.sqr()? * (1.0 - c.beta2))?)?.detach();
                    let denom = ((&*v * (1.0 / bias2))?.sqrt()? + c.eps)?;
                    let update = (m.div(&denom)? * step_size)?;
                    let theta = (slot.var.as_tensor() * keep)?;
                    slot.var.set(&(theta - update)?)?;
                }
            }
            if slot.group_shrink > 0.0 {
                let shrunk = shrink_rows(slot.var.as_tensor(), lr * slot.group_shrink)?;
                slot.var.set(&shrunk)?;
            }
        }
        Ok(())
    }

    /// The moment estimates by name (`adam.m.{param}`, `adam.v.{param}`), for a checkpoint.
    pub fn state_tensors(&self) -> HashMap<String, Tensor> {
        let mut out = HashMap::new();
        for s in &self.slots {
            // Host moments always convert; a failure here would mean a shape bug, not bad input.
            if let Ok((m, v)) = s.moments.tensors(&s.var) {
                out.insert(format!("adam.m.{}", s.name), m);
                out.insert(format!("adam.v.{}", s.name), v);
            }
        }
        out
    }

    /// Restores moments saved by [`Self::state_tensors`] and the step count.
    pub fn load_state(
        &mut self,
        tensors: &HashMap<String, Tensor>,
        step: u64,
        source: &std::path::Path,
    ) -> Result<()> {
        for s in &mut self.slots {
            let mut pair = Vec::with_capacity(2);
            for kind in ["m", "v"] {
                let key = format!("adam.{kind}.{}", s.name);
                let t = tensors.get(&key).ok_or_else(|| {
                    Error::bad_file(source, format!("missing optimiser tensor {key}"))
                })?;
                if t.dims() != s.var.dims() {
                    return Err(Error::bad_file(
                        source,
                        format!("optimiser tensor {key} has the wrong shape"),
                    ));
                }
                pair.push(t.to_dtype(candle_core::DType::F32)?);
            }
            s.moments.set(&pair[0], &pair[1], &s.var)?;
        }
        self.step = step;
        Ok(())
    }
}
