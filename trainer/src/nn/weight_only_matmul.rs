//! `x W` for an input that needs no gradient (a data batch): candle's backward for a product
//! always computes both operands' gradients, so the first encoder layer paid for `grad W^T`, a
//! [batch, 784] product and its accumulation, that nothing reads (a tenth of a stage-1 step's
//! arithmetic). Here the product is computed without a graph and attached to `W` through a
//! custom op whose backward returns only `x^T grad`, the expression candle uses, so values and
//! weight gradients are unchanged bit for bit.

use candle_core::{CpuStorage, CustomOp2, Layout, Shape, Tensor};

use super::bias_add::contiguous_f32;

/// `x.matmul(w)`, with a gradient for `w` only. Callers use it when `x` tracks no gradient.
pub fn weight_only_matmul(x: &Tensor, w: &Tensor) -> candle_core::Result<Tensor> {
    let product = x.matmul(&w.detach())?;
    w.apply_op2(&product, Attach { x: x.clone() })
}

/// Returns its second operand (the product) as the result; its backward gives the first (the
/// weight) `x^T grad`.
struct Attach {
    x: Tensor,
}

impl CustomOp2 for Attach {
    fn name(&self) -> &'static str {
        "edgevae-weight-only-matmul"
    }

    fn cpu_fwd(
        &self,
        _ws: &CpuStorage,
        _wl: &Layout,
        ps: &CpuStorage,
        pl: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let product = contiguous_f32(ps, pl, self.name())?;
        Ok((CpuStorage::F32(product.to_vec()), pl.shape().clone()))
    }

    fn bwd(
        &self,
        _w: &Tensor,
        _product: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>)> {
        Ok((Some(self.x.t()?.matmul(grad)?), None))
    }
}

#[cfg(test)]
mod tests {
    use candle_core::{Device, Var};

    use super::*;
    use crate::rng::SeededRng;

    #[test]
    fn values_and_weight_gradient_equal_candles_product_bit_for_bit() -> candle_core::Result<()> {
        let mut rng = SeededRng::new(5);
        let x = Tensor::from_vec(rng.normal_vec(6 * 7), (6, 7), &Device::Cpu)?;
        let w = Var::from_tensor(&Tensor::from_vec(
            rng.normal_vec(7 * 5),
            (7, 5),
            &Device::Cpu,
        )?)?;
        let target = Tensor::from_vec(rng.normal_vec(6 * 5), (6, 5), &Device::Cpu)?;
        let loss = |y: &Tensor| (y - &target)?.sqr()?.sum_all();
        let ours = weight_only_matmul(&x, w.as_tensor())?;
        let theirs = x.matmul(w.as_tensor())?;
        let bits = |t: &Tensor| -> candle_core::Result<Vec<u32>> {
            Ok(t.flatten_all()?
                .to_vec1::<f32>()?
                .into_iter()
                .map(f32::to_bits)
                .collect())
        };
        assert_eq!(bits(&ours)?, bits(&theirs)?);
        let g_ours = loss(&ours)?.backward()?;
        let g_theirs = loss(&theirs)?.backward()?;
        let gw = |g: &candle_core::backprop::GradStore| {
            g.get(w.as_tensor()).cloned().expect("a weight gradient")
        };
        assert_eq!(bits(&gw(&g_ours))?, bits(&gw(&g_theirs))?);
        // The point of the op: no gradient is computed for the data batch.
        assert!(g_ours.get(&x).is_none());
        assert!(g_theirs.get(&x).is_some());
        Ok(())
    }
}
