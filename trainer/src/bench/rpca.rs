//! `edgevae bench rpca`: the synthetic grid of Dai et al. (2018), one cell per (kappa, nu):
//! PCP, a plain VAE and the robust VAE each recover the clean matrix from the corrupted one,
//! scored by NMSE. The VAEs train through the ordinary pipeline (an .npy file, a run directory),
//! so the benchmark measures what `edgevae train` gives, not a special path.

use std::path::{Path, PathBuf};
use std::time::Instant;

use candle_core::Device;
use ndarray::Array2;

use edgevae_trainer::atomic_file;
use edgevae_trainer::data::npy;
use edgevae_trainer::error::{Error, Result};
use edgevae_trainer::rpca::{generate, nmse, pcp, PcpOptions, SyntheticRpca};
use edgevae_trainer::train::{train, Flow, LoadedRun, TrainConfig, TrainRequest};

#[derive(Clone, Debug)]
pub struct GridOptions {
    pub kappas: Vec<usize>,
    pub nus: Vec<f64>,
    /// Rows per cell.
    pub rows: usize,
    /// Columns (100 in the paper).
    pub dim: usize,
    /// Stage-1 epochs of each VAE.
    pub epochs: usize,
    /// Stage-1 hidden widths of each VAE.
    pub hidden: Vec<usize>,
    /// Each VAE's latent width: one for the whole grid, whatever κ is (the paper's protocol:
    /// the user does not know the rank), or `None` for a latent of κ in each row (an oracle
    /// setting: the VAE is told the rank).
    pub latent: Option<usize>,
    pub seed: u64,
    /// Cleaning passes of the reconstruction
    /// ([`edgevae_trainer::model::Stage1::reconstruct_passes`]).
    pub passes: usize,
    /// The robust VAE's price of an outlier element, in nats (`train --outlier-cost`).
    pub outlier_cost: f64,
    /// The robust VAE's warm-up fraction of stage-1 epochs (`train --robust-warmup`).
    pub robust_warmup: f64,
    /// Recycling passes while training (`train --recycle`).
    pub recycle: usize,
    /// Run directories of the VAEs go here.
    pub work_dir: PathBuf,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CellResult {
    pub kappa: usize,
    pub nu: f64,
    pub nmse_pcp: f64,
    pub nmse_vae: f64,
    pub nmse_robust: f64,
    pub pcp_iterations: usize,
    pub seconds: f64,
}

/// A success, as in the paper's figures.
pub const SUCCESS_NMSE: f64 = 0.05;

fn to_f32(a: &Array2<f64>) -> Vec<f32> {
    a.iter().map(|&v| v as f32).collect()
}

/// Trains one stage-1 VAE (stage 2 is a token epoch: the grid scores reconstructions) on
/// `corrupted` and returns its posterior-mean reconstruction of every row.
fn vae_reconstruction(
    opts: &GridOptions,
    data_file: &Path,
    kappa: usize,
    robust: bool,
    run_dir: &Path,
    corrupted: &[f32],
) -> Result<Vec<f32>> {
    if run_dir.exists() {
        std::fs::remove_dir_all(run_dir).map_err(|e| Error::io(run_dir, e))?;
    }
    let mut config = TrainConfig::for_data(&data_file.display().to_string(), robust)?;
    config.seed = opts.seed;
    let stage1 = &mut config.stage1;
    stage1.hidden = opts.hidden.clone();
    // The paper's protocol gives every cell one latent width; κ itself only as the oracle.
    stage1.latent = opts.latent.unwrap_or(kappa);
    if let Some(r) = &mut stage1.robust {
        r.outlier_cost = opts.outlier_cost;
        r.warmup = opts.robust_warmup;
    }
    stage1.recycle = opts.recycle;
    config.schedule1 = config.schedule1.with_epochs(opts.epochs);
    super::token_stage2(&mut config);
    let req = TrainRequest {
        run_dir: run_dir.to_path_buf(),
        config,
        resume: false,
        device: Device::Cpu,
    };
    train(&req, &mut |_| Flow::Continue)?;
    LoadedRun::open(run_dir, &Device::Cpu, false)?.reconstruct_passes(corrupted, opts.passes)
}

fn nmse_f32(truth: &Array2<f64>, estimate: &[f32]) -> Result<f64> {
    let est = Array2::from_shape_vec(
        truth.dim(),
        estimate.iter().map(|&v| f64::from(v)).collect(),
    )
    .map_err(|e| Error::Config(format!("reconstruction has the wrong shape: {e}")))?;
    Ok(nmse(truth, &est))
}

/// Runs one cell of the grid.
pub fn run_cell(opts: &GridOptions, kappa: usize, nu: f64) -> Result<CellResult> {
    let started = Instant::now();
    let SyntheticRpca {
        clean, corrupted, ..
    } = generate(opts.rows, opts.dim, kappa, nu, opts.seed)?;
    let pcp_result = pcp(&corrupted, &PcpOptions::default())?;
    let nmse_pcp = nmse(&clean, &pcp_result.low_rank);

    let cell_dir = opts.work_dir.join(format!("k{kappa}_nu{nu:.2}"));
    std::fs::create_dir_all(&cell_dir).map_err(|e| Error::io(&cell_dir, e))?;
    let data_file = cell_dir.join("corrupted.npy");
    let values = to_f32(&corrupted);
    let bytes =
        npy::encode_f32(&[opts.rows, opts.dim], &values).map_err(|e| Error::io(&data_file, e))?;
    atomic_file::write(&data_file, &bytes)?;
    let plain = vae_reconstruction(
        opts,
        &data_file,
        kappa,
        false,
        &cell_dir.join("plain"),
        &values,
    )?;
    let robust = vae_reconstruction(
        opts,
        &data_file,
        kappa,
        true,
        &cell_dir.join("robust"),
        &values,
    )?;
    Ok(CellResult {
        kappa,
        nu,
        nmse_pcp,
        nmse_vae: nmse_f32(&clean, &plain)?,
        nmse_robust: nmse_f32(&clean, &robust)?,
        pcp_iterations: pcp_result.iterations,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// The results as CSV, one line per cell.
pub fn to_csv(cells: &[CellResult]) -> String {
    let mut s = String::from("kappa,nu,nmse_pcp,nmse_vae,nmse_robust_vae,pcp_iterations,seconds\n");
    for c in cells {
        s.push_str(&format!(
            "{},{:.2},{:.6},{:.6},{:.6},{},{:.1}\n",
            c.kappa, c.nu, c.nmse_pcp, c.nmse_vae, c.nmse_robust, c.pcp_iterations, c.seconds
        ));
    }
    s
}

/// One method's NMSE as a (kappa rows) x (nu columns) grid, for the heat maps.
pub fn grid_of(
    cells: &[CellResult],
    opts: &GridOptions,
    pick: impl Fn(&CellResult) -> f64,
) -> Vec<Vec<f64>> {
    opts.kappas
        .iter()
        .map(|&k| {
            opts.nus
                .iter()
                .map(|&nu| {
                    cells
                        .iter()
                        .find(|c| c.kappa == k && (c.nu - nu).abs() < 1e-9)
                        .map_or(f64::NAN, &pick)
                })
                .collect()
        })
        .collect()
}

/// Cells with NMSE below [`SUCCESS_NMSE`].
pub fn successes(cells: &[CellResult], pick: impl Fn(&CellResult) -> f64) -> usize {
    cells.iter().filter(|c| pick(c) < SUCCESS_NMSE).count()
}
