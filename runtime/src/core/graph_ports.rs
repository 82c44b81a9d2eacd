//! The graph contract: the inputs and outputs an exported graph of each role has, by name and
//! width, in order. Written once, here: the trainer's exporter names its graphs' ports from
//! it, the runtime checks every graph it loads against it, and the Triton model repository is
//! written from it. The batch dimension comes first and is symbolic (`N`).

use super::{GraphRole, Manifest};

/// Which of the manifest's dimensions a port's width is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Width {
    /// `input_dim`: a data row.
    Input,
    /// `latent`: a latent code or noise.
    Latent,
}

/// A graph input or output: `[N, width]` float32.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Port {
    pub name: &'static str,
    pub width: Width,
}

impl Port {
    pub const fn new(name: &'static str, width: Width) -> Self {
        Self { name, width }
    }

    /// The width in values for a model of `input_dim` and `latent`.
    pub fn values(&self, input_dim: usize, latent: usize) -> usize {
        match self.width {
            Width::Input => input_dim,
            Width::Latent => latent,
        }
    }

    /// The width in values for `manifest`'s model.
    pub fn values_in(&self, manifest: &Manifest) -> usize {
        self.values(manifest.input_dim as usize, manifest.latent as usize)
    }
}

/// Sampler input: the stage-2 prior noise u ~ N(0, I).
pub const U: Port = Port::new("u", Width::Latent);
/// Sampler input: the stage-2 decoder noise eps ~ N(0, I), scaled by sqrt(gamma_z) in the graph.
pub const EPS: Port = Port::new("eps", Width::Latent);
/// Sampler output and filter input: data rows.
pub const X: Port = Port::new("x", Width::Input);
/// Filter output: the mean of q(z|x).
pub const Z_MEAN: Port = Port::new("z_mean", Width::Latent);
/// Filter output: the log-variance of q(z|x).
pub const Z_LOG_VAR: Port = Port::new("z_log_var", Width::Latent);
/// Filter output: the reconstruction, the decoder's mean at z_mean.
pub const X_MEAN: Port = Port::new("x_mean", Width::Input);
/// Filter output of a robust model: the per-element inlier log-variance.
pub const X_LOG_VAR: Port = Port::new("x_log_var", Width::Input);

const SAMPLER_INPUTS: [Port; 2] = [U, EPS];
const SAMPLER_OUTPUTS: [Port; 1] = [X];
const FILTER_INPUTS: [Port; 1] = [X];
const FILTER_OUTPUTS: [Port; 3] = [Z_MEAN, Z_LOG_VAR, X_MEAN];
const ROBUST_FILTER_OUTPUTS: [Port; 4] = [Z_MEAN, Z_LOG_VAR, X_MEAN, X_LOG_VAR];

/// The inputs of a graph of `role`, in order.
pub fn inputs(role: GraphRole) -> &'static [Port] {
    match role {
        GraphRole::Sampler => &SAMPLER_INPUTS,
        GraphRole::Filter => &FILTER_INPUTS,
    }
}

/// The outputs of a graph of `role`, in order; a robust model's filter also has `x_log_var`.
pub fn outputs(role: GraphRole, robust: bool) -> &'static [Port] {
    match (role, robust) {
        (GraphRole::Sampler, _) => &SAMPLER_OUTPUTS,
        (GraphRole::Filter, false) => &FILTER_OUTPUTS,
        (GraphRole::Filter, true) => &ROBUST_FILTER_OUTPUTS,
    }
}
