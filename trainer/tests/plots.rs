//! The run diagnostics (`edgevae_trainer::train::plots`): what each PNG holds, on tiny runs.

mod common;

use std::path::Path;

use candle_core::Device;
use edgevae_trainer::train::active_dims::{measure, ActiveDims};
use edgevae_trainer::train::plots::{write_losses, write_run_plots, TRAVERSAL_STEPS};
use edgevae_trainer::train::{train, EpochRecord, Flow, LoadedRun, RunState};

fn decode(path: &Path) -> (u32, u32, Vec<u8>) {
    let file = std::fs::File::open(path).expect("png");
    let mut reader = png::Decoder::new(std::io::BufReader::new(file))
        .read_info()
        .expect("png header");
    let mut buf = vec![0; reader.output_buffer_size().expect("size")];
    let info = reader.next_frame(&mut buf).expect("png frame");
    assert_eq!(info.color_type, png::ColorType::Rgb);
    buf.truncate(info.buffer_size());
    (info.width, info.height, buf)
}

/// Pixels that are neither white nor the plain background: something was drawn.
fn drawn(rgb: &[u8]) -> usize {
    rgb.chunks_exact(3)
        .filter(|p| p != &[255, 255, 255])
        .count()
}

fn trained(dir: &Path, data: &str) -> (LoadedRun, ActiveDims) {
    let mut config = common::tiny_config(5, &[32], 6, 16);
    config.data = data.into();
    train(&common::request(dir, config, false), &mut |_| {
        Flow::Continue
    })
    .expect("train");
    let run = LoadedRun::open(dir, &Device::Cpu, false).expect("open");
    let val = run.config.reload_data(None).expect("data").val;
    let active = measure(&run.stage1, &val, &Device::Cpu).expect("active dims");
    (run, active)
}

#[test]
fn image_runs_get_losses_histogram_and_traversals() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (run, mut active) = trained(tmp.path(), "sprites:n=160");
    // Two dimensions declared active, so the traversal has 2 active and 3 inactive rows.
    active.active_indices = vec![4, 1];
    active.active = 2;
    let val = run.config.reload_data(None).expect("data").val.head(4);
    let lines = write_run_plots(&run, &active, &val).expect("plots");
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert!(lines[2].contains("(5 dimensions)"), "{lines:?}");

    let (w, h, rgb) = decode(&tmp.path().join("losses.png"));
    assert_eq!((w, h), (1200, 640));
    assert!(drawn(&rgb) > 10_000, "losses.png is nearly empty");
    let (w, h, rgb) = decode(&tmp.path().join("active_dims.png"));
    assert_eq!((w, h), (900, 480));
    // The threshold line is pure red somewhere.
    assert!(
        rgb.chunks_exact(3).any(|p| p == [255, 0, 0]),
        "no threshold line"
    );

    // 190 px of labels, then 9 cells of 28 * 2 + 4 px; a header of 28 px, then 5 rows.
    let (w, h, rgb) = decode(&tmp.path().join("traversals.png"));
    assert_eq!(w, 190 + TRAVERSAL_STEPS as u32 * 60);
    assert_eq!(h, 28 + 5 * 60 + 4);
    // The first row's cells are decodings: grey levels, with some ink.
    let row0: Vec<&[u8]> = (0..56u32)
        .flat_map(|y| (0..56u32).map(move |x| (x, y)))
        .map(|(x, y)| {
            let i = (((28 + y) * w + 190 + x) * 3) as usize;
            &rgb[i..i + 3]
        })
        .collect();
    assert!(
        row0.iter().all(|p| p[0] == p[1] && p[1] == p[2]),
        "cells are greyscale"
    );
    assert!(row0.iter().any(|p| p[0] > 64), "the first cell has no ink");
}

#[test]
fn real_valued_runs_get_no_traversals_and_say_so() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (run, active) = trained(tmp.path(), "manifold:n=200,k=2,d=6");
    let val = run.config.reload_data(None).expect("data").val;
    let lines = write_run_plots(&run, &active, &val).expect("plots");
    assert!(lines[2].contains("not images"), "{lines:?}");
    assert!(!tmp.path().join("traversals.png").exists());
    assert!(tmp.path().join("losses.png").is_file());
}

#[test]
fn a_diverged_or_unstarted_history_still_draws() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let record = |loss: f64| EpochRecord {
        epoch: 0,
        lr: 1e-3,
        train_loss: loss,
        train_kl: 1.0,
        train_mse: 0.1,
        gamma: 0.5,
        val_loss: loss,
        val_kl: 1.0,
        val_mse: 0.1,
        seconds: 1.0,
    };
    let mut state = RunState::default();
    state.stage1.history = vec![record(10.0), record(f64::NAN), record(f64::INFINITY)];
    let path = tmp.path().join("losses.png");
    write_losses(&path, &state).expect("a NaN epoch and an empty stage 2 draw");
    let (_, _, rgb) = decode(&path);
    assert!(drawn(&rgb) > 1000);
}
