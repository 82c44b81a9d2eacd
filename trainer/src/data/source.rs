//! Where training data comes from: a built-in generator (`sprites`, `manifold`) or a path (an
//! MNIST-style directory, an IDX file, an `.npy` file), and how it is split.

use std::path::{Path, PathBuf};

use super::manifold::ManifoldSpec;
use super::{
    corrupt, idx, manifold, npy, sprites, Corruption, DataError, Dataset, Scaling, Splits, Values,
};
use crate::rng::SeededRng;

/// A parsed `--data` value.
#[derive(Clone, Debug, PartialEq)]
pub enum DataSource {
    /// `sprites` or `sprites:n=N`: N training images (default 10000), N/5 test images.
    Sprites {
        n: usize,
    },
    /// `manifold[:n=..,k=..,d=..,outliers=..]`.
    Manifold(ManifoldSpec),
    Path(PathBuf),
}

fn parse_kv<T: std::str::FromStr>(spec: &str, key: &str, value: &str) -> Result<T, DataError> {
    value.parse().map_err(|_| DataError::BadSpec {
        spec: spec.to_string(),
        problem: format!("cannot parse {key}={value:?}"),
    })
}

/// The most values (rows x row length, training and test together) a built-in generator makes:
/// 2^30 f32 values, 4 GiB. A larger `n` is refused when the spec is read, with a message,
/// instead of aborting on an allocation of memory the machine does not have.
pub const MAX_GENERATED_VALUES: usize = 1 << 30;

/// Refuses a generated data set of `n` training rows (plus n/5 test rows) of `dim` values over
/// [`MAX_GENERATED_VALUES`].
fn check_generated_size(spec: &str, n: usize, dim: usize) -> Result<(), DataError> {
    let rows = n.checked_add(n / 5);
    match rows.and_then(|r| r.checked_mul(dim)) {
        Some(values) if values <= MAX_GENERATED_VALUES => Ok(()),
        _ => Err(DataError::BadSpec {
            spec: spec.to_string(),
            problem: format!(
                "n = {n} rows of {dim} values (and n/5 test rows) is more than the \
                 {MAX_GENERATED_VALUES} values a built-in data set may hold (4 GiB)"
            ),
        }),
    }
}

impl DataSource {
    pub fn parse(spec: &str) -> Result<Self, DataError> {
        let (name, params) = match spec.split_once(':') {
            Some((n, p)) if n == "sprites" || n == "manifold" => (n, p),
            _ => (spec, ""),
        };
        let pairs = params.split(',').filter(|p| !p.is_empty()).map(|p| {
            p.split_once('=').ok_or_else(|| DataError::BadSpec {
                spec: spec.to_string(),
                problem: format!("expected key=value, found {p:?}"),
            })
        });
        match name {
            "sprites" => {
                let mut n = 10_000;
                for kv in pairs {
                    match kv? {
                        ("n", v) => n = parse_kv(spec, "n", v)?,
                        (k, _) => return Err(unknown_key(spec, k, "n")),
                    }
                }
                if n < 2 {
                    return Err(bad_value(spec, "n must be at least 2"));
                }
                check_generated_size(spec, n, sprites::SIDE * sprites::SIDE)?;
                Ok(DataSource::Sprites { n })
            }
            "manifold" => {
                let mut m = ManifoldSpec::default();
                for kv in pairs {
                    match kv? {
                        ("n", v) => m.n = parse_kv(spec, "n", v)?,
                        ("k", v) => m.latent = parse_kv(spec, "k", v)?,
                        ("d", v) => m.dim = parse_kv(spec, "d", v)?,
                        ("outliers", v) => m.outliers = parse_kv(spec, "outliers", v)?,
                        (k, _) => return Err(unknown_key(spec, k, "n, k, d, outliers")),
                    }
                }
                if m.n < 2 || m.latent == 0 || m.dim == 0 {
                    return Err(bad_value(spec, "n must be at least 2, k and d at least 1"));
                }
                if !(0.0..1.0).contains(&m.outliers) {
                    return Err(bad_value(spec, "outliers must be in [0, 1)"));
                }
                check_generated_size(spec, m.n, m.dim)?;
                Ok(DataSource::Manifold(m))
            }
            _ => Ok(DataSource::Path(PathBuf::from(spec))),
        }
    }
}

