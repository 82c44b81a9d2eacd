//! [`MicroModel`]: an MLP model's sampler or filter run from its blob, in a caller's arena.
//!
//! The arena holds, per row, the activations kept between layers (two buffers of the blob's
//! `width`, used in turn) and the row's inputs: the stage-2 noise `u` for the sampler, the
//! network's input row (and for a robust model the variance head's row) for the filter. A
//! non-robust filter also keeps `input_dim` log-variances of the calibrated noise. The rows of
//! a call are run in passes of as many rows as the arena holds, so a one-row arena serves any
//! batch; results do not depend on the arena's size.

use sha2::{Digest, Sha256};

use super::format::{
    expected_groups, kept_width, read_header, read_layer, Activation, BlobHeader, Group,
    LayerRecord, BLOB_ALIGN, HEADER_BYTES, LAYER_BYTES, MAX_LAYERS,
};
use super::kernels::{dense, Weights};
use super::MicroError;
use crate::core::outlier::{filter_row, noise_log_var, InputGate, RowOutput};
use crate::core::{
    graph_ports, sha256_hex, CoreError, GraphRole, Manifest, MicroPrecision, Scaling,
};

/// The alignment the arena must have (it is used as f32).
pub const ARENA_ALIGN: usize = core::mem::align_of::<f32>();

const F32: usize = core::mem::size_of::<f32>();

/// One layer, its parameters borrowed from the blob.
#[derive(Clone, Copy, Debug)]
struct Layer<'b> {
    record: LayerRecord,
    weights: Weights<'b>,
    bias: &'b [f32],
}

/// f32s the arena holds per row, and once per call, for a model of these dimensions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct ArenaShape {
    per_row: usize,
    fixed: usize,
}

fn arena_shape(
    role: GraphRole,
    input_dim: usize,
    latent: usize,
    width: usize,
    robust: bool,
) -> ArenaShape {
    match role {
        GraphRole::Sampler => ArenaShape {
            per_row: latent + 2 * width,
            fixed: 0,
        },
        GraphRole::Filter if robust => ArenaShape {
            per_row: 2 * input_dim + 2 * width,
            fixed: 0,
        },
        GraphRole::Filter => ArenaShape {
            per_row: input_dim + 2 * width,
            fixed: input_dim,
        },
    }
}

impl ArenaShape {
    fn bytes(self, rows: usize) -> Result<usize, MicroError> {
        rows.checked_mul(self.per_row)
            .and_then(|v| v.checked_add(self.fixed))
            .and_then(|v| v.checked_mul(F32))
            .ok_or(MicroError::ArenaOverflow { rows })
    }
}

/// The exact scratch size, in bytes, to run `max_batch` rows of `manifest`'s micro blob of
/// `role` in one pass (any precision: they share their layout). Computed from the manifest
/// alone, before any blob is read. One byte less runs `max_batch - 1` rows per pass; for one
/// row, it fails.
pub fn required_arena(
    manifest: &Manifest,
    role: GraphRole,
    max_batch: usize,
) -> Result<usize, MicroError> {
    let entry = manifest
        .micro
        .iter()
        .find(|m| m.role == role)
        .ok_or(MicroError::NoMicroBlob { role })?;
    let shape = arena_shape(
        role,
        manifest.input_dim as usize,
        manifest.latent as usize,
        entry.width as usize,
        manifest.robust,
    );
    shape.bytes(max_batch)
}

/// Which of the sampler's noise inputs a pass asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Noise {
    U,
    Eps,
}

/// Where a layer's input row is: the pass's input rows, or one of the two buffers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum At {
    Input,
    Buffer(usize),
}

/// The arena of one pass, split: the input rows and the two activation buffers.
struct Work<'w> {
    input: &'w mut [f32],
    buffers: [&'w mut [f32]; 2],
}

