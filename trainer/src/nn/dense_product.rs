//! `x W` for a dense layer, with a backward pass that keeps no graph alive and makes no zero
//! tensors. candle's backward of a product computes `x^T grad` from the tracked activation `x`,
//! so each weight's gradient carried a graph holding that product and the zero tensor it was
//! added to: three weight-sized buffers per weight until the gradients were dropped (on MNIST's
//! stage 2, 53 MB instead of 17.6 MB). This op computes the same expressions from detached
//! operands, with the same kernel, so values and gradients are unchanged bit for bit. It skips
//! the gradient of an input that needs none (a data batch: candle always computed it, for the
//! first encoder layer a [batch, 784] product that nothing read). And under [`backward`] it
//! hands each weight's gradient over as computed, where candle would allocate a zero tensor,
//! clear it and add the gradient to it (about 6 % of a stage-1 step at batch 256).

use std::cell::RefCell;

use candle_core::backend::BackendStorage;
use candle_core::backprop::GradStore;
use candle_core::{CpuStorage, CustomOp2, DType, Layout, Shape, Tensor, TensorId};

thread_local! {
    /// The weight gradients this op made during a [`backward`] on this thread (None outside
    /// one: plain `Tensor::backward` gets them through candle as usual).
    static WEIGHT_GRADS: RefCell<Option<Vec<(TensorId, Tensor)>>> = const { RefCell::new(None) };
}

/// `loss.backward()`, with the dense weights' gradients taken over from this op instead of
/// summed into zero tensors by candle: the same gradients (a weight used twice is summed in the
/// order candle sums it).
pub fn backward(loss: &Tensor) -> candle_core::Result<GradStore> {
    let collecting = Collecting::start();
    let mut grads = loss.backward()?;
    for (id, g) in collecting.finish() {
        // Only a weight also used outside this op has a gradient from candle as well.
        let g = match grads.get_id(id) {
            Some(other) => other.add(&g)?,
            None => g,
        };
        grads.insert_id(id, g);
    }
    Ok(grads)
}

/// This thread's collection of weight gradients while it lives: ended however [`backward`]
/// leaves (an error, or a panic a caller catches), so a later plain `Tensor::backward` never hands
/// its gradients to a stale collection.
struct Collecting;

impl Collecting {
    fn start() -> Self {
        WEIGHT_GRADS.with(|slot| *slot.borrow_mut() = Some(Vec::new()));
        Self
    }

    fn finish(self) -> Vec<(TensorId, Tensor)> {
        WEIGHT_GRADS
            .with(|slot| slot.borrow_mut().take())
            .unwrap_or_default()
    }
}

impl Drop for Collecting {
    fn drop(&mut self) {
        WEIGHT_GRADS.with(|slot| *slot.borrow_mut() = None);
    }
}

/// Keeps `g` as `w`'s gradient when a [`backward`] is collecting on this thread; gives it back
/// otherwise.
fn hand_over(w: &Tensor, g: Tensor) -> candle_core::Result<Option<Tensor>> {
    WEIGHT_GRADS.with(|slot| {
        let mut slot = slot.borrow_mut();
        let Some(made) = slot.as_mut() else {
            return Ok(Some(g));
        };
        match made.iter_mut().find(|(id, _)| *id == w.id()) {
            Some((_, sum)) => *sum = sum.add(&g)?,
            None => made.push((w.id(), g)),
        }
        Ok(None)
    })
}

/// `x.matmul(w)` for x [n, k] and w [k, m].
pub fn dense_product(x: &Tensor, w: &Tensor) -> candle_core::Result<Tensor> {
    let handled = |t: &Tensor| t.device().is_cpu() && t.dtype() == DType::F32 && t.rank() == 2;
    if handled(x) && handled(w) {
        x.apply_op2(w, DenseProduct)
    } else {
        x.matmul(w)
    }
}

struct DenseProduct;

impl CustomOp2 for DenseProduct {
    fn name(&self) -> &'static str {
        "edgevae-dense-product"
    }

    fn cpu_fwd(
        &self,
        xs: &CpuStorage,
        xl: &Layout,
        ws: &CpuStorage,
        wl: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let (n, k) = xl.shape().dims2()?;
        let (k2, m) = wl.shape().dims2()?;
        if k != k2 {
            candle_core::bail!("{}: [{n}, {k}] times [{k2}, {m}]", self.name())
        }
        // The call `Tensor::matmul` makes for two matrices: the same kernel, the same bits.
        Ok((xs.matmul(ws, (1, n, m, k), xl, wl)?, Shape::from((n, m))))
    }

    fn bwd(
        &self,
        x: &Tensor,
        w: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>)> {
        let grad_x = if x.track_op() {
            Some(grad.matmul(&w.detach().t()?)?)
        } else {
            None
        };
        if !w.track_op() {
            return Ok((grad_x, None));
        }
        let grad_w = x.detach().t()?.matmul(grad)?;
        Ok((grad_x, hand_over(w, grad_w)?))
    }
}

