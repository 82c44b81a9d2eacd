//! The micro backend: an edgevae MLP model's sampler and filter with no operating system, no
//! allocator and no ONNX Runtime. Weights come from a blob ([`format`]) used in place (flash,
//! `include_bytes!`, a mapped file); scratch memory is a caller's arena whose exact size
//! [`required_arena`] computes from the manifest. The scores, masks and cleaned rows come from
//! the same code as the ONNX Runtime backend's (`core::outlier`).

mod error;
pub mod format;
mod kernels;
mod model;

pub use error::MicroError;
pub use format::MicroPrecision;
pub use model::{required_arena, FilterGraphOutput, MicroFilterOutput, MicroModel, ARENA_ALIGN};
