//! The AdamW update as three in-place passes over a parameter's buffers on the CPU (moment 1,
//! moment 2, parameter), instead of about a dozen candle ops that each allocated and filled a
//! fresh tensor: at batch 64 the optimiser was 40 % of a stage-1 step, with the allocator's
//! zeroing and page faults on top (`docs/results.md`, "Training step against PyTorch").
//!
//! Each pass computes, element by element, exactly what the tensor ops computed (the same f32
//! operations in the same order, `x * a + 0.0` for candle's affine included), so training gives
//! bit-identical weights either way; `adamw.rs` keeps the tensor ops for other devices and a
//! test holds the two paths equal.

use candle_core::{CpuStorage, InplaceOp2, InplaceOp3, Layout};
use rayon::prelude::*;

use super::bias_add::contiguous_f32;

/// Below this many elements a pass runs on the calling thread (a bias, log gamma).
const PARALLEL_MIN: usize = 1 << 15;
const CHUNK: usize = 1 << 14;

fn contiguous_f32_mut<'a>(
    storage: &'a mut CpuStorage,
    layout: &Layout,
    op: &str,
) -> candle_core::Result<&'a mut [f32]> {
    let CpuStorage::F32(all) = storage else {
        candle_core::bail!("{op}: expected f32 storage")
    };
    match layout.contiguous_offsets() {
        Some((start, end)) => Ok(&mut all[start..end]),
        None => candle_core::bail!("{op}: expected a contiguous tensor"),
    }
}

/// `f(dst_chunk, offset)` over `dst`, in parallel for large buffers.
fn for_chunks(dst: &mut [f32], f: impl Fn(&mut [f32], usize) + Sync) {
    if dst.len() < PARALLEL_MIN {
        f(dst, 0);
    } else {
        dst.par_chunks_mut(CHUNK)
            .enumerate()
            .for_each(|(i, chunk)| f(chunk, i * CHUNK));
    }
}

fn same_len(op: &str, a: usize, b: usize) -> candle_core::Result<()> {
    if a != b {
        candle_core::bail!("{op}: {a} elements against {b}")
    }
    Ok(())
}

/// A moment estimate `m <- m * decay + g * gain` (first moment) or `m * decay + g² * gain`
/// (second moment), in place.
pub struct MomentUpdate {
    pub decay: f32,
    pub gain: f32,
    pub squared: bool,
}

impl InplaceOp2 for MomentUpdate {
    fn name(&self) -> &'static str {
        "edgevae-adam-moment"
    }

    fn cpu_fwd(
        &self,
        ms: &mut CpuStorage,
        ml: &Layout,
        gs: &CpuStorage,
        gl: &Layout,
    ) -> candle_core::Result<()> {
        let m = contiguous_f32_mut(ms, ml, self.name())?;
        let g = contiguous_f32(gs, gl, self.name())?;
        same_len(self.name(), m.len(), g.len())?;
        let (decay, gain, squared) = (self.decay, self.gain, self.squared);
        for_chunks(m, |m, at| {
            for (m, &g) in m.iter_mut().zip(&g[at..]) {
                let g = if squared { g * g } else { g };
                *m = (*m * decay + 0.0) + (g * gain + 0.0);
            }
        });
        Ok(())
    }
}

/// The parameter step `theta <- theta * keep - (m / (sqrt(v * inv_bias2) + eps)) * step`, in
/// place (`keep` only with weight decay).
pub struct ParamUpdate {
    pub inv_bias2: f32,
    pub eps: f32,
    pub step: f32,
    pub keep: Option<f32>,
}

impl InplaceOp3 for ParamUpdate {
    fn name(&self) -> &'static str {
        "edgevae-adam-param"
    }

    fn cpu_fwd(
        &self,
        ts: &mut CpuStorage,
        tl: &Layout,
        ms: &CpuStorage,
        ml: &Layout,
        vs: &CpuStorage,
        vl: &Layout,
    ) -> candle_core::Result<()> {
        let theta = contiguous_f32_mut(ts, tl, self.name())?;
        let m = contiguous_f32(ms, ml, self.name())?;
        let v = contiguous_f32(vs, vl, self.name())?;
        same_len(self.name(), theta.len(), m.len())?;
        same_len(self.name(), theta.len(), v.len())?;
        let p = self;
        for_chunks(theta, |theta, at| {
            for ((t, &m), &v) in theta.iter_mut().zip(&m[at..]).zip(&v[at..]) {
                let denom = (v * p.inv_bias2 + 0.0).sqrt() * 1.0 + p.eps;
                let update = (m / denom) * p.step + 0.0;
                let decayed = match p.keep {
                    Some(keep) => *t * keep + 0.0,
                    None => *t,
                };
                *t = decayed - update;
            }
        });
        Ok(())
    }
}
