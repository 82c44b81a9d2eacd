//! Sampler latency (batch 1, 1 thread) and throughput (batch 256, 2 threads): edgevae's
//! `Sampler::sample_into` against a plain ort `Session::run` on the same graph and settings.
//! The model directory comes from `EDGEVAE_BENCH_MODEL` (benches/runtime_sampler.sh exports the
//! MNIST-sized demo model there); the Python onnxruntime peer is benches/ort_python_sampler.py.

use std::path::PathBuf;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use edgevae_runtime::core::{GaussianRng, GraphRole, Precision};
use edgevae_runtime::{environment, ModelDir, RuntimeOptions};
use ort::session::builder::GraphOptimizationLevel;
use ort::session::Session;
use ort::value::TensorRef;

fn model_dir() -> PathBuf {
    std::env::var_os("EDGEVAE_BENCH_MODEL")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../models/quickstart"))
}

fn raw_session(dir: &std::path::Path, file: &str, threads: usize) -> ort::Result<Session> {
    let env = environment(None).expect("onnxruntime");
    Session::builder(env)?
        .with_optimization_level(GraphOptimizationLevel::All)?
        .with_intra_threads(threads)?
        .commit_from_file(dir.join(file))
}

fn bench(c: &mut Criterion) {
    let dir = model_dir();
    for (batch, threads) in [(1usize, 1usize), (256, 2)] {
        let options = RuntimeOptions {
            threads: Some(threads),
            precision: Precision::Fp32,
            ..RuntimeOptions::default()
        };
        let model = ModelDir::open(&dir, options).expect("model directory");
        let (k, d) = (model.latent(), model.input_dim());
        let entry = model
            .manifest
            .graph(GraphRole::Sampler, Precision::Fp32)
            .expect("fp32 sampler");
        let mut sampler = model.sampler().expect("sampler");
        let mut raw = raw_session(&dir, entry.file.as_str(), threads).expect("raw session");
        let mut out = vec![0.0f32; batch * d];
        let mut u = vec![0.0f32; batch * k];
        let mut eps = vec![0.0f32; batch * k];

        let mut group = c.benchmark_group(format!("sampler_b{batch}_t{threads}"));
        group.throughput(Throughput::Elements(batch as u64));
        group.measurement_time(Duration::from_secs(4));
        group.bench_function(BenchmarkId::new("edgevae", batch), |b| {
            let mut seed = 0u64;
            b.iter(|| {
                seed += 1;
                sampler.sample_into(batch, seed, &mut out).expect("sample");
            })
        });
        // The same work with plain ort: draw the noise, wrap the slices, run, copy the output.
        group.bench_function(BenchmarkId::new("raw_ort", batch), |b| {
            let mut seed = 0u64;
            b.iter(|| {
                seed += 1;
                let mut rng = GaussianRng::new(seed);
                rng.fill_normal(&mut u);
                rng.fill_normal(&mut eps);
                let ui = TensorRef::from_array_view(([batch, k], &u[..])).expect("u");
                let ei = TensorRef::from_array_view(([batch, k], &eps[..])).expect("eps");
                let outputs = raw.run(ort::inputs![ui, ei]).expect("run");
                out.copy_from_slice(outputs[0].try_extract_tensor::<f32>().expect("x").1);
            })
        });
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
