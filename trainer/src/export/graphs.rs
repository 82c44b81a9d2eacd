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

use super::graph_builder::GraphBuilder;
use super::onnx_proto::GraphProto;
use crate::error::Result;
use crate::train::LoadedRun;
use edgevae_runtime::core::{graph_ports as ports, Precision};

pub fn sampler(run: &LoadedRun, precision: Precision) -> Result<GraphProto> {
    let k = run.config.stage1.latent;
    let d = run.config.stage1.input_dim;
    let mut g = GraphBuilder::new("edgevae_sampler", precision);
    let u = g.input(ports::U.name, k);
    let eps = g.input(ports::EPS.name, k);
    let s2 = &run.stage2;
    let h = g.mlp(&u, &s2.decoder.hidden, "stage2.decoder.hidden")?;
    let cat = g.node(
        "Concat",
        &[&h, &u],
        vec![super::graph_builder::int_attr("axis", 1)],
        "concat",
    );
    let mean_z = g.dense(&cat, &s2.decoder.out, "stage2.decoder.out")?;
    let sd = g.scalar("stage2.gamma_sqrt", s2.gamma()?.sqrt() as f32)?;
    let noise = g.node("Mul", &[&eps, &sd], vec![], "noise");
    let z = g.node("Add", &[&mean_z, &noise], vec![], "z");
    let x = g.decoder(&z, &run.stage1.decoder, "stage1.decoder")?;
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
    let h = g.mlp(&x, &s1.encoder, "stage1.encoder")?;
    let mean = g.dense_columns(&h, &s1.head, 0, k, "stage1.encoder_head.mean")?;
    let log_var = g.dense_columns(&h, &s1.head, k, k, "stage1.encoder_head.log_var")?;
    let (hidden, x_mean) = g.decoder_split(&mean, &s1.decoder, "stage1.decoder")?;
    g.output(&mean, ports::Z_MEAN.name, k);
    g.output(&log_var, ports::Z_LOG_VAR.name, k);
    g.data_output(
        &x_mean,
        ports::X_MEAN.name,
        d,
        std.map(|s| (s.scale, s.center)),
    );
    if let (Some(head), Some(robust)) = (&s1.variance_head, &s1.config.robust) {
        let raw = g.variance_head(&hidden, head, "stage1.decoder_variance")?;
        let range = robust.log_variance_range as f32;
        let inv_range = g.scalar("stage1.variance_range_inv", 1.0 / range)?;
        let range = g.scalar("stage1.variance_range", range)?;
        let squashed = g.node("Mul", &[&raw, &inv_range], vec![], "variance_raw");
        let squashed = g.node("Tanh", &[&squashed], vec![], "variance_tanh");
        let l = g.node("Mul", &[&squashed, &range], vec![], "variance_log_scale");
        let log_gamma = g.scalar("stage1.log_gamma", s1.gamma()?.ln() as f32)?;
        let scaled = g.node("Add", &[&l, &log_gamma], vec![], "log_scale");
        let v = g.node("Exp", &[&scaled], vec![], "scale");
        let floor = g.scalar("stage1.variance_floor", robust.variance_floor as f32)?;
        let v = g.node("Add", &[&v, &floor], vec![], "variance");
        let log_v = g.node("Log", &[&v], vec![], "log_variance");
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
    let sd = run.stage2.gamma()?.sqrt();
    let z = (run.stage2.decoder.forward(u)? + (eps * sd)?)?;
    let x = run.stage1.decoder.forward(&z)?;
    Ok(match run.config.standardization {
        Some(s) => x.affine(f64::from(s.scale), f64::from(s.center))?,
        None => x,
    })
}