impl Work<'_> {
    fn view(&self, at: At, len: usize) -> &[f32] {
        match at {
            At::Input => &self.input[..len],
            At::Buffer(i) => &self.buffers[i][..len],
        }
    }

    /// Runs `layer` on `rows` rows at `at` (`cols` values each) into the buffer not holding
    /// them; a skip layer also reads the input rows. Returns where its output is.
    fn step(&mut self, layer: &Layer<'_>, rows: usize, at: At, cols: usize) -> At {
        let dst = match at {
            At::Buffer(0) => 1,
            _ => 0,
        };
        let outputs = layer.record.outputs as usize;
        let extra_cols = layer.record.inputs as usize - cols;
        let [first, second] = &mut self.buffers;
        let (src, out): (&[f32], &mut [f32]) = match at {
            At::Input => (&self.input[..rows * cols], first),
            At::Buffer(0) => (&first[..rows * cols], second),
            At::Buffer(_) => (&second[..rows * cols], first),
        };
        let extra = &self.input[..rows * extra_cols];
        let r = &layer.record;
        dense(
            layer.weights,
            layer.bias,
            r.activation,
            rows,
            src,
            extra,
            &mut out[..rows * outputs],
        );
        At::Buffer(dst)
    }

    /// Runs `layer` on the rows at `at` into `out`, a caller's buffer.
    fn step_out(&self, layer: &Layer<'_>, rows: usize, at: At, cols: usize, out: &mut [f32]) {
        let r = &layer.record;
        let src = self.view(at, rows * cols);
        dense(layer.weights, layer.bias, r.activation, rows, src, &[], out);
    }
}

/// What the filter writes per row: the same buffers as the ONNX Runtime backend's
/// `FilterOutput`, the caller's. Each holds `n * input_dim` values but `scores` (`n`).
pub struct MicroFilterOutput<'o> {
    pub scores: &'o mut [f32],
    pub element_scores: &'o mut [f32],
    pub mask: &'o mut [u8],
    pub cleaned: &'o mut [f32],
    pub reconstruction: &'o mut [f32],
}

/// The filter graph's outputs, as the ONNX graph gives them (for parity checks).
pub struct FilterGraphOutput<'o> {
    pub z_mean: &'o mut [f32],
    pub z_log_var: &'o mut [f32],
    pub x_mean: &'o mut [f32],
    /// A robust model's per-element log-variance; `None` for other models.
    pub x_log_var: Option<&'o mut [f32]>,
}

/// A sampler or filter blob, validated against its manifest, ready to run. Holds no copy of
/// the weights: they are read from the blob (flash, or a mapped file) at every call.
pub struct MicroModel<'a> {
    manifest: &'a Manifest,
    header: BlobHeader,
    layers: heapless::Vec<Layer<'a>, MAX_LAYERS>,
}

fn check_len(what: &'static str, buf_len: usize, expected: usize) -> Result<(), MicroError> {
    if buf_len == expected {
        Ok(())
    } else {
        Err(MicroError::BufferLength {
            what,
            expected,
            found: buf_len,
        })
    }
}

fn shape(layer: usize, problem: &'static str) -> MicroError {
    MicroError::BlobShape { layer, problem }
}

/// The section of `len` elements of `T` at `offset`, in bounds (past the header and layer
/// table) and aligned.
fn section<'b, T: bytemuck::Pod>(
    blob: &'b [u8],
    table_end: usize,
    layer: usize,
    what: &'static str,
    offset: u32,
    len: usize,
) -> Result<&'b [T], MicroError> {
    let offset = offset as usize;
    let bytes = len.checked_mul(core::mem::size_of::<T>());
    let out_of_bounds = MicroError::SectionOutOfBounds {
        layer,
        what,
        offset,
        bytes: bytes.unwrap_or(usize::MAX),
    };
    let end = bytes
        .and_then(|b| offset.checked_add(b))
        .ok_or(out_of_bounds.clone())?;
    if offset < table_end || end > blob.len() {
        return Err(out_of_bounds);
    }
    if !offset.is_multiple_of(BLOB_ALIGN) {
        return Err(MicroError::Misaligned {
            what,
            offset: offset % BLOB_ALIGN,
            align: BLOB_ALIGN,
        });
    }
    bytemuck::try_cast_slice(&blob[offset..end]).map_err(|_| MicroError::Misaligned {
        what,
        offset: blob[offset..].as_ptr() as usize % core::mem::align_of::<T>(),
        align: core::mem::align_of::<T>(),
    })
}

