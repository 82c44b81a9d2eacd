//! `with_cpu_threads`: the work runs on a rayon worker of a pool of the asked size, candle's
//! pools are sized to match before any tensor work, products computed there are right, and
//! every thread of the work flushes subnormals to zero. (Its own test binary: the settings are
//! process-wide.)

use candle_core::{DType, Device, Tensor};
use edgevae_trainer::cpu_threads::with_cpu_threads;
use edgevae_trainer::float_mode::denormals_flushed;

#[test]
fn work_runs_on_a_rayon_worker_with_candle_sized_to_match() {
    let (worker, threads, product) = with_cpu_threads(Some(2), true, || {
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

/// How many values of `t` are not zero.
fn nonzero(t: &Tensor) -> usize {
    t.flatten_all()
        .and_then(|t| t.to_vec1::<f32>())
        .expect("values")
        .iter()
        .filter(|v| **v != 0.0)
        .count()
}

#[test]
fn every_thread_of_the_work_flushes_subnormals() {
    let tiny = f32::MIN_POSITIVE / 4.0;
    assert!(tiny > 0.0 && !tiny.is_normal(), "{tiny} is subnormal");
    let (workers, spawned, counts) = with_cpu_threads(Some(2), true, || {
        let workers: Vec<bool> = rayon::broadcast(|_| denormals_flushed());
        let spawned = std::thread::spawn(denormals_flushed)
            .join()
            .expect("a thread made inside the work");
        // 2^20 values: candle splits element-wise ops of this size over its barrier pool, and
        // the product over the rayon pool. With DAZ a subnormal operand reads as 0, so every
        // value that any thread computed from one comes out 0.
        let side = 1024;
        let x = Tensor::from_vec(vec![tiny; side * side], (side, side), &Device::Cpu)
            .expect("subnormal matrix");
        let ones = Tensor::ones((side, side), DType::F32, &Device::Cpu).expect("ones");
        let eye = Tensor::eye(side, DType::F32, &Device::Cpu).expect("identity");
        let product = (&x * &ones).expect("binary op");
        let affine = x.affine(1.0, 0.0).expect("unary op");
        let matmul = x.matmul(&eye).expect("matrix product");
        (
            workers,
            spawned,
            [nonzero(&product), nonzero(&affine), nonzero(&matmul)],
        )
    });
    assert_eq!(workers, vec![true, true], "rayon workers flush subnormals");
    assert!(spawned, "a thread made inside the work flushes subnormals");
    assert!(denormals_flushed(), "the calling thread keeps the mode");
    assert_eq!(
        counts,
        [0, 0, 0],
        "subnormals survived x * 1, affine(x, 1, 0) and x . I"
    );
}