#[cfg(test)]
mod tests {
    use candle_core::backprop::GradStore;
    use candle_core::{Device, Var};

    use super::*;
    use crate::rng::SeededRng;

    fn bits(t: &Tensor) -> candle_core::Result<Vec<u32>> {
        Ok(t.flatten_all()?
            .to_vec1::<f32>()?
            .into_iter()
            .map(f32::to_bits)
            .collect())
    }

    fn normal_var(rng: &mut SeededRng, rows: usize, cols: usize) -> candle_core::Result<Var> {
        Var::from_tensor(&Tensor::from_vec(
            rng.normal_vec(rows * cols),
            (rows, cols),
            &Device::Cpu,
        )?)
    }

    fn grad<'a>(g: &'a GradStore, t: &Tensor) -> &'a Tensor {
        g.get(t).expect("a gradient")
    }

    #[test]
    fn values_and_gradients_equal_candles_product_bit_for_bit() -> candle_core::Result<()> {
        let mut rng = SeededRng::new(5);
        let mut var = |r, c| normal_var(&mut rng, r, c);
        let (data, w1, w2, target) = (var(6, 7)?, var(7, 5)?, var(5, 3)?, var(6, 3)?);
        let x = data.as_tensor().detach();
        let loss = |y: &Tensor| (y - target.as_tensor())?.sqr()?.sum_all();
        // Two layers: the second one's input is an activation, which needs its gradient.
        let hidden = |p: &dyn Fn(&Tensor, &Tensor) -> candle_core::Result<Tensor>| {
            p(&p(&x, w1.as_tensor())?.tanh()?, w2.as_tensor())
        };
        let ours = hidden(&|a, b| dense_product(a, b))?;
        let theirs = hidden(&|a, b| a.matmul(b))?;
        assert_eq!(bits(&ours)?, bits(&theirs)?);
        let g_ours = loss(&ours)?.backward()?;
        let g_theirs = loss(&theirs)?.backward()?;
        for w in [&w1, &w2] {
            let (a, b) = (grad(&g_ours, w.as_tensor()), grad(&g_theirs, w.as_tensor()));
            assert_eq!(bits(a)?, bits(b)?);
            // The point of the op: no gradient holds a graph.
            assert!(!a.track_op());
        }
        // candle's for the layer behind an activation holds the product and the zero tensor it
        // was summed into.
        assert!(grad(&g_theirs, w2.as_tensor()).track_op());
        // No gradient is computed for the data batch.
        assert!(g_ours.get(&x).is_none());
        assert!(g_theirs.get(&x).is_some());
        Ok(())
    }

    #[test]
    fn backward_hands_over_the_gradients_candle_makes() -> candle_core::Result<()> {
        let mut rng = SeededRng::new(8);
        let mut var = |r, c| normal_var(&mut rng, r, c);
        let (w1, square, target) = (var(7, 5)?, var(5, 5)?, var(6, 5)?);
        let x = var(6, 7)?.as_tensor().detach();
        // `square` is used twice: its two gradients are summed.
        let net = |p: &dyn Fn(&Tensor, &Tensor) -> candle_core::Result<Tensor>| {
            let h = p(&x, w1.as_tensor())?.tanh()?;
            let h = p(&h, square.as_tensor())?.tanh()?;
            (p(&h, square.as_tensor())? - target.as_tensor())?
                .sqr()?
                .sum_all()
        };
        let ours = backward(&net(&|a, b| dense_product(a, b))?)?;
        let theirs = net(&|a, b| a.matmul(b))?.backward()?;
        for w in [&w1, &square] {
            let (a, b) = (grad(&ours, w.as_tensor()), grad(&theirs, w.as_tensor()));
            assert_eq!(bits(a)?, bits(b)?);
        }
        // Nothing is left collecting: a plain backward afterwards gets its gradients as usual.
        let plain = net(&|a, b| dense_product(a, b))?.backward()?;
        assert_eq!(
            bits(grad(&plain, square.as_tensor()))?,
            bits(grad(&theirs, square.as_tensor()))?
        );
        Ok(())
    }

    #[test]
    fn an_abandoned_collection_takes_no_later_gradients() -> candle_core::Result<()> {
        let mut rng = SeededRng::new(9);
        let (w, x) = (normal_var(&mut rng, 4, 3)?, normal_var(&mut rng, 2, 4)?);
        // What a `backward` that fails or unwinds part-way leaves behind: its guard, dropped.
        drop(Collecting::start());
        let g = dense_product(&x.as_tensor().detach(), w.as_tensor())?
            .sqr()?
            .sum_all()?
            .backward()?;
        assert!(g.get(w.as_tensor()).is_some());
        Ok(())
    }

    #[test]
    fn mismatched_shapes_are_an_error() -> candle_core::Result<()> {
        let x = Tensor::zeros((2, 3), DType::F32, &Device::Cpu)?;
        let w = Tensor::zeros((4, 5), DType::F32, &Device::Cpu)?;
        assert!(dense_product(&x, &w).is_err());
        Ok(())
    }
}