fn unknown_key(spec: &str, key: &str, known: &str) -> DataError {
    DataError::BadSpec {
        spec: spec.to_string(),
        problem: format!("unknown parameter {key:?} (known: {known})"),
    }
}

fn bad_value(spec: &str, problem: &str) -> DataError {
    DataError::BadSpec {
        spec: spec.to_string(),
        problem: problem.to_string(),
    }
}

#[derive(Clone, Debug)]
pub struct LoadOptions {
    pub seed: u64,
    /// Fraction of the training rows held out for validation.
    pub val_fraction: f32,
    pub corrupt: Option<f32>,
    /// Use at most this many training rows (before the validation split).
    pub limit: Option<usize>,
}

impl Default for LoadOptions {
    fn default() -> Self {
        Self {
            seed: 0,
            val_fraction: 0.1,
            corrupt: None,
            limit: None,
        }
    }
}

/// Loads the source and splits it into training, validation and test data.
pub fn load_splits(source: &DataSource, opts: &LoadOptions) -> Result<Splits, DataError> {
    let (mut full, mut test) = match source {
        DataSource::Sprites { n } => {
            let side = Some((sprites::SIDE, sprites::SIDE));
            let dim = sprites::SIDE * sprites::SIDE;
            let (train, _) = sprites::generate(*n, opts.seed);
            let (test, _) = sprites::generate((*n / 5).max(1), opts.seed ^ 0x7e57);
            (
                Dataset::new(dim, side, Scaling::Unit, train),
                Some(Dataset::new(dim, side, Scaling::Unit, test)),
            )
        }
        DataSource::Manifold(spec) => {
            let n_test = (spec.n / 5).max(1);
            let all = ManifoldSpec {
                n: spec.n + n_test,
                ..*spec
            };
            let (values, clean) = manifold::generate(&all, opts.seed);
            let mask: Vec<bool> = values.iter().zip(&clean).map(|(a, b)| a != b).collect();
            let mut ds = Dataset::new(spec.dim, None, Scaling::Real, values);
            if spec.outliers > 0.0 {
                ds.outlier_mask = Some(mask);
                ds.clean = Some(clean);
            }
            let train_idx: Vec<usize> = (0..spec.n).collect();
            let test_idx: Vec<usize> = (spec.n..spec.n + n_test).collect();
            (ds.select(&train_idx), Some(ds.select(&test_idx)))
        }
        DataSource::Path(path) => load_path(path)?,
    };
    if let Some(limit) = opts.limit {
        if limit < full.len() {
            full = full.head(limit);
        }
    }
    if full.len() < 2 {
        return Err(DataError::Mismatch {
            path: PathBuf::from(describe(source)),
            problem: format!("need at least 2 training rows, found {}", full.len()),
        });
    }
    if let Some(fraction) = opts.corrupt {
        let c = Corruption {
            fraction,
            seed: opts.seed,
        };
        corrupt(&mut full, c, "corrupt-train");
        if let Some(t) = test.as_mut() {
            corrupt(t, c, "corrupt-test");
        }
    }
    let n = full.len();
    let n_val = ((n as f32 * opts.val_fraction).round() as usize).clamp(1, n - 1);
    let order = SeededRng::derive(opts.seed, "val-split", n as u64).permutation(n);
    let (val_idx, train_idx) = order.split_at(n_val);
    let mut train_idx = train_idx.to_vec();
    let mut val_idx = val_idx.to_vec();
    train_idx.sort_unstable();
    val_idx.sort_unstable();
    let val = full.select(&val_idx);
    full.retain_rows(&train_idx);
    Ok(Splits {
        train: full,
        val,
        test,
    })
}

