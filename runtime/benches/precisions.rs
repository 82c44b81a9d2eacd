//! The ONNX Runtime graphs of one model directory in each CPU precision, in one run: sampler
//! (`Sampler::sample_into`) and filter (`Filter::filter_into`, one pass) at batch 1 on 1 thread
//! (latency) and batch 256 on 2 threads (throughput). The directory comes from
//! `EDGEVAE_BENCH_MODEL` and must hold fp32, fp16w and int8 graphs; `benches/int8_speed.sh`
//! exports them and runs this. fp16 is left out: ONNX Runtime's x86 CPU provider has no fp16
//! kernels and computes it through inserted casts.

use std::path::PathBuf;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use edgevae_runtime::core::Precision;
use edgevae_runtime::{FilterOutput, ModelDir, RuntimeOptions};

const PRECISIONS: [Precision; 3] = [Precision::Fp32, Precision::Fp16w, Precision::Int8];

fn model_dir() -> PathBuf {
    std::env::var_os("EDGEVAE_BENCH_MODEL")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../models/quickstart"))
}

fn open(precision: Precision, threads: usize) -> ModelDir {
    let options = RuntimeOptions {
        threads: Some(threads),
        precision,
        ..RuntimeOptions::default()
    };
    ModelDir::open(&model_dir(), options).expect("model directory")
}

fn bench(c: &mut Criterion) {
    for (batch, threads) in [(1usize, 1usize), (256, 2)] {
        let mut group = c.benchmark_group(format!("sampler_b{batch}_t{threads}"));
        group.throughput(Throughput::Elements(batch as u64));
        group.measurement_time(Duration::from_secs(3));
        for precision in PRECISIONS {
            let model = open(precision, threads);
            let mut sampler = model.sampler().expect("sampler");
            let mut out = vec![0.0f32; batch * model.input_dim()];
            group.bench_function(BenchmarkId::new(precision.name(), batch), |b| {
                let mut seed = 0u64;
                b.iter(|| {
                    seed += 1;
                    sampler.sample_into(batch, seed, &mut out).expect("sample");
                })
            });
        }
        group.finish();

        let mut group = c.benchmark_group(format!("filter_b{batch}_t{threads}"));
        group.throughput(Throughput::Elements(batch as u64));
        group.measurement_time(Duration::from_secs(3));
        // The rows filtered: the fp32 model's own samples, the same for every precision.
        let rows = {
            let model = open(Precision::Fp32, threads);
            let mut rows = vec![0.0f32; batch * model.input_dim()];
            let mut sampler = model.sampler().expect("sampler");
            sampler.sample_into(batch, 7, &mut rows).expect("rows");
            rows
        };
        for precision in PRECISIONS {
            let model = open(precision, threads);
            let mut filter = model.filter().expect("filter (needs a calibrated model)");
            let mut out = FilterOutput::new(batch, model.input_dim());
            group.bench_function(BenchmarkId::new(precision.name(), batch), |b| {
                b.iter(|| {
                    filter
                        .filter_into(&rows, batch, 1, &mut out)
                        .expect("filter")
                })
            });
        }
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
