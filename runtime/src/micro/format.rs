//! The micro weight blob (format version 1): one graph's layers, little-endian, laid out so a
//! device runs it straight from flash. Written once, here: the trainer's exporter writes blobs
//! with [`encode`], [`super::MicroModel`] reads them with [`read_header`] and [`read_layer`].
//! `docs/micro-format.md` describes the same layout for other tools.
//!
//! ```text
//! 0    header, 64 bytes          magic "EDGEVAEM", version, role, precision, input_dim,
//!                                latent, width, layer count, flags, variance range and floor,
//!                                total bytes
//! 64   layer table, 32 bytes each group, inputs, outputs, activation, weights, bias, scales, skip
//! ...  sections, each at a multiple of 16 bytes: per layer its weights ([outputs][inputs] in
//!      the blob's precision: f32, f16 bits or i8), its bias (f32) and, for int8, one f32 scale
//!      per output row
//! ```
//!
//! The blob's SHA-256 is in the manifest (`micro[i].sha256`), as a graph's is.

use super::MicroError;
use crate::core::GraphRole;
pub use crate::core::MicroPrecision;

pub const MAGIC: [u8; 8] = *b"EDGEVAEM";
pub const BLOB_VERSION: u32 = 1;
pub const HEADER_BYTES: usize = 64;
pub const LAYER_BYTES: usize = 32;
/// The alignment of a blob's start and of every section in it: enough for f32 (and for a
/// 128-bit vector load), so weights are read in place.
pub const BLOB_ALIGN: usize = 16;
/// The most layers a blob holds (a model has a few per stage).
pub const MAX_LAYERS: usize = 32;

/// Which part of the model a layer belongs to; a blob's layers come in the order of its role
/// (see [`expected_groups`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Group {
    /// Stage 2's decoder: hidden ReLU layers, then one layer reading `[hidden, u]` (`skip`).
    Stage2Decoder = 0,
    /// Stage 1's decoder: hidden ReLU layers, then the output layer (sigmoid for pixel data).
    Stage1Decoder = 1,
    /// Stage 1's encoder body: ReLU layers.
    Stage1Encoder = 2,
    /// The encoder head: `2 * latent` outputs, the mean then the log-variance of q(z|x).
    EncoderHead = 3,
    /// The robust decoder's variance head, reading the decoder's last hidden features.
    VarianceHead = 4,
}

impl Group {
    const ALL: [Group; 5] = [
        Group::Stage2Decoder,
        Group::Stage1Decoder,
        Group::Stage1Encoder,
        Group::EncoderHead,
        Group::VarianceHead,
    ];

    fn from_code(code: u32) -> Option<Self> {
        Self::ALL.into_iter().find(|g| *g as u32 == code)
    }
}

