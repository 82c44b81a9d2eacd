//! Exported ONNX graphs run through edgevae-runtime (ONNX Runtime, CPU) against the candle model
//! on the same inputs, in every precision; file sizes; and the runtime's checks of a model
//! directory. Needs the ONNX Runtime library: `scripts/fetch-onnxruntime.sh`.

use std::path::Path;

use candle_core::{Device, Tensor};
use edgevae_runtime::core::{GaussianRng, Precision};
use edgevae_runtime::{FilterOutput, ModelDir, Provider, RuntimeError, RuntimeOptions};
use edgevae_trainer::data::{load_splits, standardize, Dataset};
use edgevae_trainer::export::calibration::validation_rows;
use edgevae_trainer::export::{calibrate, export_run, graphs, CalibrationOptions};
use edgevae_trainer::model::{Decoder, DecoderKind, Encoder, EncoderKind, RobustConfig};
use edgevae_trainer::train::{train, Flow, LoadedRun};

mod common;

/// int8 against candle's fp32: weights rounded to 1/254 of each output column's range and
/// activations to 1/255 of each tensor's. Measured on these models (2026-12-04, AMD EPYC
/// `lscpu` model 2): samples 2.6e-3, filter outputs 5.9e-2 (the robust model's codes, scaled
/// by max(1, |value|)).
const INT8_SAMPLE_TOLERANCE: f32 = 1e-2;
const INT8_FILTER_TOLERANCE: f32 = 0.1;

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

/// Samples through the runtime in every precision against the candle model on the same noise
/// (fp32 within 1e-5, fp16w 1e-3, fp16 3e-3); returns candle's samples for seed 99, 17 rows.
fn assert_sampler_matches_candle(run: &LoadedRun, model_dir: &Path) -> Vec<f32> {
    let (n, k, d, seed) = (
        17,
        run.config.stage1.latent,
        run.config.stage1.input_dim,
        99,
    );
    // The runtime's documented noise order: u, then eps, from GaussianRng::new(seed).
    let mut rng = GaussianRng::new(seed);
    let mut u = vec![0.0f32; n * k];
    let mut eps = vec![0.0f32; n * k];
    rng.fill_normal(&mut u);
    rng.fill_normal(&mut eps);
    let reference = graphs::reference_sample(
        run,
        &Tensor::from_slice(&u, (n, k), &Device::Cpu).expect("u"),
        &Tensor::from_slice(&eps, (n, k), &Device::Cpu).expect("eps"),
    )
    .and_then(|t| Ok(t.flatten_all()?.to_vec1::<f32>()?))
    .expect("candle");

    for (precision, tolerance) in [
        (Precision::Fp32, 1e-5),
        (Precision::Fp16w, 1e-3),
        (Precision::Fp16, 3e-3),
        (Precision::Int8, INT8_SAMPLE_TOLERANCE),
    ] {
        let model = ModelDir::open(model_dir, options(precision)).expect("open model");
        let mut sampler = model.sampler().expect("sampler");
        let mut out = vec![0.0f32; n * d];
        sampler.sample_into(n, seed, &mut out).expect("sample");
        let diff = max_abs_diff(&out, &reference);
        eprintln!("sampler {precision:?}: max abs diff {diff}");
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
    reference
}

#[test]
fn exported_sampler_matches_candle_in_every_precision() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let run = trained_run(&tmp.path().join("run"));
    let model_dir = tmp.path().join("model");
    let manifest = export_run(&run, &model_dir, &Precision::ALL, None).expect("export");
    assert_eq!(manifest.graphs.len(), 8);

    let (n, d, seed) = (17, 784, 99);
    let reference = assert_sampler_matches_candle(&run, &model_dir);

    // The fast-open configuration (no weight prepacking, one thread) computes the same samples.
    let fast_open = RuntimeOptions {
        prepack_weights: false,
        threads: Some(1),
        ..options(Precision::Fp32)
    };
    let model = ModelDir::open(&model_dir, fast_open).expect("open model without prepacking");
    let mut out = vec![0.0f32; n * d];
    model
        .sampler()
        .expect("sampler")
        .sample_into(n, seed, &mut out)
        .expect("sample");
    let diff = max_abs_diff(&out, &reference);
    assert!(diff <= 1e-5, "without prepacking: max abs diff {diff}");

    // One noise source: the run samples (`edgevae sample --run`) what the exported model samples
    // (`edgevae sample --model`) for the same seed. They used to draw from two different RNGs.
    let from_run = run.sample_two_stage(n, seed).expect("sample the run");
    let diff = max_abs_diff(&from_run, &reference);
    assert!(
        diff <= 1e-5,
        "sample --run against sample --model: max abs diff {diff}"
    );

    let size = |p: Precision, role| manifest.graph(role, p).expect("graph").bytes as f64;
    for role in [
        edgevae_runtime::core::GraphRole::Sampler,
        edgevae_runtime::core::GraphRole::Filter,
    ] {
        for (p, most) in [
            (Precision::Fp16, 0.51),
            (Precision::Fp16w, 0.51),
            (Precision::Int8, 0.3),
        ] {
            let ratio = size(p, role) / size(Precision::Fp32, role);
            assert!(ratio <= most, "{p:?} {role:?} is {ratio:.3} of fp32");
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
        text.replace("\"format_version\": 2", "\"format_version\": 9"),
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
                provider: "tensorrt",
                ..
            }
        ),
        "{err}"
    );
}

