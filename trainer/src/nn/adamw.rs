//! AdamW with state we own, so it can be checkpointed and resumed (candle-nn's cannot), and with
//! weight decay applied only where it makes sense: never to a learned log-variance such as
//! log gamma (decaying it would pull gamma toward 1 and fight the model).

use std::collections::HashMap;

use candle_core::backprop::GradStore;
use candle_core::{DType, Tensor, Var};
use serde::{Deserialize, Serialize};

use super::adam_update::{MomentUpdate, ParamUpdate};
use super::bias_add::fast_path;
use super::{ParamRole, ParamStore};
use crate::error::{Error, Result};
use crate::settings::{fraction, non_negative, positive, Checked, Fraction};

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

impl AdamWConfig {
    /// Every setting, each failure naming its field.
    pub fn validate(&self) -> Checked {
        fraction("optimizer.beta1", self.beta1, Fraction::UpToOne)?;
        fraction("optimizer.beta2", self.beta2, Fraction::UpToOne)?;
        positive("optimizer.eps", self.eps)?;
        non_negative("optimizer.weight_decay", self.weight_decay)?;
        non_negative("optimizer.latent_decay", self.latent_decay)?;
        positive("optimizer.log_gamma_lr_scale", self.log_gamma_lr_scale)
    }
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

/// What every optimiser tensor's name in a checkpoint starts with (parameters' names never do:
/// they start with their stage).
pub const STATE_PREFIX: &str = "adam.";

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

/// The constants of one parameter's update.
struct StepHyper {
    beta1: f64,
    beta2: f64,
    eps: f64,
    /// 1 / (1 - beta2^t).
    inv_bias2: f64,
    /// lr * scale / (1 - beta1^t).
    step_size: f64,
    /// 1 - lr * weight decay, with weight decay.
    keep: Option<f64>,
}

/// theta <- theta (1 - lr wd) - lr * (m / bias1) / (sqrt(v / bias2) + eps), as candle ops (any
/// device; the reference for `fused_step`).
fn tensor_step(slot: &mut Slot, g: &Tensor, h: &StepHyper) -> Result<()> {
    slot.m = ((&slot.m * h.beta1)? + (g * (1.0 - h.beta1))?)?.detach();
    slot.v = ((&slot.v * h.beta2)? + (g.sqr()? * (1.0 - h.beta2))?)?.detach();
    let denom = ((&slot.v * h.inv_bias2)?.sqrt()? + h.eps)?;
    let update = (slot.m.div(&denom)? * h.step_size)?;
    let theta = slot.var.as_tensor();
    let decayed = match h.keep {
        Some(keep) => (theta * keep)?,
        None => theta.clone(),
    };
    slot.var.set(&(decayed - update)?)?;
    Ok(())
}

/// The same update as `tensor_step`, bit for bit, in three in-place passes.
fn fused_step(slot: &mut Slot, g: &Tensor, h: &StepHyper) -> Result<()> {
    for (moment, beta, squared) in [(&slot.m, h.beta1, false), (&slot.v, h.beta2, true)] {
        moment.inplace_op2(
            g,
            &MomentUpdate {
                decay: beta as f32,
                gain: (1.0 - beta) as f32,
                squared,
            },
        )?;
    }
    slot.var.as_tensor().inplace_op3(
        &slot.m,
        &slot.v,
        &ParamUpdate {
            inv_bias2: h.inv_bias2 as f32,
            eps: h.eps as f32,
            step: h.step_size as f32,
            keep: h.keep.map(|k| k as f32),
        },
    )?;
    Ok(())
}

/// Scales each row r of `w` ([in, out]) by max(0, 1 - amount / ||r||).
fn shrink_rows(w: &Tensor, amount: f64) -> Result<Tensor> {
    let norms = w.sqr()?.sum_keepdim(1)?.sqrt()?;
    let scale = (norms.clamp(1e-12, f64::INFINITY)?.recip()? * (-amount))?
        .affine(1.0, 1.0)?
        .relu()?;
    Ok(w.broadcast_mul(&scale)?)
}

impl AdamW {
    pub fn new(params: &ParamStore, config: AdamWConfig) -> Result<Self> {
        config.validate()?;
        let slots = params
            .roles()
            .map(|(name, var, role)| {
                Ok(Slot {
                    name: name.to_string(),
                    var: var.clone(),
                    decay: match role {
                        ParamRole::Weight | ParamRole::LatentReader => config.weight_decay,
                        ParamRole::Bias | ParamRole::LogGamma => 0.0,
                    },
                    group_shrink: match role {
                        ParamRole::LatentReader => config.latent_decay,
                        _ => 0.0,
                    },
                    lr_scale: match role {
                        ParamRole::LogGamma => config.log_gamma_lr_scale,
                        _ => 1.0,
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
        self.apply(&super::dense_product::backward(loss)?, lr, true)
    }

    /// One update from `grads`; `allow_fused` false keeps every parameter on the candle-op path
    /// (the reference the fused passes are tested against).
    fn apply(&mut self, grads: &GradStore, lr: f64, allow_fused: bool) -> Result<()> {
        self.step += 1;
        let c = self.config;
        let t = self.step as i32;
        let bias1 = 1.0 - c.beta1.powi(t);
        let bias2 = 1.0 - c.beta2.powi(t);
        for slot in &mut self.slots {
            let step_size = lr * slot.lr_scale / bias1;
            let Some(g) = grads.get(slot.var.as_tensor()) else {
                continue;
            };
            // Gradients carry the op graph of the step that made them; the moments must not, or
            // each step's graph would stay alive through them for the rest of training.
            let g = g.detach();
            let hyper = StepHyper {
                beta1: c.beta1,
                beta2: c.beta2,
                eps: c.eps,
                inv_bias2: 1.0 / bias2,
                step_size,
                keep: (slot.decay > 0.0).then_some(1.0 - lr * slot.decay),
            };
            let fused = allow_fused
                && [slot.var.as_tensor(), &slot.m, &slot.v]
                    .into_iter()
                    .all(fast_path)
                && g.device().is_cpu()
                && g.dtype() == DType::F32;
            if fused {
                fused_step(slot, &g.contiguous()?, &hyper)?;
            } else {
                tensor_step(slot, &g, &hyper)?;
            }
            if slot.group_shrink > 0.0 {
                let next = shrink_rows(slot.var.as_tensor(), lr * slot.group_shrink)?;
                slot.var.set(&next)?;
            }
        }
        Ok(())
    }

    /// The moment estimates by name (`adam.m.{param}`, `adam.v.{param}`: [`STATE_PREFIX`]), for a
    /// checkpoint.
    pub fn state_tensors(&self) -> HashMap<String, Tensor> {
        let mut out = HashMap::new();
        for s in &self.slots {
            out.insert(format!("{STATE_PREFIX}m.{}", s.name), s.m.clone());
            out.insert(format!("{STATE_PREFIX}v.{}", s.name), s.v.clone());
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
                let key = format!("{STATE_PREFIX}{kind}.{}", s.name);
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

#[cfg(test)]
mod tests {
    use candle_core::Device;

    use super::*;
    use crate::rng::SeededRng;

    /// Two optimisers over identical parameters, one on the fused passes and one on candle ops,
    /// stepped on the same losses: the parameters and moments must agree bit for bit, weight
    /// decay, the log-gamma rate and the latent group shrinkage included.
    #[test]
    fn fused_passes_equal_the_candle_ops_bit_for_bit() -> Result<()> {
        let config = AdamWConfig {
            weight_decay: 0.01,
            latent_decay: 0.5,
            ..AdamWConfig::default()
        };
        let make = || -> Result<(ParamStore, AdamW)> {
            let mut rng = SeededRng::new(3);
            let mut params = ParamStore::new(&Device::Cpu);
            // Large enough for the parallel chunks, with a latent reader and a log gamma.
            // Roles, not names, say what the optimiser does: these names match nothing.
            let mut add = |name, shape: &[usize], role| {
                params.uniform(name, shape, 0.1, role, &mut rng).map(|_| ())
            };
            add("first.weight", &[300, 200], ParamRole::LatentReader)?;
            add("first.bias", &[200], ParamRole::Bias)?;
            add("scale", &[1], ParamRole::LogGamma)?;
            let opt = AdamW::new(&params, config)?;
            Ok((params, opt))
        };
        let (pa, mut fused) = make()?;
        let (pb, mut reference) = make()?;
        let mut rng = SeededRng::new(9);
        for step in 0..5 {
            let x = Tensor::from_vec(rng.normal_vec(8 * 300), (8, 300), &Device::Cpu)?;
            let loss = |p: &ParamStore| -> Result<Tensor> {
                let vars: Vec<Tensor> = p.vars().map(|(_, v)| v.as_tensor().clone()).collect();
                let mut total = Tensor::new(0f32, &Device::Cpu)?;
                for v in &vars {
                    total = match v.rank() {
                        2 => (total + x.matmul(v)?.sqr()?.sum_all()?)?,
                        _ => (total + (v.sqr()?.sum_all()? * 3.0)?)?,
                    };
                }
                Ok(total)
            };
            let lr = 1e-2 / f64::from(step + 1);
            fused.apply(&loss(&pa)?.backward()?, lr, true)?;
            reference.apply(&loss(&pb)?.backward()?, lr, false)?;
        }
        let bits = |t: &Tensor| -> Result<Vec<u32>> {
            Ok(t.flatten_all()?
                .to_vec1::<f32>()?
                .into_iter()
                .map(f32::to_bits)
                .collect())
        };
        for (a, b) in fused.slots.iter().zip(&reference.slots) {
            assert_eq!(a.name, b.name);
            assert_eq!(
                bits(a.var.as_tensor())?,
                bits(b.var.as_tensor())?,
                "{}",
                a.name
            );
            assert_eq!(bits(&a.m)?, bits(&b.m)?, "m of {}", a.name);
            assert_eq!(bits(&a.v)?, bits(&b.v)?, "v of {}", a.name);
        }
        // The test means something: the parameters moved.
        let (_, first) = make()?;
        assert_ne!(
            bits(first.slots[0].var.as_tensor())?,
            bits(fused.slots[0].var.as_tensor())?
        );
        Ok(())
    }
}
