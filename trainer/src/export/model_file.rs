//! Wraps a graph into an ONNX model (IR 8, opset 17) and encodes it.

use prost::Message;

use crate::onnx::proto::{GraphProto, ModelProto, OperatorSetIdProto, StringStringEntryProto};

pub const IR_VERSION: i64 = 8;
pub const OPSET: i64 = 17;

pub fn encode(graph: GraphProto, doc: &str, metadata: &[(&str, String)]) -> Vec<u8> {
    let model = ModelProto {
        ir_version: IR_VERSION,
        producer_name: "edgevae".into(),
        producer_version: env!("CARGO_PKG_VERSION").into(),
        domain: "ai.edgevae".into(),
        model_version: 1,
        doc_string: doc.into(),
        graph: Some(graph),
        opset_import: vec![OperatorSetIdProto {
            domain: String::new(),
            version: OPSET,
        }],
        metadata_props: metadata
            .iter()
            .map(|(k, v)| StringStringEntryProto {
                key: (*k).into(),
                value: v.clone(),
            })
            .collect(),
    };
    model.encode_to_vec()
}
