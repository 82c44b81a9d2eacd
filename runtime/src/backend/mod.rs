//! The ONNX Runtime backend (feature `ort`): one process-wide environment, sessions with
//! execution providers chosen at run time, model directories checked against their manifest,
//! and the allocation-free [`Sampler`] and [`OutlierFilter`].

mod error;
mod filter;
mod library;
mod model_dir;
mod providers;
mod sampler;
mod session;

pub use error::RuntimeError;
pub use filter::{FilterOutput, OutlierFilter};
pub use library::{
    default_library_path, environment, library_load_time, LIBRARY_VERSION, TELEMETRY_SWITCH,
};
pub use model_dir::ModelDir;
pub use providers::{Provider, ProviderChoice, RuntimeOptions};
pub use sampler::Sampler;