/// A short name for the source, for logs and errors.
pub fn describe(source: &DataSource) -> String {
    match source {
        DataSource::Sprites { n } => format!("sprites:n={n}"),
        DataSource::Manifold(m) => format!(
            "manifold:n={},k={},d={},outliers={}",
            m.n, m.latent, m.dim, m.outliers
        ),
        DataSource::Path(p) => p.display().to_string(),
    }
}

/// Reads one array file (npy by extension or magic, else IDX) as a dataset.
pub fn load_file(path: &Path) -> Result<Dataset, DataError> {
    let is_npy = path.extension().is_some_and(|e| e == "npy")
        || std::fs::File::open(path)
            .and_then(|mut f| {
                let mut head = [0u8; 6];
                std::io::Read::read_exact(&mut f, &mut head).map(|()| head == *b"\x93NUMPY")
            })
            .unwrap_or(false);
    let (shape, values) = if is_npy {
        let a = npy::read(path)?;
        (a.shape, a.values)
    } else {
        let a = idx::read(path)?;
        (a.dims, a.values)
    };
    if shape.len() < 2 {
        return Err(DataError::Mismatch {
            path: path.to_path_buf(),
            problem: format!(
                "a {}-dimensional array is not a dataset (a label file?); expected [N, d] or [N, rows, cols]",
                shape.len()
            ),
        });
    }
    let dim: usize = shape[1..].iter().product();
    let image_shape = match shape.len() {
        3 => Some((shape[1], shape[2])),
        4 if shape[3] == 1 => Some((shape[1], shape[2])),
        2 => {
            let s = (dim as f64).sqrt().round() as usize;
            (s * s == dim).then_some((s, s))
        }
        _ => None,
    };
    let scaling = match &values {
        Values::Bytes(_) => Scaling::Unit,
        Values::Floats(f) if f.iter().all(|v| (0.0..=1.0).contains(v)) => Scaling::Unit,
        Values::Floats(_) => Scaling::Real,
    };
    Ok(Dataset::new(dim, image_shape, scaling, values))
}

fn find_in_dir(dir: &Path, prefixes: &[&str]) -> Result<Option<PathBuf>, DataError> {
    let mut found: Vec<PathBuf> = Vec::new();
    let entries = std::fs::read_dir(dir).map_err(|e| DataError::io(dir, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| DataError::io(dir, e))?;
        let name = entry.file_name().to_string_lossy().to_lowercase();
        if prefixes.iter().any(|p| name.starts_with(p)) && name.contains("images") {
            found.push(entry.path());
        }
    }
    // Prefer the raw file over its gzip twin when both are there (faster, mapped).
    found.sort_by_key(|p| (p.extension().is_some_and(|e| e == "gz"), p.clone()));
    Ok(found.into_iter().next())
}

/// A directory in the MNIST layout gives training and test sets; a file gives training data only.
fn load_path(path: &Path) -> Result<(Dataset, Option<Dataset>), DataError> {
    let meta = std::fs::metadata(path).map_err(|e| DataError::io(path, e))?;
    if !meta.is_dir() {
        return Ok((load_file(path)?, None));
    }
    let train = find_in_dir(path, &["train"])?.ok_or_else(|| DataError::NothingFound {
        path: path.to_path_buf(),
        looked_for: "train-images-idx3-ubyte[.gz] or train*images*.npy".into(),
    })?;
    let train = load_file(&train)?;
    let test = match find_in_dir(path, &["t10k", "test"])? {
        Some(p) => {
            let t = load_file(&p)?;
            if t.dim != train.dim {
                return Err(DataError::Mismatch {
                    path: p,
                    problem: format!(
                        "test rows have {} values, training rows {}",
                        t.dim, train.dim
                    ),
                });
            }
            Some(t)
        }
        None => None,
    };
    Ok((train, test))
}