/// The groups of a blob of `role`, in order.
pub fn expected_groups(role: GraphRole, robust: bool) -> &'static [Group] {
    match (role, robust) {
        (GraphRole::Sampler, _) => &[Group::Stage2Decoder, Group::Stage1Decoder],
        (GraphRole::Filter, false) => &[
            Group::Stage1Encoder,
            Group::EncoderHead,
            Group::Stage1Decoder,
        ],
        (GraphRole::Filter, true) => &[
            Group::Stage1Encoder,
            Group::EncoderHead,
            Group::Stage1Decoder,
            Group::VarianceHead,
        ],
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Activation {
    Identity = 0,
    Relu = 1,
    Sigmoid = 2,
}

impl Activation {
    fn from_code(code: u32) -> Option<Self> {
        [Activation::Identity, Activation::Relu, Activation::Sigmoid]
            .into_iter()
            .find(|a| *a as u32 == code)
    }
}

/// One row of the layer table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LayerRecord {
    pub group: Group,
    pub inputs: u32,
    pub outputs: u32,
    pub activation: Activation,
    /// Byte offsets in the blob of the weights, the bias and (int8) the scales; 0 when absent.
    pub weights: u32,
    pub bias: u32,
    pub scales: u32,
    /// The layer reads `[previous output, the graph's latent input]`: stage 2's skip
    /// connection. Its `inputs` count both.
    pub skip: bool,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BlobHeader {
    pub role: GraphRole,
    pub precision: MicroPrecision,
    pub input_dim: u32,
    pub latent: u32,
    /// The widest activation kept between layers: what the scratch arena is sized by.
    pub width: u32,
    pub layers: u32,
    pub robust: bool,
    /// The stage-1 decoder's output is a sigmoid (pixel data); else identity.
    pub sigmoid_output: bool,
    /// The robust variance head's `range` and `floor` (0 for other models).
    pub variance_range: f32,
    pub variance_floor: f32,
    pub total_bytes: u32,
}

const FLAG_ROBUST: u32 = 1;
const FLAG_SIGMOID: u32 = 2;

fn u32_at(blob: &[u8], at: usize) -> Option<u32> {
    let bytes = blob.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
}

fn bad(field: &'static str, value: u32) -> MicroError {
    MicroError::BlobField { field, value }
}

/// The header of `blob`, checked on its own (magic, version, codes, length).
pub fn read_header(blob: &[u8]) -> Result<BlobHeader, MicroError> {
    if blob.len() < HEADER_BYTES {
        return Err(MicroError::BlobTooShort {
            len: blob.len(),
            needed: HEADER_BYTES,
        });
    }
    if blob[..8] != MAGIC {
        return Err(MicroError::NotABlob);
    }
    let word = |i: usize| u32_at(blob, 8 + 4 * i).unwrap_or(0);
    if word(0) != BLOB_VERSION {
        return Err(MicroError::UnsupportedBlobVersion { found: word(0) });
    }
    let role = match word(1) {
        0 => GraphRole::Sampler,
        1 => GraphRole::Filter,
        other => return Err(bad("role", other)),
    };
    let precision = MicroPrecision::from_code(word(2)).ok_or(bad("precision", word(2)))?;
    let flags = word(7);
    if flags & !(FLAG_ROBUST | FLAG_SIGMOID) != 0 {
        return Err(bad("flags", flags));
    }
    let header = BlobHeader {
        role,
        precision,
        input_dim: word(3),
        latent: word(4),
        width: word(5),
        layers: word(6),
        robust: flags & FLAG_ROBUST != 0,
        sigmoid_output: flags & FLAG_SIGMOID != 0,
        variance_range: f32::from_bits(word(8)),
        variance_floor: f32::from_bits(word(9)),
        total_bytes: word(10),
    };
    if header.total_bytes as usize != blob.len() {
        return Err(MicroError::BlobLength {
            header: header.total_bytes,
            actual: blob.len(),
        });
    }
    if header.layers as usize > MAX_LAYERS {
        return Err(bad("layer count", header.layers));
    }
    let table_end = HEADER_BYTES + LAYER_BYTES * header.layers as usize;
    if blob.len() < table_end {
        return Err(MicroError::BlobTooShort {
            len: blob.len(),
            needed: table_end,
        });
    }
    if header.robust {
        let ok = |v: f32| v.is_finite() && v > 0.0;
        if !ok(header.variance_range) || !ok(header.variance_floor) {
            return Err(bad("variance range or floor", word(8)));
        }
    }
    Ok(header)
}

/// Row `index` of the layer table (the header was read by [`read_header`]).
pub fn read_layer(blob: &[u8], index: usize) -> Result<LayerRecord, MicroError> {
    let at = HEADER_BYTES + LAYER_BYTES * index;
    let word = |i: usize| u32_at(blob, at + 4 * i);
    let words: [Option<u32>; 8] = core::array::from_fn(word);
    let [Some(group), Some(inputs), Some(outputs), Some(act), Some(weights), Some(bias), Some(scales), Some(skip)] =
        words
    else {
        return Err(MicroError::BlobTooShort {
            len: blob.len(),
            needed: at + LAYER_BYTES,
        });
    };
    Ok(LayerRecord {
        group: Group::from_code(group).ok_or(bad("layer group", group))?,
        inputs,
        outputs,
        activation: Activation::from_code(act).ok_or(bad("layer activation", act))?,
        weights,
        bias,
        scales,
        skip: match skip {
            0 => false,
            1 => true,
            other => return Err(bad("layer skip", other)),
        },
    })
}

/// Symmetric int8 quantisation of one output row: `q = round(w / scale)` in [-127, 127] with
/// `scale = max |w| / 127` (0 for a row of zeros). Returns the scale.
pub fn quantize_row(row: &[f32], out: &mut [i8]) -> f32 {
    let max = row.iter().fold(0.0f32, |m, w| m.max(libm::fabsf(*w)));
    let scale = max / 127.0;
    for (q, w) in out.iter_mut().zip(row) {
        *q = if scale > 0.0 {
            libm::roundf(w / scale).clamp(-127.0, 127.0) as i8
        } else {
            0
        };
    }
    scale
}

/// One layer as the exporter hands it to [`encode`]: `weight` is `[outputs][inputs]`,
/// row-major, in f32.
#[cfg(feature = "std")]
pub struct LayerWeights<'a> {
    pub group: Group,
    pub activation: Activation,
    pub skip: bool,
    pub inputs: usize,
    pub outputs: usize,
    pub weight: &'a [f32],
    pub bias: &'a [f32],
}

/// What the header says besides the layers (their count and the width are worked out here).
#[cfg(feature = "std")]
#[derive(Clone, Copy, Debug)]
pub struct BlobSpec {
    pub role: GraphRole,
    pub precision: MicroPrecision,
    pub input_dim: usize,
    pub latent: usize,
    pub robust: bool,
    pub sigmoid_output: bool,
    pub variance_range: f32,
    pub variance_floor: f32,
}

