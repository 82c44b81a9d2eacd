//! The numeric formats a graph is exported in.

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    /// fp32 weights and compute: the reference, and the CPU format.
    Fp32,
    /// fp16 weights and compute, fp32 inputs and outputs through boundary casts: for CUDA and
    /// TensorRT (ONNX Runtime's x86 CPU provider has no fp16 kernels and would insert casts).
    Fp16,
    /// fp16-stored weights cast to fp32 when the model loads: half the file, fp32 compute; for CPU.
    Fp16w,
    /// int8 weights in the dense layers, one symmetric scale per output channel (the micro
    /// blob's quantisation), and activations quantised to uint8 per call: ONNX Runtime's own
    /// dynamic-quantisation pattern (`DynamicQuantizeLinear` -> `MatMulInteger` -> scale).
    /// Everything else (biases, convolutions, heads' arithmetic) stays fp32; for CPU.
    Int8,
}

impl Precision {
    pub const ALL: [Precision; 4] = [
        Precision::Fp32,
        Precision::Fp16,
        Precision::Fp16w,
        Precision::Int8,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Precision::Fp32 => "fp32",
            Precision::Fp16 => "fp16",
            Precision::Fp16w => "fp16w",
            Precision::Int8 => "int8",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.name() == s.trim())
    }

    /// Whether the weights are stored as fp16.
    pub fn half_weights(self) -> bool {
        matches!(self, Precision::Fp16 | Precision::Fp16w)
    }

    /// Whether the dense layers' products are int8 `MatMulInteger`s.
    pub fn int8_products(self) -> bool {
        self == Precision::Int8
    }

    /// Whether the arithmetic runs in fp16.
    pub fn half_compute(self) -> bool {
        self == Precision::Fp16
    }
}

/// How a micro blob (`crate::micro`) stores its weights; biases and scales are always f32, and arithmetic is f32.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MicroPrecision {
    Fp32,
    /// fp16 weights, widened as they are read.
    Fp16,
    /// Symmetric int8 weights with one f32 scale per output row (per output channel).
    Int8,
}

impl MicroPrecision {
    pub const ALL: [MicroPrecision; 3] = [
        MicroPrecision::Fp32,
        MicroPrecision::Fp16,
        MicroPrecision::Int8,
    ];

    pub fn name(self) -> &'static str {
        match self {
            MicroPrecision::Fp32 => "fp32",
            MicroPrecision::Fp16 => "fp16",
            MicroPrecision::Int8 => "int8",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.name() == s.trim())
    }

    /// Bytes per stored weight.
    pub fn weight_bytes(self) -> usize {
        match self {
            MicroPrecision::Fp32 => 4,
            MicroPrecision::Fp16 => 2,
            MicroPrecision::Int8 => 1,
        }
    }

    /// The blob header's code for it.
    pub fn code(self) -> u32 {
        self as u32
    }

    pub fn from_code(code: u32) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.code() == code)
    }
}
