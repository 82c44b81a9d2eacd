//! ONNX writing below the layers: the protobuf messages and a graph builder. Each layer emits its
//! own nodes beside its candle forward pass, so an exported graph cannot drift from the model;
//! [`crate::export`] only puts a run's layers in order and writes the files.

mod graph_builder;
pub mod proto;

pub use graph_builder::{int_attr, ints_attr, string_attr, GraphBuilder, BATCH};
