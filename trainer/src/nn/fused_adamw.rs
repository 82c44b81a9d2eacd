//! The AdamW update as one in-place pass over a CPU parameter: the moments live in host
//! vectors and parameter, moments and gradient are each touched once per step. The tensor-op
//! version costs about a dozen full-size temporaries per parameter per step, which on CPU is a
//! large share of a small model's step time.

use std::cell::RefCell;

use candle_core::{CpuStorage, Layout};

/// One step's constants for one parameter.
#[derive(Clone, Copy, Debug)]
pub struct AdamWStep {
    pub beta1: f32,
    pub beta2: f32,
    pub eps: f32,
    /// lr * scale / (1 - beta1^t)
    pub step_size: f32,
    /// 1 / (1 - beta2^t)
    pub inv_bias2: f32,
    /// 1 - lr * weight_decay
    pub keep: f32,
}

/// The in-place op: the parameter is the destination, the gradient the source.
pub struct FusedAdamW<'a> {
    pub step: AdamWStep,
    pub m: RefCell<&'a mut [f32]>,
    pub v: RefCell<&'a mut [f32]>,
}

fn contiguous(layout: &Layout, len: usize, name: &str) -> candle_core::Result<(usize, usize)> {
    match layout.contiguous_offsets() {
        Some((start, end)) if end - start == len => Ok((start, end)),
        _ => candle_core::bail!("fused AdamW needs a contiguous {name} of {len} values"),
    }
}

impl candle_core::InplaceOp2 for FusedAdamW<'_> {
    fn name(&self) -> &'static str {
        "fused-adamw"
    }

    fn cpu_fwd(
        &self,
        s1: &mut CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<()> {
        let (CpuStorage::F32(p), CpuStorage::F32(g)) = (s1, s2) else {
            candle_core::bail!("fused AdamW supports f32 only");
        };
        let mut m = self.m.borrow_mut();
        let mut v = self.v.borrow_mut();
        let n = m.len();
        let (ps, pe) = contiguous(l1, n, "parameter")?;
        let (gs, ge) = contiguous(l2, n, "gradient")?;
        let s = self.step;
        let (p, g) = (&mut p[ps..pe], &g[gs..ge]);
        for i in 0..n {
            let gi = g[i];
            let mi = s.beta1 * m[i] + (1.0 - s.beta1) * gi;
            let vi = s.beta2 * v[i] + (1.0 - s.beta2) * gi * gi;
            m[i] = mi;
            v[i] = vi;
            p[i] = p[i] * s.keep - s.step_size * mi / ((vi * s.inv_bias2).sqrt() + s.eps);
        }
        Ok(())
    }
}
