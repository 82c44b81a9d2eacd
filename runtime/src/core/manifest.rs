//! `manifest.json`: what a model directory holds, in fixed-capacity types, so a device reads it
//! without an allocator (`manifest_parse.rs` reads it in place); validated before any graph is
//! used.

use heapless::{String, Vec};
use serde::{Deserialize, Serialize};

use super::{CoreError, MicroPrecision, Precision};

/// 2: element scores are log-likelihoods (version 1 scored standardised residuals against the
/// same `element_threshold` field, so a version-1 manifest is refused rather than misread).
pub const FORMAT_VERSION: u32 = 2;

/// The manifest's file name in a model directory.
pub const MANIFEST_FILE: &str = "manifest.json";
pub const MAX_GRAPHS: usize = 8;
/// The most micro blobs a manifest lists: each role in each [`MicroPrecision`].
pub const MAX_MICRO: usize = 6;
/// The widest input whose per-element calibration fits in a manifest (a fixed capacity, so a
/// device parses it without an allocator; 4096 f32 are 16 KiB).
pub const MAX_CALIBRATED_DIM: usize = 4096;
/// The deepest nesting of arrays and objects a manifest may have (a valid one has 3).
/// serde-json-core recurses once per level, also through the values of unknown fields it
/// skips, so a deeply nested document overflowed the stack (an abort, not an error) before it
/// could be refused: depth is checked first, without recursion.
pub const MAX_NESTING: usize = 16;

/// How the data are scaled; decides what "clean" values look like, the trainer's decoder output
/// layer and its corruption noise.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scaling {
    /// Pixels in [0, 1]: sigmoid decoder output, uniform noise for corruption.
    Unit,
    /// Real values (standardised for training): linear decoder output, N(0, 1) noise for
    /// corruption.
    Real,
}

/// How real-valued data were standardised for training: the network saw `(x - center) / scale`.
/// The exported graphs undo it at their ports (`x` in, `x`, `x_mean` and `x_log_var` out), so
/// every consumer reads and writes the data's own units; the manifest records it for them.
/// Absent for pixel data (`Scaling::Unit`), which are left as they are.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Standardization {
    pub center: f32,
    pub scale: f32,
}

impl Standardization {
    /// `(x - center) / scale`.
    pub fn to_model(&self, x: f32) -> f32 {
        (x - self.center) / self.scale
    }

    /// `x * scale + center`.
    pub fn to_data(&self, x: f32) -> f32 {
        x * self.scale + self.center
    }

