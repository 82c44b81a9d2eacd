//! A Triton Inference Server model repository made from an edgevae model directory: one Triton
//! model per graph (`<role>_<precision>/config.pbtxt` + `<role>_<precision>/1/model.onnx`),
//! served by Triton's ONNX Runtime backend, and a README that says how the outlier thresholds
//! of `manifest.json` apply to the filter's outputs (Triton runs the graphs; the scoring is
//! edgevae's, `edgevae_runtime::core::outlier`).
//!
//! Each `config.pbtxt` is protobuf text of Triton's `ModelConfig`: `platform:
//! "onnxruntime_onnx"`, `max_batch_size` over the graph's symbolic batch dimension, the ports
//! of `edgevae_runtime::core::graph_ports` with their widths, `dynamic_batching`,
//! `instance_group`, and for fp16 graphs TensorRT as GPU accelerator in FP16.

use std::fmt::Write as _;
use std::path::Path;

use edgevae_runtime::core::graph_ports::{self, Port};
use edgevae_runtime::core::{sha256_hex, GraphEntry, Manifest, Precision, MANIFEST_FILE};
use sha2::{Digest, Sha256};

use crate::atomic_file;
use crate::error::{Error, Result};

/// How the repository's models are served.
#[derive(Clone, Copy, Debug)]
pub struct TritonOptions {
    /// The largest batch Triton forms (`max_batch_size`).
    pub max_batch_size: usize,
    /// Model instances per GPU or CPU (`instance_group.count`).
    pub instances: usize,
    /// How long Triton may hold a request to form a larger batch.
    pub max_queue_delay_us: u64,
}

impl Default for TritonOptions {
    fn default() -> Self {
        Self {
            max_batch_size: 256,
            instances: 1,
            max_queue_delay_us: 500,
        }
    }
}

/// The Triton model name of a graph: `<role>_<precision>`.
pub fn model_name(graph: &GraphEntry) -> String {
    format!("{}_{}", graph.role.name(), graph.precision.name())
}

fn ports_text(out: &mut String, what: &str, ports: &[Port], manifest: &Manifest) {
    let _ = writeln!(out, "{what} [");
    for (i, p) in ports.iter().enumerate() {
        let comma = if i + 1 < ports.len() { "," } else { "" };
        let _ = writeln!(
            out,
            "  {{\n    name: \"{}\"\n    data_type: TYPE_FP32\n    dims: [ {} ]\n  }}{comma}",
            p.name,
            p.values_in(manifest)
        );
    }
    let _ = writeln!(out, "]");
}

/// The `config.pbtxt` of `graph`.
pub fn config_text(manifest: &Manifest, graph: &GraphEntry, options: &TritonOptions) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# edgevae {} graph, {}: written by `edgevae triton`.",
        graph.role.name(),
        graph.precision.name()
    );
    let _ = writeln!(out, "name: \"{}\"", model_name(graph));
    let _ = writeln!(out, "platform: \"onnxruntime_onnx\"");
    let _ = writeln!(out, "max_batch_size: {}", options.max_batch_size);
    ports_text(&mut out, "input", graph_ports::inputs(graph.role), manifest);
    ports_text(
        &mut out,
        "output",
        graph_ports::outputs(graph.role, manifest.robust),
        manifest,
    );
    let _ = writeln!(
        out,
        "dynamic_batching {{\n  max_queue_delay_microseconds: {}\n}}",
        options.max_queue_delay_us
    );
    let _ = writeln!(
        out,
        "instance_group [\n  {{\n    count: {}\n    kind: KIND_AUTO\n  }}\n]",
        options.instances
    );
    if graph.precision == Precision::Fp16 {
        // fp16 compute is what TensorRT is for; on CPU, ONNX Runtime inserts casts instead.
        out.push_str(concat!(
            "optimization {\n",
            "  execution_accelerators {\n",
            "    gpu_execution_accelerator: [\n",
            "      {\n",
            "        name: \"tensorrt\"\n",
            "        parameters { key: \"precision_mode\" value: \"FP16\" }\n",
            "      }\n",
            "    ]\n",
            "  }\n",
            "}\n",
        ));
    }
    out
}

