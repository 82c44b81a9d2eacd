//! Named trainable parameters, created from our seeded RNG (candle's `randn` cannot be seeded on
//! CPU) and saved or restored by name. Each declares its [`ParamRole`] when it is made: the
//! optimiser and the training loop read roles, never names. Names follow the module tree, e.g.
//! `stage1.encoder.0.weight`, and become safetensors keys and, later, ONNX initializer names
//! (a convolution's kernel keeps its name but not its layout: [9 c_in, 4 c_out] here, [4 c_out,
//! c_in, 3, 3] in ONNX).

use std::collections::HashMap;

use candle_core::{DType, Device, Tensor, Var};

use crate::error::{Error, Result};
use crate::rng::SeededRng;

/// What training does with a parameter beyond the gradient step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParamRole {
    /// A weight: decoupled weight decay.
    Weight,
    /// A weight whose rows belong to the latent dimensions (a decoder's first layer): weight
    /// decay and the latent group shrinkage ([`super::AdamWConfig::latent_decay`]), which prunes
    /// the dimensions the reconstruction does not use.
    LatentReader,
    /// A bias: no weight decay.
    Bias,
    /// A stage's learned log gamma: no weight decay, its own learning-rate scale, and the
    /// stage's floor on gamma after each step.
    LogGamma,
}

#[derive(Clone)]
struct Param {
    name: String,
    var: Var,
    role: ParamRole,
}

#[derive(Clone)]
pub struct ParamStore {
    device: Device,
    entries: Vec<Param>,
    /// At most this many values in all (see [`Self::with_budget`]).
    budget: Option<usize>,
    values: usize,
}

impl ParamStore {
    pub fn new(device: &Device) -> Self {
        Self {
            device: device.clone(),
            entries: Vec::new(),
            budget: None,
            values: 0,
        }
    }

    /// A store that refuses to create more than `max_values` values in all, checked before each
    /// parameter is allocated: networks described by a file (a run's config.json) are built
    /// within what their checkpoint can hold, so a corrupt size is an error, not an allocation
    /// of terabytes (an abort) or hours of drawing initial weights.
    pub fn with_budget(device: &Device, max_values: usize) -> Self {
        Self {
            budget: Some(max_values),
            ..Self::new(device)
        }
    }

    pub fn device(&self) -> &Device {
        &self.device
    }

    fn push(&mut self, name: String, var: Var, role: ParamRole) -> Result<Tensor> {
        if self.entries.iter().any(|p| p.name == name) {
            return Err(Error::Config(format!("parameter {name} defined twice")));
        }
        let t = var.as_tensor().clone();
        self.entries.push(Param { name, var, role });
        Ok(t)
    }

    /// A parameter of `shape` drawn uniformly from [-bound, bound] (PyTorch's default for linear
    /// layers uses bound = 1/sqrt(fan_in)).
    pub fn uniform(
        &mut self,
        name: &str,
        shape: &[usize],
        bound: f32,
        role: ParamRole,
        rng: &mut SeededRng,
    ) -> Result<Tensor> {
        let n = shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d));
        let total = n.and_then(|n| n.checked_add(self.values));
        let n = match (total, self.budget) {
            (Some(total), Some(budget)) if total > budget => None,
            (Some(total), _) => {
                self.values = total;
                n
            }
            (None, _) => None,
        }
        .ok_or_else(|| {
            Error::Config(match self.budget {
                Some(budget) => format!(
                    "parameter {name} of shape {shape:?} takes the model past the {budget} \
                     values its checkpoint holds"
                ),
                None => format!("parameter {name} of shape {shape:?} has too many values"),
            })
        })?;
        let values: Vec<f32> = (0..n).map(|_| rng.uniform_range(-bound, bound)).collect();
        let t = Tensor::from_vec(values, shape, &self.device)?;
        self.push(name.to_string(), Var::from_tensor(&t)?, role)
    }

    /// A scalar parameter (shape `[]`) with an initial value.
    pub fn scalar(&mut self, name: &str, value: f32, role: ParamRole) -> Result<Tensor> {
        let t = Tensor::new(value, &self.device)?;
        self.push(name.to_string(), Var::from_tensor(&t)?, role)
    }

    pub fn vars(&self) -> impl Iterator<Item = (&str, &Var)> {
        self.entries.iter().map(|p| (p.name.as_str(), &p.var))
    }

    /// The parameter saved under `name` (what a checkpoint or a test addresses; training reads
    /// roles).
    pub fn get(&self, name: &str) -> Option<&Var> {
        self.entries.iter().find(|p| p.name == name).map(|p| &p.var)
    }

    /// Every parameter with the role it was made with.
    pub fn roles(&self) -> impl Iterator<Item = (&str, &Var, ParamRole)> {
        self.entries
            .iter()
            .map(|p| (p.name.as_str(), &p.var, p.role))
    }

    /// The stage's log gamma: the one parameter made with [`ParamRole::LogGamma`].
    pub fn log_gamma(&self) -> Result<&Var> {
        let mut found = self
            .entries
            .iter()
            .filter(|p| p.role == ParamRole::LogGamma);
        match (found.next(), found.next()) {
            (Some(p), None) => Ok(&p.var),
            (None, _) => Err(Error::Config("the model has no log gamma parameter".into())),
            (Some(_), Some(_)) => Err(Error::Config(
                "the model has more than one log gamma parameter".into(),
            )),
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// All parameters by name, for saving.
    pub fn tensors(&self) -> HashMap<String, Tensor> {
        self.entries
            .iter()
            .map(|p| (p.name.clone(), p.var.as_tensor().clone()))
            .collect()
    }

    /// Overwrites every parameter from `tensors`; a missing name or a wrong shape is an error
    /// naming `source` (the file they came from).
    pub fn load(&self, tensors: &HashMap<String, Tensor>, source: &std::path::Path) -> Result<()> {
        for Param { name, var, .. } in &self.entries {
            let t = tensors
                .get(name)
                .ok_or_else(|| Error::bad_file(source, format!("missing tensor {name}")))?;
            if t.dims() != var.dims() {
                return Err(Error::bad_file(
                    source,
                    format!(
                        "tensor {name} has shape {:?}, the model expects {:?}",
                        t.dims(),
                        var.dims()
                    ),
                ));
            }
            var.set(&t.to_dtype(DType::F32)?.to_device(&self.device)?)?;
        }
        Ok(())
    }
}