/// A robust model trained on clean real-valued manifold data (k = 2 in d = 20), `epochs` of
/// stage 1.
fn trained_robust_run(dir: &Path, epochs: usize) -> LoadedRun {
    let config = common::manifold_config(17, "manifold:n=1000,k=2,d=20", true, epochs);
    train(&common::request(dir, config, false), &mut |_| {
        Flow::Continue
    })
    .expect("train");
    LoadedRun::open(dir, &Device::Cpu, false).expect("open run")
}

/// Largest |a - b| / max(1, |b|): absolute for values up to 1, relative above.
fn max_scaled_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs() / y.abs().max(1.0))
        .fold(0.0, f32::max)
}

fn flat(t: &Tensor) -> Vec<f32> {
    t.flatten_all()
        .and_then(|t| t.to_vec1::<f32>())
        .expect("values")
}

/// The robust filter graph's outputs through the runtime in every precision against the candle
/// model on `rows` (fp32 within 1e-5, fp16w 2e-3, fp16 3e-3, relative above 1), and the
/// filter's reconstruction is the graph's `x_mean`.
fn assert_filter_matches_candle(run: &LoadedRun, model_dir: &Path, rows: &Dataset) {
    // Candle on the same rows: the posterior, and the decoder at the posterior mean. The
    // networks work in model units: real-valued rows are standardised on the way in, and the
    // data-unit outputs mapped back (the graphs do both at their ports).
    let (n, d) = (rows.len(), rows.dim);
    let std = run.config.standardization;
    let mut model_rows = rows.values().into_owned();
    if let Some(s) = &std {
        standardize::to_model(s, &mut model_rows);
    }
    let x = Tensor::from_vec(model_rows, (n, d), &Device::Cpu).expect("x");
    let q = run.stage1.encode(&x).expect("encode");
    let decoded = run.stage1.decode_full(&q.mean).expect("decode");
    let variance = decoded.variance.expect("robust variance");
    let mut x_mean = flat(&decoded.mean);
    let mut x_log_var = flat(&variance.log().expect("log"));
    if let Some(s) = &std {
        standardize::to_data(s, &mut x_mean);
        x_log_var.iter_mut().for_each(|v| *v += s.log_var_offset());
    }
    let reference = [
        ("z_mean", flat(&q.mean)),
        ("z_log_var", flat(&q.log_var)),
        ("x_mean", x_mean),
        ("x_log_var", x_log_var),
    ];

    // Unlike the sampler's pixels, these outputs are unbounded (codes and log-variances up to
    // about 10 in size), so differences are relative above 1. Measured: fp32 4e-7; fp16w and
    // fp16 (computed in fp32 on the CPU provider, so equal) 7.3e-4 at most, over 1e-3 for some
    // earlier versions of the robust loss, hence 2e-3.
    for (precision, tolerance) in [
        (Precision::Fp32, 1e-5),
        (Precision::Fp16w, 2e-3),
        (Precision::Fp16, 3e-3),
        (Precision::Int8, INT8_FILTER_TOLERANCE),
    ] {
        let model = ModelDir::open(model_dir, options(precision)).expect("open model");
        let mut filter = model.filter().expect("filter");
        let outputs = filter.graph_outputs(&rows.values(), n).expect("run graph");
        let names: Vec<&str> = outputs.iter().map(|(name, _)| name.as_str()).collect();
        assert_eq!(names, ["z_mean", "z_log_var", "x_mean", "x_log_var"]);
        for ((name, got), (_, want)) in outputs.iter().zip(&reference) {
            let diff = max_scaled_diff(got, want);
            eprintln!("filter {precision:?} {name}: max scaled diff {diff}");
            assert!(
                diff <= tolerance,
                "{precision:?} {name}: max scaled diff {diff} > {tolerance}"
            );
        }
        // The filter's reconstruction is the graph's x_mean.
        let mut out = FilterOutput::new(n, d);
        filter
            .filter_into(&rows.values(), n, 1, &mut out)
            .expect("filter");
        assert_eq!(out.reconstruction(), &outputs[2].1[..]);
    }
}