/// The widest activation a blob keeps between layers: every layer's output except the ones
/// written straight to the caller (the stage-1 decoder's last layer and the variance head).
pub fn kept_width(records: impl Iterator<Item = LayerRecord> + Clone) -> u32 {
    let last_decoder = records
        .clone()
        .enumerate()
        .filter(|(_, r)| r.group == Group::Stage1Decoder)
        .map(|(i, _)| i)
        .last();
    records
        .enumerate()
        .filter(|(i, r)| Some(*i) != last_decoder && r.group != Group::VarianceHead)
        .map(|(_, r)| r.outputs)
        .max()
        .unwrap_or(0)
}

/// The blob of `layers`; fails on more than [`MAX_LAYERS`] layers, weights or biases of the
/// wrong length, or a blob over 4 GiB.
#[cfg(feature = "std")]
pub fn encode(
    spec: BlobSpec,
    layers: &[LayerWeights<'_>],
) -> Result<std::vec::Vec<u8>, MicroError> {
    use std::vec::Vec;
    if layers.len() > MAX_LAYERS {
        return Err(bad("layer count", layers.len() as u32));
    }
    let too_large = || MicroError::BlobField {
        field: "size (over 4 GiB)",
        value: u32::MAX,
    };
    let align = |v: &mut Vec<u8>| v.resize(v.len().next_multiple_of(BLOB_ALIGN), 0);
    let mut blob = vec![0u8; HEADER_BYTES + LAYER_BYTES * layers.len()];
    align(&mut blob);
    let mut records = Vec::new();
    for (i, layer) in layers.iter().enumerate() {
        if layer.weight.len() != layer.inputs * layer.outputs || layer.bias.len() != layer.outputs {
            return Err(MicroError::BlobShape {
                layer: i,
                problem: "its weights or bias do not hold inputs x outputs values",
            });
        }
        let weights = blob.len();
        let mut scales = Vec::new();
        match spec.precision {
            MicroPrecision::Fp32 => {
                for w in layer.weight {
                    blob.extend_from_slice(&w.to_le_bytes());
                }
            }
            MicroPrecision::Fp16 => {
                for w in layer.weight {
                    blob.extend_from_slice(&half::f16::from_f32(*w).to_bits().to_le_bytes());
                }
            }
            MicroPrecision::Int8 => {
                let mut q = vec![0i8; layer.inputs];
                for row in layer.weight.chunks_exact(layer.inputs.max(1)) {
                    scales.push(quantize_row(row, &mut q));
                    blob.extend(q.iter().map(|v| *v as u8));
                }
            }
        }
        align(&mut blob);
        let bias = blob.len();
        for b in layer.bias {
            blob.extend_from_slice(&b.to_le_bytes());
        }
        align(&mut blob);
        let scale_at = if spec.precision == MicroPrecision::Int8 {
            let at = blob.len();
            for s in &scales {
                blob.extend_from_slice(&s.to_le_bytes());
            }
            align(&mut blob);
            at
        } else {
            0
        };
        let offset = |at: usize| u32::try_from(at).map_err(|_| too_large());
        records.push(LayerRecord {
            group: layer.group,
            inputs: layer.inputs as u32,
            outputs: layer.outputs as u32,
            activation: layer.activation,
            weights: offset(weights)?,
            bias: offset(bias)?,
            scales: offset(scale_at)?,
            skip: layer.skip,
        });
    }
    let total = u32::try_from(blob.len()).map_err(|_| too_large())?;
    let flags =
        u32::from(spec.robust) * FLAG_ROBUST + u32::from(spec.sigmoid_output) * FLAG_SIGMOID;
    let role = match spec.role {
        GraphRole::Sampler => 0,
        GraphRole::Filter => 1,
    };
    let header = [
        BLOB_VERSION,
        role,
        spec.precision.code(),
        spec.input_dim as u32,
        spec.latent as u32,
        kept_width(records.iter().copied()),
        records.len() as u32,
        flags,
        spec.variance_range.to_bits(),
        spec.variance_floor.to_bits(),
        total,
    ];
    blob[..8].copy_from_slice(&MAGIC);
    for (i, word) in header.iter().enumerate() {
        blob[8 + 4 * i..12 + 4 * i].copy_from_slice(&word.to_le_bytes());
    }
    for (i, r) in records.iter().enumerate() {
        let words = [
            r.group as u32,
            r.inputs,
            r.outputs,
            r.activation as u32,
            r.weights,
            r.bias,
            r.scales,
            u32::from(r.skip),
        ];
        let at = HEADER_BYTES + LAYER_BYTES * i;
        for (j, word) in words.iter().enumerate() {
            blob[at + 4 * j..at + 4 * j + 4].copy_from_slice(&word.to_le_bytes());
        }
    }
    Ok(blob)
}
