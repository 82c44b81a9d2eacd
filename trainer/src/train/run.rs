//! A trained run loaded back from its directory: the models of both stages, ready to encode,
//! decode and sample.

use std::path::Path;

use candle_core::{Device, Tensor};

use super::{checkpoint, CodeBatches, RunDir, RunState, TrainConfig};
use crate::atomic_file;
use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::mapped_vec::MappedVec;
use crate::model::{Stage1, Stage2};
use crate::nn::ParamStore;
use crate::rng::SeededRng;

pub struct LoadedRun {
    pub dir: RunDir,
    pub config: TrainConfig,
    pub state: RunState,
    pub device: Device,
    pub params1: ParamStore,
    pub stage1: Stage1,
    pub params2: ParamStore,
    pub stage2: Stage2,
}

/// Both stages' networks with their initial weights, with at most `budget[s]` values in stage
/// `s + 1`'s parameters.
fn build_within(
    config: &TrainConfig,
    device: &Device,
    budget: [Option<usize>; 2],
) -> Result<(ParamStore, Stage1, ParamStore, Stage2)> {
    let (params1, stage1) = build_stage1(config, device, budget[0])?;
    let (params2, stage2) = build_stage2(config, device, budget[1])?;
    Ok((params1, stage1, params2, stage2))
}

fn param_store(device: &Device, budget: Option<usize>) -> ParamStore {
    match budget {
        Some(max) => ParamStore::with_budget(device, max),
        None => ParamStore::new(device),
    }
}

/// Stage 1's network with its initial weights: each stage draws them from its own seeded
/// stream, so building stage 2 later (training does, to keep its memory out of stage 1's) gives
/// the same weights.
pub fn build_stage1(
    config: &TrainConfig,
    device: &Device,
    budget: Option<usize>,
) -> Result<(ParamStore, Stage1)> {
    let mut params = param_store(device, budget);
    let stage1 = Stage1::new(
        &config.stage1,
        config.image_shape,
        &mut params,
        &mut SeededRng::derive(config.seed, "init-stage1", 0),
    )?;
    Ok((params, stage1))
}

/// Stage 2's network with its initial weights (see [`build_stage1`]).
pub fn build_stage2(
    config: &TrainConfig,
    device: &Device,
    budget: Option<usize>,
) -> Result<(ParamStore, Stage2)> {
    let mut params = param_store(device, budget);
    let stage2 = Stage2::new(
        &config.stage2,
        config.stage1.latent,
        &mut params,
        &mut SeededRng::derive(config.seed, "init-stage2", 0),
    )?;
    Ok((params, stage2))
}

pub fn read_config(run_dir: &Path) -> Result<TrainConfig> {
    let path = RunDir::new(run_dir).config();
    if !path.exists() {
        return Err(Error::bad_file(
            &path,
            "not found: is this a run directory made by `edgevae train`?",
        ));
    }
    let config: TrainConfig = atomic_file::read_json(&path)?;
    config
        .validate()
        .map_err(|e| Error::bad_file(&path, e.to_string()))?;
    Ok(config)
}

pub fn read_state(run_dir: &Path) -> Result<RunState> {
    let path = RunDir::new(run_dir).state();
    let state: RunState = atomic_file::read_json(&path)?;
    if state.format_version != 1 {
        return Err(Error::bad_file(
            &path,
            format!(
                "run format version {} is not supported (this trainer reads 1)",
                state.format_version
            ),
        ));
    }
    Ok(state)
}

/// Refuses a config.json whose sizes cannot be those of the networks in the checkpoints, before
/// anything is built: every width, the latent size and the depth of stage 2 appear in at least
/// that many stored values. A corrupt config.json (a width of 10^15, say) used to make
/// `LoadedRun::open` allocate and fill networks from it first: an abort, a panic on overflow,
/// or hours of drawing initial weights. With each size bounded, [`ParamStore::with_budget`]
/// bounds their products. `budget[s]` is the number of values stage `s + 1`'s checkpoint holds.
fn check_sizes(config: &TrainConfig, path: &Path, budget: [Option<usize>; 2]) -> Result<()> {
    let s1 = &config.stage1;
    let s2 = &config.stage2;
    let mut sizes: Vec<(String, usize, usize)> = vec![
        ("stage1.input_dim".into(), s1.input_dim, 0),
        ("stage1.latent".into(), s1.latent, 0),
        ("stage1.hidden (layers)".into(), s1.hidden.len(), 0),
        ("stage2.width".into(), s2.width, 1),
        ("stage2.depth".into(), s2.depth, 1),
    ];
    for (i, &h) in s1.hidden.iter().enumerate() {
        sizes.push((format!("stage1.hidden[{i}]"), h, 0));
    }
    if s1.uses_conv_maps() {
        sizes.push((
            "stage1.conv_channels (maps)".into(),
            s1.conv_channels.len(),
            0,
        ));
        for (i, &c) in s1.conv_channels.iter().enumerate() {
            sizes.push((format!("stage1.conv_channels[{i}]"), c, 0));
        }
    }
    for (what, value, stage) in sizes {
        if let Some(max) = budget[stage] {
            if value > max {
                return Err(Error::bad_file(
                    path,
                    format!(
                        "{what} = {value}, more than the {max} values the checkpoint of stage \
                         {} holds; is config.json this run's?",
                        stage + 1
                    ),
                ));
            }
        }
    }
    Ok(())
}