#[test]
fn exported_robust_filter_matches_candle_in_every_precision() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let run = trained_robust_run(&tmp.path().join("run"), 40);
    let rows = validation_rows(&run).expect("validation rows");
    let thresholds = calibrate(&run, &rows, &CalibrationOptions::default()).expect("calibration");
    let model_dir = tmp.path().join("model");
    let manifest = export_run(&run, &model_dir, &Precision::ALL, Some(thresholds)).expect("export");
    assert!(manifest.robust);

    assert_filter_matches_candle(&run, &model_dir, &rows);
}

/// The conv decoder (`--decoder conv`) exports as Conv + DepthToSpace: a robust model with a
/// conv decoder on sprites (28 x 28, two doublings from 7 x 7) gives the same samples and
/// filter outputs through ONNX Runtime as in candle, in every precision.
#[test]
fn exported_conv_decoder_graphs_match_candle_in_every_precision() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut config = common::tiny_config(23, &[64], 6, 16);
    config.stage1.decoder = DecoderKind::Conv;
    config.stage1.conv_channels = vec![8, 4];
    config.stage1.robust = Some(RobustConfig::default());
    let dir = tmp.path().join("run");
    train(&common::request(&dir, config, false), &mut |_| {
        Flow::Continue
    })
    .expect("train");
    let run = LoadedRun::open(&dir, &Device::Cpu, false).expect("open run");
    assert!(matches!(run.stage1.decoder, Decoder::Conv(_)));
    let rows = validation_rows(&run).expect("validation rows");
    let thresholds = calibrate(&run, &rows, &CalibrationOptions::default()).expect("calibration");
    let model_dir = tmp.path().join("model");
    let manifest = export_run(&run, &model_dir, &Precision::ALL, Some(thresholds)).expect("export");
    assert!(manifest.robust);
    let graph = std::fs::read(model_dir.join("sampler_fp32.onnx")).expect("sampler file");
    for op in [&b"Conv"[..], b"DepthToSpace", b"Reshape", b"Transpose"] {
        assert!(
            graph.windows(op.len()).any(|w| w == op),
            "the sampler graph has no {}",
            String::from_utf8_lossy(op)
        );
    }

    assert_sampler_matches_candle(&run, &model_dir);
    assert_filter_matches_candle(&run, &model_dir, &rows);
}

