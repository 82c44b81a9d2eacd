//! The micro backend against ONNX Runtime on the same exported model and the same inputs: a
//! pixel model (sigmoid output, two hidden layers) and a robust real-valued model
//! (standardised, variance head), in every micro precision; and the arena's exact size.

mod common;

use std::path::Path;

use candle_core::Device;
use edgevae_runtime::core::{GaussianRng, GraphRole, Manifest, MicroPrecision, Precision};
use edgevae_runtime::micro::{
    required_arena, FilterGraphOutput, MicroError, MicroFilterOutput, MicroModel,
};
use edgevae_runtime::{FilterOutput, ModelDir, RuntimeOptions};
use edgevae_trainer::export::calibration::validation_rows;
use edgevae_trainer::export::{calibrate, export, micro_file, CalibrationOptions};
use edgevae_trainer::model::{DecoderKind, RobustConfig};
use edgevae_trainer::train::{train, Flow, LoadedRun};

/// |a - b| / max(1, |b|), the largest over the values.
fn max_scaled_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs() / y.abs().max(1.0))
        .fold(0.0, f32::max)
}

/// Tolerances against ONNX Runtime: fp32 blobs against the fp32 graphs, fp16 blobs against the
/// fp16w graphs (the same fp16-rounded weights, f32 arithmetic), int8 blobs against the fp32
/// graphs: the bound measured on these models (docs/micro-format.md), with a margin; and int8
/// blobs against the int8 graphs (the same int8 weights and scales; ONNX Runtime also rounds
/// each layer's input to uint8, the micro backend keeps it f32: measured 1.5e-2).
const TOLERANCES: [(MicroPrecision, Precision, f32); 4] = [
    (MicroPrecision::Fp32, Precision::Fp32, 1e-5),
    (MicroPrecision::Fp16, Precision::Fp16w, 1e-3),
    (MicroPrecision::Int8, Precision::Fp32, 2e-2),
    (MicroPrecision::Int8, Precision::Int8, 5e-2),
];

/// Trains `config` in `dir/run`, calibrates on its validation rows and exports fp32, fp16w and
/// int8 graphs and every micro blob to `dir/model`.
fn exported(dir: &Path, config: edgevae_trainer::train::TrainConfig) -> (Vec<f32>, usize) {
    let run_dir = dir.join("run");
    train(&common::request(&run_dir, config, false), &mut |_| {
        Flow::Continue
    })
    .expect("train");
    let run = LoadedRun::open(&run_dir, &Device::Cpu, false).expect("open run");
    let rows = validation_rows(&run).expect("validation rows");
    let thresholds = calibrate(&run, &rows, &CalibrationOptions::default()).expect("calibrate");
    export(
        &run,
        &dir.join("model"),
        &[Precision::Fp32, Precision::Fp16w, Precision::Int8],
        &MicroPrecision::ALL,
        Some(thresholds),
    )
    .expect("export");
    (rows.values().into_owned(), rows.len())
}

fn manifest(model_dir: &Path) -> Manifest {
    Manifest::parse(&std::fs::read(model_dir.join("manifest.json")).expect("manifest"))
        .expect("parse manifest")
}

/// A blob read into 16-byte-aligned memory, as firmware places it.
fn aligned_blob(path: &Path) -> Vec<u128> {
    let bytes = std::fs::read(path).expect("blob");
    let mut words = vec![0u128; bytes.len().div_ceil(16)];
    bytemuck::cast_slice_mut::<u128, u8>(&mut words)[..bytes.len()].copy_from_slice(&bytes);
    words
}

fn blob_bytes(words: &[u128], len: usize) -> &[u8] {
    &bytemuck::cast_slice::<u128, u8>(words)[..len]
}

fn arena_for(manifest: &Manifest, role: GraphRole, rows: usize) -> Vec<u32> {
    vec![0u32; required_arena(manifest, role, rows).expect("arena size") / 4]
}

