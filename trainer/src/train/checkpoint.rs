//! Stage checkpoints: parameters and optimiser moments in one safetensors file per epoch,
//! written atomically. The file name carries the stage and epoch, so a new checkpoint never
//! overwrites the one `state.json` still points to.

use std::collections::HashMap;
use std::path::Path;

use candle_core::safetensors::Load;
use candle_core::{Device, Tensor};

use super::{RunDir, RunState};
use crate::atomic_file;
use crate::error::{Error, Result};
use crate::nn::{AdamW, ParamStore, OPTIMIZER_STATE_PREFIX};

pub fn file_name(stage: u8, epochs_done: usize) -> String {
    format!("stage{stage}-epoch{epochs_done:05}.safetensors")
}

/// Whether `name` is a checkpoint file name made by [`file_name`].
fn is_checkpoint_name(name: &str) -> bool {
    let Some(rest) = name
        .strip_prefix("stage1-epoch")
        .or_else(|| name.strip_prefix("stage2-epoch"))
    else {
        return false;
    };
    rest.strip_suffix(".safetensors")
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// Removes what a killed run leaves under `checkpoints/`: temporary files, and checkpoints that
/// `state` does not name (one written just before the kill, before its commit; or the superseded
/// one, when the kill came between the commit and its removal). A resumed run keeps only the
/// checkpoints it resumes from, as an unbroken run would.
pub fn remove_stale(run_dir: &RunDir, state: &RunState) -> Result<()> {
    let dir = run_dir.checkpoints();
    atomic_file::remove_stale_temps(&dir)?;
    let named = |n: &str| {
        [&state.stage1, &state.stage2]
            .iter()
            .any(|p| p.checkpoint.as_deref() == Some(n))
    };
    atomic_file::remove_files_named(&dir, |name| {
        name.to_str()
            .is_some_and(|n| is_checkpoint_name(n) && !named(n))
    })?;
    Ok(())
}

/// Writes parameters and optimiser state; returns the file name to record in `state.json`.
pub fn save(
    run_dir: &RunDir,
    stage: u8,
    epochs_done: usize,
    params: &ParamStore,
    opt: &AdamW,
) -> Result<String> {
    let dir = run_dir.checkpoints();
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    let name = file_name(stage, epochs_done);
    let mut tensors: HashMap<String, Tensor> = params.tensors();
    tensors.extend(opt.state_tensors());
    write_tensors(&run_dir.checkpoint(&name), &tensors)?;
    Ok(name)
}

/// Writes a safetensors file atomically.
pub fn write_tensors(dest: &Path, tensors: &HashMap<String, Tensor>) -> Result<()> {
    atomic_file::write_with(dest, |tmp| {
        candle_core::safetensors::save(tensors, tmp).map_err(std::io::Error::other)
    })
}

/// Reads a safetensors file, naming it in any error.
pub fn read_tensors(path: &Path, device: &Device) -> Result<HashMap<String, Tensor>> {
    Ok(read_matching(path, device, |_| true)?.0)
}

/// The parameters of a checkpoint, without its optimiser moments (two thirds of the file, which
/// sampling, evaluation and export never read), and the number of values the whole file holds.
pub fn read_parameters(path: &Path, device: &Device) -> Result<(HashMap<String, Tensor>, usize)> {
    read_matching(path, device, |name| {
        !name.starts_with(OPTIMIZER_STATE_PREFIX)
    })
}

fn read_matching(
    path: &Path,
    device: &Device,
    wanted: impl Fn(&str) -> bool,
) -> Result<(HashMap<String, Tensor>, usize)> {
    if !path.exists() {
        return Err(Error::bad_file(path, "checkpoint file is missing"));
    }
    let bad =
        |e: candle_core::Error| Error::bad_file(path, format!("cannot read safetensors: {e}"));
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let file = candle_core::safetensors::BufferedSafetensors::new(bytes).map_err(bad)?;
    let entries = file.tensors();
    let held = entries
        .iter()
        .map(|(_, view)| view.shape().iter().product::<usize>())
        .sum();
    let tensors = entries
        .into_iter()
        .filter(|(name, _)| wanted(name))
        .map(|(name, view)| Ok((name, view.load(device).map_err(bad)?)))
        .collect::<Result<_>>()?;
    Ok((tensors, held))
}

/// Restores parameters (and, when given, optimiser state) from a checkpoint.
pub fn load(
    run_dir: &RunDir,
    name: &str,
    params: &ParamStore,
    opt: Option<(&mut AdamW, u64)>,
) -> Result<()> {
    let p = run_dir.checkpoint(name);
    let tensors = match opt {
        Some(_) => read_tensors(&p, params.device())?,
        None => read_parameters(&p, params.device())?.0,
    };
    params.load(&tensors, &p)?;
    if let Some((opt, steps)) = opt {
        opt.load_state(&tensors, steps, &p)?;
    }
    Ok(())
}