/// The conv encoder (`--encoder conv`) exports as SpaceToDepth + Conv: with the conv decoder and
/// with the MLP decoder (both robust, so the filter graph has every output), the filter's
/// outputs and the samples through ONNX Runtime are candle's, in every precision.
#[test]
fn exported_conv_encoder_graphs_match_candle_in_every_precision() {
    for decoder in [DecoderKind::Conv, DecoderKind::Mlp] {
        let tmp = tempfile::tempdir().expect("tempdir");
        let mut config = common::tiny_config(29, &[32], 6, 16);
        config.stage1.encoder = EncoderKind::Conv;
        config.stage1.decoder = decoder;
        config.stage1.conv_channels = vec![8, 4];
        config.stage1.robust = Some(RobustConfig::default());
        let dir = tmp.path().join("run");
        train(&common::request(&dir, config, false), &mut |_| {
            Flow::Continue
        })
        .expect("train");
        let run = LoadedRun::open(&dir, &Device::Cpu, false).expect("open run");
        assert!(matches!(run.stage1.encoder, Encoder::Conv(_)));
        let rows = validation_rows(&run).expect("validation rows");
        let thresholds =
            calibrate(&run, &rows, &CalibrationOptions::default()).expect("calibration");
        let model_dir = tmp.path().join("model");
        let manifest =
            export_run(&run, &model_dir, &Precision::ALL, Some(thresholds)).expect("export");
        assert!(manifest.robust);
        let graph = std::fs::read(model_dir.join("filter_fp32.onnx")).expect("filter file");
        for op in [&b"SpaceToDepth"[..], b"Conv", b"Transpose"] {
            assert!(
                graph.windows(op.len()).any(|w| w == op),
                "{decoder:?}: the filter graph has no {}",
                String::from_utf8_lossy(op)
            );
        }

        assert_sampler_matches_candle(&run, &model_dir);
        assert_filter_matches_candle(&run, &model_dir, &rows);
    }
}

#[test]
fn calibration_round_trips_bit_exactly_and_uncalibrated_models_do_not_filter() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let run = trained_robust_run(&tmp.path().join("run"), 2);
    let rows = validation_rows(&run).expect("validation rows");
    let opts = CalibrationOptions {
        contamination: 0.05,
        element_threshold: Some(12.5),
        ..CalibrationOptions::default()
    };
    let thresholds = calibrate(&run, &rows, &opts).expect("calibration");
    assert_eq!(thresholds.element_noise.len(), 20);
    // A mean log-likelihood score: finite, of either sign.
    assert!(thresholds.score_threshold.is_finite());
    // Without an explicit threshold, the prior and the calibration values' range set it.
    let from_prior = calibrate(&run, &rows, &CalibrationOptions::default()).expect("calibration");
    let (lo, hi) = rows
        .values()
        .iter()
        .fold((f32::MAX, f32::MIN), |(l, h), &v| (l.min(v), h.max(v)));
    let range = f64::from(hi) - f64::from(lo);
    assert_eq!(
        from_prior.element_threshold,
        2.0 * (0.9f64 / 0.1).ln() + 2.0 * range.ln()
    );

    let calibrated = tmp.path().join("calibrated");
    export_run(
        &run,
        &calibrated,
        &[Precision::Fp32],
        Some(thresholds.clone()),
    )
    .expect("export");
    let model = ModelDir::open(&calibrated, options(Precision::Fp32)).expect("open");
    let read = model
        .manifest
        .outlier
        .clone()
        .expect("calibration in the manifest");
    assert_eq!(
        read.score_threshold.to_bits(),
        thresholds.score_threshold.to_bits()
    );
    assert_eq!(read.element_threshold.to_bits(), 12.5f64.to_bits());
    assert_eq!(read.contamination.to_bits(), 0.05f64.to_bits());
    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<u32>>();
    assert_eq!(bits(&read.element_noise), bits(&thresholds.element_noise));
    assert_eq!(read, thresholds);
    let filter = model.filter().expect("a calibrated model filters");
    assert_eq!(filter.thresholds(), &thresholds);

    let uncalibrated = tmp.path().join("uncalibrated");
    let manifest = export_run(&run, &uncalibrated, &[Precision::Fp32], None).expect("export");
    assert!(manifest.outlier.is_none());
    let model = ModelDir::open(&uncalibrated, options(Precision::Fp32)).expect("open");
    let err = model.filter().err().expect("no calibration, no filter");
    assert!(matches!(err, RuntimeError::NotCalibrated { .. }), "{err}");
    // The sampler does not need the calibration.
    model.sampler().expect("sampler");
}

