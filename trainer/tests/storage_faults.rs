//! Storage faults while a run or a model is written: the `edgevae` binary writes into a tmpfs
//! that is too small, in a private mount namespace (`unshare --map-root-user --mount`: as root,
//! as CI runs, or as any user where unprivileged user namespaces are allowed). A full disk gives
//! an error naming the file, the previous committed state stays intact, and once there is room
//! `--resume` finishes the run; an export onto a full disk fails naming the file and leaves no
//! manifest that points at graphs which are not there.

use std::path::Path;
use std::process::{Command, Output};

fn run_script(dir: &Path, script: &str) -> Output {
    let output = Command::new("unshare")
        .args(["--map-root-user", "--mount", "sh", "-c", script])
        .env("EDGEVAE", env!("CARGO_BIN_EXE_edgevae"))
        .env("DIR", dir)
        .output()
        .expect("run unshare (util-linux)");
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(
        !err.contains("unshare failed") && !err.contains("mount: "),
        "cannot make a private tmpfs here: {err}"
    );
    output
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn a_full_disk_is_a_clear_error_and_the_run_resumes() {
    let tmp = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir(tmp.path().join("fs")).expect("mount point");
    let output = run_script(
        tmp.path(),
        r#"set -u
fs="$DIR/fs"
mount -t tmpfs -o size=2m tmpfs "$fs" || exit 90
train() {
    "$EDGEVAE" train --data sprites:n=200 --hidden 64 --latent 8 --stage2-width 32 \
        --epochs 4 --stage2-epochs 2 --out "$fs/run" -q "$@"
}
train 2> "$DIR/first.err"; echo $? > "$DIR/first.status"
cp "$fs/run/state.json" "$DIR/state-after-failure.json"
ls -a "$fs/run" "$fs/run/checkpoints" > "$DIR/files-after-failure"
mount -o remount,size=64m "$fs" || exit 91
train --resume 2> "$DIR/second.err"; echo $? > "$DIR/second.status"
cp "$fs/run/state.json" "$DIR/state-after-resume.json"
mkdir "$DIR/small" && mount -t tmpfs -o size=1m tmpfs "$DIR/small" || exit 92
"$EDGEVAE" export --run "$fs/run" --out "$DIR/small/model" 2> "$DIR/export.err"
echo $? > "$DIR/export.status"
ls -a "$DIR/small/model" > "$DIR/model-files" 2>&1
test -f "$DIR/small/model/manifest.json" && cp "$DIR/small/model/manifest.json" "$DIR/model-manifest.json"
exit 0
"#,
    );
    let d = tmp.path();
    assert!(output.status.success(), "{output:?}");

    // The full disk: exit status 2, the file and the cause named once.
    let first = read(&d.join("first.err"));
    assert_eq!(read(&d.join("first.status")).trim(), "2", "{first}");
    assert!(first.contains("No space left on device"), "{first}");
    assert!(
        first.contains("/run/"),
        "the message names the file: {first}"
    );
    assert_eq!(
        first.matches("No space left on device").count(),
        1,
        "{first}"
    );
    // The committed state names a checkpoint that is there, and no temporary file is left.
    let state: serde_json::Value =
        serde_json::from_str(&read(&d.join("state-after-failure.json"))).expect("state.json");
    let files = read(&d.join("files-after-failure"));
    if let Some(checkpoint) = state["stage1"]["checkpoint"].as_str() {
        assert!(files.contains(checkpoint), "{checkpoint} missing: {files}");
    }
    assert!(
        !files.contains(".tmp-"),
        "a temporary file was left: {files}"
    );

    // With room again, --resume finishes both stages.
    let second = read(&d.join("second.err"));
    assert_eq!(read(&d.join("second.status")).trim(), "0", "{second}");
    let state: serde_json::Value =
        serde_json::from_str(&read(&d.join("state-after-resume.json"))).expect("state.json");
    assert_eq!(state["stage1"]["epochs_done"], 4, "{state}");
    assert_eq!(state["stage2"]["epochs_done"], 2, "{state}");

    // The export onto a full disk fails naming the file, and leaves no manifest for graphs that
    // are not all there.
    let export = read(&d.join("export.err"));
    assert_eq!(read(&d.join("export.status")).trim(), "2", "{export}");
    assert!(export.contains("No space left on device"), "{export}");
    assert!(export.contains("/small/model/"), "{export}");
    let model_files = read(&d.join("model-files"));
    assert!(!model_files.contains(".tmp-"), "{model_files}");
    if let Ok(manifest) = std::fs::read_to_string(d.join("model-manifest.json")) {
        let manifest: serde_json::Value = serde_json::from_str(&manifest).expect("manifest");
        for graph in manifest["graphs"].as_array().expect("graphs") {
            let file = graph["file"].as_str().expect("file");
            assert!(
                model_files.contains(file),
                "the manifest names {file}, which is missing"
            );
        }
    }
}

/// `trainer/tests/support/fail_dir_fsync.c`, built as a shared library for LD_PRELOAD.
fn fsync_shim(dir: &Path) -> std::path::PathBuf {
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/fail_dir_fsync.c");
    let lib = dir.join("libfail_dir_fsync.so");
    let output = Command::new("cc")
        .args(["-shared", "-fPIC", "-O1", "-Wall", "-Werror", "-o"])
        .arg(&lib)
        .arg(&source)
        .arg("-ldl")
        .output()
        .expect("run cc (a C compiler is needed for this test)");
    assert!(output.status.success(), "cc failed: {output:?}");
    lib
}

/// A directory sync that fails after an atomic rename (EIO from the disk) is an error naming the
/// directory, not ignored: the new file is in place but not yet safe from a power cut. The
/// committed state stays readable and `--resume`, on a disk that syncs again, finishes the run.
/// Before, the failure was ignored and the run reported success.
#[test]
fn a_failing_directory_sync_is_an_error_naming_the_directory() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let shim = fsync_shim(tmp.path());
    let run = tmp.path().join("run");
    let train = |preload: bool, resume: bool| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_edgevae"));
        c.args([
            "train",
            "--data",
            "sprites:n=200",
            "--hidden",
            "64",
            "--latent",
            "8",
        ])
        .args([
            "--stage2-width",
            "32",
            "--epochs",
            "3",
            "--stage2-epochs",
            "1",
            "-q",
        ])
        .arg("--out")
        .arg(&run);
        if resume {
            c.arg("--resume");
        }
        if preload {
            // Three directory syncs succeed (the run's first commits), then they fail.
            c.env("LD_PRELOAD", &shim)
                .env("EDGEVAE_FAIL_FSYNC_AFTER", "3");
        }
        c.output().expect("run edgevae")
    };
    let failed = train(true, false);
    let err = String::from_utf8_lossy(&failed.stderr);
    assert_eq!(failed.status.code(), Some(2), "{failed:?}");
    assert!(err.contains("Input/output error"), "{err}");
    assert!(
        err.contains(&run.display().to_string()),
        "the message names the directory: {err}"
    );
    let state: serde_json::Value =
        serde_json::from_str(&read(&run.join("state.json"))).expect("state.json is whole");
    assert!(state.is_object(), "{state}");

    let resumed = train(false, true);
    assert!(resumed.status.success(), "{resumed:?}");
    let state: serde_json::Value =
        serde_json::from_str(&read(&run.join("state.json"))).expect("state.json");
    assert_eq!(state["stage1"]["epochs_done"], 3, "{state}");
    assert_eq!(state["stage2"]["epochs_done"], 1, "{state}");
}
