//! After every model, sampler and filter of a process is dropped, no thread that ONNX Runtime
//! started is left, and ONNX Runtime wrote nothing under HOME or TMPDIR. ONNX Runtime 1.31's
//! telemetry thread used to outlive everything, write a database and a device id there, and
//! read freed memory while the process ran its exit handlers (`TELEMETRY_SWITCH`).
//!
//! A plain `main` (`harness = false` in Cargo.toml): libtest runs tests on threads of its own,
//! which would blur the thread count, and HOME and TMPDIR must be changed while this process
//! has one thread.

use std::path::Path;

use edgevae_runtime::{FilterOutput, ModelDir, RuntimeOptions, TELEMETRY_SWITCH};

/// The threads of this process, from /proc/self/task.
fn threads() -> usize {
    std::fs::read_dir("/proc/self/task")
        .expect("/proc/self/task")
        .count()
}

/// Everything under `dir`, as paths relative to it.
fn contents(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("read dir") {
            let path = entry.expect("dir entry").path();
            out.push(
                path.strip_prefix(dir)
                    .expect("below dir")
                    .display()
                    .to_string(),
            );
            if path.is_dir() {
                stack.push(path);
            }
        }
    }
    out
}

/// Opens the quickstart model with `threads` intra-op threads, samples and filters a batch,
/// and drops everything.
fn use_model(threads: usize) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/quickstart");
    let options = RuntimeOptions {
        threads: Some(threads),
        ..RuntimeOptions::default()
    };
    let model = ModelDir::open(&dir, options).expect("quickstart model");
    let mut sampler = model.sampler().expect("sampler");
    let mut filter = model
        .filter()
        .expect("filter (the quickstart model is calibrated)");
    let n = 8;
    let mut x = vec![0.0f32; n * model.input_dim()];
    sampler.sample_into(n, 3, &mut x).expect("sample");
    let mut out = FilterOutput::new(n, model.input_dim());
    filter.filter_into(&x, n, 2, &mut out).expect("filter");
    assert!(
        threads == 1 || self::threads() > emulator_threads() + 1,
        "{threads} intra-op threads run"
    );
}

/// Threads of qemu-user's own in /proc/self/task when this binary runs emulated (its RCU
/// thread: `.ci/run` runs the aarch64 build under qemu-aarch64), else none.
fn emulator_threads() -> usize {
    usize::from(std::env::var_os("EDGEVAE_TEST_RUNNER").is_some_and(|r| !r.is_empty()))
}

fn main() {
    let home = tempfile::tempdir().expect("temp dir");
    let alone = 1 + emulator_threads();
    // One thread of ours so far (checked), so changing the environment races with nothing.
    assert_eq!(threads(), alone, "the test starts with one thread");
    std::env::set_var("HOME", home.path());
    std::env::set_var("TMPDIR", home.path());
    std::env::remove_var(TELEMETRY_SWITCH);

    for intra in [1, 2, 1] {
        use_model(intra);
        assert_eq!(
            threads(),
            alone,
            "after a model with {intra} intra-op threads was dropped, threads are left running"
        );
    }
    assert_eq!(
        std::env::var(TELEMETRY_SWITCH).as_deref(),
        Ok("1"),
        "opening a model sets {TELEMETRY_SWITCH}"
    );
    let written = contents(home.path());
    assert!(
        written.is_empty(),
        "ONNX Runtime wrote under HOME/TMPDIR: {written:?}"
    );
    // The line cargo's own harness prints, so the totals of a test run count this binary too.
    println!("test result: ok. 1 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out");
}
