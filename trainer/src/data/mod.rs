//! Data: files (IDX, npy), built-in generated datasets, corruption and splits. No candle here:
//! everything is plain row-major `f32`.

mod corrupt;
mod dataset;
mod error;
mod file_bytes;
pub mod idx;
pub mod manifold;
pub mod npy;
mod source;
pub mod sprites;
pub mod standardize;

pub use corrupt::{corrupt, Corruption};
pub use dataset::{byte_value, Dataset, Scaling, Splits, Values};
pub use error::DataError;
pub use source::{load_file, load_splits, DataSource, LoadOptions};
