//! The no_std core: what a device needs without an allocator.

pub mod buffers;
pub mod error;
pub mod manifest;
pub mod precision;
pub mod rng;

pub use error::CoreError;
pub use manifest::{GraphEntry, GraphRole, Manifest, Scaling, FORMAT_VERSION};
pub use precision::Precision;
pub use rng::GaussianRng;