/// `rows` with `per_row` elements of every even row moved by 4 to 6 (either sign; the data have
/// unit variance), at distinct columns drawn from `seed`; returns the corrupted rows and the
/// planted mask.
fn plant_outliers(rows: &Dataset, per_row: usize, seed: u64) -> (Vec<f32>, Vec<bool>) {
    let d = rows.dim;
    let mut rng = GaussianRng::new(seed);
    let mut draw = vec![0.0f32; 3];
    let mut values = rows.values().into_owned();
    let mut planted = vec![false; values.len()];
    for i in (0..rows.len()).step_by(2) {
        let mut placed = 0;
        while placed < per_row {
            rng.fill_normal(&mut draw);
            // A column from a normal draw's low digits, a size in [4, 6], a sign.
            let j = ((draw[0].abs() * 1e5) as usize) % d;
            if planted[i * d + j] {
                continue;
            }
            let size = 4.0 + 2.0 * draw[1].abs().fract();
            values[i * d + j] += size.copysign(draw[2]);
            planted[i * d + j] = true;
            placed += 1;
        }
    }
    (values, planted)
}

/// A calibrated export of a robust model trained on clean manifold rows, the model's test rows
/// (unseen by training and calibration) with 2 of the 20 elements of every even row corrupted,
/// and the planted mask.
struct PlantedCase {
    _tmp: tempfile::TempDir,
    model_dir: std::path::PathBuf,
    clean: Dataset,
    corrupted: Vec<f32>,
    planted: Vec<bool>,
}

fn planted_case() -> PlantedCase {
    let tmp = tempfile::tempdir().expect("tempdir");
    let run = trained_robust_run(&tmp.path().join("run"), 40);
    let rows = validation_rows(&run).expect("validation rows");
    let thresholds = calibrate(&run, &rows, &CalibrationOptions::default()).expect("calibration");
    let model_dir = tmp.path().join("model");
    export_run(&run, &model_dir, &[Precision::Fp32], Some(thresholds)).expect("export");
    let clean = load_splits(
        &run.config.source().expect("source"),
        &run.config.load_options(),
    )
    .expect("splits")
    .test
    .expect("manifold has a test split");
    let (corrupted, planted) = plant_outliers(&clean, 2, 5);
    assert_eq!(
        planted.iter().filter(|&&p| p).count(),
        2 * clean.len().div_ceil(2)
    );
    PlantedCase {
        _tmp: tmp,
        model_dir,
        clean,
        corrupted,
        planted,
    }
}

/// What one filter call did to a [`PlantedCase`].
#[derive(Debug)]
struct Detection {
    /// Planted elements masked.
    recall: f64,
    /// Elements masked in the rows without planted elements.
    false_positives_clean_rows: f64,
    /// Elements masked among the untouched elements of the corrupted rows.
    false_positives_corrupted_rows: f64,
    /// Corrupted and untouched rows whose score is above the score threshold.
    rows_flagged: (f64, f64),
    /// Mean squared error to the clean rows: input, cleaned output.
    mse: (f64, f64),
}

