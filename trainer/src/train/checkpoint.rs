//! Stage checkpoints: parameters and optimiser moments in one safetensors file per epoch,
//! written atomically. The file name carries the stage and epoch, so a new checkpoint never
//! overwrites the one `state.json` still points to.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use candle_core::{Device, Tensor};

use super::RunState;
use crate::atomic_file;
use crate::error::{Error, Result};
use crate::nn::{AdamW, ParamStore};

pub const DIR: &str = "checkpoints";

pub fn file_name(stage: u8, epochs_done: usize) -> String {
    format!("stage{stage}-epoch{epochs_done:05}.safetensors")
}

pub fn path(run_dir: &Path, name: &str) -> PathBuf {
    run_dir.join(DIR).join(name)
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
pub fn remove_stale(run_dir: &Path, state: &RunState) -> Result<()> {
    let dir = run_dir.join(DIR);
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
    run_dir: &Path,
    stage: u8,
    epochs_done: usize,
    params: &ParamStore,
    opt: &AdamW,
) -> Result<String> {
    let dir = run_dir.join(DIR);
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    let name = file_name(stage, epochs_done);
    let mut tensors: HashMap<String, Tensor> = params.tensors();
    tensors.extend(opt.state_tensors());
    write_tensors(&path(run_dir, &name), &tensors)?;
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
    if !path.exists() {
        return Err(Error::bad_file(path, "checkpoint file is missing"));
    }
    candle_core::safetensors::load(path, device)
        .map_err(|e| Error::bad_file(path, format!("cannot read safetensors: {e}")))
}

/// Restores parameters (and, when given, optimiser state) from a checkpoint.
pub fn load(
    run_dir: &Path,
    name: &str,
    params: &ParamStore,
    opt: Option<(&mut AdamW, u64)>,
) -> Result<()> {
    let p = path(run_dir, name);
    let tensors = read_tensors(&p, params.device())?;
    params.load(&tensors, &p)?;
    if let Some((opt, steps)) = opt {
        opt.load_state(&tensors, steps, &p)?;
    }
    Ok(())
}
