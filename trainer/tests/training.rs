//! Model and training-loop behaviour on tiny configurations with fixed seeds: the loss against
//! hand-computed values, the gamma floor, determinism, resume, and divergence handling.

use std::collections::HashMap;
use std::path::Path;

use candle_core::{Device, Tensor};
use edgevae_trainer::model::{vae_loss, DecoderKind, DiagonalGaussian, EncoderKind};
use edgevae_trainer::train::{train, Flow, Outcome, TrainConfig, TrainEvent};
use edgevae_trainer::Error;

mod common;

/// 32 hidden units, 4 latent dimensions, a depth-2 stage 2 of width 32.
fn tiny_config(seed: u64) -> TrainConfig {
    let mut config = common::tiny_config(seed, &[32], 4, 32);
    config.stage2.depth = 2;
    config
}

/// A tiny config whose stage 1 runs 8 epochs at a high constant rate, so gamma moves far.
fn fast_stage1(seed: u64) -> TrainConfig {
    let mut config = tiny_config(seed);
    config.schedule1.lr = 1e-2;
    config.schedule1.epochs = 8;
    config.schedule1.halve_every = 0;
    config.schedule2.epochs = 1;
    config
}

use common::request;

fn run_to_end(dir: &Path, config: TrainConfig, resume: bool) -> edgevae_trainer::Result<Outcome> {
    train(&request(dir, config, resume), &mut |_| Flow::Continue)
}

/// Every tensor of both stages' latest checkpoints, by name.
fn checkpoint_tensors(dir: &Path) -> HashMap<String, Vec<f32>> {
    let state = edgevae_trainer::train::read_state(dir).expect("state");
    let mut out = HashMap::new();
    for p in [&state.stage1, &state.stage2] {
        let name = p.checkpoint.as_ref().expect("checkpoint");
        let tensors =
            candle_core::safetensors::load(dir.join("checkpoints").join(name), &Device::Cpu)
                .expect("load");
        for (k, t) in tensors {
            out.insert(
                k,
                t.flatten_all()
                    .and_then(|t| t.to_vec1::<f32>())
                    .expect("values"),
            );
        }
    }
    out
}

#[test]
fn loss_and_kl_match_hand_computed_values() -> edgevae_trainer::Result<()> {
    let dev = Device::Cpu;
    let x = Tensor::new(&[[0.0f32, 1.0, 0.5], [1.0, 0.0, 0.25]], &dev)?;
    let mean_x = Tensor::new(&[[0.1f32, 0.9, 0.5], [0.8, 0.2, 0.25]], &dev)?;
    let log_gamma = Tensor::new(0.5f32.ln(), &dev)?;
    let q = DiagonalGaussian {
        mean: Tensor::new(&[[0.0f32, 0.0], [1.0, 0.0]], &dev)?,
        log_var: Tensor::new(&[[0.0f32, 2.0f32.ln()], [0.0, 0.0]], &dev)?,
    };
    let parts = vae_loss(&x, &mean_x, &log_gamma, &q)?;
    // Squared errors per row 0.02 and 0.08, mean 0.05: 0.05 / (2 * 0.5) + 1.5 ln 0.5 + 1.5 ln 2pi.
    let nll = 0.05 + 1.5 * 0.5f64.ln() + 1.5 * (2.0 * std::f64::consts::PI).ln();
    // Row 1: 0.5 (0 + (2 - ln 2 - 1)); row 2: 0.5 (1 + 0).
    let kl = (0.5 * (1.0 - 2.0f64.ln()) + 0.5) / 2.0;
    let got_nll = f64::from(parts.nll.to_scalar::<f32>()?);
    let got_kl = f64::from(parts.kl.to_scalar::<f32>()?);
    let got_total = f64::from(parts.total.to_scalar::<f32>()?);
    assert!((got_nll - nll).abs() < 1e-5, "nll {got_nll} vs {nll}");
    assert!((got_kl - kl).abs() < 1e-6, "kl {got_kl} vs {kl}");
    assert!((got_total - (nll + kl)).abs() < 1e-5);
    assert!((f64::from(parts.mse.to_scalar::<f32>()?) - 0.1 / 6.0).abs() < 1e-7);
    Ok(())
}

