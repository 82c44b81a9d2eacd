//! `edgevae bench frey`: the Frey-faces recycling demo of the tutorial. A share of the pixels
//! of every face is replaced with uniform noise (`train --corrupt`); a plain VAE, the robust
//! VAE and the robust VAE with recycling are trained on the corrupted faces, PCP decomposes the
//! same matrix, and each method's clean estimate of the training faces is scored by NMSE
//! against the clean originals. The VAEs train through the ordinary pipeline (a run directory
//! per method), so this measures what `edgevae train` gives.

use std::path::PathBuf;
use std::time::Instant;

use candle_core::Device;
use ndarray::Array2;

use edgevae_trainer::data::Dataset;
use edgevae_trainer::error::{Error, Result};
use edgevae_trainer::nmse::nmse;
use edgevae_trainer::rpca::{pcp, PcpOptions};
use edgevae_trainer::train::{train, Flow, LoadedRun, TrainConfig, TrainRequest};

pub struct FreyOptions {
    pub data: String,
    pub corrupt: f32,
    pub epochs: usize,
    /// Recycling passes of the third VAE, in training and when it cleans.
    pub recycle: usize,
    pub seed: u64,
    /// Stage-1 hidden widths instead of `train`'s default.
    pub hidden: Option<Vec<usize>>,
    pub work_dir: PathBuf,
}

/// One VAE of the comparison.
#[derive(Clone, Copy)]
pub struct Variant {
    pub name: &'static str,
    pub robust: bool,
    pub recycles: bool,
}

pub const VARIANTS: [Variant; 3] = [
    Variant {
        name: "vae",
        robust: false,
        recycles: false,
    },
    Variant {
        name: "robust_vae",
        robust: true,
        recycles: false,
    },
    Variant {
        name: "robust_vae_recycling",
        robust: true,
        recycles: true,
    },
];

/// A method's clean estimate of the training faces and its score.
pub struct Cleaned {
    pub method: String,
    pub estimate: Vec<f32>,
    pub nmse: f64,
    pub seconds: f64,
}

fn config_for(opts: &FreyOptions, v: Variant) -> Result<TrainConfig> {
    let mut config = TrainConfig::for_data(&opts.data, v.robust)?;
    config.corrupt = Some(opts.corrupt);
    config.seed = opts.seed;
    config.stage1.recycle = if v.recycles { opts.recycle } else { 1 };
    if let Some(h) = &opts.hidden {
        config.stage1.hidden = h.clone();
    }
    config.schedule1 = config.schedule1.with_epochs(opts.epochs);
    super::token_stage2(&mut config);
    Ok(config)
}

/// The corrupted training faces (with their clean copy), as every VAE of the demo sees them.
pub fn corrupted_faces(opts: &FreyOptions) -> Result<Dataset> {
    Ok(config_for(opts, VARIANTS[0])?.reload_data(None)?.train)
}

/// Trains `v` on the corrupted faces and returns its cleaned estimate of `faces`.
pub fn run_variant(opts: &FreyOptions, v: Variant, faces: &Dataset) -> Result<Cleaned> {
    let started = Instant::now();
    let dir = opts.work_dir.join(v.name);
    if dir.exists() {
        std::fs::remove_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    }
    let config = config_for(opts, v)?;
    let passes = config.stage1.recycle;
    let request = TrainRequest {
        run_dir: dir.clone(),
        config,
        resume: false,
        device: Device::Cpu,
    };
    train(&request, &mut |_| Flow::Continue)?;
    let run = LoadedRun::open(&dir, &Device::Cpu, false)?;
    let estimate = run.reconstruct_passes(&faces.values(), passes)?;
    Ok(Cleaned {
        method: v.name.into(),
        nmse: nmse(&faces.clean_values(), &estimate[..]),
        estimate,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// PCP's low-rank part of the corrupted faces.
pub fn run_pcp(faces: &Dataset) -> Result<Cleaned> {
    let started = Instant::now();
    let x = Array2::from_shape_vec(
        (faces.len(), faces.dim),
        faces.values().iter().map(|&v| f64::from(v)).collect(),
    )
    .map_err(|e| Error::Config(format!("faces matrix: {e}")))?;
    let result = pcp(&x, &PcpOptions::default())?;
    let estimate: Vec<f32> = result.low_rank.iter().map(|&v| v as f32).collect();
    Ok(Cleaned {
        method: format!(
            "pcp ({} iterations{})",
            result.iterations,
            if result.converged {
                ""
            } else {
                ", not converged"
            }
        ),
        nmse: nmse(&faces.clean_values(), &estimate[..]),
        estimate,
        seconds: started.elapsed().as_secs_f64(),
    })
}

pub fn to_csv(corrupted_nmse: f64, results: &[Cleaned]) -> String {
    let mut out = format!("method,nmse,seconds\ncorrupted input,{corrupted_nmse:.5},0\n");
    for r in results {
        out.push_str(&format!("{},{:.5},{:.1}\n", r.method, r.nmse, r.seconds));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_method_cleans_corrupted_sprites_better_than_the_input() -> Result<()> {
        let tmp = tempfile::tempdir().expect("tempdir");
        let opts = FreyOptions {
            data: "sprites:n=80".into(),
            corrupt: 0.1,
            epochs: 2,
            recycle: 2,
            seed: 1,
            hidden: Some(vec![32]),
            work_dir: tmp.path().to_path_buf(),
        };
        let faces = corrupted_faces(&opts)?;
        let input = nmse(&faces.clean_values(), &faces.values());
        assert!(input > 0.0, "the faces were not corrupted");
        let mut results = vec![run_pcp(&faces)?];
        for v in VARIANTS {
            results.push(run_variant(&opts, v, &faces)?);
        }
        for r in &results {
            assert_eq!(r.estimate.len(), faces.values().len(), "{}", r.method);
            assert!(r.nmse.is_finite(), "{}: {}", r.method, r.nmse);
        }
        assert!(
            results[0].method.starts_with("pcp ("),
            "{}",
            results[0].method
        );
        let recycled = config_for(&opts, VARIANTS[2])?;
        assert_eq!(recycled.stage1.recycle, 2);
        assert!(recycled.stage1.robust.is_some());
        assert_eq!(to_csv(input, &results).lines().count(), 6);
        Ok(())
    }
}
