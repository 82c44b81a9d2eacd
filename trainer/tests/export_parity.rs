//! Exported ONNX graphs run through edgevae-runtime (ONNX Runtime, CPU) against the candle model
//! on the same inputs, in every precision; file sizes; and the runtime's checks of a model
//! directory. Needs the ONNX Runtime library: `scripts/fetch-onnxruntime.sh`.

use std::path::Path;

use candle_core::{Device, Tensor};
use edgevae_runtime::core::{GaussianRng, Precision};
use edgevae_runtime::{ModelDir, Provider, RuntimeError, RuntimeOptions};
use edgevae_trainer::export::{export_run, graphs};
use edgevae_trainer::train::{train, Flow, LoadedRun};

mod common;

fn trained_run(dir: &Path) -> LoadedRun {
    let mut config = common::tiny_config(21, &[128, 64], 6, 40);
    config.schedule1.lr = 3e-3;
    config.schedule1.halve_every = 0;
    config.schedule2 = config.schedule1.clone();
    train(&common::request(dir, config, false), &mut |_| {
        Flow::Continue
    })
    .expect("train");
    LoadedRun::open(dir, &Device::Cpu, false).expect("open run")
}

fn options(precision: Precision) -> RuntimeOptions {
    RuntimeOptions {
        precision,
        ..RuntimeOptions::default()
    }
}

fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

#[test]
fn exported_sampler_matches_candle_in_every_precision() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let run = trained_run(&tmp.path().join("run"));
    let model_dir = tmp.path().join("model");
    let manifest = export_run(&run, &model_dir, &Precision::ALL, None).expect("export");
    assert_eq!(manifest.graphs.len(), 6);

    let (n, k, d, seed) = (17, 6, 784, 99);
    // The runtime's documented noise order: u, then eps, from GaussianRng::new(seed).
    let mut rng = GaussianRng::new(seed);
    let mut u = vec![0.0f32; n * k];
    let mut eps = vec![0.0f32; n * k];
    rng.fill_normal(&mut u);
    rng.fill_normal(&mut eps);
    let reference = graphs::reference_sample(
        &run,
        &Tensor::from_slice(&u, (n, k), &Device::Cpu).expect("u"),
        &Tensor::from_slice(&eps, (n, k), &Device::Cpu).expect("eps"),
    )
    .and_then(|t| Ok(t.flatten_all()?.to_vec1::<f32>()?))
    .expect("candle");

    for (precision, tolerance) in [
        (Precision::Fp32, 1e-5),
        (Precision::Fp16w, 1e-3),
        (Precision::Fp16, 3e-3),
    ] {
        let model = ModelDir::open(&model_dir, options(precision)).expect("open model");
        let mut sampler = model.sampler().expect("sampler");
        let mut out = vec![0.0f32; n * d];
        sampler.sample_into(n, seed, &mut out).expect("sample");
        let diff = max_abs_diff(&out, &reference);
        assert!(
            diff <= tolerance,
            "{precision:?}: max abs diff {diff} > {tolerance}"
        );
        let mut again = vec![0.0f32; n * d];
        sampler
            .sample_with_noise(n, &u, &eps, &mut again)
            .expect("sample with noise");
        assert_eq!(
            out, again,
            "{precision:?}: sample_into and sample_with_noise disagree"
        );
    }

    let size = |p: Precision, role| manifest.graph(role, p).expect("graph").bytes as f64;
    for role in [
        edgevae_runtime::core::GraphRole::Sampler,
        edgevae_runtime::core::GraphRole::Filter,
    ] {
        for p in [Precision::Fp16, Precision::Fp16w] {
            let ratio = size(p, role) / size(Precision::Fp32, role);
            assert!(ratio <= 0.51, "{p:?} {role:?} is {ratio:.3} of fp32");
        }
    }
}

#[test]
fn runtime_refuses_tampered_or_mismatched_model_directories() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let run = trained_run(&tmp.path().join("run"));
    let model_dir = tmp.path().join("model");
    export_run(&run, &model_dir, &[Precision::Fp32], None).expect("export");

    // A flipped byte in the graph: checksum error naming the file.
    let graph = model_dir.join("sampler_fp32.onnx");
    let mut bytes = std::fs::read(&graph).expect("read");
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&graph, &bytes).expect("write");
    let err = ModelDir::open(&model_dir, options(Precision::Fp32))
        .and_then(|m| m.sampler())
        .err()
        .expect("tampered graph must fail");
    assert!(matches!(err, RuntimeError::Checksum { .. }), "{err}");
    assert!(err.to_string().contains("sampler_fp32.onnx"));
    bytes[last] ^= 0xff;
    std::fs::write(&graph, &bytes).expect("write");

    // A precision the directory does not have.
    let err = ModelDir::open(&model_dir, options(Precision::Fp16))
        .and_then(|m| m.sampler())
        .err()
        .expect("missing");
    assert!(matches!(err, RuntimeError::MissingGraph { .. }), "{err}");

    // A manifest whose dimensions disagree with the graph.
    let manifest_path = model_dir.join("manifest.json");
    let text = std::fs::read_to_string(&manifest_path).expect("manifest");
    std::fs::write(
        &manifest_path,
        text.replace("\"latent\": 6", "\"latent\": 7"),
    )
    .expect("write");
    let err = ModelDir::open(&model_dir, options(Precision::Fp32))
        .and_then(|m| m.sampler())
        .err()
        .expect("dims");
    assert!(matches!(err, RuntimeError::GraphMismatch { .. }), "{err}");
    assert!(err.to_string().contains("[N, 7]"), "{err}");

    // An unknown format version.
    std::fs::write(
        &manifest_path,
        text.replace("\"format_version\": 1", "\"format_version\": 9"),
    )
    .expect("write");
    let err = ModelDir::open(&model_dir, options(Precision::Fp32)).expect_err("version");
    assert!(err.to_string().contains("format version 9"), "{err}");
    std::fs::write(&manifest_path, &text).expect("restore");

    // Wrong buffer length through the Rust API.
    let model = ModelDir::open(&model_dir, options(Precision::Fp32)).expect("open");
    let mut sampler = model.sampler().expect("sampler");
    let mut short = vec![0.0f32; 10];
    assert!(matches!(
        sampler.sample_into(2, 0, &mut short),
        Err(RuntimeError::Buffer(_))
    ));
}

#[test]
fn unavailable_providers_fall_back_to_cpu_unless_strict() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let run = trained_run(&tmp.path().join("run"));
    let model_dir = tmp.path().join("model");
    export_run(&run, &model_dir, &[Precision::Fp32], None).expect("export");
    let mut opts = options(Precision::Fp32);
    opts.providers = vec![Provider::TensorRt, Provider::Cuda, Provider::Cpu];
    let model = ModelDir::open(&model_dir, opts.clone()).expect("open");
    let sampler = model.sampler().expect("falls back");
    assert_eq!(sampler.provider().active, Provider::Cpu);
    assert_eq!(
        sampler.provider().skipped,
        vec![Provider::TensorRt, Provider::Cuda]
    );
    assert!(sampler.provider().describe().contains("fell back"));
    opts.strict = true;
    let err = ModelDir::open(&model_dir, opts)
        .and_then(|m| m.sampler())
        .err()
        .expect("strict");
    assert!(
        matches!(
            err,
            RuntimeError::ProviderUnavailable {
                provider: "tensorrt"
            }
        ),
        "{err}"
    );
}
