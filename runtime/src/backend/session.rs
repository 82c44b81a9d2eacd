//! Building a session from a graph file: read into memory, checksummed against the manifest,
//! and only then parsed by ONNX Runtime; then checked for the inputs and outputs its role
//! promises.
//!
//! The file is read, not memory-mapped: a model file truncated while a mapping of it is read
//! kills the process with SIGBUS, and a file rewritten in place could be hashed and parsed as
//! two different byte strings. The bytes ONNX Runtime parses are the bytes that were hashed.

use std::io::Read;
use std::path::Path;

use ort::environment::Environment;
use ort::session::builder::GraphOptimizationLevel;
use ort::session::Session;
use ort::value::{TensorElementType, ValueType};
use sha2::{Digest, Sha256};

use super::providers::{choose, dispatch, Provider};
use super::{environment, library_load_time, ProviderChoice, RuntimeError, RuntimeOptions};
use crate::core::{graph_ports, sha256_hex, GraphEntry, GraphRole};

/// (name, width) of a graph input or output; the batch dimension comes first and is symbolic.
type Port = (&'static str, usize);

/// The inputs and outputs a graph of `role` must have (`core::graph_ports`), with widths.
pub fn signature(role: GraphRole, shape: &GraphShape) -> (Vec<Port>, Vec<Port>) {
    let widths = |ports: &[graph_ports::Port]| -> Vec<Port> {
        ports
            .iter()
            .map(|p| (p.name, p.values(shape.input_dim, shape.latent)))
            .collect()
    };
    (
        widths(graph_ports::inputs(role)),
        widths(graph_ports::outputs(role, shape.robust)),
    )
}

/// What the manifest says a graph's ports must look like.
#[derive(Clone, Copy, Debug)]
pub struct GraphShape {
    pub input_dim: usize,
    pub latent: usize,
    /// The filter graph has the `x_log_var` output.
    pub robust: bool,
}

/// The whole of `path`, which must hold exactly `expected` bytes (the manifest's size): checked
/// before anything is read, and again after, so a file that changes size meanwhile is an error.
///
/// Reading, then hashing, then parsing cost the cold start about 13 ms more than hashing a
/// memory map on a second thread while ONNX Runtime parsed it (MNIST-sized model, 11.7 MB
/// sampler: medians 72.9 against 59.8 ms on an Intel Xeon, `lscpu` model 167). Hashing each chunk
/// on a second thread while the next was read gave the same 72.9 ms; what helps is doing the
/// read and hash while the library loads ([`load`]).
fn read_graph(path: &Path, expected: u64) -> Result<Vec<u8>, RuntimeError> {
    let io = |source| RuntimeError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mismatch = |found: u64| RuntimeError::GraphMismatch {
        path: path.to_path_buf(),
        problem: format!("file has {found} bytes, the manifest says {expected}"),
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let metadata = file.metadata().map_err(io)?;
    if !metadata.is_file() {
        return Err(io(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "not a regular file",
        )));
    }
    let found = metadata.len();
    if found != expected {
        return Err(mismatch(found));
    }
    let size = usize::try_from(expected).map_err(|_| mismatch(found))?;
    let mut bytes = Vec::new();
    bytes
        .try_reserve_exact(size)
        .map_err(|_| RuntimeError::GraphMismatch {
            path: path.to_path_buf(),
            problem: format!("{expected} bytes do not fit in memory"),
        })?;
    // One byte more than expected is asked for, so that a file that grew is seen.
    file.take(expected + 1)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() as u64 != expected {
        return Err(mismatch(bytes.len() as u64));
    }
    Ok(bytes)
}

fn check_outlets(
    path: &Path,
    what: &str,
    outlets: &[ort::value::Outlet],
    expected: &[(&str, usize)],
) -> Result<(), RuntimeError> {
    let mismatch = |problem: String| RuntimeError::GraphMismatch {
        path: path.to_path_buf(),
        problem,
    };
    let names: Vec<&str> = outlets.iter().map(|o| o.name()).collect();
    let want: Vec<&str> = expected.iter().map(|(n, _)| *n).collect();
    if names != want {
        return Err(mismatch(format!(
            "{what} are {names:?}, the manifest's role needs {want:?}"
        )));
    }
    for (o, (name, width)) in outlets.iter().zip(expected) {
        match o.dtype() {
            ValueType::Tensor { ty, shape, .. } => {
                if *ty != TensorElementType::Float32 {
                    return Err(mismatch(format!(
                        "{what} {name} is {ty:?}, expected float32"
                    )));
                }
                let dims: &[i64] = shape;
                if dims.len() != 2 || dims[0] != -1 || dims[1] != *width as i64 {
                    return Err(mismatch(format!(
                        "{what} {name} has shape {dims:?}, expected [N, {width}]"
                    )));
                }
            }
            other => {
                return Err(mismatch(format!(
                    "{what} {name} is {other:?}, expected a tensor"
                )))
            }
        }
    }
    Ok(())
}

enum BuildError {
    /// Library, environment or options: not the graph's fault.
    Runtime(RuntimeError),
    /// An execution provider could not be registered.
    Provider(String),
    /// ONNX Runtime rejected the graph bytes.
    Parse(ort::Error),
}

fn runtime_error(e: impl std::fmt::Display) -> BuildError {
    BuildError::Runtime(RuntimeError::ort(e))
}

fn build_session(
    env: &'static Environment,
    graph: &[u8],
    options: &RuntimeOptions,
    providers: &[Provider],
) -> Result<Session, BuildError> {
    // Registering an accelerator fails when its library or device is missing: that is the
    // provider's failure, not the graph's.
    let mut builder = Session::builder(env)
        .map_err(runtime_error)?
        .with_optimization_level(GraphOptimizationLevel::All)
        .map_err(runtime_error)?
        .with_prepacking(options.prepack_weights)
        .map_err(runtime_error)?
        .with_execution_providers(dispatch(providers))
        .map_err(|e| BuildError::Provider(e.to_string()))?
        .with_intra_threads(options.intra_threads())
        .map_err(runtime_error)?;
    builder.commit_from_memory(graph).map_err(BuildError::Parse)
}

/// Builds the session with the first provider that initialises: `providers` (accelerators, in
/// order) are tried one after another, CPU last. A failure with an accelerator first is that
/// provider's (reported in `failed`, or `ProviderUnavailable` when strict); a failure with CPU
/// alone is the graph's.
fn build_with_fallback(
    env: &'static Environment,
    graph: &[u8],
    options: &RuntimeOptions,
    mut providers: Vec<Provider>,
    skipped: Vec<Provider>,
) -> Result<(Session, ProviderChoice), BuildError> {
    let mut failed = Vec::new();
    loop {
        match build_session(env, graph, options, &providers) {
            Ok(session) => {
                let choice = ProviderChoice {
                    active: providers.first().copied().unwrap_or(Provider::Cpu),
                    skipped,
                    failed,
                };
                return Ok((session, choice));
            }
            Err(e) if !providers.is_empty() => {
                let provider = providers.remove(0);
                let why = match e {
                    BuildError::Provider(why) => why,
                    BuildError::Parse(e) => e.to_string(),
                    BuildError::Runtime(e) => e.to_string(),
                };
                if options.strict {
                    return Err(BuildError::Runtime(RuntimeError::ProviderUnavailable {
                        provider: provider.name(),
                        reason: format!("failed to initialise: {why}"),
                    }));
                }
                failed.push((provider, why));
            }
            Err(e) => return Err(e),
        }
    }
}

/// A run's output `name` as f32 values; an error, not a panic, when the run did not produce it
/// (load checks that the graph has it).
pub(crate) fn f32_output<'a>(
    outputs: &'a ort::session::SessionOutputs<'_>,
    name: &str,
) -> Result<&'a [f32], RuntimeError> {
    outputs
        .get(name)
        .ok_or_else(|| RuntimeError::Ort(format!("the graph run gave no {name}")))?
        .try_extract_tensor::<f32>()
        .map(|(_, values)| values)
        .map_err(RuntimeError::ort)
}