impl LoadedRun {
    /// Loads the latest checkpoint of each stage. A stage with no checkpoint is an error unless
    /// `allow_partial`.
    pub fn open(run_dir: &Path, device: &Device, allow_partial: bool) -> Result<Self> {
        let config = read_config(run_dir)?;
        let state = read_state(run_dir)?;
        let run_dir = RunDir::new(run_dir);
        // Each checkpoint is read first (its size bounds what it holds), so the networks
        // config.json describes are built within it: see `check_sizes`.
        let mut stored = Vec::with_capacity(2);
        for stage in [1u8, 2] {
            match &state.stage(stage).checkpoint {
                Some(name) => {
                    let path = run_dir.checkpoint(name);
                    let (tensors, values_held) = checkpoint::read_parameters(&path, device)?;
                    stored.push(Some((path, tensors, values_held)));
                }
                None if allow_partial => stored.push(None),
                None => {
                    return Err(Error::bad_file(
                        run_dir.state(),
                        format!(
                        "stage {stage} has not finished an epoch yet; train (or --resume) first"
                    ),
                    ))
                }
            }
        }
        let budget = [0, 1].map(|s| stored[s].as_ref().map(|(_, _, values_held)| *values_held));
        check_sizes(&config, &run_dir.config(), budget)?;
        let (params1, stage1, params2, stage2) =
            build_within(&config, device, budget).map_err(|e| match e {
                Error::Config(problem) => Error::bad_file(
                    run_dir.config(),
                    format!("{problem}; is config.json this run's?"),
                ),
                e => e,
            })?;
        for (params, stored) in [&params1, &params2].into_iter().zip(&stored) {
            if let Some((path, tensors, _)) = stored {
                params.load(tensors, path)?;
            }
        }
        Ok(Self {
            dir: run_dir,
            config,
            state,
            device: device.clone(),
            params1,
            stage1,
            params2,
            stage2,
        })
    }

    /// `count` consecutive [n, latent] tensors of normals from the runtime core's
    /// `GaussianRng::new(seed)`, the stream `Sampler::sample_into` fills u and then eps from: so
    /// `edgevae sample --run R --seed S` and `edgevae sample --model M --seed S` give the same
    /// samples of one model (within the exported graph's precision).
    fn core_normals(&self, n: usize, seed: u64, count: usize) -> Result<Vec<Tensor>> {
        let k = self.config.stage1.latent;
        let mut rng = edgevae_runtime::core::GaussianRng::new(seed);
        (0..count)
            .map(|_| {
                let mut values = vec![0f32; n * k];
                rng.fill_normal(&mut values);
                Ok(Tensor::from_vec(values, (n, k), &self.device)?)
            })
            .collect()
    }

    /// Two-stage sampling: u ~ N(0, I) -> z = f2(u) + sqrt(gamma_z) eps -> x = mu_x(z).
    pub fn sample_two_stage(&self, n: usize, seed: u64) -> Result<Vec<f32>> {
        let noise = self.core_normals(n, seed, 2)?;
        let (u, eps) = (&noise[0], &noise[1]);
        let z = self.stage2.sample_codes(u, eps)?;
        Ok(self.to_data(values(&self.stage1.decode(&z)?)?))
    }

    /// Stage-1-only sampling, z ~ N(0, I), for comparison (z is the stream's first n x latent
    /// normals, the u of two-stage sampling).
    pub fn sample_stage1(&self, n: usize, seed: u64) -> Result<Vec<f32>> {
        let z = self.core_normals(n, seed, 1)?;
        Ok(self.to_data(values(&self.stage1.decode(&z[0])?)?))
    }

    /// The posterior means of `rows` (data units), `latent` per row.
    pub fn posterior_means(&self, rows: &[f32]) -> Result<Vec<f32>> {
        let mut out = Vec::new();
        self.for_each_batch(rows, |x| {
            out.extend(values(&self.stage1.encode(x)?.mean)?);
            Ok(())
        })?;
        Ok(out)
    }

    /// The stage-1 decoder's means of the codes `z` (`latent` per row), in the data's units.
    pub fn decode_codes(&self, z: &[f32]) -> Result<Vec<f32>> {
        let k = self.config.stage1.latent;
        let mut out = Vec::with_capacity(z.len() / k.max(1) * self.config.stage1.input_dim);
        for chunk in z.chunks(ROWS_PER_BATCH * k.max(1)) {
            let t = Tensor::from_slice(chunk, (chunk.len() / k, k), &self.device)?;
            out.extend(values(&self.stage1.decode(&t)?)?);
        }
        Ok(self.to_data(out))
    }

