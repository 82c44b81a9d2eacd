//! AdamW with state we own, so it can be checkpointed and resumed (candle-nn's cannot), and with
//! weight decay applied only where it makes sense: never to a learned log-variance such as
//! log gamma (decaying it would pull gamma toward 1 and fight the model).

use std::collections::HashMap;

use candle_core::{Tensor, Var};
use serde::{Deserialize, Serialize};

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
    m: Tensor,
    v: Tensor,
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
                    m: var.zeros_like()?,
                    v: var.zeros_like()?,
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
            // Gradients carry the op graph of the step that made them; the moments must not, or
            // each step's graph would stay alive through them for the rest of training.
            let g = g.detach();
            slot.m = ((&slot.m * c.beta1)? + (&g * (1.0 - c.beta1))?)?.detach();
            slot.v = ((&slot.v * c.beta2)? + (g.sqr()? * (1.0 - c.beta2))?)?.detach();
            let denom = ((&slot.v * (1.0 / bias2))?.sqrt()? + c.eps)?;
            let update = (slot.m.div(&denom)? * step_size)?;
            let theta = slot.var.as_tensor();
            let decayed = if slot.decay > 0.0 {
                (theta * (1.0 - lr * slot.decay))?
            } else {
                theta.clone()
            };
            let mut next = (decayed - update)?;
            if slot.group_shrink > 0.0 {
                next = shrink_rows(&next, lr * slot.group_shrink)?;
            }
            slot.var.set(&next)?;
        }
        Ok(())
    }

    /// The moment estimates by name (`adam.m.{param}`, `adam.v.{param}`), for a checkpoint.
    pub fn state_tensors(&self) -> HashMap<String, Tensor> {
        let mut out = HashMap::new();
        for s in &self.slots {
            out.insert(format!("adam.m.{}", s.name), s.m.clone());
            out.insert(format!("adam.v.{}", s.name), s.v.clone());
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
            for (kind, dest) in [("m", &mut s.m), ("v", &mut s.v)] {
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
                *dest = t.to_device(s.var.device())?;
            }
        }
        self.step = step;
        Ok(())
    }
}