#[test]
fn gamma_never_goes_below_its_floor() -> edgevae_trainer::Result<()> {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = fast_stage1(3);
    // Reconstruction error of sprites is far below 0.2 after a few steps, so gamma is pushed
    // down to the floor and must stop there.
    config.stage1.gamma_floor = 0.2;
    run_to_end(dir.path(), config, false)?;
    let state = edgevae_trainer::train::read_state(dir.path())?;
    let gammas: Vec<f64> = state.stage1.history.iter().map(|r| r.gamma).collect();
    assert!(
        gammas.iter().all(|&g| g >= 0.2 * (1.0 - 1e-6)),
        "{gammas:?}"
    );
    assert!(
        (gammas[gammas.len() - 1] - 0.2).abs() < 1e-6,
        "gamma should sit on the floor: {gammas:?}"
    );
    let saved = checkpoint_tensors(dir.path());
    let log_gamma = saved["stage1.log_gamma"][0];
    assert!((f64::from(log_gamma) - 0.2f64.ln()).abs() < 1e-6);
    Ok(())
}

#[test]
fn gamma_falls_far_below_its_start_on_sprites() -> edgevae_trainer::Result<()> {
    let dir = tempfile::tempdir().expect("tempdir");
    run_to_end(dir.path(), fast_stage1(5), false)?;
    let state = edgevae_trainer::train::read_state(dir.path())?;
    let last = state.stage1.last().expect("history");
    assert!(last.gamma < 0.2, "gamma {} did not fall", last.gamma);
    assert!(last.train_loss < state.stage1.history[0].train_loss);
    Ok(())
}

#[test]
fn same_seed_gives_identical_weights_and_another_seed_does_not() -> edgevae_trainer::Result<()> {
    let a = tempfile::tempdir().expect("tempdir");
    let b = tempfile::tempdir().expect("tempdir");
    let c = tempfile::tempdir().expect("tempdir");
    run_to_end(a.path(), tiny_config(7), false)?;
    run_to_end(b.path(), tiny_config(7), false)?;
    run_to_end(c.path(), tiny_config(8), false)?;
    let (wa, wb, wc) = (
        checkpoint_tensors(a.path()),
        checkpoint_tensors(b.path()),
        checkpoint_tensors(c.path()),
    );
    assert!(wa.len() > 10);
    assert_eq!(wa, wb, "same seed, different weights");
    assert_ne!(wa["stage1.encoder.0.weight"], wc["stage1.encoder.0.weight"]);
    Ok(())
}

/// Stops the run at the end of `(stage, epoch)`.
fn stop_at(
    dir: &Path,
    config: TrainConfig,
    stage: u8,
    epoch: usize,
) -> edgevae_trainer::Result<Outcome> {
    train(&request(dir, config, false), &mut |e| match e {
        TrainEvent::EpochEnd { stage: s, record } if *s == stage && record.epoch == epoch => {
            Flow::Stop
        }
        _ => Flow::Continue,
    })
}

#[test]
fn resumed_training_equals_uninterrupted_training() -> edgevae_trainer::Result<()> {
    let whole = tempfile::tempdir().expect("tempdir");
    run_to_end(whole.path(), tiny_config(11), false)?;
    let expected = checkpoint_tensors(whole.path());
    for (stage, epoch) in [(1u8, 0usize), (2, 0)] {
        let dir = tempfile::tempdir().expect("tempdir");
        let stopped = stop_at(dir.path(), tiny_config(11), stage, epoch)?;
        assert!(matches!(stopped, Outcome::Stopped(_)));
        let state = edgevae_trainer::train::read_state(dir.path())?;
        assert_eq!(state.stage(stage).epochs_done, epoch + 1);
        let finished = run_to_end(dir.path(), tiny_config(11), true)?;
        assert!(matches!(finished, Outcome::Finished(_)));
        assert_eq!(
            checkpoint_tensors(dir.path()),
            expected,
            "resume after stage {stage} epoch {epoch}"
        );
        // Only the latest checkpoint of each stage is kept.
        let files = std::fs::read_dir(dir.path().join("checkpoints"))
            .expect("dir")
            .count();
        assert_eq!(files, 2);
    }
    Ok(())
}

