//! Export: a trained run becomes a model directory of ONNX graphs (sampler and filter, in each
//! requested precision) and a `manifest.json` that the runtime checks before first use.

pub mod calibration;
pub mod graphs;
pub mod micro;
mod model_file;
pub mod triton;

use std::path::Path;

use sha2::{Digest, Sha256};

use crate::atomic_file;
use crate::error::{Error, Result};
use crate::nn::Activation;
use crate::train::LoadedRun;
use edgevae_runtime::core::{
    sha256_hex, GraphEntry, GraphRole, Manifest, MicroEntry, MicroPrecision, OutlierThresholds,
    Precision, Scaling, FORMAT_VERSION, MANIFEST_FILE,
};

pub use calibration::{calibrate, CalibrationOptions};

fn heapless_str<const N: usize>(s: &str, what: &str) -> Result<heapless::String<N>> {
    heapless::String::try_from(s)
        .map_err(|_| Error::Config(format!("{what} {s:?} is longer than {N} bytes")))
}

/// How the run's data are scaled, as the manifest says it: a sigmoid output means pixel data
/// in [0, 1].
pub fn manifest_scaling(run: &LoadedRun) -> Scaling {
    if run.config.stage1.output == Activation::Sigmoid {
        Scaling::Unit
    } else {
        Scaling::Real
    }
}

/// Writes the graphs in `precisions` and the manifest (with `outlier`, the calibrated
/// thresholds, when given) into `out_dir`; returns the manifest.
pub fn export_run(
    run: &LoadedRun,
    out_dir: &Path,
    precisions: &[Precision],
    outlier: Option<OutlierThresholds>,
) -> Result<Manifest> {
    export(run, out_dir, precisions, &[], outlier)
}

/// The file name of a micro blob.
pub fn micro_file(role: GraphRole, precision: MicroPrecision) -> String {
    format!("{}_micro_{}.bin", role.name(), precision.name())
}

/// [`export_run`] with micro blobs in `micro` too (MLP models only).
pub fn export(
    run: &LoadedRun,
    out_dir: &Path,
    precisions: &[Precision],
    micro: &[MicroPrecision],
    outlier: Option<OutlierThresholds>,
) -> Result<Manifest> {
    if precisions.is_empty() && micro.is_empty() {
        return Err(Error::Config("no precision asked for".into()));
    }
    // Built before anything is written, so a conv model's refusal leaves no half export.
    let mut blobs = Vec::new();
    for &p in micro {
        for role in [GraphRole::Sampler, GraphRole::Filter] {
            blobs.push((role, p, micro::blob(run, role, p)?));
        }
    }
    std::fs::create_dir_all(out_dir).map_err(|e| Error::io(out_dir, e))?;
    let c = &run.config;
    let mut graphs = heapless::Vec::new();
    for &p in precisions {
        for role in [GraphRole::Sampler, GraphRole::Filter] {
            let graph = match role {
                GraphRole::Sampler => graphs::sampler(run, p)?,
                GraphRole::Filter => graphs::filter(run, p)?,
            };
            let file = format!("{}_{}.onnx", role.name(), p.name());
            let doc = format!(
                "edgevae {} graph, {} (input_dim {}, latent {})",
                role.name(),
                p.name(),
                c.stage1.input_dim,
                c.stage1.latent
            );
            let bytes = model_file::encode(
                graph,
                &doc,
                &[
                    ("edgevae.role", role.name().into()),
                    ("edgevae.precision", p.name().into()),
                ],
            );
            atomic_file::write(&out_dir.join(&file), &bytes)?;
            let entry = GraphEntry {
                role,
                precision: p,
                file: heapless_str(&file, "file name")?,
                sha256: sha256_hex(&Sha256::digest(&bytes).into()),
                bytes: bytes.len() as u64,
            };
            graphs
                .push(entry)
                .map_err(|_| Error::Config("too many graphs for one manifest".into()))?;
        }
    }
    let mut micro_entries = heapless::Vec::new();
    for (role, p, bytes) in blobs {
        let file = micro_file(role, p);
        atomic_file::write(&out_dir.join(&file), &bytes)?;
        let width = edgevae_runtime::micro::format::read_header(&bytes)
            .map_err(|e| Error::Config(format!("exported micro blob is invalid: {e}")))?
            .width;
        let entry = MicroEntry {
            role,
            precision: p,
            file: heapless_str(&file, "file name")?,
            sha256: sha256_hex(&Sha256::digest(&bytes).into()),
            bytes: bytes.len() as u64,
            width,
        };
        micro_entries
            .push(entry)
            .map_err(|_| Error::Config("too many micro blobs for one manifest".into()))?;
    }
    let manifest = Manifest {
        format_version: FORMAT_VERSION,
        trainer_version: heapless_str(env!("CARGO_PKG_VERSION"), "version")?,
        input_dim: c.stage1.input_dim as u32,
        latent: c.stage1.latent as u32,
        image_shape: c.image_shape.map(|(r, w)| [r as u32, w as u32]),
        scaling: manifest_scaling(run),
        gamma_stage1: run.stage1.gamma()?,
        gamma_stage2: run.stage2.gamma()?,
        robust: c.stage1.robust.is_some(),
        standardization: c.standardization,
        graphs,
        micro: micro_entries,
        outlier,
    };
    manifest
        .validate()
        .map_err(|e| Error::Config(format!("exported manifest is invalid: {e}")))?;
    atomic_file::write_json(&out_dir.join(MANIFEST_FILE), &manifest)?;
    Ok(manifest)
}
