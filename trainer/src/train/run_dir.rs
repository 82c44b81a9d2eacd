//! A run directory's layout, named once: what `edgevae train` writes, and where its readers
//! (resume, [`super::LoadedRun`], `eval`, `export`, the quickstart) find it.
//!
//! - `config.json`: everything the run was asked to do;
//! - `state.json`: what is done, written last each epoch: the commit point;
//! - `checkpoints/`: one safetensors file per stage and committed epoch;
//! - `active_dims.json`, `reconstructions.png`, `samples_stage1.png`, `samples_two_stage.png`,
//!   and the diagnostics `losses.png`, `active_dims.png`, `traversals.png`: the run's reports,
//!   written at the end; `eval.json`, written by `edgevae eval`.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunDir {
    root: PathBuf,
}

impl RunDir {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Makes the directory (and its parents) if it is missing.
    pub fn create(&self) -> Result<()> {
        std::fs::create_dir_all(&self.root).map_err(|e| Error::io(&self.root, e))
    }

    /// Whether a run was started here (its state committed at least once): `--resume`
    /// continues it, a new run refuses the directory.
    pub fn is_started(&self) -> bool {
        self.state().exists()
    }

    pub fn config(&self) -> PathBuf {
        self.root.join("config.json")
    }

    pub fn state(&self) -> PathBuf {
        self.root.join("state.json")
    }

    pub fn checkpoints(&self) -> PathBuf {
        self.root.join("checkpoints")
    }

    /// The checkpoint file `name` (as `state.json` records it).
    pub fn checkpoint(&self, name: &str) -> PathBuf {
        self.checkpoints().join(name)
    }

    pub fn active_dims(&self) -> PathBuf {
        self.root.join("active_dims.json")
    }

    pub fn active_dims_png(&self) -> PathBuf {
        self.root.join("active_dims.png")
    }

    pub fn traversals_png(&self) -> PathBuf {
        self.root.join("traversals.png")
    }

    pub fn losses_png(&self) -> PathBuf {
        self.root.join("losses.png")
    }

    pub fn reconstructions(&self) -> PathBuf {
        self.root.join("reconstructions.png")
    }

    pub fn samples_stage1(&self) -> PathBuf {
        self.root.join("samples_stage1.png")
    }

    pub fn samples_two_stage(&self) -> PathBuf {
        self.root.join("samples_two_stage.png")
    }

    pub fn eval(&self) -> PathBuf {
        self.root.join("eval.json")
    }
}
