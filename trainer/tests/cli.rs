//! The `edgevae` binary end to end on a tiny run: train, inspect, sample, eval, and the errors a
//! user sees for bad input.

use std::path::Path;
use std::process::{Command, Output};

fn edgevae(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_edgevae"))
        .args(args)
        .output()
        .expect("run edgevae")
}

fn ok(out: &Output) -> String {
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "edgevae failed: {text}");
    text
}

const TINY: &[&str] = &[
    "--data",
    "sprites:n=200",
    "--epochs",
    "2",
    "--stage2-epochs",
    "1",
    "--hidden",
    "32",
    "--latent",
    "8",
    "--stage2-width",
    "32",
    "--stage2-depth",
    "2",
    "--batch",
    "32",
    "--quiet",
];

fn train_tiny(run: &Path) {
    let mut args = vec!["train", "--out", run.to_str().expect("utf-8 path")];
    args.extend_from_slice(TINY);
    let text = ok(&edgevae(&args));
    assert!(text.contains("stage 1: 2 epochs"), "{text}");
    assert!(text.contains("stage 2: 1 epochs"), "{text}");
}

#[test]
fn train_writes_a_complete_run_directory() {
    let dir = tempfile::tempdir().expect("tempdir");
    let run = dir.path().join("run");
    train_tiny(&run);
    for f in [
        "config.json",
        "state.json",
        "active_dims.json",
        "reconstructions.png",
        "samples_stage1.png",
        "samples_two_stage.png",
        "losses.png",
        "active_dims.png",
        "traversals.png",
    ] {
        assert!(run.join(f).is_file(), "{f} missing");
    }
    let active: serde_json::Value =
        serde_json::from_slice(&std::fs::read(run.join("active_dims.json")).expect("read"))
            .expect("json");
    assert_eq!(active["latent"], 8);
    assert_eq!(active["mean_variance"].as_array().expect("array").len(), 8);
    let leftovers: Vec<_> = std::fs::read_dir(&run)
        .expect("dir")
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains(".tmp-"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left behind");

    let text = ok(&edgevae(&["inspect", "--run", run.to_str().expect("path")]));
    assert!(
        text.contains("stage 1: 2/2 epochs") && text.contains("gamma"),
        "{text}"
    );
    assert!(text.contains("active latent dimensions"), "{text}");
    // `inspect --plots` redraws the diagnostics of an existing run.
    for f in ["losses.png", "active_dims.png", "traversals.png"] {
        std::fs::remove_file(run.join(f)).expect("remove");
    }
    let text = ok(&edgevae(&[
        "inspect",
        "--run",
        run.to_str().expect("path"),
        "--plots",
    ]));
    assert!(text.contains("latent traversals"), "{text}");
    for f in ["losses.png", "active_dims.png", "traversals.png"] {
        assert!(run.join(f).is_file(), "inspect --plots did not write {f}");
    }
    assert!(
        text.contains("stage-1 decoder: mlp (mirrors the encoder), recycle 1"),
        "{text}"
    );

    let npy = dir.path().join("s.npy");
    ok(&edgevae(&[
        "sample",
        "--run",
        run.to_str().expect("path"),
        "-n",
        "30",
        "--seed",
        "4",
        "--out",
        npy.to_str().expect("path"),
    ]));
    let arr = edgevae_trainer::data::npy::read(&npy).expect("npy");
    assert_eq!(arr.shape, vec![30, 784]);
    assert!(arr.values.as_f32().iter().all(|v| (0.0..=1.0).contains(v)));
    let png = dir.path().join("s.png");
    ok(&edgevae(&[
        "sample",
        "--run",
        run.to_str().expect("path"),
        "-n",
        "9",
        "--out",
        png.to_str().expect("path"),
        "--stage1-only",
    ]));
    assert!(std::fs::read(&png).expect("png").starts_with(b"\x89PNG"));

    let text = ok(&edgevae(&[
        "eval",
        "--run",
        run.to_str().expect("path"),
        "--samples",
        "200",
        "--pca-components",
        "8",
    ]));
    assert!(
        text.contains("two-stage") && text.contains("stage-1 only"),
        "{text}"
    );
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(run.join("eval.json")).expect("read")).expect("json");
    assert_eq!(report["test_rows"], 40);
    assert!(report["two_stage"]["frechet"].as_f64().expect("number") >= 0.0);
    // Pixels and reconstructions are in [0, 1]: any finite MSE outside (0, 1) is a bug.
    let mse = report["recon_mse"].as_f64().expect("number");
    assert!(mse > 0.0 && mse < 1.0, "recon_mse {mse}");

    // A calibration setting out of range, named with its value.
    let model_dir = dir.path().join("m");
    let out = edgevae(&[
        "export",
        "--run",
        run.to_str().expect("path"),
        "--out",
        model_dir.to_str().expect("path"),
        "--contamination",
        "0.7",
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "--contamination 0.7 accepted");
    assert!(
        err.contains("contamination 0.7 must be in [0, 0.5]"),
        "{err}"
    );

    // A config.json edited by hand into a setting that cannot train: every reader refuses it,
    // naming the file and the field.
    let config_path = run.join("config.json");
    let mut config: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&config_path).expect("read")).expect("json");
    config["stage1"]["recycle"] = 0.into();
    std::fs::write(&config_path, serde_json::to_vec(&config).expect("json")).expect("write");
    for command in ["inspect", "sample", "export"] {
        let mut args = vec![command, "--run", run.to_str().expect("path")];
        let out_file = dir.path().join("x.npy");
        let out_dir = dir.path().join("m");
        match command {
            "sample" => args.extend(["--out", out_file.to_str().expect("path")]),
            "export" => args.extend(["--out", out_dir.to_str().expect("path")]),
            _ => {}
        }
        let out = edgevae(&args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{command} accepted recycle 0");
        assert!(
            err.contains(config_path.to_str().expect("path"))
                && err.contains("stage1.recycle = 0: must be at least 1"),
            "{command}: {err}"
        );
    }
}