fn check_model(model_dir: &Path, x: &[f32], n: usize) {
    let m = manifest(model_dir);
    let (d, k) = (m.input_dim as usize, m.latent as usize);
    let x = &x[..n * d];
    let mut rng = GaussianRng::new(5);
    let (mut u, mut eps) = (vec![0.0f32; n * k], vec![0.0f32; n * k]);
    rng.fill_normal(&mut u);
    rng.fill_normal(&mut eps);
    for (micro, onnx, tolerance) in TOLERANCES {
        let ort = ModelDir::open(
            model_dir,
            RuntimeOptions {
                precision: onnx,
                ..RuntimeOptions::default()
            },
        )
        .expect("open model");

        // Sampler: caller noise, then seeded noise (the same draw order as ONNX Runtime's).
        let path = model_dir.join(micro_file(GraphRole::Sampler, micro));
        let words = aligned_blob(&path);
        let len = std::fs::metadata(&path).expect("blob size").len() as usize;
        let sampler = MicroModel::from_blob(blob_bytes(&words, len), &m).expect("sampler blob");
        let mut arena = arena_for(&m, GraphRole::Sampler, 3);
        let arena = bytemuck::cast_slice_mut(&mut arena);
        let mut ort_sampler = ort.sampler().expect("ort sampler");
        let (mut want, mut got) = (vec![0.0f32; n * d], vec![0.0f32; n * d]);
        ort_sampler
            .sample_with_noise(n, &u, &eps, &mut want)
            .expect("ort sample");
        sampler
            .sample_with_noise(arena, n, &u, &eps, &mut got)
            .expect("micro sample");
        let diff = max_scaled_diff(&got, &want);
        eprintln!("{micro:?}/{onnx:?} sampler: max scaled difference {diff:.2e}");
        assert!(diff <= tolerance, "{micro:?} sampler: {diff} > {tolerance}");
        ort_sampler
            .sample_into(n, 11, &mut want)
            .expect("ort sample");
        sampler
            .sample_into(arena, n, 11, &mut got)
            .expect("micro sample");
        let diff = max_scaled_diff(&got, &want);
        assert!(
            diff <= tolerance,
            "{micro:?} seeded sampler: {diff} > {tolerance}"
        );

        // Filter: the graph's outputs, then scores, masks and cleaned rows over two passes.
        let path = model_dir.join(micro_file(GraphRole::Filter, micro));
        let words = aligned_blob(&path);
        let len = std::fs::metadata(&path).expect("blob size").len() as usize;
        let filter = MicroModel::from_blob(blob_bytes(&words, len), &m).expect("filter blob");
        let mut arena = arena_for(&m, GraphRole::Filter, 4);
        let arena = bytemuck::cast_slice_mut(&mut arena);
        let mut ort_filter = ort.filter().expect("ort filter");
        let reference = ort_filter.graph_outputs(x, n).expect("ort graph");
        let (mut z_mean, mut z_log_var) = (vec![0.0f32; n * k], vec![0.0f32; n * k]);
        let (mut x_mean, mut x_log_var) = (vec![0.0f32; n * d], vec![0.0f32; n * d]);
        filter
            .filter_graph(
                arena,
                x,
                n,
                FilterGraphOutput {
                    z_mean: &mut z_mean,
                    z_log_var: &mut z_log_var,
                    x_mean: &mut x_mean,
                    x_log_var: m.robust.then_some(&mut x_log_var[..]),
                },
            )
            .expect("micro filter graph");
        let mine: Vec<&[f32]> = [&z_mean[..], &z_log_var, &x_mean, &x_log_var]
            .into_iter()
            .take(reference.len())
            .collect();
        for ((name, want), got) in reference.iter().zip(&mine) {
            let diff = max_scaled_diff(got, want);
            eprintln!("{micro:?}/{onnx:?} filter {name}: max scaled difference {diff:.2e}");
            assert!(
                diff <= tolerance,
                "{micro:?} filter {name}: {diff} > {tolerance}"
            );
        }
        let mut ort_out = FilterOutput::new(n, d);
        ort_filter
            .filter_into(x, n, 2, &mut ort_out)
            .expect("ort filter");
        let (mut scores, mut element_scores) = (vec![0.0f32; n], vec![0.0f32; n * d]);
        let (mut mask, mut cleaned, mut reconstruction) =
            (vec![0u8; n * d], vec![0.0f32; n * d], vec![0.0f32; n * d]);
        filter
            .filter_into(
                arena,
                x,
                n,
                2,
                MicroFilterOutput {
                    scores: &mut scores,
                    element_scores: &mut element_scores,
                    mask: &mut mask,
                    cleaned: &mut cleaned,
                    reconstruction: &mut reconstruction,
                },
            )
            .expect("micro filter");
        let diff = max_scaled_diff(&reconstruction, ort_out.reconstruction());
        assert!(
            diff <= tolerance,
            "{micro:?} reconstruction: {diff} > {tolerance}"
        );
        let differ = mask
            .iter()
            .zip(ort_out.mask())
            .filter(|(a, b)| a != b)
            .count();
        eprintln!(
            "{micro:?}/{onnx:?} mask: {differ} of {} elements differ",
            n * d
        );
        if micro == MicroPrecision::Fp32 {
            // Only an element within rounding of the threshold can flip.
            assert!(
                differ * 1000 <= n * d,
                "{differ} of {} mask elements differ",
                n * d
            );
            let diff = max_scaled_diff(&scores, ort_out.scores());
            assert!(diff <= 1e-3, "fp32 scores: {diff}");
        } else {
            assert!(
                differ * 20 <= n * d,
                "{micro:?}: {differ} of {} mask elements differ",
                n * d
            );
        }
    }
}

