//! The micro backend's arithmetic: one dense layer over a few rows, in f32, whatever the
//! weights are stored as. Plain loops over fixed lanes, so the compiler vectorises them on x86
//! and keeps the accumulators in FPU registers on a Cortex-M4F.

use super::format::Activation;

/// Lanes of partial sums in a dot product: eight independent chains, enough for AVX's 8 f32 and
/// for hiding the Cortex-M4F's 3-cycle multiply-accumulate latency.
const LANES: usize = 8;

/// How a layer's weights are stored, borrowed from the blob.
#[derive(Clone, Copy, Debug)]
pub enum Weights<'b> {
    F32(&'b [f32]),
    /// fp16 bit patterns.
    F16(&'b [u16]),
    /// int8 values and one scale per output row.
    I8(&'b [i8], &'b [f32]),
}

/// `sum_i w(row[i]) * x[i]` over eight lanes, then the lanes pairwise.
#[inline(always)]
fn dot<T: Copy>(row: &[T], x: &[f32], widen: impl Fn(T) -> f32) -> f32 {
    let mut acc = [0.0f32; LANES];
    let (rows, xs) = (row.chunks_exact(LANES), x.chunks_exact(LANES));
    let (row_tail, x_tail) = (rows.remainder(), xs.remainder());
    for (w, v) in rows.zip(xs) {
        for l in 0..LANES {
            acc[l] += widen(w[l]) * v[l];
        }
    }
    for (l, (w, v)) in row_tail.iter().zip(x_tail).enumerate() {
        acc[l] += widen(*w) * v;
    }
    let quads = [
        acc[0] + acc[4],
        acc[1] + acc[5],
        acc[2] + acc[6],
        acc[3] + acc[7],
    ];
    (quads[0] + quads[2]) + (quads[1] + quads[3])
}

fn f16_to_f32(bits: u16) -> f32 {
    half::f16::from_bits(bits).to_f32()
}

/// The pre-activation of output `j` for input row `x` and, for a skip layer, `extra` (the
/// row continues with it).
#[inline]
fn neuron(weights: Weights<'_>, j: usize, inputs: usize, x: &[f32], extra: &[f32]) -> f32 {
    let n = x.len();
    let span = j * inputs..(j + 1) * inputs;
    match weights {
        Weights::F32(w) => {
            let row = &w[span];
            dot(&row[..n], x, |v| v) + dot(&row[n..], extra, |v| v)
        }
        Weights::F16(w) => {
            let row = &w[span];
            dot(&row[..n], x, f16_to_f32) + dot(&row[n..], extra, f16_to_f32)
        }
        Weights::I8(w, scales) => {
            let row = &w[span];
            let sum = dot(&row[..n], x, f32::from) + dot(&row[n..], extra, f32::from);
            sum * scales[j]
        }
    }
}

pub fn sigmoid(v: f32) -> f32 {
    1.0 / (1.0 + libm::expf(-v))
}

/// A dense layer: `out[r] = act(W [x[r], extra[r]] + b)` for each of `rows` rows. `x` holds rows
/// of `x.len() / rows` values, `extra` (empty unless the layer skips) rows of the rest of the
/// layer's inputs; `out` rows of `bias.len()` values. Lengths were checked when the blob was
/// read and the arena laid out.
pub fn dense(
    weights: Weights<'_>,
    bias: &[f32],
    activation: Activation,
    rows: usize,
    x: &[f32],
    extra: &[f32],
    out: &mut [f32],
) {
    let outputs = bias.len();
    let (x_cols, extra_cols) = (x.len() / rows.max(1), extra.len() / rows.max(1));
    let inputs = x_cols + extra_cols;
    for r in 0..rows {
        let x_row = &x[r * x_cols..(r + 1) * x_cols];
        let extra_row = &extra[r * extra_cols..(r + 1) * extra_cols];
        let out_row = &mut out[r * outputs..(r + 1) * outputs];
        for (j, (o, b)) in out_row.iter_mut().zip(bias).enumerate() {
            let v = neuron(weights, j, inputs, x_row, extra_row) + b;
            *o = match activation {
                Activation::Identity => v,
                Activation::Relu => v.max(0.0),
                Activation::Sigmoid => sigmoid(v),
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dense_layer_is_its_definition_in_every_storage() {
        // 2 rows, 3 + 2 inputs (a skip layer), 2 outputs.
        let w = [0.5f32, -1.0, 2.0, 0.25, 1.5, -0.5, 1.0, 0.0, -2.0, 3.0];
        let b = [0.1f32, -0.2];
        let x = [1.0f32, 2.0, 3.0, -1.0, 0.0, 1.0];
        let extra = [4.0f32, 5.0, -2.0, 0.5];
        let expect = |row: usize, j: usize| {
            let input = [&x[row * 3..row * 3 + 3], &extra[row * 2..row * 2 + 2]].concat();
            b[j] + (0..5).map(|i| w[j * 5 + i] * input[i]).sum::<f32>()
        };
        let mut out = [0.0f32; 4];
        dense(
            Weights::F32(&w),
            &b,
            Activation::Identity,
            2,
            &x,
            &extra,
            &mut out,
        );
        for r in 0..2 {
            for j in 0..2 {
                assert!((out[r * 2 + j] - expect(r, j)).abs() < 1e-6, "{out:?}");
            }
        }
        // These weights are exact in fp16 and, scaled by 1/127 * max, close in int8.
        let bits: [u16; 10] = w.map(|v| half::f16::from_f32(v).to_bits());
        let mut half_out = [0.0f32; 4];
        dense(
            Weights::F16(&bits),
            &b,
            Activation::Identity,
            2,
            &x,
            &extra,
            &mut half_out,
        );
        assert_eq!(half_out, out);
        let mut q = [0i8; 10];
        let scales = [
            super::super::format::quantize_row(&w[..5], &mut q[..5]),
            super::super::format::quantize_row(&w[5..], &mut q[5..]),
        ];
        let mut int_out = [0.0f32; 4];
        dense(
            Weights::I8(&q, &scales),
            &b,
            Activation::Identity,
            2,
            &x,
            &extra,
            &mut int_out,
        );
        for (a, e) in int_out.iter().zip(&out) {
            assert!((a - e).abs() < 0.1, "{int_out:?} vs {out:?}");
        }
        let mut relu = [0.0f32; 4];
        dense(
            Weights::F32(&w),
            &b,
            Activation::Relu,
            2,
            &x,
            &extra,
            &mut relu,
        );
        assert_eq!(relu, out.map(|v| v.max(0.0)));
    }

    #[test]
    fn long_rows_sum_every_lane_and_the_tail() {
        let w: [f32; 19] = core::array::from_fn(|i| i as f32);
        let x = [1.0f32; 19];
        let mut out = [0.0f32];
        dense(
            Weights::F32(&w),
            &[0.0],
            Activation::Identity,
            1,
            &x,
            &[],
            &mut out,
        );
        assert_eq!(out[0], (0..19).sum::<i32>() as f32);
    }
}
