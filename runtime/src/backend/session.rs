//! Building a session from a graph file: memory-mapped, checksummed against the manifest, then
//! checked for the inputs and outputs its role promises.

use std::path::Path;

use ort::environment::Environment;
use ort::session::builder::GraphOptimizationLevel;
use ort::session::Session;
use ort::value::{TensorElementType, ValueType};
use sha2::{Digest, Sha256};

use super::providers::choose;
use super::{environment, ProviderChoice, RuntimeError, RuntimeOptions};
use crate::core::{GraphEntry, GraphRole};

/// (name, width) of a graph input or output; the batch dimension comes first and is symbolic.
type Port = (&'static str, usize);

/// The inputs and outputs a graph of `role` must have.
pub fn signature(role: GraphRole, shape: &GraphShape) -> (Vec<Port>, Vec<Port>) {
    let GraphShape {
        input_dim,
        latent,
        robust,
    } = *shape;
    match role {
        GraphRole::Sampler => (vec![("u", latent), ("eps", latent)], vec![("x", input_dim)]),
        GraphRole::Filter => {
            let mut outputs = vec![
                ("z_mean", latent),
                ("z_log_var", latent),
                ("x_mean", input_dim),
            ];
            if robust {
                outputs.push(("x_log_var", input_dim));
            }
            (vec![("x", input_dim)], outputs)
        }
    }
}

/// What the manifest says a graph's ports must look like.
#[derive(Clone, Copy, Debug)]
pub struct GraphShape {
    pub input_dim: usize,
    pub latent: usize,
    /// The filter graph has the `x_log_var` output.
    pub robust: bool,
}

fn map_file(path: &Path) -> Result<memmap2::Mmap, RuntimeError> {
    let io = |source| RuntimeError::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    // SAFETY: read-only private map of a model file that is only read while the session is
    // built (ONNX Runtime copies what it keeps); model directories are not edited while loading.
    unsafe { memmap2::Mmap::map(&file) }.map_err(io)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
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
) -> Result<(Session, ProviderChoice), BuildError> {
    let (choice, providers) = choose(options).map_err(BuildError::Runtime)?;
    let mut builder = Session::builder(env)
        .map_err(runtime_error)?
        .with_optimization_level(GraphOptimizationLevel::All)
        .map_err(runtime_error)?
        .with_prepacking(options.prepack_weights)
        .map_err(runtime_error)?
        .with_execution_providers(providers)
        .map_err(runtime_error)?;
    builder = builder
        .with_intra_threads(options.intra_threads())
        .map_err(runtime_error)?;
    let session = builder
        .commit_from_memory(graph)
        .map_err(BuildError::Parse)?;
    Ok((session, choice))
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
    let map = map_file(&path)?;
    if map.len() as u64 != entry.bytes {
        return Err(RuntimeError::GraphMismatch {
            path,
            problem: format!(
                "file has {} bytes, the manifest says {}",
                map.len(),
                entry.bytes
            ),
        });
    }
    // The library is loaded first: loading it while the checksum thread faults in the mapped
    // graph made both slower (measured: +6 ms). Then the checksum is computed on a second thread
    // while ONNX Runtime parses the graph; the session is returned only when the checksum
    // matches, and a mismatch is reported before any parse error it may have caused.
    let env = environment(options.library.as_deref())?;
    let (found, session) = std::thread::scope(|scope| {
        let checksum = || hex(&Sha256::digest(&map[..]));
        // If no thread can be made, the checksum is simply computed here afterwards.
        let digest = std::thread::Builder::new()
            .name("edgevae-checksum".into())
            .spawn_scoped(scope, checksum)
            .ok();
        let session = build_session(env, &map, options);
        let found = digest.and_then(|d| d.join().ok()).unwrap_or_else(checksum);
        (found, session)
    });
    if found != entry.sha256.as_str() {
        return Err(RuntimeError::Checksum {
            path,
            expected: entry.sha256.to_string(),
            found,
        });
    }
    let (session, choice) = session.map_err(|e| match e {
        BuildError::Runtime(e) => e,
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
