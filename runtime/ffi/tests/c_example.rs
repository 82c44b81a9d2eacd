//! examples/c/main.c, compiled with the system `cc` against the libedgevae.so that cargo builds
//! beside this test (the package's cdylib is built with its rlib), run on copies of the
//! quickstart model; then under valgrind's memcheck; and the Makefile's static build. valgrind
//! and make are required: a missing one fails its test (`.ci/run` installs both).
//!
//! Cross-built (aarch64 under qemu-user, `scripts/aarch64/run`), the C programs are compiled
//! with `EDGEVAE_TEST_CC` and run through `EDGEVAE_TEST_RUNNER`, which that runner sets; natively
//! they are `cc` and nothing. memcheck runs on the x86-64 build only: valgrind cannot follow a
//! program that qemu-user emulates.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use common::{calibrated_quickstart, root, uncalibrated_quickstart};

/// target/<profile>: this executable is target/<profile>/deps/c_example-<hash>.
fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    exe.parent()
        .and_then(Path::parent)
        .expect("target/<profile>/deps")
        .to_path_buf()
}

/// The directory holding the libedgevae.so and libedgevae.a of this build: deps/. cargo
/// copies them up to target/<profile>/ for `cargo build`, but not when it builds them for
/// `cargo test`, so the copies there can be stale.
fn lib_dir() -> PathBuf {
    let profile = profile_dir();
    [profile.join("deps"), profile.clone()]
        .into_iter()
        .find(|d| d.join("libedgevae.so").is_file() && d.join("libedgevae.a").is_file())
        .unwrap_or_else(|| {
            panic!(
                "libedgevae.so/.a are not in {}/deps: build them with `cargo build -p edgevae-ffi`",
                profile.display()
            )
        })
}

/// The C compiler for this test binary's target: `EDGEVAE_TEST_CC`, else `cc`.
fn c_compiler() -> String {
    std::env::var("EDGEVAE_TEST_CC")
        .ok()
        .filter(|cc| !cc.is_empty())
        .unwrap_or_else(|| "cc".into())
}

/// A command running the C program `exe`: through `EDGEVAE_TEST_RUNNER` when one is set
/// (an emulator), else directly.
fn run_c(exe: &Path) -> Command {
    match std::env::var_os("EDGEVAE_TEST_RUNNER").filter(|r| !r.is_empty()) {
        Some(runner) => {
            let mut c = Command::new(runner);
            c.arg(exe);
            c
        }
        None => Command::new(exe),
    }
}

