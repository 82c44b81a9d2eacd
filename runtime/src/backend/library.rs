//! Finding and loading the ONNX Runtime shared library, once per process.
//!
//! Order: the path given through the API, else `ORT_DYLIB_PATH`, else the copy that
//! `scripts/fetch-onnxruntime.sh` put under this workspace's `target/onnxruntime/<arch>/` for
//! the architecture this crate was built for (`--target TRIPLE` fetches a board's). A missing
//! library is an error naming every place looked at; ort is never left to panic on its own
//! default load.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use ort::environment::Environment;

use super::RuntimeError;

pub const LIBRARY_VERSION: &str = "1.31.1";

/// The variable that keeps ONNX Runtime's telemetry client from starting.
///
/// The Linux build of ONNX Runtime 1.31 starts Microsoft's 1DS telemetry client inside
/// `CreateEnv` unless this is set (to anything but `0` or empty): a `std::thread` that the
/// environment does not own (releasing the environment leaves it running), wakes hourly, writes
/// `~/.cache/Microsoft/DeveloperTools/.onnxruntime/{onnxruntime.db,deviceid}` and
/// `$TMPDIR/.ses`, and queues HTTPS uploads. It is stopped only by a static destructor while
/// the process exits, and in some exits it reads a string another static destructor has already
/// freed (a use-after-free seen under valgrind). `with_telemetry(false)` calls
/// `DisableTelemetryEvents` after `CreateEnv`, too late to stop the thread.
pub const TELEMETRY_SWITCH: &str = "ORT_DISABLE_TELEMETRY";

/// Sets [`TELEMETRY_SWITCH`] to `1` unless the process already has it, before the library is
/// loaded (it is read when the environment is created). A value the user set is left alone:
/// `ORT_DISABLE_TELEMETRY=0` opts back in.
fn disable_telemetry() {
    if std::env::var_os(TELEMETRY_SWITCH).is_none() {
        // Once per process, under INIT, before the library is loaded. A host program whose
        // other threads call getenv or setenv at that moment should set the variable itself
        // first (then this does nothing): glibc's setenv is not safe against concurrent getenv.
        std::env::set_var(TELEMETRY_SWITCH, "1");
    }
}

static ENVIRONMENT: OnceLock<Environment> = OnceLock::new();
static INIT: Mutex<()> = Mutex::new(());
static LOAD_TIME: OnceLock<Duration> = OnceLock::new();

/// The fetched copy for the architecture this crate was built for:
/// `<workspace>/target/onnxruntime/<arch>/libonnxruntime.so.1.31.1`, where `<arch>` is the
/// target triple's first part (`x86_64`, `aarch64`), as `scripts/fetch-onnxruntime.sh` names it.
/// A cross-built binary run on its board finds the library through the API or
/// `ORT_DYLIB_PATH` instead (this path is the build machine's).
pub fn default_library_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("target")
        .join("onnxruntime")
        .join(std::env::consts::ARCH)
        .join(format!("libonnxruntime.so.{LIBRARY_VERSION}"))
}

fn candidates(explicit: Option<&Path>) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Some(p) = explicit {
        out.push(p.to_path_buf());
    }
    if let Some(p) = std::env::var_os("ORT_DYLIB_PATH").filter(|p| !p.is_empty()) {
        out.push(PathBuf::from(p));
    }
    out.push(default_library_path());
    out
}

/// The process-wide ONNX Runtime environment, loading the library on first use. Later calls
/// return the same environment whatever path they name (ONNX Runtime allows one per process).
///
/// It is never released: ort allows one environment per process, so a released one could not
/// be made again for the next model. It starts no thread of its own (see [`TELEMETRY_SWITCH`]);
/// sessions own their intra-op threads and join them when dropped.
pub fn environment(library: Option<&Path>) -> Result<&'static Environment, RuntimeError> {
    if let Some(env) = ENVIRONMENT.get() {
        return Ok(env);
    }
    let _guard = INIT.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(env) = ENVIRONMENT.get() {
        return Ok(env);
    }
    let tried = candidates(library);
    let Some(path) = tried.iter().find(|p| p.is_file()) else {
        return Err(RuntimeError::LibraryNotFound {
            tried: tried
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
        });
    };
    disable_telemetry();
    let started = Instant::now();
    // LoadDynamicError is converted here: building an ort::Error would itself try the default load.
    let builder = ort::init_from(path).map_err(|e| RuntimeError::LibraryLoad {
        path: path.clone(),
        message: e.to_string(),
    })?;
    let env = builder
        .with_name("edgevae")
        .with_telemetry(false)
        .build()
        .map_err(|e| RuntimeError::LibraryLoad {
            path: path.clone(),
            message: e.to_string(),
        })?;
    let _ = LOAD_TIME.set(started.elapsed());
    Ok(ENVIRONMENT.get_or_init(|| env))
}

/// How long loading the library and creating the environment took in this process (None
/// before the first model is opened): the part of a cold start that is paid once per process.
pub fn library_load_time() -> Option<Duration> {
    LOAD_TIME.get().copied()
}
