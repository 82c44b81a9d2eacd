//! A model directory made by `edgevae export`: `manifest.json` plus ONNX graphs.

use std::path::{Path, PathBuf};

use ort::session::Session;

use super::{session, OutlierFilter, ProviderChoice, RuntimeError, RuntimeOptions, Sampler};
use crate::core::outlier::InputGate;
use crate::core::{GraphRole, Manifest, MANIFEST_FILE};

#[derive(Debug)]
pub struct ModelDir {
    pub dir: PathBuf,
    pub manifest: Manifest,
    pub options: RuntimeOptions,
}

impl ModelDir {
    /// Reads and validates the manifest; graphs are checked when they are loaded.
    pub fn open(dir: &Path, options: RuntimeOptions) -> Result<Self, RuntimeError> {
        let path = dir.join(MANIFEST_FILE);
        let bytes = std::fs::read(&path).map_err(|source| RuntimeError::Io {
            path: path.clone(),
            source,
        })?;
        let manifest =
            Manifest::parse(&bytes).map_err(|source| RuntimeError::Manifest { path, source })?;
        Ok(Self {
            dir: dir.to_path_buf(),
            manifest,
            options,
        })
    }

    pub fn input_dim(&self) -> usize {
        self.manifest.input_dim as usize
    }

    pub fn latent(&self) -> usize {
        self.manifest.latent as usize
    }

    /// A session for the graph of `role` in the options' precision.
    pub fn session(&self, role: GraphRole) -> Result<(Session, ProviderChoice), RuntimeError> {
        let entry = self
            .manifest
            .graph(role, self.options.precision)
            .ok_or_else(|| RuntimeError::MissingGraph {
                dir: self.dir.clone(),
                role,
                precision: self.options.precision,
            })?;
        session::load(
            &self.dir,
            entry,
            &session::GraphShape {
                input_dim: self.input_dim(),
                latent: self.latent(),
                robust: self.manifest.robust,
            },
            &self.options,
        )
    }

    pub fn sampler(&self) -> Result<Sampler, RuntimeError> {
        let (session, choice) = self.session(GraphRole::Sampler)?;
        Ok(Sampler::new(
            session,
            choice,
            self.latent(),
            self.input_dim(),
        ))
    }

    /// The outlier filter; the manifest must carry the outlier calibration made at export.
    pub fn filter(&self) -> Result<OutlierFilter, RuntimeError> {
        let thresholds =
            self.manifest
                .outlier
                .clone()
                .ok_or_else(|| RuntimeError::NotCalibrated {
                    dir: self.dir.clone(),
                })?;
        let thresholds_range = thresholds.value_range;
        let (session, choice) = self.session(GraphRole::Filter)?;
        Ok(OutlierFilter::new(
            session,
            choice,
            self.input_dim(),
            thresholds,
            self.manifest.robust,
            InputGate::for_model(self.manifest.scaling, thresholds_range),
        ))
    }
}