#[test]
fn resume_can_extend_epochs_but_not_change_the_model() -> edgevae_trainer::Result<()> {
    let dir = tempfile::tempdir().expect("tempdir");
    run_to_end(dir.path(), tiny_config(1), false)?;
    let again = run_to_end(dir.path(), tiny_config(1), false);
    assert!(matches!(again, Err(Error::Config(m)) if m.contains("--resume")));
    let mut other = tiny_config(1);
    other.stage1.latent = 5;
    let refused = run_to_end(dir.path(), other, true);
    assert!(
        matches!(&refused, Err(Error::Config(m)) if m.contains("latent: saved 4")),
        "{refused:?}"
    );
    // A config.json written before the conv decoder existed (no conv fields) still resumes.
    let config_path = dir.path().join("config.json");
    let mut saved: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&config_path).expect("read config"))
            .expect("parse config");
    let stage1 = saved["stage1"].as_object_mut().expect("stage1 object");
    assert!(stage1.remove("conv_channels").is_some());
    assert!(
        !stage1.contains_key("image_shape"),
        "an MLP run stores no image shape"
    );
    std::fs::write(&config_path, serde_json::to_vec(&saved).expect("json")).expect("write");
    let mut longer = tiny_config(1);
    longer.schedule1.epochs = 3;
    run_to_end(dir.path(), longer, true)?;
    let state = edgevae_trainer::train::read_state(dir.path())?;
    assert_eq!(state.stage1.epochs_done, 3);
    Ok(())
}

#[test]
fn divergence_stops_with_a_clear_error_and_keeps_the_last_good_checkpoint(
) -> edgevae_trainer::Result<()> {
    let dir = tempfile::tempdir().expect("tempdir");
    stop_at(dir.path(), tiny_config(2), 1, 0)?;
    let before = std::fs::read(dir.path().join("state.json")).expect("state");
    let good = checkpoint_tensors_stage1(dir.path());

    // An absurd learning rate blows the weights up within a step or two.
    let mut wild = tiny_config(2);
    wild.schedule1.lr = 1e9;
    let path = dir.path().join("config.json");
    let mut saved: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).expect("config")).expect("json");
    saved["schedule1"]["lr"] = serde_json::json!(1e9);
    std::fs::write(&path, serde_json::to_vec(&saved).expect("json")).expect("write");
    let err = run_to_end(dir.path(), wild, true).expect_err("must diverge");
    match &err {
        Error::NonFinite {
            stage,
            last_good_epoch,
            ..
        } => {
            assert_eq!(*stage, 1);
            assert_eq!(*last_good_epoch, 1);
        }
        other => panic!("expected NonFinite, got {other}"),
    }
    assert!(err.to_string().contains("not finite"));
    assert_eq!(
        std::fs::read(dir.path().join("state.json")).expect("state"),
        before
    );
    assert_eq!(checkpoint_tensors_stage1(dir.path()), good);
    Ok(())
}

fn checkpoint_tensors_stage1(dir: &Path) -> HashMap<String, Vec<f32>> {
    let state = edgevae_trainer::train::read_state(dir).expect("state");
    let name = state.stage1.checkpoint.expect("checkpoint");
    candle_core::safetensors::load(dir.join("checkpoints").join(name), &Device::Cpu)
        .expect("load")
        .into_iter()
        .map(|(k, t)| {
            (
                k,
                t.flatten_all()
                    .and_then(|t| t.to_vec1::<f32>())
                    .expect("values"),
            )
        })
        .collect()
}

/// Training leaves the reports to its caller: none is written by `train`, which sends what they
/// need once stage 1 is done, and `write_run_reports` writes the active dimensions and the
/// three grids from that and the run directory.
#[test]
fn reports_are_the_callers_to_write() -> edgevae_trainer::Result<()> {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = tiny_config(3);
    let mut inputs = None;
    let mut events_after = 0;
    train(&request(dir.path(), config.clone(), false), &mut |e| {
        match e {
            TrainEvent::ReportInputs(r) => inputs = Some(r.clone()),
            TrainEvent::StageStart { stage: 2, .. } => events_after += 1,
            _ => {}
        }
        Flow::Continue
    })?;
    let inputs = inputs.expect("report inputs sent");
    assert_eq!(events_after, 1, "sent before stage 2");
    assert_eq!(inputs.active.latent, config.stage1.latent);
    assert_eq!(inputs.grid_rows.dim, 784);
    let files = [
        "active_dims.json",
        "reconstructions.png",
        "samples_stage1.png",
        "samples_two_stage.png",
        "losses.png",
        "active_dims.png",
        "traversals.png",
    ];
    for f in files {
        assert!(!dir.path().join(f).exists(), "train wrote {f}");
    }
    let lines = edgevae_trainer::train::write_run_reports(dir.path(), &Device::Cpu, &inputs)?;
    assert_eq!(lines.len(), 7, "{lines:?}");
    assert!(lines[0].contains("active"), "{lines:?}");
    for f in files {
        assert!(dir.path().join(f).is_file(), "{f} missing");
    }
    let written: edgevae_trainer::train::active_dims::ActiveDims =
        serde_json::from_slice(&std::fs::read(dir.path().join("active_dims.json")).expect("read"))
            .expect("active_dims.json");
    // serde_json's reader may round the last bit of an f64.
    assert_eq!(written.active_indices, inputs.active.active_indices);
    for (a, b) in written
        .mean_variance
        .iter()
        .zip(&inputs.active.mean_variance)
    {
        assert!((a - b).abs() <= 1e-15, "{a} vs {b}");
    }
    Ok(())
}