#[test]
fn pixel_model_blobs_match_onnx_runtime_in_every_precision() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let config = common::tiny_config(31, &[48, 24], 6, 16);
    let (x, n) = exported(tmp.path(), config);
    check_model(&tmp.path().join("model"), &x, n.min(24));
}

#[test]
fn robust_real_valued_model_blobs_match_onnx_runtime_in_every_precision() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let config = common::manifold_config(7, "manifold:n=400,k=2,d=12", true, 8);
    let (x, n) = exported(tmp.path(), config);
    let m = manifest(&tmp.path().join("model"));
    assert!(m.robust && m.standardization.is_some());
    check_model(&tmp.path().join("model"), &x, n.min(24));
}

/// `required_arena` is exact: with its size for one row both blobs run, with one byte less
/// they fail; for b rows it holds b rows per pass and one byte less b - 1; and the results do
/// not depend on the arena's size.
#[test]
fn required_arena_is_exact_and_results_do_not_depend_on_it() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let config = common::tiny_config(32, &[40], 5, 12);
    let (x, n) = exported(tmp.path(), config);
    let model_dir = tmp.path().join("model");
    let m = manifest(&model_dir);
    let d = m.input_dim as usize;
    let n = n.min(9);
    let x = &x[..n * d];
    for role in [GraphRole::Sampler, GraphRole::Filter] {
        let path = model_dir.join(micro_file(role, MicroPrecision::Fp32));
        let words = aligned_blob(&path);
        let len = std::fs::metadata(&path).expect("blob size").len() as usize;
        let model = MicroModel::from_blob(blob_bytes(&words, len), &m).expect("blob");
        for rows in [1, 4, 7] {
            let bytes = required_arena(&m, role, rows).expect("size");
            assert_eq!(model.required_arena(rows), Ok(bytes));
            assert_eq!(model.rows_per_pass(bytes), rows, "{role:?}");
            assert_eq!(model.rows_per_pass(bytes - 1), rows - 1, "{role:?}");
        }
        let run = |arena: &mut [u8]| -> Result<Vec<f32>, MicroError> {
            let mut out = vec![0.0f32; n * d];
            match role {
                GraphRole::Sampler => model.sample_into(arena, n, 3, &mut out)?,
                GraphRole::Filter => {
                    let (mut s, mut e, mut mask, mut c) = (
                        vec![0.0; n],
                        vec![0.0; n * d],
                        vec![0u8; n * d],
                        vec![0.0; n * d],
                    );
                    model.filter_into(
                        arena,
                        x,
                        n,
                        2,
                        MicroFilterOutput {
                            scores: &mut s,
                            element_scores: &mut e,
                            mask: &mut mask,
                            cleaned: &mut c,
                            reconstruction: &mut out,
                        },
                    )?;
                    out.extend(s);
                }
            }
            Ok(out)
        };
        let one = required_arena(&m, role, 1).expect("size");
        let mut buffer = vec![0u32; required_arena(&m, role, 4).expect("size") / 4 + 1];
        let bytes: &mut [u8] = bytemuck::cast_slice_mut(&mut buffer);
        let with_one = run(&mut bytes[..one]).expect("one-row arena");
        assert_eq!(
            run(&mut bytes[..one - 1]),
            Err(MicroError::ArenaTooSmall {
                needed: one,
                given: one - 1
            })
        );
        let four = required_arena(&m, role, 4).expect("size");
        assert_eq!(run(&mut bytes[..four]).expect("four-row arena"), with_one);
        // A misaligned arena is refused, not read unaligned.
        assert_eq!(
            run(&mut bytes[1..one + 1]),
            Err(MicroError::ArenaMisaligned { offset: 1 })
        );
    }
}

/// A conv-decoder model has no micro blobs: the export says so and writes nothing.
#[test]
fn a_conv_model_is_refused_with_a_clear_error() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut config = common::tiny_config(33, &[32], 4, 8);
    config.stage1.decoder = DecoderKind::Conv;
    config.stage1.conv_channels = vec![4, 4];
    config.stage1.robust = Some(RobustConfig::default());
    let run_dir = tmp.path().join("run");
    train(&common::request(&run_dir, config, false), &mut |_| {
        Flow::Continue
    })
    .expect("train");
    let run = LoadedRun::open(&run_dir, &Device::Cpu, false).expect("open run");
    let model_dir = tmp.path().join("model");
    let err = export(
        &run,
        &model_dir,
        &[Precision::Fp32],
        &[MicroPrecision::Int8],
        None,
    )
    .expect_err("a conv model has no micro blob");
    assert!(
        err.to_string().contains("micro blobs are for MLP models"),
        "{err}"
    );
    assert!(!model_dir.join("manifest.json").exists());
}