impl<'a> MicroModel<'a> {
    /// Checks `blob` (a sampler or filter blob, as its header says) against the manifest's
    /// entry for it (length, SHA-256, dimensions, width) and its layer table against the
    /// model the manifest describes (order, shapes, activations, sections in bounds and
    /// aligned, finite biases and scales). Never panics on a bad blob.
    ///
    /// The blob must start on a 16-byte boundary: in firmware, e.g.
    /// `#[repr(C, align(16))] struct Aligned<T: ?Sized>(T);` around `include_bytes!`.
    pub fn from_blob(blob: &'a [u8], manifest: &'a Manifest) -> Result<Self, MicroError> {
        let start = blob.as_ptr() as usize % BLOB_ALIGN;
        if start != 0 {
            return Err(MicroError::Misaligned {
                what: "the blob's start",
                offset: start,
                align: BLOB_ALIGN,
            });
        }
        let header = read_header(blob)?;
        let entry = manifest.micro_blob(header.role, header.precision).ok_or(
            MicroError::NotInManifest {
                role: header.role,
                precision: header.precision,
            },
        )?;
        let digest: [u8; 32] = Sha256::digest(blob).into();
        if entry.bytes != blob.len() as u64 || sha256_hex(&digest) != entry.sha256 {
            return Err(MicroError::ChecksumMismatch { role: header.role });
        }
        let agree = [
            ("input_dim", header.input_dim == manifest.input_dim),
            ("latent", header.latent == manifest.latent),
            ("robust flag", header.robust == manifest.robust),
            (
                "output activation",
                header.sigmoid_output == (manifest.scaling == Scaling::Unit),
            ),
            ("width", header.width == entry.width),
        ];
        if let Some((field, _)) = agree.iter().find(|(_, ok)| !ok) {
            return Err(MicroError::ManifestMismatch { field });
        }
        let layers = read_layers(blob, &header)?;
        check_structure(&header, &layers)?;
        check_parameters(&layers)?;
        Ok(Self {
            manifest,
            header,
            layers,
        })
    }

    pub fn role(&self) -> GraphRole {
        self.header.role
    }

    pub fn precision(&self) -> MicroPrecision {
        self.header.precision
    }

    fn arena_shape(&self) -> ArenaShape {
        let h = &self.header;
        arena_shape(
            h.role,
            h.input_dim as usize,
            h.latent as usize,
            h.width as usize,
            h.robust,
        )
    }

    /// [`required_arena`] for this model.
    pub fn required_arena(&self, max_batch: usize) -> Result<usize, MicroError> {
        self.arena_shape().bytes(max_batch)
    }

    /// How many rows one pass runs in an arena of `bytes` bytes.
    pub fn rows_per_pass(&self, bytes: usize) -> usize {
        let shape = self.arena_shape();
        (bytes / F32).saturating_sub(shape.fixed) / shape.per_row.max(1)
    }

