//! `edgevae export`.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

use edgevae_runtime::core::{MicroPrecision, Precision};
use edgevae_trainer::export::calibration::validation_rows;
use edgevae_trainer::export::{calibrate, export, CalibrationOptions};
use edgevae_trainer::train::LoadedRun;

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Run directory made by `edgevae train`.
    #[arg(long)]
    run: PathBuf,
    /// Model directory to write (ONNX graphs and manifest.json).
    #[arg(long)]
    out: PathBuf,
    /// Precisions, comma-separated. ONNX graphs: fp32 (CPU, reference), fp16 (CUDA/TensorRT
    /// compute), fp16w (fp16-stored weights, fp32 compute: half the size, for CPU), int8 (int8
    /// dense-layer weights, activations quantised per call: ONNX Runtime's dynamic
    /// quantisation, about a quarter of the size, for CPU). Micro blobs
    /// for the no_std backend (MLP models only): micro-fp32, micro-fp16, micro-int8 (int8
    /// weights with a scale per output channel, f32 arithmetic).
    #[arg(long, value_delimiter = ',', default_value = "fp32,fp16,fp16w")]
    precision: Vec<String>,
    /// Expected fraction of outlier rows: the per-sample score threshold is the
    /// 100 * (1 - contamination) percentile of the calibration scores (PyOD's convention).
    #[arg(long, default_value_t = 0.1)]
    contamination: f64,
    /// Prior probability that an element is an outlier. An element is masked when an outlier
    /// drawn uniformly over the calibration values' range explains it better than the model's
    /// inlier Gaussian, with this prior: element threshold 2 ln((1 - p) / p) + 2 ln(range) on
    /// the element score (twice its negative log-likelihood).
    #[arg(long, default_value_t = 0.1)]
    element_prior: f64,
    /// Use this element threshold instead of the one --element-prior gives.
    #[arg(long, conflicts_with = "element_prior")]
    element_threshold: Option<f64>,
    /// Calibrate on this data (built-in name or path, as `train --data`; its validation split
    /// is used) instead of the run's own validation rows.
    #[arg(long)]
    calibrate_on: Option<String>,
    /// Export without outlier calibration (the runtime's filter then refuses the model).
    #[arg(long, conflicts_with = "calibrate_on")]
    no_calibration: bool,
}

pub fn run(args: ExportArgs) -> anyhow::Result<()> {
    let (mut precisions, mut micro) = (Vec::new(), Vec::new());
    for p in &args.precision {
        match p.trim().strip_prefix("micro-") {
            Some(m) => micro.push(MicroPrecision::parse(m).with_context(|| {
                format!("unknown micro precision {p:?}: use micro-fp32, micro-fp16 or micro-int8")
            })?),
            None => precisions.push(Precision::parse(p).with_context(|| {
                let onnx = Precision::ALL.map(|p| p.name());
                let micro = MicroPrecision::ALL.map(|p| format!("micro-{}", p.name()));
                format!(
                    "unknown precision {p:?}: use one of {}, {}",
                    onnx.join(", "),
                    micro.join(", ")
                )
            })?),
        }
    }
    let run = LoadedRun::open(&args.run, &candle_core::Device::Cpu, false)?;
    let outlier = if args.no_calibration {
        None
    } else {
        let rows = match &args.calibrate_on {
            None => validation_rows(&run).with_context(|| {
                format!(
                    "loading the validation rows of {} for calibration (pass --calibrate-on or \
                     --no-calibration if its data are elsewhere)",
                    args.run.display()
                )
            })?,
            Some(spec) => {
                run.config
                    .reload_data(Some(spec))
                    .with_context(|| format!("loading calibration data {spec}"))?
                    .val
            }
        };
        let opts = CalibrationOptions {
            contamination: args.contamination,
            element_prior: args.element_prior,
            element_threshold: args.element_threshold,
        };
        let o = calibrate(&run, &rows, &opts)?;
        println!(
            "calibrated on {} rows: score threshold {:.4} (contamination {}), element threshold {:.3}",
            rows.len(),
            o.score_threshold,
            o.contamination,
            o.element_threshold
        );
        Some(o)
    };
    let manifest = export(&run, &args.out, &precisions, &micro, outlier)
        .with_context(|| format!("exporting {} to {}", args.run.display(), args.out.display()))?;
    for g in &manifest.graphs {
        println!(
            "{:<8} {:<6} {:>10} bytes  {}",
            g.role.name(),
            g.precision.name(),
            g.bytes,
            args.out.join(g.file.as_str()).display()
        );
    }
    for m in &manifest.micro {
        let role = m.role;
        let arena = edgevae_runtime::micro::required_arena(&manifest, role, 1)?;
        println!(
            "{:<8} {:<6} {:>10} bytes  {}  (micro; arena {} bytes per row)",
            role.name(),
            format!("m-{}", m.precision.name()),
            m.bytes,
            args.out.join(m.file.as_str()).display(),
            arena
        );
    }
    println!(
        "manifest: {}",
        args.out
            .join(edgevae_runtime::core::MANIFEST_FILE)
            .display()
    );
    Ok(())
}