/// The conv encoder (`--encoder conv`) trains like the dense one on image data, with either
/// decoder, and refuses data it cannot read before anything is written.
#[test]
fn conv_encoder_learns_sprites_and_refuses_data_it_cannot_read() -> edgevae_trainer::Result<()> {
    let conv = |data: &str, channels: Vec<usize>, decoder: DecoderKind| {
        let mut config = fast_stage1(6);
        config.data = data.into();
        config.stage1.encoder = EncoderKind::Conv;
        config.stage1.decoder = decoder;
        config.stage1.conv_channels = channels;
        config
    };
    for decoder in [DecoderKind::Mlp, DecoderKind::Conv] {
        let dir = tempfile::tempdir().expect("tempdir");
        run_to_end(
            dir.path(),
            conv("sprites:n=160", vec![8, 4], decoder),
            false,
        )?;
        let state = edgevae_trainer::train::read_state(dir.path())?;
        let last = state.stage1.last().expect("history");
        assert!(
            last.gamma < 0.2,
            "{decoder:?}: gamma {} did not fall",
            last.gamma
        );
        assert!(last.train_loss < state.stage1.history[0].train_loss);
        let saved = checkpoint_tensors(dir.path());
        // 28 x 28 x 1 -> 14 x 14 x 4 -> 7 x 7 x 8, then the hidden widths.
        assert_eq!(saved["stage1.encoder.down.0.weight"].len(), 9 * 4 * 4);
        assert_eq!(saved["stage1.encoder.down.1.weight"].len(), 9 * 4 * 4 * 8);
        let hidden = tiny_config(6).stage1.hidden[0];
        assert_eq!(saved["stage1.encoder.0.weight"].len(), 7 * 7 * 8 * hidden);
    }

    for (data, channels, expected) in [
        (
            "manifold:n=200,k=2,d=20",
            vec![8, 4],
            "conv encoder needs image data",
        ),
        ("sprites:n=160", vec![8, 4, 2], "divisible by 8"),
    ] {
        let dir = tempfile::tempdir().expect("tempdir");
        let err = run_to_end(dir.path(), conv(data, channels, DecoderKind::Mlp), false)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains(expected), "{data}: {err}");
        assert!(
            !dir.path().join("state.json").exists(),
            "{data}: run left behind"
        );
    }
    Ok(())
}

/// The conv decoder trains like the dense one (gamma falls, the loss falls) on image data, and
/// data it cannot decode is a clear error before anything is written: rows with no image shape,
/// or sides its doublings do not divide.
#[test]
fn conv_decoder_learns_sprites_and_refuses_data_it_cannot_decode() -> edgevae_trainer::Result<()> {
    let conv = |data: &str, channels: Vec<usize>| {
        let mut config = fast_stage1(6);
        config.data = data.into();
        config.stage1.decoder = DecoderKind::Conv;
        config.stage1.conv_channels = channels;
        config
    };
    let dir = tempfile::tempdir().expect("tempdir");
    run_to_end(dir.path(), conv("sprites:n=160", vec![8, 4]), false)?;
    let state = edgevae_trainer::train::read_state(dir.path())?;
    let last = state.stage1.last().expect("history");
    assert!(last.gamma < 0.2, "gamma {} did not fall", last.gamma);
    assert!(last.train_loss < state.stage1.history[0].train_loss);
    let saved = checkpoint_tensors(dir.path());
    assert_eq!(saved["stage1.decoder.up.0.weight"].len(), 9 * 8 * 4 * 4);
    assert_eq!(saved["stage1.decoder.out.weight"].len(), 9 * 4 * 4);

    for (data, channels, expected) in [
        ("manifold:n=200,k=2,d=20", vec![8, 4], "image"),
        ("sprites:n=160", vec![8, 4, 2], "divisible by 8"),
    ] {
        let dir = tempfile::tempdir().expect("tempdir");
        let err = run_to_end(dir.path(), conv(data, channels), false)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains(expected), "{data}: {err}");
        // Refused before anything was written: the same directory takes a corrected run.
        assert!(
            !dir.path().join("state.json").exists(),
            "{data}: run left behind"
        );
    }
    Ok(())
}
