//! Real-valued data in raw units (mean 50, spread about 10) are standardised for training and
//! come back in their own units everywhere: the run's samples and reconstructions, the exported
//! graphs' samples, reconstructions and cleaned rows (ONNX Runtime), with the standardisation
//! in config.json and manifest.json. (The C ABI reads the same graphs: python/tests checks it
//! through the Python binding.)

mod common;

use candle_core::Device;
use edgevae_runtime::core::Precision;
use edgevae_runtime::{FilterOutput, ModelDir, RuntimeOptions};
use edgevae_trainer::data::{load_splits, npy, DataSource, LoadOptions};
use edgevae_trainer::export::calibration::validation_rows;
use edgevae_trainer::export::{calibrate, export_run, CalibrationOptions};
use edgevae_trainer::train::{train, Flow, LoadedRun};

fn mean_sd(v: &[f32]) -> (f64, f64) {
    let n = v.len() as f64;
    let m = v.iter().map(|&x| f64::from(x)).sum::<f64>() / n;
    let var = v.iter().map(|&x| (f64::from(x) - m).powi(2)).sum::<f64>() / n;
    (m, var.sqrt())
}

#[test]
fn raw_units_round_trip_through_training_export_and_the_runtime() {
    let tmp = tempfile::tempdir().expect("temp dir");
    // Manifold rows (unit scale) moved to mean 50 and spread 10, saved as a user's .npy.
    let unit = load_splits(
        &DataSource::parse("manifold:n=800,k=2,d=20").expect("spec"),
        &LoadOptions {
            seed: 1,
            val_fraction: 0.1,
            corrupt: None,
            limit: None,
        },
    )
    .expect("manifold")
    .train;
    let (m0, s0) = mean_sd(&unit.values());
    let raw: Vec<f32> = unit
        .values()
        .iter()
        .map(|&v| ((f64::from(v) - m0) / s0 * 10.0 + 50.0) as f32)
        .collect();
    let path = tmp.path().join("raw.npy");
    std::fs::write(
        &path,
        npy::encode_f32(&[unit.len(), unit.dim], &raw).expect("npy"),
    )
    .expect("write");

    let run_dir = tmp.path().join("run");
    let mut config = common::manifold_config(3, path.to_str().expect("utf-8"), true, 6);
    config.schedule2.epochs = 4;
    train(&common::request(&run_dir, config, false), &mut |_| {
        Flow::Continue
    })
    .expect("train");
    let run = LoadedRun::open(&run_dir, &Device::Cpu, false).expect("open run");
    let s = run
        .config
        .standardization
        .expect("real data are standardised");
    assert!((s.center - 50.0).abs() < 3.0, "{s:?}");
    assert!(s.scale > 4.0 && s.scale < 20.0, "{s:?}");

    // The run, in data units.
    let drawn = run.sample_two_stage(400, 1).expect("samples");
    let (m, sd) = mean_sd(&drawn);
    assert!(
        (m - 50.0).abs() < 5.0 && sd > 3.0 && sd < 30.0,
        "run samples: mean {m}, sd {sd}"
    );
    let rows = validation_rows(&run).expect("validation rows");
    let recon = run.reconstruct(&rows.values()).expect("reconstruct");
    let (m, _) = mean_sd(&recon);
    assert!((m - 50.0).abs() < 5.0, "run reconstructions: mean {m}");

    // The exported graphs, in data units, and the manifest carries the standardisation.
    let thresholds = calibrate(&run, &rows, &CalibrationOptions::default()).expect("calibrate");
    let model_dir = tmp.path().join("model");
    let manifest = export_run(
        &run,
        &model_dir,
        &[Precision::Fp32, Precision::Fp16],
        Some(thresholds),
    )
    .expect("export");
    assert_eq!(manifest.standardization, Some(s));
    let text = std::fs::read_to_string(model_dir.join("manifest.json")).expect("manifest");
    assert!(text.contains("\"standardization\""), "{text}");

    for (precision, tolerance) in [(Precision::Fp32, 1e-4f32), (Precision::Fp16, 0.2)] {
        let options = RuntimeOptions {
            precision,
            ..RuntimeOptions::default()
        };
        let model = ModelDir::open(&model_dir, options).expect("model");
        let (n, d) = (50, model.input_dim());
        let mut samples = vec![0f32; n * d];
        model
            .sampler()
            .expect("sampler")
            .sample_into(n, 1, &mut samples)
            .expect("sample");
        let reference = run.sample_two_stage(n, 1).expect("candle samples");
        let worst = samples
            .iter()
            .zip(&reference)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        assert!(
            worst <= tolerance,
            "{precision:?}: samples differ from candle's by {worst}"
        );

        // Rows with planted outliers 8 spreads out: masked, cleaned to data-unit values.
        let m = 20;
        let mut x = rows.values()[..m * d].to_vec();
        for v in x.iter_mut().step_by(11) {
            *v += 8.0 * s.scale;
        }
        let mut out = FilterOutput::new(m, d);
        model
            .filter()
            .expect("filter")
            .filter_into(&x, m, 2, &mut out)
            .expect("filter");
        let planted = (0..m * d)
            .step_by(11)
            .filter(|&i| out.mask()[i] == 1)
            .count();
        assert!(
            planted * 10 >= 9 * (m * d).div_ceil(11),
            "{precision:?}: {planted} planted masked"
        );
        let recon_err: f64 = (0..m * d)
            .step_by(11)
            .map(|i| f64::from((out.cleaned()[i] - rows.values()[i]).abs()))
            .sum::<f64>()
            / (m * d).div_ceil(11) as f64;
        // In model units (the graphs not undoing the standardisation) they would be about 50
        // off: five spreads. A small model trained briefly is within one.
        assert!(
            recon_err < f64::from(s.scale),
            "{precision:?}: cleaned values are {recon_err} from the clean ones on average"
        );
    }
}
