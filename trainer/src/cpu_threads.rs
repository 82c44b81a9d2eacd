//! How candle's CPU work is spread over threads.
//!
//! candle 0.11 keeps two pools: rayon (its matrix products, through the gemm crate) and its own
//! "barrier pool" for element-wise ops, whose workers spin 25,000 rounds after each op before
//! sleeping. Called from a thread outside rayon, a matrix product runs on all the rayon workers
//! while the caller waits, and the barrier-pool worker keeps spinning from the last element-wise
//! op: on a 2-core machine that is three busy threads on two cores, and the second core bought
//! almost nothing (stage-1 step at batch 256: 25.4 ms with one thread, 24.8 ms with two). Here
//! the work runs on a rayon worker (the caller then takes part in each product) and the barrier
//! pool spins 2,000 rounds: 12.6 -> 11.9 ms at batch 256 and 6.9 -> 6.0 ms at batch 64, two
//! threads, against 15.0 / 6.5 ms with 25,000 and 12.6 / 6.6 ms with element-wise ops kept on
//! one thread (docs/results.md, "Training step against PyTorch").

/// Spin rounds of candle's barrier-pool workers after an element-wise op (candle: 25,000).
const BARRIER_POOL_SPIN_LIMIT: &str = "2000";

/// Runs `work` with `threads` CPU threads for candle (all cores when None); with
/// `flush_subnormals`, every one of them flushes subnormals to zero ([`crate::float_mode`]) and
/// the calling thread keeps that mode afterwards.
pub fn with_cpu_threads<R: Send>(
    threads: Option<usize>,
    flush_subnormals: bool,
    work: impl FnOnce() -> R + Send,
) -> R {
    let n = threads
        .or_else(|| {
            std::env::var("RAYON_NUM_THREADS")
                .ok()
                .and_then(|s| s.parse().ok())
        })
        .filter(|&n| n > 0)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from));
    // candle sizes its pools from these variables on first use, so they are set before any
    // tensor work; values the user set for candle's own variables are kept.
    std::env::set_var("RAYON_NUM_THREADS", n.to_string());
    if std::env::var_os("CANDLE_NUM_THREADS").is_none() {
        std::env::set_var("CANDLE_NUM_THREADS", n.to_string());
    }
    if std::env::var_os("CANDLE_BARRIER_POOL_SPIN_LIMIT").is_none() {
        std::env::set_var("CANDLE_BARRIER_POOL_SPIN_LIMIT", BARRIER_POOL_SPIN_LIMIT);
    }
    // Before any pool exists: threads made from here on start with the mode.
    if flush_subnormals {
        crate::float_mode::flush_denormals();
    }
    if n == 1 {
        return work();
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(n)
        .start_handler(move |_| {
            if flush_subnormals {
                crate::float_mode::flush_denormals();
            }
        })
        .build();
    match pool {
        Ok(pool) => pool.install(work),
        // No threads to be had: the work still runs, on this thread and candle's own pools.
        Err(_) => work(),
    }
}