#[test]
fn resume_on_a_finished_run_with_more_epochs_continues() {
    let dir = tempfile::tempdir().expect("tempdir");
    let run = dir.path().join("run");
    train_tiny(&run);
    let text = ok(&edgevae(&[
        "train",
        "--out",
        run.to_str().expect("path"),
        "--resume",
        "--epochs",
        "3",
        "--quiet",
    ]));
    assert!(text.contains("stage 1: 3 epochs"), "{text}");
    // Without --resume the run is protected.
    let mut args = vec!["train", "--out", run.to_str().expect("path")];
    args.extend_from_slice(TINY);
    let out = edgevae(&args);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--resume"));
}

#[test]
fn bad_input_gets_a_clear_error_naming_the_problem() {
    let dir = tempfile::tempdir().expect("tempdir");
    let garbage = dir.path().join("garbage.idx");
    std::fs::write(&garbage, b"PK\x03\x04 not an idx file").expect("write");
    let out_dir = dir.path().join("r");
    let out_path = out_dir.to_str().expect("path");
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec![
                "train",
                "--data",
                garbage.to_str().expect("path"),
                "--out",
                out_path,
            ],
            "garbage.idx",
        ),
        (
            vec!["train", "--data", "/no/such/file", "--out", out_path],
            "/no/such/file",
        ),
        (
            vec!["train", "--data", "sprites:n=x", "--out", out_path],
            "cannot parse n",
        ),
        (
            vec![
                "train", "--data", "sprites", "--out", out_path, "--device", "cuda",
            ],
            "without CUDA",
        ),
        (
            vec![
                "train", "--data", "sprites", "--out", out_path, "--device", "tpu",
            ],
            "unknown device",
        ),
        (
            vec![
                "train", "--data", "sprites", "--out", out_path, "--batch", "0",
            ],
            "--batch 0: must be at least 1",
        ),
        // The library's validation names the field; the CLI says it as the flag.
        (
            vec![
                "train", "--data", "sprites", "--out", out_path, "--hidden", "64,0",
            ],
            "--hidden 0: must be at least 1 (stage1.hidden[1])",
        ),
        (
            vec!["train", "--data", "sprites", "--out", out_path, "--lr=-1"],
            "--lr -1: must be a positive number",
        ),
        (
            vec![
                "train",
                "--data",
                "sprites",
                "--out",
                out_path,
                "--robust",
                "--robust-warmup",
                "2",
            ],
            "--robust-warmup 2: must be a fraction in [0, 1]",
        ),
        (
            vec!["sample", "--run", "/no/such/run", "--out", "x.npy"],
            "config.json",
        ),
        (vec!["inspect", "--run", "/no/such/run"], "config.json"),
    ];
    for (args, needle) in cases {
        let out = edgevae(&args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.contains(needle),
            "{args:?}: expected {needle:?} in {err}"
        );
        assert!(!err.contains("panicked"), "{args:?} panicked: {err}");
    }
}