    /// The arena as f32s, and the rows per pass; fails when not even one row fits.
    fn arena<'w>(&self, arena: &'w mut [u8]) -> Result<(&'w mut [f32], usize), MicroError> {
        let rows = self.rows_per_pass(arena.len());
        if rows == 0 {
            return Err(MicroError::ArenaTooSmall {
                needed: self.required_arena(1)?,
                given: arena.len(),
            });
        }
        let offset = arena.as_ptr() as usize % ARENA_ALIGN;
        let floats = arena.len() / F32;
        let words = bytemuck::try_cast_slice_mut(&mut arena[..floats * F32])
            .map_err(|_| MicroError::ArenaMisaligned { offset })?;
        Ok((words, rows))
    }

    fn expect_role(&self, call: GraphRole) -> Result<(), MicroError> {
        if self.header.role == call {
            Ok(())
        } else {
            Err(MicroError::WrongRole {
                blob: self.header.role,
                call,
            })
        }
    }

    fn group(&self, group: Group) -> &[Layer<'a>] {
        let start = self.layers.iter().position(|l| l.record.group == group);
        let Some(start) = start else {
            return &[];
        };
        let len = self.layers[start..]
            .iter()
            .take_while(|l| l.record.group == group)
            .count();
        &self.layers[start..start + len]
    }

    /// Writes `n` samples into `out` (`n * input_dim` values), drawing the noise as the ONNX
    /// Runtime backend's `Sampler::sample_into` does: `u` then `eps`, `n * latent` normals
    /// each, from `GaussianRng::new(seed)`.
    pub fn sample_into(
        &self,
        arena: &mut [u8],
        n: usize,
        seed: u64,
        out: &mut [f32],
    ) -> Result<(), MicroError> {
        let k = self.header.latent as usize;
        let mut u_rng = crate::core::GaussianRng::new(seed);
        let mut eps_rng = u_rng.clone();
        for _ in 0..n.saturating_mul(k) {
            eps_rng.normal();
        }
        self.sample(arena, n, out, |noise, _, rows| match noise {
            Noise::U => u_rng.fill_normal(rows),
            Noise::Eps => eps_rng.fill_normal(rows),
        })
    }

    /// The sampler on caller-given noise (`u`, `eps`: `n * latent` values each).
    pub fn sample_with_noise(
        &self,
        arena: &mut [u8],
        n: usize,
        u: &[f32],
        eps: &[f32],
        out: &mut [f32],
    ) -> Result<(), MicroError> {
        let k = self.header.latent as usize;
        check_len("u", u.len(), n.saturating_mul(k))?;
        check_len("eps", eps.len(), n.saturating_mul(k))?;
        for (what, noise) in [(graph_ports::U.name, u), (graph_ports::EPS.name, eps)] {
            if let Some(index) = noise.iter().position(|v| !v.is_finite()) {
                return Err(MicroError::NonFiniteNoise {
                    what,
                    index,
                    value: noise[index],
                });
            }
        }
        self.sample(arena, n, out, |noise, first, rows| {
            let source = match noise {
                Noise::U => u,
                Noise::Eps => eps,
            };
            rows.copy_from_slice(&source[first * k..first * k + rows.len()]);
        })
    }

    /// The sampler, pass by pass: `noise(which, first row, rows)` fills a pass's `u` or `eps`
    /// rows.
    fn sample(
        &self,
        arena: &mut [u8],
        n: usize,
        out: &mut [f32],
        mut noise: impl FnMut(Noise, usize, &mut [f32]),
    ) -> Result<(), MicroError> {
        self.expect_role(GraphRole::Sampler)?;
        if n == 0 {
            return Err(MicroError::EmptyBatch);
        }
        let (d, k, w) = self.dims();
        check_len("out", out.len(), n.saturating_mul(d))?;
        let (words, capacity) = self.arena(arena)?;
        let (u, rest) = words.split_at_mut(capacity * k);
        let (a, rest) = rest.split_at_mut(capacity * w);
        let b = &mut rest[..capacity * w];
        let mut work = Work {
            input: u,
            buffers: [a, b],
        };
        let sd = libm::sqrt(self.manifest.gamma_stage2) as f32;
        let stage2 = self.group(Group::Stage2Decoder);
        let Some((last, hidden)) = self.group(Group::Stage1Decoder).split_last() else {
            return Err(shape(0, "no stage-1 decoder"));
        };
        for first in (0..n).step_by(capacity) {
            let rows = capacity.min(n - first);
            noise(Noise::U, first, &mut work.input[..rows * k]);
            let (mut at, mut cols) = (At::Input, k);
            for layer in stage2 {
                at = work.step(layer, rows, at, cols);
                cols = layer.record.outputs as usize;
            }
            let At::Buffer(z_at) = at else {
                return Err(shape(0, "no stage-2 decoder"));
            };
            // z = f2(u) + sqrt(gamma_z) eps, eps drawn into the buffer stage 2 is done with.
            let [b0, b1] = &mut work.buffers;
            let (z, eps) = if z_at == 0 { (b0, b1) } else { (b1, b0) };
            let eps = &mut eps[..rows * k];
            noise(Noise::Eps, first, eps);
            for (zi, e) in z[..rows * k].iter_mut().zip(eps.iter()) {
                *zi += e * sd;
            }
            for layer in hidden {
                at = work.step(layer, rows, at, cols);
                cols = layer.record.outputs as usize;
            }
            let out_rows = &mut out[first * d..(first + rows) * d];
            work.step_out(last, rows, at, cols, out_rows);
            if let Some(s) = self.manifest.standardization {
                out_rows.iter_mut().for_each(|v| *v = s.to_data(*v));
            }
            if let Some(i) = out_rows.iter().position(|v| !v.is_finite()) {
                return Err(MicroError::NonFiniteOutput {
                    what: "sample",
                    row: first + i / d,
                    column: i % d,
                    value: out_rows[i],
                });
            }
        }
        Ok(())
    }

    fn dims(&self) -> (usize, usize, usize) {
        let h = &self.header;
        (h.input_dim as usize, h.latent as usize, h.width as usize)
    }

    /// The encoder and its head on the input rows (model units); which buffer holds the head's
    /// rows (`2 * latent` values each: the mean, then the log-variance).
    fn encoder_head(&self, work: &mut Work<'_>, rows: usize) -> Result<usize, MicroError> {
        let d = self.header.input_dim as usize;
        let (mut at, mut cols) = (At::Input, d);
        for layer in self.group(Group::Stage1Encoder) {
            at = work.step(layer, rows, at, cols);
            cols = layer.record.outputs as usize;
        }
        let [head] = self.group(Group::EncoderHead) else {
            return Err(shape(0, "no encoder head"));
        };
        match work.step(head, rows, at, cols) {
            At::Buffer(i) => Ok(i),
            At::Input => Err(shape(0, "no encoder head")),
        }
    }

    /// The decoder at the mean of the head's rows (in buffer `head`) into `x_mean` and, for a
    /// robust model, the log-variance into `x_log_var`, both in data units. Overwrites the
    /// head's rows.
    fn decode_mean(
        &self,
        work: &mut Work<'_>,
        rows: usize,
        head: usize,
        x_mean: &mut [f32],
        x_log_var: Option<&mut [f32]>,
    ) -> Result<(), MicroError> {
        let k = self.header.latent as usize;
        {
            let [b0, b1] = &mut work.buffers;
            let (src, dst) = if head == 0 { (b0, b1) } else { (b1, b0) };
            for r in 0..rows {
                dst[r * k..(r + 1) * k].copy_from_slice(&src[r * 2 * k..r * 2 * k + k]);
            }
        }
        let (mut at, mut cols) = (At::Buffer(1 - head), k);
        let Some((last, hidden)) = self.group(Group::Stage1Decoder).split_last() else {
            return Err(shape(0, "no stage-1 decoder"));
        };
        for layer in hidden {
            at = work.step(layer, rows, at, cols);
            cols = layer.record.outputs as usize;
        }
        work.step_out(last, rows, at, cols, x_mean);
        let std = self.manifest.standardization;
        if let Some(s) = std {
            x_mean.iter_mut().for_each(|v| *v = s.to_data(*v));
        }
        if let (Some(log_var), [variance]) = (x_log_var, self.group(Group::VarianceHead)) {
            work.step_out(variance, rows, at, cols, log_var);
            // The ONNX graph's order: raw / range, tanh, * range, + ln gamma, exp, + floor, ln.
            let range = self.header.variance_range;
            let inv_range = 1.0 / range;
            let log_gamma = libm::log(self.manifest.gamma_stage1) as f32;
            let floor = self.header.variance_floor;
            let offset = std.map_or(0.0, |s| s.log_var_offset());
            for v in log_var.iter_mut() {
                let l = libm::tanhf(*v * inv_range) * range;
                *v = libm::logf(libm::expf(l + log_gamma) + floor) + offset;
            }
        }
        Ok(())
    }

    /// Copies `rows` into the input rows, through `gate` when given, in model units.
    fn load_input(&self, input: &mut [f32], rows: &[f32], gate: Option<&InputGate>) {
        let input = &mut input[..rows.len()];
        input.copy_from_slice(rows);
        if let Some(gate) = gate {
            gate.gate(input);
        }
        if let Some(s) = self.manifest.standardization {
            let inv_scale = 1.0 / s.scale;
            input
                .iter_mut()
                .for_each(|v| *v = (*v - s.center) * inv_scale);
        }
    }

    fn split_filter_arena<'w>(
        &self,
        words: &'w mut [f32],
        capacity: usize,
    ) -> (Work<'w>, &'w mut [f32], &'w mut [f32]) {
        let (d, _, w) = self.dims();
        let (input, rest) = words.split_at_mut(capacity * d);
        let (a, rest) = rest.split_at_mut(capacity * w);
        let (b, rest) = rest.split_at_mut(capacity * w);
        let (log_var, rest) = if self.header.robust {
            rest.split_at_mut(capacity * d)
        } else {
            rest.split_at_mut(0)
        };
        let noise = if self.header.robust {
            &mut rest[..0]
        } else {
            &mut rest[..d]
        };
        (
            Work {
                input,
                buffers: [a, b],
            },
            log_var,
            noise,
        )
    }

    fn check_input(&self, x: &[f32], n: usize) -> Result<(), MicroError> {
        let d = self.header.input_dim as usize;
        if n == 0 {
            return Err(MicroError::EmptyBatch);
        }
        check_len("x", x.len(), n.saturating_mul(d))?;
        if let Some(i) = x.iter().position(|v| !v.is_finite()) {
            return Err(MicroError::NonFiniteInput {
                row: i / d,
                column: i % d,
                value: x[i],
            });
        }
        Ok(())
    }

    /// The filter graph's outputs for `x` (`n` rows, no gate), as the ONNX filter graph gives
    /// them.
    pub fn filter_graph(
        &self,
        arena: &mut [u8],
        x: &[f32],
        n: usize,
        out: FilterGraphOutput<'_>,
    ) -> Result<(), MicroError> {
        self.expect_role(GraphRole::Filter)?;
        self.check_input(x, n)?;
        let (d, k, _) = self.dims();
        check_len("z_mean", out.z_mean.len(), n * k)?;
        check_len("z_log_var", out.z_log_var.len(), n * k)?;
        check_len("x_mean", out.x_mean.len(), n * d)?;
        let mut x_log_var = match (self.header.robust, out.x_log_var) {
            (true, Some(v)) => {
                check_len("x_log_var", v.len(), n * d)?;
                Some(v)
            }
            (false, None) => None,
            (robust, _) => {
                return Err(MicroError::BufferLength {
                    what: "x_log_var",
                    expected: if robust { n * d } else { 0 },
                    found: 0,
                })
            }
        };
        let (words, capacity) = self.arena(arena)?;
        let (mut work, _, _) = self.split_filter_arena(words, capacity);
        for first in (0..n).step_by(capacity) {
            let rows = capacity.min(n - first);
            self.load_input(work.input, &x[first * d..(first + rows) * d], None);
            let head = self.encoder_head(&mut work, rows)?;
            let head_rows = work.view(At::Buffer(head), rows * 2 * k);
            for r in 0..rows {
                let row = &head_rows[r * 2 * k..(r + 1) * 2 * k];
                let at = (first + r) * k;
                out.z_mean[at..at + k].copy_from_slice(&row[..k]);
                out.z_log_var[at..at + k].copy_from_slice(&row[k..]);
            }
            let log_var = x_log_var
                .as_deref_mut()
                .map(|v| &mut v[first * d..(first + rows) * d]);
            let x_mean = &mut out.x_mean[first * d..(first + rows) * d];
            self.decode_mean(&mut work, rows, head, x_mean, log_var)?;
        }
        Ok(())
    }

    /// Scores, masks and cleans `x` (`n` rows) in `passes` passes with the same semantics and
    /// scoring code (`core::outlier`) as the ONNX Runtime backend's `OutlierFilter::filter_into`.
    pub fn filter_into(
        &self,
        arena: &mut [u8],
        x: &[f32],
        n: usize,
        passes: usize,
        out: MicroFilterOutput<'_>,
    ) -> Result<(), MicroError> {
        self.expect_role(GraphRole::Filter)?;
        if passes == 0 {
            return Err(MicroError::ZeroPasses);
        }
        self.check_input(x, n)?;
        let thresholds = self
            .manifest
            .outlier
            .as_ref()
            .ok_or(MicroError::NotCalibrated)?;
        let d = self.header.input_dim as usize;
        let len = n * d;
        check_len("scores", out.scores.len(), n)?;
        check_len("element_scores", out.element_scores.len(), len)?;
        check_len("mask", out.mask.len(), len)?;
        check_len("cleaned", out.cleaned.len(), len)?;
        check_len("reconstruction", out.reconstruction.len(), len)?;
        let gate = InputGate::for_model(self.manifest.scaling, thresholds.value_range);
        let element_threshold = thresholds.element_threshold as f32;
        let (words, capacity) = self.arena(arena)?;
        let (mut work, log_var, noise) = self.split_filter_arena(words, capacity);
        for (v, noise) in noise.iter_mut().zip(&thresholds.element_noise) {
            *v = noise_log_var(*noise);
        }
        let robust = self.header.robust;
        for first in (0..n).step_by(capacity) {
            let rows = capacity.min(n - first);
            let span = first * d..(first + rows) * d;
            for pass in 0..passes {
                // As the ONNX Runtime backend: pass 0 reads the input through the gate (in
                // the data's units), later passes the rows the pass before cleaned.
                if pass == 0 {
                    self.load_input(work.input, &x[span.clone()], Some(&gate));
                } else {
                    self.load_input(work.input, &out.cleaned[span.clone()], None);
                }
                let head = self.encoder_head(&mut work, rows)?;
                let x_mean = &mut out.reconstruction[span.clone()];
                let head_log_var = robust.then(|| &mut log_var[..rows * d]);
                self.decode_mean(&mut work, rows, head, x_mean, head_log_var)?;
                let head = robust.then(|| &log_var[..rows * d]);
                for r in 0..rows {
                    let i = first + r;
                    let row = i * d..(i + 1) * d;
                    let score = filter_row(
                        &x[row.clone()],
                        &out.reconstruction[row.clone()],
                        // The head's row for a robust model, else the calibrated noise's.
                        head.map_or(&noise[..], |h| &h[r * d..(r + 1) * d]),
                        element_threshold,
                        &gate,
                        RowOutput {
                            mask: &mut out.mask[row.clone()],
                            cleaned: &mut out.cleaned[row.clone()],
                            element_scores: &mut out.element_scores[row],
                        },
                    )
                    .map_err(|e| match e {
                        CoreError::NonFiniteReconstruction { column, value } => {
                            MicroError::NonFiniteOutput {
                                what: "reconstruction",
                                row: i,
                                column,
                                value,
                            }
                        }
                        other => other.into(),
                    })?;
                    out.scores[i] = score;
                }
            }
        }
        Ok(())
    }

    /// Whether a row of this score is an outlier by the manifest's calibration.
    pub fn is_outlier(&self, score: f32) -> bool {
        self.manifest
            .outlier
            .as_ref()
            .is_some_and(|o| f64::from(score) > o.score_threshold)
    }
}