    /// Values the networks produced, in the data's units (`config.standardization` undone).
    /// Every method of a run takes and returns rows in the data's units.
    fn to_data(&self, mut v: Vec<f32>) -> Vec<f32> {
        if let Some(s) = &self.config.standardization {
            crate::data::standardize::to_data(s, &mut v);
        }
        v
    }

    /// A log-variance the networks produced, in the data's units.
    fn log_var_to_data(&self, mut v: Vec<f32>) -> Vec<f32> {
        if let Some(s) = &self.config.standardization {
            let offset = s.log_var_offset();
            v.iter_mut().for_each(|x| *x += offset);
        }
        v
    }

    /// Runs `f` on `rows` (row-major, `input_dim` each, in the data's units) as [n, input_dim]
    /// tensors in model units of at most [`ROWS_PER_BATCH`] rows, in order.
    fn for_each_batch(&self, rows: &[f32], mut f: impl FnMut(&Tensor) -> Result<()>) -> Result<()> {
        let d = self.config.stage1.input_dim;
        for chunk in rows.chunks(ROWS_PER_BATCH * d) {
            let shape = (chunk.len() / d, d);
            match &self.config.standardization {
                Some(s) => {
                    let mut model_units = chunk.to_vec();
                    crate::data::standardize::to_model(s, &mut model_units);
                    f(&Tensor::from_vec(model_units, shape, &self.device)?)?
                }
                None => f(&Tensor::from_slice(chunk, shape, &self.device)?)?,
            }
        }
        Ok(())
    }

    /// Posterior-mean reconstructions of `rows` (row-major, `dim` each) after `passes` cleaning
    /// passes (see [`Stage1::reconstruct_passes`]).
    pub fn reconstruct_passes(&self, rows: &[f32], passes: usize) -> Result<Vec<f32>> {
        let mut out = Vec::with_capacity(rows.len());
        self.for_each_batch(rows, |x| {
            out.extend(values(&self.stage1.reconstruct_passes(x, passes)?)?);
            Ok(())
        })?;
        Ok(self.to_data(out))
    }

    /// Posterior-mean reconstructions of `rows` (row-major, `dim` each) and, for a robust
    /// decoder, the log of its per-element inlier variance (the filter graph's `x_log_var`).
    pub fn reconstruct_with_log_var(&self, rows: &[f32]) -> Result<(Vec<f32>, Option<Vec<f32>>)> {
        let mut means = Vec::with_capacity(rows.len());
        let mut log_vars = self
            .stage1
            .variance_head
            .as_ref()
            .map(|_| Vec::with_capacity(rows.len()));
        self.for_each_batch(rows, |x| {
            let decoded = self.stage1.decode_full(&self.stage1.encode(x)?.mean)?;
            means.extend(values(&decoded.mean)?);
            if let (Some(out), Some(v)) = (log_vars.as_mut(), decoded.variance) {
                out.extend(values(&v.log()?)?);
            }
            Ok(())
        })?;
        Ok((
            self.to_data(means),
            log_vars.map(|v| self.log_var_to_data(v)),
        ))
    }

    /// Posterior-mean reconstructions of `rows` (row-major, `dim` each).
    pub fn reconstruct(&self, rows: &[f32]) -> Result<Vec<f32>> {
        let mut out = Vec::with_capacity(rows.len());
        self.for_each_batch(rows, |x| {
            out.extend(values(&self.stage1.decode(&self.stage1.encode(x)?.mean)?)?);
            Ok(())
        })?;
        Ok(self.to_data(out))
    }
}

/// Rows per forward pass when a run reconstructs many rows: bounds the activations' memory.
const ROWS_PER_BATCH: usize = 512;

/// A tensor's values, row-major.
fn values(t: &Tensor) -> Result<Vec<f32>> {
    Ok(t.flatten_all()?.to_vec1::<f32>()?)
}

/// Stage-1 posterior (mean, standard deviation) of every row of `data`.
pub fn encode_codes(stage1: &Stage1, data: &Dataset, device: &Device) -> Result<CodeBatches> {
    let k = stage1.config.latent;
    let mut mean = MappedVec::with_capacity(data.len() * k);
    let mut std = MappedVec::with_capacity(data.len() * k);
    for chunk in data.row_chunks(ROWS_PER_BATCH) {
        let x = Tensor::from_slice(&chunk, (chunk.len() / data.dim, data.dim), device)?;
        let q = stage1.encode(&x)?;
        mean.extend_from_slice(&q.mean.flatten_all()?.to_vec1::<f32>()?);
        std.extend_from_slice(
            &q.log_var
                .affine(0.5, 0.0)?
                .exp()?
                .flatten_all()?
                .to_vec1::<f32>()?,
        );
    }
    Ok(CodeBatches {
        mean,
        std,
        latent: k,
    })
}
