//! edgevae-runtime: runs edgevae models at the edge.
//!
//! Layers, one direction: [`core`] (manifest, seeded Gaussian RNG, buffer arithmetic; builds
//! `#![no_std]` without `alloc` when the default features are off) → the ONNX Runtime backend
//! (feature `ort`: sessions, execution providers, [`Sampler`], [`OutlierFilter`]). Nothing here
//! depends on candle.

#![cfg_attr(not(feature = "std"), no_std)]

pub mod core;

#[cfg(feature = "micro")]
pub mod micro;

#[cfg(feature = "ort")]
mod backend;

#[cfg(feature = "ort")]
pub use backend::*;