/// Reads and bounds-checks every layer's sections.
fn read_layers<'b>(
    blob: &'b [u8],
    header: &BlobHeader,
) -> Result<heapless::Vec<Layer<'b>, MAX_LAYERS>, MicroError> {
    let table_end = HEADER_BYTES + LAYER_BYTES * header.layers as usize;
    let mut layers = heapless::Vec::new();
    for i in 0..header.layers as usize {
        let record = read_layer(blob, i)?;
        let (inputs, outputs) = (record.inputs as usize, record.outputs as usize);
        if inputs == 0 || outputs == 0 {
            return Err(shape(i, "a layer has no inputs or no outputs"));
        }
        let count = inputs
            .checked_mul(outputs)
            .ok_or(shape(i, "a layer's weights overflow"))?;
        let weights = match header.precision {
            MicroPrecision::Fp32 => Weights::F32(section(
                blob,
                table_end,
                i,
                "weights",
                record.weights,
                count,
            )?),
            MicroPrecision::Fp16 => Weights::F16(section(
                blob,
                table_end,
                i,
                "weights",
                record.weights,
                count,
            )?),
            MicroPrecision::Int8 => {
                let scales: &[f32] = section(blob, table_end, i, "scales", record.scales, outputs)?;
                Weights::I8(
                    section(blob, table_end, i, "weights", record.weights, count)?,
                    scales,
                )
            }
        };
        let bias: &[f32] = section(blob, table_end, i, "bias", record.bias, outputs)?;
        // The count was checked against MAX_LAYERS with the header.
        layers
            .push(Layer {
                record,
                weights,
                bias,
            })
            .map_err(|_| shape(i, "more layers than a blob holds"))?;
    }
    Ok(layers)
}

