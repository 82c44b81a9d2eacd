//! Training defaults that depend on the kind of data: pixel data in [0, 1], or real values.
//!
//! Measured on Robust PCA matrices (10,000 rows on a κ-dimensional manifold in R^100 from a
//! random 4-layer ReLU network unlike `data::manifold`'s, a fraction ν of entries replaced by
//! Gaussian outliers; `benches/rpca_cli_table.sh`), robust VAE with a latent of 32 whatever κ is,
//! NMSE of `edgevae filter --passes 3`'s cleaned rows (PCP on the same matrices in brackets):
//!
//! | latent decay, outlier cost | κ 4, ν 0.1 | κ 4, ν 0.3 | κ 12, ν 0.1 | κ 12, ν 0.3 |
//! | --- | --- | --- | --- | --- |
//! | 2, 3 (the pixel defaults) | – | 0.167 (3 of 32 dimensions active) | – | 0.563 (2 active) |
//! | 0, 3 | 0.0014 | 0.0228 | 0.0287 | 0.460 |
//! | 0, 1 | 0.0020 | 0.0222 | 0.0229 | 0.167 |
//! | PCP | 0.0368 | 0.1379 | 0.1250 | 0.2721 |
//!
//! The latent decay prunes the latent dimensions the reconstruction does not hold up; on these
//! matrices it pruned needed ones (3 of 32 active for κ = 4, 2 for κ = 12), and without it the
//! KL term alone leaves about κ active (4, 5, 11). A lower outlier price lets the hardest cell
//! (κ 12, ν 0.3) call more of its corrupted entries outliers. On pixel data the decay is what
//! settles the sprites demo's active dimensions in a short schedule and cost 3 is what the
//! corrupted-MNIST figures were tuned with, so pixels keep 2 and 3.

use crate::data::{load_file, DataSource, Scaling};
use crate::error::Result;

/// The defaults of `edgevae train` for one kind of data.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DataDefaults {
    /// `--latent-decay`.
    pub latent_decay: f64,
    /// `--outlier-cost` (with `--robust`).
    pub outlier_cost: f64,
}

impl DataDefaults {
    pub fn for_scaling(scaling: Scaling) -> Self {
        match scaling {
            Scaling::Unit => Self {
                latent_decay: 2.0,
                outlier_cost: 3.0,
            },
            Scaling::Real => Self {
                latent_decay: 0.0,
                outlier_cost: 1.0,
            },
        }
    }
}

/// How `source`'s values are scaled, as the loaders will decide: generated data by kind, a
/// directory (the MNIST layout, u8) as pixels, a file by reading it (u8, or f32 all in [0, 1],
/// are pixels).
pub fn probe_scaling(source: &DataSource) -> Result<Scaling> {
    Ok(match source {
        DataSource::Sprites { .. } => Scaling::Unit,
        DataSource::Manifold(_) => Scaling::Real,
        DataSource::Path(p) if p.is_dir() => Scaling::Unit,
        DataSource::Path(p) => load_file(p)?.scaling,
    })
}
