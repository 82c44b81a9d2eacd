//! The no_std core: what a device needs without an allocator.

pub mod buffers;
pub mod checksum;
pub mod error;
pub mod graph_ports;
pub mod manifest;
pub mod manifest_parse;
pub mod outlier;
pub mod precision;
pub mod rng;

pub use checksum::{sha256_hex, SHA256_HEX_DIGITS};
pub use error::CoreError;
pub use manifest::{
    GraphEntry, GraphRole, Manifest, MicroEntry, OutlierThresholds, Scaling, Standardization,
    FORMAT_VERSION, MANIFEST_FILE, MAX_CALIBRATED_DIM,
};
pub use manifest_parse::{FieldPath, FieldProblem, PathStep};
pub use precision::{MicroPrecision, Precision};
pub use rng::GaussianRng;
