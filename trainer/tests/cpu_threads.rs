//! `with_cpu_threads`: the work runs on a rayon worker of a pool of the asked size, candle's
//! pools are sized to match before any tensor work, and products computed there are right.
//! (Its own test binary: the settings are process-wide.)

use candle_core::{Device, Tensor};
use edgevae_trainer::cpu_threads::with_cpu_threads;

#[test]
fn work_runs_on_a_rayon_worker_with_candle_sized_to_match() {
    let (worker, threads, product) = with_cpu_threads(Some(2), || {
        let a = Tensor::arange(0f32, 6.0, &Device::Cpu)
            .and_then(|t| t.reshape((2, 3)))
            .expect("a");
        let b = Tensor::ones((3, 2), candle_core::DType::F32, &Device::Cpu).expect("b");
        let p = a
            .matmul(&b)
            .and_then(|p| p.to_vec2::<f32>())
            .expect("product");
        (
            rayon::current_thread_index().is_some(),
            rayon::current_num_threads(),
            p,
        )
    });
    assert!(worker, "the work did not run on a rayon worker");
    assert_eq!(threads, 2);
    assert_eq!(product, vec![vec![3.0, 3.0], vec![12.0, 12.0]]);
    assert_eq!(std::env::var("RAYON_NUM_THREADS").as_deref(), Ok("2"));
    assert_eq!(std::env::var("CANDLE_NUM_THREADS").as_deref(), Ok("2"));
    assert_eq!(
        std::env::var("CANDLE_BARRIER_POOL_SPIN_LIMIT").as_deref(),
        Ok("2000")
    );
}