/// Whether every bias and (int8) scale is finite, and no scale negative; checked after the
/// structure, so a wrong shape is reported as one and not as the values it made us read.
fn check_parameters(layers: &[Layer<'_>]) -> Result<(), MicroError> {
    for (i, layer) in layers.iter().enumerate() {
        if !layer.bias.iter().all(|b| b.is_finite()) {
            return Err(MicroError::NonFiniteParameter {
                layer: i,
                what: "bias",
            });
        }
        if let Weights::I8(_, scales) = layer.weights {
            if !scales.iter().all(|s| s.is_finite() && *s >= 0.0) {
                return Err(MicroError::NonFiniteParameter {
                    layer: i,
                    what: "scales",
                });
            }
        }
    }
    Ok(())
}

/// Whether the layers are the model the header describes: the role's groups in order, each
/// layer reading what the one before it wrote, ReLU between layers and the right output
/// activations, stage 2's skip on its last layer only, and the header's width.
fn check_structure(header: &BlobHeader, layers: &[Layer<'_>]) -> Result<(), MicroError> {
    let (d, k) = (header.input_dim, header.latent);
    let groups = expected_groups(header.role, header.robust);
    let mut at = 0;
    let mut cols = match header.role {
        GraphRole::Sampler => k,
        GraphRole::Filter => d,
    };
    let mut decoder_hidden = k;
    for &group in groups {
        let start = at;
        while at < layers.len() && layers[at].record.group == group {
            at += 1;
        }
        let members = &layers[start..at];
        let count_ok = match group {
            Group::Stage1Encoder => true,
            Group::EncoderHead | Group::VarianceHead => members.len() == 1,
            Group::Stage2Decoder | Group::Stage1Decoder => !members.is_empty(),
        };
        if !count_ok {
            return Err(shape(
                start,
                "the layers are not the groups this model has, in order",
            ));
        }
        if group == Group::Stage1Decoder {
            cols = k;
        }
        if group == Group::VarianceHead {
            cols = decoder_hidden;
        }
        for (j, layer) in members.iter().enumerate() {
            let i = start + j;
            let r = &layer.record;
            let last = j + 1 == members.len();
            let skip = group == Group::Stage2Decoder && last;
            if r.skip != skip {
                return Err(shape(
                    i,
                    "only stage 2's last layer reads the latent input again",
                ));
            }
            let expected_inputs = if skip { cols + k } else { cols };
            if r.inputs != expected_inputs {
                return Err(shape(i, "its inputs are not the previous layer's outputs"));
            }
            let (outputs, activation) = match (group, last) {
                (Group::Stage2Decoder, true) => (Some(k), Activation::Identity),
                (Group::Stage1Decoder, true) => (
                    Some(d),
                    if header.sigmoid_output {
                        Activation::Sigmoid
                    } else {
                        Activation::Identity
                    },
                ),
                (Group::EncoderHead, _) => (Some(2 * k), Activation::Identity),
                (Group::VarianceHead, _) => (Some(d), Activation::Identity),
                _ => (None, Activation::Relu),
            };
            if outputs.is_some_and(|o| o != r.outputs) {
                return Err(shape(
                    i,
                    "its outputs are not what its place in the model needs",
                ));
            }
            if r.activation != activation {
                return Err(shape(
                    i,
                    "its activation is not what its place in the model needs",
                ));
            }
            if group == Group::Stage1Decoder && last {
                decoder_hidden = cols;
            }
            cols = r.outputs;
        }
    }
    if at != layers.len() {
        return Err(shape(
            at,
            "the layers are not the groups this model has, in order",
        ));
    }
    if kept_width(layers.iter().map(|l| l.record)) != header.width {
        return Err(MicroError::BlobField {
            field: "width",
            value: header.width,
        });
    }
    Ok(())
}