/// The repository's README: what each model is, and how to apply the thresholds.
fn readme(manifest: &Manifest, names: &[String]) -> String {
    let mut out = String::from(
        "# edgevae model repository for Triton Inference Server\n\n\
         Written by `edgevae triton` from an edgevae model directory. One Triton model per \
         graph, served by Triton's ONNX Runtime backend (`platform: \"onnxruntime_onnx\"`); \
         every input and output is float32 `[N, width]`, N the batch.\n\n",
    );
    for name in names {
        let _ = writeln!(out, "- `{name}`");
    }
    out.push_str(
        "\n## Sampling\n\n`sampler_*`: inputs `u` and `eps`, each N(0, I) noise `[N, latent]`; \
         output `x`, the samples. edgevae's own runtime draws u, then eps, from its seeded \
         generator; any N(0, I) source is valid.\n\n\
         ## Outlier filtering: applying `manifest.json`'s thresholds\n\n\
         `filter_*`: input `x` (data rows); outputs `z_mean`, `z_log_var`, `x_mean` (the \
         reconstruction) and, for a robust model, `x_log_var` (the per-element inlier \
         log-variance). Triton returns the graph's outputs; the scoring is edgevae's \
         (`edgevae_runtime::core::outlier::filter_row`), with the thresholds of `outlier` in \
         `manifest.json` (copied here):\n\n\
         1. Per element j, the inlier log-variance `l_j` is `x_log_var[j]` for a robust model, \
         else `ln(element_noise[j])`.\n\
         2. Element score `s_j = (x_j - x_mean_j)^2 / exp(l_j) + ln(2 pi) + l_j` (twice the \
         element's negative log-likelihood). A value that is not finite, or outside the \
         accepted range (pixel data: [-1, 2]; real data with `value_range` [lo, hi]: \
         [lo - (hi - lo), hi + (hi - lo)]), scores `3.4028235e38`.\n\
         3. Element j is an outlier when `s_j > element_threshold`; its cleaned value is \
         `x_mean_j`, every other element keeps `x_j`.\n\
         4. The row's score is the mean of its `s_j`; the row is an outlier when it exceeds \
         `score_threshold` (calibrated for `contamination`).\n\
         5. More passes: run the filter again on the cleaned row and score against the \
         original `x` each time.\n\n",
    );
    match &manifest.outlier {
        Some(o) => {
            let _ = writeln!(
                out,
                "This model: `element_threshold` {}, `score_threshold` {}, contamination {}, \
                 scaling `{:?}`{}.",
                o.element_threshold,
                o.score_threshold,
                o.contamination,
                manifest.scaling,
                o.value_range
                    .map(|[lo, hi]| format!(", value_range [{lo}, {hi}]"))
                    .unwrap_or_default()
            );
        }
        None => out.push_str(
            "This model has no outlier calibration (`\"outlier\": null`): its filter graph \
             reconstructs, but there are no thresholds to apply.\n",
        ),
    }
    out
}

/// Writes the Triton repository of the model directory `model_dir` into `out`: every graph
/// the manifest lists (each file's SHA-256 checked against it as it is copied), the manifest
/// itself and a README. Returns the model names.
pub fn write_repository(
    model_dir: &Path,
    out: &Path,
    options: &TritonOptions,
) -> Result<Vec<String>> {
    if options.max_batch_size == 0 || options.instances == 0 {
        return Err(Error::Config(
            "the Triton max batch size and instance count must be at least 1".into(),
        ));
    }
    let manifest_path = model_dir.join(MANIFEST_FILE);
    let bytes = std::fs::read(&manifest_path).map_err(|e| Error::io(&manifest_path, e))?;
    let manifest = Manifest::parse(&bytes)
        .map_err(|e| Error::Config(format!("{}: {e}", manifest_path.display())))?;
    let mut names = Vec::new();
    for graph in &manifest.graphs {
        let src = model_dir.join(graph.file.as_str());
        let onnx = std::fs::read(&src).map_err(|e| Error::io(&src, e))?;
        let found = sha256_hex(&Sha256::digest(&onnx).into());
        if found != graph.sha256 {
            return Err(Error::Config(format!(
                "{}: SHA-256 {found} does not match the manifest's {}",
                src.display(),
                graph.sha256
            )));
        }
        let name = model_name(graph);
        let dir = out.join(&name);
        let version = dir.join("1");
        std::fs::create_dir_all(&version).map_err(|e| Error::io(&version, e))?;
        atomic_file::write(&version.join("model.onnx"), &onnx)?;
        atomic_file::write(
            &dir.join("config.pbtxt"),
            config_text(&manifest, graph, options).as_bytes(),
        )?;
        names.push(name);
    }
    atomic_file::write(&out.join(MANIFEST_FILE), &bytes)?;
    atomic_file::write(&out.join("README.md"), readme(&manifest, &names).as_bytes())?;
    Ok(names)
}