    /// What a log-variance in model units gains in data units: `2 ln scale`.
    pub fn log_var_offset(&self) -> f32 {
        2.0 * libm::logf(self.scale)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GraphRole {
    /// Inputs `u` and `eps` [N, latent] -> `x` [N, input_dim].
    Sampler,
    /// Input `x` [N, input_dim] -> `z_mean`, `z_log_var` [N, latent], `x_mean` [N, input_dim],
    /// and `x_log_var` [N, input_dim] (the per-element decoder variance) when the model is robust.
    Filter,
}

impl GraphRole {
    pub fn name(self) -> &'static str {
        match self {
            GraphRole::Sampler => "sampler",
            GraphRole::Filter => "filter",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GraphEntry {
    pub role: GraphRole,
    pub precision: Precision,
    /// File name inside the model directory.
    pub file: String<64>,
    /// The file's SHA-256 as [`super::sha256_hex`] writes it.
    pub sha256: String<{ super::SHA256_HEX_DIGITS }>,
    pub bytes: u64,
}

/// A micro blob (`crate::micro`): one graph's weights for the no_std backend.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MicroEntry {
    pub role: GraphRole,
    pub precision: MicroPrecision,
    /// File name inside the model directory.
    pub file: String<64>,
    pub sha256: String<{ super::SHA256_HEX_DIGITS }>,
    pub bytes: u64,
    /// The widest activation the blob keeps between layers, which sizes the scratch arena
    /// (`micro::required_arena`) before the blob is read.
    pub width: u32,
}

/// Written by the trainer with serde (`Serialize`); read by [`Manifest::parse`] or, in place,
/// [`Manifest::parse_into`].
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Manifest {
    pub format_version: u32,
    pub trainer_version: String<24>,
    pub input_dim: u32,
    pub latent: u32,
    /// [rows, cols] when rows are images.
    pub image_shape: Option<[u32; 2]>,
    pub scaling: Scaling,
    pub gamma_stage1: f64,
    pub gamma_stage2: f64,
    /// The stage-1 decoder has a per-element variance head (`--robust`): the filter graph then
    /// has a fourth output, `x_log_var`. Optional in the file (false).
    pub robust: bool,
    /// Real-valued data: the standardisation the graphs undo (optional in the file).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub standardization: Option<Standardization>,
    pub graphs: Vec<GraphEntry, MAX_GRAPHS>,
    /// Micro blobs (optional in the file; MLP models only).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub micro: Vec<MicroEntry, MAX_MICRO>,
    /// Outlier thresholds, filled in by calibration (robust models); `null` until then.
    pub outlier: Option<OutlierThresholds>,
}

/// Outlier calibration, made at export from the run's validation rows (see [`super::outlier`]).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct OutlierThresholds {
    /// Per-sample score above which a row is an outlier: the `1 - contamination` quantile of the
    /// validation scores (PyOD's convention).
    pub score_threshold: f64,
    /// Element score (twice the element's negative log-likelihood, see [`super::outlier`])
    /// above which an element is an outlier.
    pub element_threshold: f64,
    /// The contamination the score threshold was calibrated for.
    pub contamination: f64,
    /// Per-element inlier noise variance, `input_dim` values: the inlier variance of models
    /// without a variance head.
    pub element_noise: Vec<f32, MAX_CALIBRATED_DIM>,
    /// [min, max] of the calibration rows, for real-valued data (`Scaling::Real`): the filter
    /// scores values up to one such span outside it, and treats values farther out as outliers
    /// by definition (see [`super::outlier::InputGate`]). Absent for pixel data, whose range is
    /// [0, 1] by construction, and in manifests written before it existed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value_range: Option<[f32; 2]>,
}

impl OutlierThresholds {
    /// No calibration yet: what [`Manifest::parse_into`] fills in place.
    pub const EMPTY: OutlierThresholds = OutlierThresholds {
        score_threshold: 0.0,
        element_threshold: 0.0,
        contamination: 0.0,
        element_noise: Vec::new(),
        value_range: None,
    };
}

/// Whether no array or object in `json` nests deeper than `max` (brackets inside strings do not
/// count). A linear scan: malformed JSON is left to the parser to refuse.
pub(super) fn nesting_within(json: &[u8], max: usize) -> bool {
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for &b in json {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > max {
                    return false;
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    true
}

/// A listed file's name and checksum as the manifest must write them.
fn check_listed_file(file: &str, sha256: &str) -> Result<(), CoreError> {
    let hex = sha256.len() == 64
        && sha256
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    if !hex {
        return Err(CoreError::ManifestValue(
            "graph sha256 must be 64 lower-case hex digits",
        ));
    }
    // Control characters (raw newlines and tabs, which serde-json-core lets through inside
    // strings) are refused too: the name could not be found, or shown, as written.
    if file.is_empty()
        || file.chars().any(char::is_control)
        || file.contains('/')
        || file.contains('\\')
        || file.starts_with('.')
    {
        return Err(CoreError::ManifestValue(
            "graph file must be a plain file name in the model directory",
        ));
    }
    Ok(())
}

impl Manifest {
    /// A manifest of nothing, for [`Manifest::parse_into`] to fill (e.g. in a `static`).
    pub const EMPTY: Manifest = Manifest {
        format_version: 0,
        trainer_version: String::new(),
        input_dim: 0,
        latent: 0,
        image_shape: None,
        scaling: Scaling::Unit,
        gamma_stage1: 0.0,
        gamma_stage2: 0.0,
        robust: false,
        standardization: None,
        graphs: Vec::new(),
        micro: Vec::new(),
        outlier: None,
    };

    /// Parses and validates manifest JSON. The result is about 17 KiB, returned by value: on a
    /// device with little stack, keep one in a `static` and use [`Manifest::parse_into`].
    pub fn parse(json: &[u8]) -> Result<Self, CoreError> {
        let mut m = Manifest::EMPTY;
        Manifest::parse_into(json, &mut m)?;
        Ok(m)
    }

    pub fn validate(&self) -> Result<(), CoreError> {
        if self.format_version != FORMAT_VERSION {
            return Err(CoreError::UnsupportedFormat {
                found: self.format_version,
            });
        }
        if self.input_dim == 0 || self.latent == 0 {
            return Err(CoreError::ManifestValue(
                "input_dim and latent must be positive",
            ));
        }
        if let Some([r, c]) = self.image_shape {
            if u64::from(r) * u64::from(c) != u64::from(self.input_dim) {
                return Err(CoreError::ManifestValue(
                    "image_shape does not multiply to input_dim",
                ));
            }
        }
        if let Some(s) = self.standardization {
            if !(s.center.is_finite() && s.scale.is_finite() && s.scale > 0.0) {
                return Err(CoreError::ManifestValue(
                    "standardization must have a finite center and a positive scale",
                ));
            }
        }
        let gamma_ok = |g: f64| g.is_finite() && g > 0.0;
        if !gamma_ok(self.gamma_stage1) || !gamma_ok(self.gamma_stage2) {
            return Err(CoreError::ManifestValue("gamma must be a positive number"));
        }
        if let Some(o) = &self.outlier {
            let finite = o.score_threshold.is_finite() && o.element_threshold.is_finite();
            // A log-likelihood threshold may be negative (a narrow value range).
            if !finite || !(0.0..=1.0).contains(&o.contamination) {
                return Err(CoreError::ManifestValue(
                    "outlier thresholds must be finite, contamination in [0, 1]",
                ));
            }
            if o.element_noise.len() != self.input_dim as usize {
                return Err(CoreError::ManifestValue(
                    "outlier element_noise must hold input_dim values",
                ));
            }
            if !o.element_noise.iter().all(|v| v.is_finite() && *v > 0.0) {
                return Err(CoreError::ManifestValue(
                    "outlier element_noise values must be positive numbers",
                ));
            }
            if let Some([lo, hi]) = o.value_range {
                if !(lo.is_finite() && hi.is_finite() && lo < hi) {
                    return Err(CoreError::ManifestValue(
                        "outlier value_range must be two finite numbers, the first below the second",
                    ));
                }
            }
        }
        for (i, g) in self.graphs.iter().enumerate() {
            check_listed_file(&g.file, &g.sha256)?;
            if self.graphs[..i]
                .iter()
                .any(|o| o.role == g.role && o.precision == g.precision)
            {
                return Err(CoreError::ManifestValue(
                    "two graphs share a role and precision",
                ));
            }
        }
        for (i, m) in self.micro.iter().enumerate() {
            check_listed_file(&m.file, &m.sha256)?;
            if m.width == 0 {
                return Err(CoreError::ManifestValue("micro width must be positive"));
            }
            let earlier = &self.micro[..i];
            if earlier
                .iter()
                .any(|o| o.role == m.role && o.precision == m.precision)
            {
                return Err(CoreError::ManifestValue(
                    "two micro blobs share a role and precision",
                ));
            }
            if earlier
                .iter()
                .any(|o| o.role == m.role && o.width != m.width)
            {
                return Err(CoreError::ManifestValue(
                    "micro blobs of one role must have the same width",
                ));
            }
        }
        Ok(())
    }

    /// The micro blob of `role` in `precision`, if the model directory has one.
    pub fn micro_blob(&self, role: GraphRole, precision: MicroPrecision) -> Option<&MicroEntry> {
        self.micro
            .iter()
            .find(|m| m.role == role && m.precision == precision)
    }

    /// The graph of `role` in `precision`, if the model directory has one.
    pub fn graph(&self, role: GraphRole, precision: Precision) -> Option<&GraphEntry> {
        self.graphs
            .iter()
            .find(|g| g.role == role && g.precision == precision)
    }
}