/// Loads `entry` from `dir` into a session with the chosen providers.
pub fn load(
    dir: &Path,
    entry: &GraphEntry,
    shape: &GraphShape,
    options: &RuntimeOptions,
) -> Result<(Session, ProviderChoice), RuntimeError> {
    let path = dir.join(entry.file.as_str());
    let verified = || -> Result<Vec<u8>, RuntimeError> {
        let graph = read_graph(&path, entry.bytes)?;
        let found = sha256_hex(&Sha256::digest(&graph).into());
        if found != entry.sha256 {
            return Err(RuntimeError::Checksum {
                path: path.clone(),
                expected: entry.sha256.to_string(),
                found: found.to_string(),
            });
        }
        Ok(graph)
    };
    // The first load of a process also loads ONNX Runtime (12-16 ms): the graph is read and
    // verified on a second thread meanwhile, which takes that much off a cold start. Later
    // loads read it in turn. A missing library is still the error reported first.
    let (env, graph) = if library_load_time().is_some() {
        (environment(options.library.as_deref()), verified())
    } else {
        std::thread::scope(|scope| {
            let reader = std::thread::Builder::new()
                .name("edgevae-graph-read".into())
                .spawn_scoped(scope, verified);
            let env = environment(options.library.as_deref());
            let graph = match reader {
                Ok(reader) => reader
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
                // No thread to be had: read it here.
                Err(_) => verified(),
            };
            (env, graph)
        })
    };
    let (env, graph) = (env?, graph?);
    let (providers, skipped) = choose(options)?;
    let session = build_with_fallback(env, &graph, options, providers, skipped);
    let (session, choice) = session.map_err(|e| match e {
        BuildError::Runtime(e) => e,
        BuildError::Provider(why) => RuntimeError::Ort(why),
        BuildError::Parse(e) => RuntimeError::GraphMismatch {
            path: path.clone(),
            problem: format!("ONNX Runtime cannot load it: {e}"),
        },
    })?;
    let (inputs, outputs) = signature(entry.role, shape);
    check_outlets(&path, "inputs", session.inputs(), &inputs)?;
    check_outlets(&path, "outputs", session.outputs(), &outputs)?;
    Ok((session, choice))
}

