//! The two deployable graphs of a trained run. Noise is an input, so both are deterministic and
//! run the same on any ONNX runtime.
//!
//! - `sampler`: `u`, `eps` [N, latent] -> `x` [N, d]: stage-2 decoder, + sqrt(gamma_z) eps,
//!   stage-1 decoder mean.
//! - `filter`: `x` [N, d] -> `z_mean`, `z_log_var` [N, latent], `x_mean` [N, d] (the
//!   reconstruction decoded from the posterior mean), and for a robust model `x_log_var`
//!   [N, d], the log of the per-element inlier variance `floor + gamma exp(l(z))` with
//!   `l = range tanh(raw / range)`.
//!
//! For standardised real-valued data (`config.standardization`), `x` in and `x`, `x_mean` and
//! `x_log_var` out are in the data's units: the affine maps run in fp32 at the ports.

use candle_core::Module;

use crate::error::Result;
use crate::onnx::proto::GraphProto;
use crate::onnx::GraphBuilder;
use crate::train::LoadedRun;
use edgevae_runtime::core::{graph_ports as ports, Precision};

pub fn sampler(run: &LoadedRun, precision: Precision) -> Result<GraphProto> {
    let k = run.config.stage1.latent;
    let d = run.config.stage1.input_dim;
    let mut g = GraphBuilder::new("edgevae_sampler", precision);
    let u = g.input(ports::U.name, k);
    let eps = g.input(ports::EPS.name, k);
    let z = run.stage2.emit_sample_codes(&mut g, &u, &eps)?;
    let x = run.stage1.emit_decoder(&mut g, &z)?;
    let std = run.config.standardization;
    g.data_output(&x, ports::X.name, d, std.map(|s| (s.scale, s.center)));
    Ok(g.finish())
}

pub fn filter(run: &LoadedRun, precision: Precision) -> Result<GraphProto> {
    let k = run.config.stage1.latent;
    let d = run.config.stage1.input_dim;
    let mut g = GraphBuilder::new("edgevae_filter", precision);
    let std = run.config.standardization;
    let x = g.data_input(ports::X.name, d, std.as_ref());
    let s1 = &run.stage1;
    let (mean, log_var) = s1.emit_encoder(&mut g, &x)?;
    let (hidden, x_mean) = s1.emit_decoder_split(&mut g, &mean)?;
    g.output(&mean, ports::Z_MEAN.name, k);
    g.output(&log_var, ports::Z_LOG_VAR.name, k);
    g.data_output(
        &x_mean,
        ports::X_MEAN.name,
        d,
        std.map(|s| (s.scale, s.center)),
    );
    if let Some(log_v) = s1.emit_log_variance(&mut g, &hidden)? {
        g.data_output(
            &log_v,
            ports::X_LOG_VAR.name,
            d,
            std.map(|s| (1.0, s.log_var_offset())),
        );
    }
    Ok(g.finish())
}

/// Runs the candle model on the same inputs as [`sampler`], for parity checks.
pub fn reference_sample(
    run: &LoadedRun,
    u: &candle_core::Tensor,
    eps: &candle_core::Tensor,
) -> Result<candle_core::Tensor> {
    let z = run.stage2.sample_codes(u, eps)?;
    let x = run.stage1.decoder.forward(&z)?;
    Ok(match run.config.standardization {
        Some(s) => x.affine(f64::from(s.scale), f64::from(s.center))?,
        None => x,
    })
}
