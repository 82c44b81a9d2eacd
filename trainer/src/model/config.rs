//! Architecture settings of each stage, stored in the run's `config.json`.

use serde::{Deserialize, Serialize};

use crate::nn::Activation;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Stage1Config {
    /// Data dimension d.
    pub input_dim: usize,
    /// Encoder hidden widths; the decoder mirrors them.
    pub hidden: Vec<usize>,
    /// Latent dimension kappa.
    pub latent: usize,
    /// Decoder output: sigmoid for data in [0, 1], identity for real-valued data.
    pub output: Activation,
    /// Lower bound on gamma (a variance). Unbounded, gamma keeps shrinking as reconstructions
    /// improve and the loss becomes ill-conditioned; the floor stops that at a resolution finer
    /// than 8-bit pixels need.
    pub gamma_floor: f64,
    /// Initial gamma.
    pub gamma_init: f64,
}

impl Stage1Config {
    pub fn new(input_dim: usize, output: Activation) -> Self {
        Self {
            input_dim,
            hidden: vec![512, 512],
            latent: 64,
            output,
            gamma_floor: 1e-4,
            gamma_init: 1.0,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Stage2Config {
    /// Width of each hidden layer (1024 in the authors' code).
    pub width: usize,
    /// Number of hidden ReLU layers (3 in the authors' code).
    pub depth: usize,
    pub gamma_floor: f64,
    pub gamma_init: f64,
}

impl Default for Stage2Config {
    fn default() -> Self {
        Self {
            width: 1024,
            depth: 3,
            gamma_floor: 1e-6,
            gamma_init: 1.0,
        }
    }
}