/// A copy of the committed quickstart model with an outlier section in its manifest (the
/// committed one has `"outlier": null`; only the graphs are checksummed).
fn calibrated_quickstart(dest: &Path) {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/quickstart");
    std::fs::create_dir_all(dest).expect("model dir");
    for entry in std::fs::read_dir(&src).expect("models/quickstart") {
        let entry = entry.expect("dir entry");
        std::fs::copy(entry.path(), dest.join(entry.file_name())).expect("copy");
    }
    let path = dest.join("manifest.json");
    let mut manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).expect("manifest")).expect("json");
    manifest["outlier"] = serde_json::json!({
        "score_threshold": 1.0,
        "element_threshold": 9.0,
        "contamination": 0.1,
        "element_noise": vec![0.01f32; 784],
    });
    std::fs::write(&path, serde_json::to_vec(&manifest).expect("json")).expect("write");
}

#[test]
fn filter_writes_cleaned_mask_scores_and_grid() {
    use edgevae_trainer::data::npy;

    let dir = tempfile::tempdir().expect("tempdir");
    let model = dir.path().join("model");
    calibrated_quickstart(&model);
    // 20 sprites, with a bright bar painted into every other one.
    let n = 20;
    let (mut rows, _) = edgevae_trainer::data::sprites::generate(n, 3);
    for i in (0..n).step_by(2) {
        rows[i * 784 + 5 * 28..i * 784 + 7 * 28].fill(1.0);
    }
    let input = dir.path().join("rows.npy");
    std::fs::write(&input, npy::encode_f32(&[n, 784], &rows).expect("npy")).expect("write");
    let out = dir.path().join("out");
    let text = ok(&edgevae(&[
        "filter",
        "--model",
        model.to_str().expect("path"),
        "--input",
        input.to_str().expect("path"),
        "--out",
        out.to_str().expect("path"),
        "--passes",
        "2",
    ]));
    assert!(
        text.contains("20 rows") && text.contains("outlier rows") && text.contains("cpu"),
        "{text}"
    );

    // into_vec fails unless the file's dtype is the one asked for (f32, u8).
    let read = |name: &str| -> npyz::NpyFile<std::fs::File> {
        npyz::NpyFile::new(std::fs::File::open(out.join(name)).expect(name)).expect(name)
    };
    let cleaned = read("cleaned.npy");
    assert_eq!(cleaned.shape(), &[20, 784]);
    let cleaned: Vec<f32> = cleaned.into_vec().expect("f32");
    assert!(cleaned.iter().all(|v| v.is_finite()));
    let mask = read("mask.npy");
    assert_eq!(mask.shape(), &[20, 784]);
    let mask: Vec<u8> = mask.into_vec().expect("u8");
    assert!(mask.iter().all(|&m| m <= 1));
    // The painted bars are masked.
    let bar_masked = mask[5 * 28..7 * 28].iter().filter(|&&m| m == 1).count();
    assert!(bar_masked > 28, "{bar_masked} of 56 bar pixels masked");
    let scores = read("scores.npy");
    assert_eq!(scores.shape(), &[20]);
    assert_eq!(scores.into_vec::<f32>().expect("f32").len(), 20);
    assert!(std::fs::read(out.join("grid.png"))
        .expect("grid.png")
        .starts_with(b"\x89PNG"));

    // Rows of another width: an error that names the file.
    let narrow = dir.path().join("narrow.npy");
    std::fs::write(
        &narrow,
        npy::encode_f32(&[4, 700], &rows[..2800]).expect("npy"),
    )
    .expect("write");
    let result = edgevae(&[
        "filter",
        "--model",
        model.to_str().expect("path"),
        "--input",
        narrow.to_str().expect("path"),
        "--out",
        out.to_str().expect("path"),
    ]);
    let err = String::from_utf8_lossy(&result.stderr);
    assert_eq!(result.status.code(), Some(2), "{err}");
    assert!(
        err.contains("narrow.npy") && err.contains("700"),
        "expected the file and its width in {err}"
    );
    assert!(!err.contains("panicked"), "{err}");
}