fn detect(case: &PlantedCase, passes: usize) -> Detection {
    let (n, d) = (case.clean.len(), case.clean.dim);
    let model = ModelDir::open(&case.model_dir, options(Precision::Fp32)).expect("open");
    let mut filter = model.filter().expect("filter");
    let mut out = FilterOutput::new(n, d);
    filter
        .filter_into(&case.corrupted, n, passes, &mut out)
        .expect("filter");
    // Fraction of masked elements among those of rows `first, first + 2, ...` that are
    // (`planted_too`) or are not planted.
    let masked = |first: usize, planted_too: bool| {
        let (mut hit, mut of) = (0usize, 0usize);
        for i in (first..n).step_by(2) {
            for k in i * d..(i + 1) * d {
                if case.planted[k] == planted_too {
                    hit += usize::from(out.mask()[k] == 1);
                    of += 1;
                }
            }
        }
        hit as f64 / of as f64
    };
    let flagged = |first: usize| {
        let rows: Vec<usize> = (first..n).step_by(2).collect();
        rows.iter().filter(|&&i| out.is_outlier(i)).count() as f64 / rows.len() as f64
    };
    let mse = |a: &[f32]| {
        a.iter()
            .zip(case.clean.values().iter())
            .map(|(x, y)| f64::from(x - y).powi(2))
            .sum::<f64>()
            / a.len() as f64
    };
    Detection {
        recall: masked(0, true),
        false_positives_clean_rows: masked(1, false),
        false_positives_corrupted_rows: masked(0, false),
        rows_flagged: (flagged(0), flagged(1)),
        mse: (mse(&case.corrupted), mse(out.cleaned())),
    }
}

#[test]
fn filter_finds_planted_outliers_and_cleans_towards_the_clean_rows() {
    let case = planted_case();
    for passes in [1, 3] {
        let r = detect(&case, passes);
        // Measured (1 and 3 passes): recall 1.0, every corrupted row flagged, MSE to the clean
        // rows 1.22 -> 0.23 and 0.20.
        assert!(r.recall >= 0.9, "{passes} passes: {r:?}");
        assert!(r.rows_flagged.0 >= 0.95, "{passes} passes: {r:?}");
        assert!(r.mse.1 < 0.5 * r.mse.0, "{passes} passes: {r:?}");
        if passes == 1 {
            // The score threshold is calibrated on one pass for contamination 0.1; measured 0.12.
            assert!(r.rows_flagged.1 <= 0.2, "{passes} passes: {r:?}");
        }
    }
}

/// Few untouched elements of untouched rows are masked (measured: 0.2 % at 1 pass, 0.4 % at 3).
///
/// Not asserted: untouched elements of the corrupted rows. This tiny model was trained on clean
/// rows, so its encoder is not robust: two planted errors of 4-6 (noise sd about 0.04) move the
/// whole row's reconstruction by many noise standard deviations and most of the row is masked
/// (measured 81 %). Models meant to filter are trained on contaminated data, whose encoder
/// learns to ignore outliers (see the MNIST table in docs/results.md).
#[test]
fn filter_masks_few_untouched_elements_of_clean_rows() {
    let case = planted_case();
    let mut corrupted_rows = Vec::new();
    for passes in [1, 3] {
        let r = detect(&case, passes);
        assert!(
            r.false_positives_clean_rows <= 0.05,
            "{passes} passes: {r:?}"
        );
        corrupted_rows.push(r.false_positives_corrupted_rows);
    }
    // Re-encoding the cleaned rows must not spread the mask further (measured 0.81 -> 0.78).
    assert!(
        corrupted_rows[1] <= corrupted_rows[0] + 0.02,
        "untouched elements of corrupted rows masked at 1 / 3 passes: {corrupted_rows:?}"
    );
}