/// The fall-back path of a provider that this build has but that fails to initialise. The
/// CPU-only ONNX Runtime library this project fetches refuses the CUDA provider, which is what
/// a CUDA build meets on a device without a GPU or driver. Run by `.ci/run` with `--features
/// cuda`.
#[cfg(all(test, feature = "cuda"))]
mod tests {
    use super::*;

    fn quickstart_sampler() -> Vec<u8> {
        let path =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/quickstart/sampler_fp32.onnx");
        std::fs::read(&path).expect("the committed quickstart sampler")
    }

    #[test]
    fn a_provider_that_fails_to_initialise_falls_back_unless_strict() {
        let env = environment(None).expect("the fetched ONNX Runtime library");
        let graph = quickstart_sampler();
        let options = RuntimeOptions::default();
        let built = build_with_fallback(env, &graph, &options, vec![Provider::Cuda], vec![]);
        let Ok((session, choice)) = built else {
            panic!("no fallback to CPU");
        };
        assert_eq!(choice.active, Provider::Cpu);
        assert_eq!(choice.failed.len(), 1, "{choice:?}");
        assert_eq!(choice.failed[0].0, Provider::Cuda);
        assert!(
            choice
                .describe()
                .contains("cuda failed to initialise, fell back"),
            "{}",
            choice.describe()
        );
        assert_eq!(session.inputs().len(), 2);

        let strict = RuntimeOptions {
            strict: true,
            ..RuntimeOptions::default()
        };
        match build_with_fallback(env, &graph, &strict, vec![Provider::Cuda], vec![]) {
            Err(BuildError::Runtime(RuntimeError::ProviderUnavailable { provider, reason })) => {
                assert_eq!(provider, "cuda");
                assert!(reason.starts_with("failed to initialise"), "{reason}");
            }
            Err(_) => panic!("strict: another error than ProviderUnavailable"),
            Ok(_) => panic!("strict: fell back"),
        }
    }
}