fn on_path(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// `examples/c/<source>` compiled with [`c_compiler`] and linked against the shared library, as `name`.
fn compile(source: &str, name: &str, libs: &[&str]) -> PathBuf {
    let lib = lib_dir();
    let out_dir = profile_dir().join("examples-c-test");
    std::fs::create_dir_all(&out_dir).expect("output directory");
    let exe = out_dir.join(name);
    let partial = out_dir.join(format!("{name}.{}", std::process::id()));
    let mut rpath = std::ffi::OsString::from("-Wl,-rpath,");
    rpath.push(&lib);
    let cc = c_compiler();
    let output = Command::new(&cc)
        .args([
            "-std=c11",
            "-g",
            "-O1",
            "-Wall",
            "-Wextra",
            "-Wpedantic",
            "-Werror",
        ])
        .arg("-I")
        .arg(root().join("runtime/ffi/include"))
        .arg(root().join("examples/c").join(source))
        .arg("-L")
        .arg(&lib)
        .arg("-ledgevae")
        .args(libs)
        .arg(rpath)
        .arg("-o")
        .arg(&partial)
        .output()
        .unwrap_or_else(|e| panic!("run {cc} (a C compiler is needed for this test): {e}"));
    assert!(
        output.status.success(),
        "{cc} failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    std::fs::rename(&partial, &exe).expect("rename the example");
    exe
}

/// The example linked against the shared library, compiled once per test process.
fn example() -> &'static Path {
    static EXE: OnceLock<PathBuf> = OnceLock::new();
    EXE.get_or_init(|| compile("main.c", "edgevae-example-shared", &[]))
}

/// The example, run with this build's library: cargo test puts target/<profile> on
/// LD_LIBRARY_PATH, which outranks the example's rpath, and the libedgevae.so there can be stale.
fn example_command() -> Command {
    let mut c = run_c(example());
    c.env("LD_LIBRARY_PATH", lib_dir());
    c
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn describe(output: &Output) -> String {
    format!(
        "exit status {:?}\n--- stdout\n{}--- stderr\n{}",
        output.status.code(),
        text(&output.stdout),
        text(&output.stderr)
    )
}

/// What a full run on the calibrated copy prints: the lines every run must have.
fn check_full_run(output: &Output) {
    let out = text(&output.stdout);
    let all = describe(output);
    assert_eq!(output.status.code(), Some(0), "{all}");
    for line in [
        concat!("edgevae ", env!("CARGO_PKG_VERSION")),
        "input_dim 784, latent 32",
        "samples: 8 x 784, per-sample means",
        "short buffer rejected: EDGEVAE_STATUS_BUFFER_LENGTH: edgevae_sampler_sample: \
         out holds 6271 values, 6272 expected",
        "filter: score threshold -1.7673; rows 0, 2, 4, 6 have",
        "passes 1:",
        "passes 3:",
    ] {
        assert!(out.contains(line), "missing {line:?} in\n{all}");
    }
    let rows: Vec<&str> = out.lines().filter(|l| l.starts_with("  row ")).collect();
    assert_eq!(rows.len(), 16, "{all}");
    for row in rows {
        let want = if row.contains("corrupted") {
            "outlier"
        } else {
            "inlier"
        };
        assert!(row.contains(want), "{row:?}: expected {want}\n{all}");
    }
    let verdicts = out
        .lines()
        .filter(|l| *l == "  outliers: 4 of 4 corrupted rows, 0 of 4 clean rows")
        .count();
    assert_eq!(verdicts, 2, "{all}");
    assert!(out.contains("% of elements;"), "{all}");
}

#[test]
fn example_samples_and_filters_a_calibrated_model() {
    let dir = calibrated_quickstart();
    let output = example_command()
        .arg(dir.path())
        .arg("--require-filter")
        .output()
        .expect("run the example");
    check_full_run(&output);
    assert!(output.stderr.is_empty(), "{}", describe(&output));
}

#[test]
fn example_reports_a_missing_calibration_and_a_missing_directory() {
    let dir = uncalibrated_quickstart();
    let run = |args: &[&str]| {
        example_command()
            .arg(dir.path())
            .args(args)
            .output()
            .expect("run the example")
    };
    let skipped = run(&[]);
    let all = describe(&skipped);
    assert_eq!(skipped.status.code(), Some(0), "{all}");
    assert!(
        text(&skipped.stdout).contains("filter: skipped, the model has no outlier calibration"),
        "{all}"
    );
    let err = text(&skipped.stderr);
    assert!(
        err.contains("note: edgevae_filter_new returned EDGEVAE_STATUS_NOT_CALIBRATED (9)"),
        "{all}"
    );
    assert!(err.contains("(\"outlier\": null)"), "{all}");

    let required = run(&["--require-filter"]);
    assert_eq!(required.status.code(), Some(1), "{}", describe(&required));
    assert!(text(&required.stderr).contains("error: edgevae_filter_new returned"));

    let missing = example_command()
        .arg("/nonexistent/edgevae-model")
        .output()
        .expect("run the example");
    let all = describe(&missing);
    assert_eq!(missing.status.code(), Some(1), "{all}");
    let err = text(&missing.stderr);
    assert!(err.contains("returned EDGEVAE_STATUS_IO (5)"), "{all}");
    assert!(
        err.contains("edgevae_model_open: /nonexistent/edgevae-model/manifest.json"),
        "{all}"
    );
}

/// memcheck over the whole example: no invalid reads or writes, no use of uninitialised
/// values, no definite leaks. examples/c/valgrind.supp explains its two suppressions (glibc's
/// loader and ONNX Runtime's own environment set-up).
///
/// ONNX Runtime's telemetry thread (`edgevae_runtime::TELEMETRY_SWITCH`) read freed memory in
/// some exits only, so a clean memcheck report alone passed by luck; what the thread does on
/// every run is write its database under HOME and a session file under TMPDIR. The example
/// runs with both pointed at an empty directory, which must stay empty.
#[test]
#[cfg_attr(
    not(target_arch = "x86_64"),
    ignore = "valgrind runs on the x86-64 build: it cannot follow a program qemu-user emulates"
)]
fn example_is_clean_under_valgrind() {
    assert!(
        on_path("valgrind"),
        "valgrind is not installed (.ci/run installs it: apt-get install valgrind)"
    );
    let dir = calibrated_quickstart();
    let home = tempfile::tempdir().expect("temp dir");
    let output = Command::new("valgrind")
        .env("LD_LIBRARY_PATH", lib_dir())
        .env("HOME", home.path())
        .env("TMPDIR", home.path())
        .env_remove("ORT_DISABLE_TELEMETRY")
        .args([
            "--error-exitcode=99",
            "--leak-check=full",
            "--errors-for-leak-kinds=definite",
            "--show-leak-kinds=definite",
            "--track-origins=no",
        ])
        .arg(format!(
            "--suppressions={}",
            root().join("examples/c/valgrind.supp").display()
        ))
        .arg(example())
        .arg(dir.path())
        .args(["--threads", "1", "--require-filter"])
        .output()
        .expect("run valgrind");
    check_full_run(&output);
    let err = text(&output.stderr);
    assert!(
        err.contains("ERROR SUMMARY: 0 errors"),
        "{}",
        describe(&output)
    );
    assert!(
        err.contains("definitely lost: 0 bytes in 0 blocks")
            || err.contains("All heap blocks were freed"),
        "{}",
        describe(&output)
    );
    let written: Vec<_> = std::fs::read_dir(home.path())
        .expect("read the temp HOME")
        .map(|e| e.expect("dir entry").file_name())
        .collect();
    assert!(
        written.is_empty(),
        "ONNX Runtime wrote {written:?} under HOME/TMPDIR: its telemetry thread ran"
    );
}

