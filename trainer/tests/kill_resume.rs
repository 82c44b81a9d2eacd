//! Training survives a hard kill. The `edgevae` binary trains a small run; the test sends SIGKILL
//! at three moments (right after the first stage-1 commit, half an epoch later, and half an
//! epoch after the first stage-2 commit),
//! checks that the run directory holds only complete files (temporary files aside, which nothing
//! reads), resumes with `--resume`, and requires every file of the finished run, weights
//! included, to be bit-identical to those of an uninterrupted run with the same seed.

#![cfg(unix)]

use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use candle_core::Device;
use edgevae_trainer::atomic_file::is_temp_name;
use edgevae_trainer::train::{read_state, LoadedRun, RunState};

const STAGE1_EPOCHS: usize = 4;
const STAGE2_EPOCHS: usize = 3;

/// About 0.4 s per stage-1 epoch (250 steps) and 0.25 s per stage-2 epoch in a debug build, 3 s a
/// run: long enough for a kill to land inside an epoch, short enough for four runs in well under
/// 30 s. Hidden widths stay small enough that candle does not spread a matmul over threads, so
/// epoch times do not swing with the load of the machine.
const ARGS: &[&str] = &[
    "--data",
    "sprites:n=8000",
    "--epochs",
    "4",
    "--stage2-epochs",
    "3",
    "--hidden",
    "64",
    "--latent",
    "8",
    "--stage2-width",
    "128",
    "--stage2-depth",
    "2",
    "--batch",
    "32",
    "--seed",
    "5",
    "--quiet",
];

fn edgevae(run: &Path, resume: bool) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_edgevae"));
    cmd.arg("train").arg("--out").arg(run);
    if resume {
        cmd.args(["--resume", "--quiet"]);
    } else {
        cmd.args(ARGS);
    }
    cmd
}

fn train_to_end(run: &Path, resume: bool) {
    let out = edgevae(run, resume).output().expect("run edgevae");
    assert!(
        out.status.success(),
        "edgevae train failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The committed state, or `None` before the first `state.json` (it is renamed into place, so a
/// reader never sees half of one).
fn committed(run: &Path) -> Option<RunState> {
    let bytes = std::fs::read(run.join("state.json")).ok()?;
    Some(serde_json::from_slice(&bytes).expect("state.json is always complete"))
}

/// Every file under `dir`, relative to it, sorted.
fn files(dir: &Path) -> Vec<PathBuf> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).expect("read_dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                out.push(path.strip_prefix(root).expect("prefix").to_path_buf());
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

fn is_temp(path: &Path) -> bool {
    path.file_name().is_some_and(is_temp_name)
}

/// Fails unless `path` is a complete file of its kind (parses to the end).
fn assert_complete(path: &Path) {
    let bytes = std::fs::read(path).expect("read");
    let what = path.display();
    match path.extension().and_then(|e| e.to_str()) {
        Some("json") => {
            serde_json::from_slice::<serde_json::Value>(&bytes)
                .unwrap_or_else(|e| panic!("{what} is not complete JSON: {e}"));
        }
        Some("safetensors") => {
            candle_core::safetensors::load_buffer(&bytes, &Device::Cpu)
                .unwrap_or_else(|e| panic!("{what} is not a complete safetensors file: {e}"));
        }
        Some("png") => {
            let mut reader = png::Decoder::new(std::io::Cursor::new(&bytes))
                .read_info()
                .unwrap_or_else(|e| panic!("{what} is not a PNG: {e}"));
            let mut buf = vec![0; reader.output_buffer_size().expect("size")];
            reader
                .next_frame(&mut buf)
                .unwrap_or_else(|e| panic!("{what} is not a complete PNG: {e}"));
        }
        _ => panic!("unexpected file {what} in the run directory"),
    }
}

/// The state without wall-clock times, which differ from run to run.
fn without_seconds(mut state: RunState) -> RunState {
    for p in [&mut state.stage1, &mut state.stage2] {
        for r in &mut p.history {
            r.seconds = 0.0;
        }
    }
    state
}

/// splitmix64: the seeded jitter of the kill moments.
fn jitter(seed: &mut u64) -> f64 {
    *seed = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *seed;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    (z ^ (z >> 31)) as f64 / u64::MAX as f64
}

struct Moment {
    name: &'static str,
    /// Wait until the committed state satisfies this...
    when: fn(&RunState) -> bool,
    /// ...then this long before the kill.
    delay: Duration,
}

/// Starts a run, kills it at `moment`, and checks what it left. Returns the committed state.
fn kill_at(run: &Path, moment: &Moment) -> RunState {
    let mut child = edgevae(run, false)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn edgevae");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if committed(run).is_some_and(|s| (moment.when)(&s)) {
            break;
        }
        if let Some(status) = child.try_wait().expect("try_wait") {
            panic!("{}: the run ended ({status}) before the kill", moment.name);
        }
        assert!(Instant::now() < deadline, "{}: timed out", moment.name);
        std::thread::sleep(Duration::from_millis(1));
    }
    std::thread::sleep(moment.delay);
    if let Some(status) = child.try_wait().expect("try_wait") {
        panic!(
            "{}: the run ended ({status}) before the kill; make it longer",
            moment.name
        );
    }
    child.kill().expect("SIGKILL");
    let status = child.wait().expect("wait");
    assert_eq!(status.signal(), Some(9), "{}: {status}", moment.name);

    // Temporary files may be there (the kill can land mid-write); everything else is complete.
    let left = files(run);
    for f in left.iter().filter(|f| !is_temp(f)) {
        assert_complete(&run.join(f));
    }
    let state = read_state(run).expect("state.json parses");
    let temps: Vec<_> = left.iter().filter(|f| is_temp(f)).collect();
    eprintln!(
        "killed {}: epochs committed {} + {}, temporary files {temps:?}",
        moment.name, state.stage1.epochs_done, state.stage2.epochs_done
    );
    assert!(state.stage1.epochs_done >= 1, "{}: {state:?}", moment.name);
    for p in [&state.stage1, &state.stage2] {
        if let Some(name) = &p.checkpoint {
            let path = run.join("checkpoints").join(name);
            candle_core::safetensors::load(&path, &Device::Cpu)
                .unwrap_or_else(|e| panic!("{}: {name} does not load: {e}", moment.name));
        }
    }
    // What `inspect`, `sample` and `export` load: the named checkpoints, never a temporary file.
    LoadedRun::open(run, &Device::Cpu, true).expect("the killed run loads");
    state
}

