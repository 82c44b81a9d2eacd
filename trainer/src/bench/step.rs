//! The stage-1 training-step benchmark, the same work as the PyTorch peer
//! (`shared/bench/torch_vae_step.py`): a 784-512-512 encoder, kappa = 64, mirrored decoder with
//! sigmoid output, learned scalar log gamma, one reparameterised draw, AdamW without weight
//! decay at lr 1e-3, eight fixed uniform batches cycled, fresh noise each step, `loss.item()`
//! each step. Prints the median step time.

use std::time::Instant;

use candle_core::{Device, Tensor};

use edgevae_trainer::error::Result;
use edgevae_trainer::model::{Stage1, Stage1Config};
use edgevae_trainer::nn::{Activation, AdamW, AdamWConfig, ParamStore};
use edgevae_trainer::rng::SeededRng;

#[derive(Clone, Debug)]
pub struct StepTiming {
    pub batch: usize,
    pub steps: usize,
    pub median_ms: f64,
    pub mean_ms: f64,
    pub p10_ms: f64,
    pub p90_ms: f64,
    pub final_loss: f64,
}

pub fn time_stage1_steps(
    batch: usize,
    warmup: usize,
    steps: usize,
    device: &Device,
) -> Result<StepTiming> {
    let mut config = Stage1Config::new(784, Activation::Sigmoid);
    config.hidden = vec![512, 512];
    config.latent = 64;
    let mut params = ParamStore::new(device);
    let mut rng = SeededRng::new(0);
    let model = Stage1::new(&config, None, &mut params, &mut rng)?;
    let mut opt = AdamW::new(
        &params,
        AdamWConfig {
            log_gamma_lr_scale: 1.0,
            ..AdamWConfig::default()
        },
    )?;
    let data = (0..8)
        .map(|_| {
            let v: Vec<f32> = (0..batch * 784).map(|_| rng.uniform()).collect();
            Tensor::from_vec(v, (batch, 784), device)
        })
        .collect::<candle_core::Result<Vec<_>>>()?;
    let mut times = Vec::with_capacity(steps);
    let mut last = 0.0;
    for i in 0..warmup + steps {
        let t0 = Instant::now();
        let eps = Tensor::from_vec(rng.normal_vec(batch * 64), (batch, 64), device)?;
        let loss = model.loss(&data[i % 8], &eps)?.total;
        opt.backward_step(&loss, 1e-3)?;
        last = f64::from(loss.to_scalar::<f32>()?);
        if i >= warmup {
            times.push(t0.elapsed().as_secs_f64() * 1e3);
        }
    }
    times.sort_by(f64::total_cmp);
    let n = times.len().max(1);
    Ok(StepTiming {
        batch,
        steps,
        median_ms: times.get(n / 2).copied().unwrap_or(f64::NAN),
        mean_ms: times.iter().sum::<f64>() / n as f64,
        p10_ms: times.get(n / 10).copied().unwrap_or(f64::NAN),
        p90_ms: times.get(n * 9 / 10).copied().unwrap_or(f64::NAN),
        final_loss: last,
    })
}