/// The Makefile's default build: the example linked statically against libedgevae.a.
#[test]
fn makefile_links_the_static_library() {
    assert!(
        on_path("make"),
        "make is not installed (.ci/run installs it: apt-get install make)"
    );
    let out = tempfile::tempdir().expect("temp dir");
    let output = Command::new("make")
        .arg("-C")
        .arg(root().join("examples/c"))
        .arg(format!("CC={}", c_compiler()))
        .arg(format!("LIBDIR={}", lib_dir().display()))
        .arg(format!("OUT={}", out.path().display()))
        .output()
        .expect("run make");
    assert!(output.status.success(), "{}", describe(&output));
    let exe = out.path().join("edgevae-example-static");
    let dir = calibrated_quickstart();
    let output = run_c(&exe)
        .arg(dir.path())
        .arg("--require-filter")
        .output()
        .expect("run the static example");
    check_full_run(&output);
}

/// examples/c/threads.c: four C threads with their own handles, opened at once, get exactly the
/// one-thread results; two threads sharing one sampler get the same samples or
/// `EDGEVAE_STATUS_BUSY`, nothing else.
#[test]
fn c_threads_match_one_thread_and_a_shared_handle_is_busy_or_right() {
    let exe = compile("threads.c", "edgevae-threads", &["-pthread"]);
    let dir = calibrated_quickstart();
    let output = run_c(&exe)
        .env("LD_LIBRARY_PATH", lib_dir())
        .arg(dir.path())
        .output()
        .expect("run the threads example");
    let all = describe(&output);
    assert_eq!(output.status.code(), Some(0), "{all}");
    let out = text(&output.stdout);
    assert!(
        out.contains("own handles: 4 threads x 6 calls equal one thread's results"),
        "{all}"
    );
    assert!(out.contains(" 0 wrong of 80 calls"), "{all}");
}

/// examples/c/micro.c: the micro backend from C with a static arena, on the committed
/// quickstart's int8 blobs: the host's values (runtime/tests/support/micro_vectors.rs: sample
/// sum 70.67408, value 485 0.84736, score 34.734703, 58 masked) and a clear status for an arena
/// one byte short.
#[test]
fn c_micro_samples_and_filters_with_a_caller_arena() {
    let exe = compile("micro.c", "edgevae-micro", &[]);
    let output = run_c(&exe)
        .env("LD_LIBRARY_PATH", lib_dir())
        .arg(root().join("models/quickstart"))
        .output()
        .expect("run the micro example");
    let all = describe(&output);
    assert_eq!(output.status.code(), Some(0), "{all}");
    let out = text(&output.stdout);
    for line in [
        "arena bytes per row: sampler 2176, filter 8320",
        "sample (seed 3): sum 70.674, x[485] 0.8474",
        "filter (2 passes, pixels 300 and 500 flipped): score 34.735, 58 masked, mask[300] 1, \
         mask[500] 1",
        "arena one byte short: EDGEVAE_STATUS_BUFFER_TOO_SMALL: edgevae_micro_filter: ",
    ] {
        assert!(out.contains(line), "missing {line:?} in\n{all}");
    }
}