#[test]
fn a_run_killed_at_any_moment_resumes_to_the_same_weights() {
    let started = Instant::now();
    let base = tempfile::tempdir().expect("tempdir");
    let reference = base.path().join("reference");
    train_to_end(&reference, false);
    let expected = read_state(&reference).expect("state");
    assert_eq!(expected.stage1.epochs_done, STAGE1_EPOCHS);
    assert_eq!(expected.stage2.epochs_done, STAGE2_EPOCHS);
    let reference_files = files(&reference);
    assert!(reference_files.iter().all(|f| !is_temp(f)));
    let epoch_time = |p: &edgevae_trainer::train::StageProgress| {
        let total: f64 = p.history.iter().map(|r| r.seconds).sum();
        Duration::from_secs_f64(total / p.history.len() as f64)
    };
    let (epoch1, epoch2) = (epoch_time(&expected.stage1), epoch_time(&expected.stage2));

    let mut seed = 20_240_607u64;
    let moments = [
        Moment {
            name: "first stage-1 commit + 0 ms",
            when: |s| s.stage1.epochs_done >= 1,
            delay: Duration::ZERO,
        },
        Moment {
            name: "first stage-1 commit + half an epoch",
            when: |s| s.stage1.epochs_done >= 1,
            delay: epoch1.mul_f64(0.35 + 0.3 * jitter(&mut seed)),
        },
        Moment {
            name: "first stage-2 commit + half an epoch",
            when: |s| s.stage2.epochs_done >= 1,
            delay: epoch2.mul_f64(0.25 + 0.5 * jitter(&mut seed)),
        },
    ];
    for (i, moment) in moments.iter().enumerate() {
        let run = base.path().join(format!("killed-{i}"));
        let state = kill_at(&run, moment);
        if i == 2 {
            assert_eq!(state.stage1.epochs_done, STAGE1_EPOCHS, "{}", moment.name);
            assert!(state.stage2.checkpoint.is_some(), "{}", moment.name);
        }
        // A write cut short by a kill, as the killed process would have left it: a truncated
        // checkpoint under a temporary name of another process. Resume must not read it and must
        // remove it, with any temporary file the kill really left.
        let committed = state.stage1.checkpoint.as_ref().expect("checkpoint");
        let bytes = std::fs::read(run.join("checkpoints").join(committed)).expect("read");
        let stale = run
            .join("checkpoints")
            .join("stage1-epoch00009.safetensors.tmp-4000000000");
        std::fs::write(&stale, &bytes[..bytes.len() / 2]).expect("write");
        if state.stage1.epochs_done >= 2 {
            // And a superseded checkpoint, as a kill between the commit of `state.json` and the
            // removal of the previous checkpoint leaves it: complete, but named by no state.
            let superseded = format!(
                "stage1-epoch{:05}.safetensors",
                state.stage1.epochs_done - 1
            );
            std::fs::write(run.join("checkpoints").join(superseded), &bytes).expect("write");
        }

        train_to_end(&run, true);
        let done = read_state(&run).expect("state");
        assert_eq!(done.stage1.epochs_done, STAGE1_EPOCHS, "{}", moment.name);
        assert_eq!(done.stage2.epochs_done, STAGE2_EPOCHS, "{}", moment.name);
        for (p, n) in [(&done.stage1, STAGE1_EPOCHS), (&done.stage2, STAGE2_EPOCHS)] {
            let epochs: Vec<usize> = p.history.iter().map(|r| r.epoch).collect();
            assert_eq!(epochs, (0..n).collect::<Vec<_>>(), "{}", moment.name);
        }
        assert_eq!(
            without_seconds(done),
            without_seconds(expected.clone()),
            "{}: losses differ from the uninterrupted run",
            moment.name
        );
        // Same files (no temporary ones, no stale checkpoint), byte for byte: weights, optimiser
        // moments, reports and image grids.
        assert_eq!(files(&run), reference_files, "{}", moment.name);
        let differing: Vec<_> = reference_files
            .iter()
            .filter(|f| f.as_os_str() != "state.json")
            .filter(|f| {
                std::fs::read(run.join(f)).expect("read")
                    != std::fs::read(reference.join(f)).expect("read")
            })
            .collect();
        assert!(
            differing.is_empty(),
            "{}: differ from the uninterrupted run: {differing:?}",
            moment.name
        );
    }
    eprintln!("kill_resume: {:.1} s", started.elapsed().as_secs_f64());
}

/// The temporary names that resume removes are exactly those `atomic_file` makes.
#[test]
fn temporary_names_are_recognised() {
    let dest = Path::new("run/checkpoints/stage1-epoch00001.safetensors");
    let tmp = edgevae_trainer::atomic_file::temp_path(dest);
    assert!(is_temp(&tmp));
    for name in [
        "state.json",
        "stage1-epoch00001.safetensors",
        "state.json.tmp-",
        "state.json.tmp-12a",
        ".tmp-12",
    ] {
        assert!(!is_temp(Path::new(name)), "{name}");
    }
}
