//! Execution providers chosen at run time. An unavailable provider falls back to the next one
//! (CPU last) and the choice is reported; `strict` turns that fallback into an error.

use std::path::PathBuf;

#[cfg(any(feature = "cuda", feature = "tensorrt"))]
use ort::ep::ExecutionProvider;
use ort::ep::{self, ExecutionProviderDispatch};

use super::RuntimeError;
use crate::core::Precision;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Provider {
    Cpu,
    Cuda,
    TensorRt,
}

impl Provider {
    pub fn parse(s: &str) -> Result<Self, RuntimeError> {
        match s.trim().to_ascii_lowercase().as_str() {
            "cpu" => Ok(Provider::Cpu),
            "cuda" => Ok(Provider::Cuda),
            "tensorrt" | "trt" => Ok(Provider::TensorRt),
            other => Err(RuntimeError::UnknownProvider(other.to_string())),
        }
    }

    /// An ordered, comma-separated list such as `tensorrt,cuda,cpu`.
    pub fn parse_list(s: &str) -> Result<Vec<Self>, RuntimeError> {
        s.split(',')
            .filter(|p| !p.trim().is_empty())
            .map(Self::parse)
            .collect()
    }

    pub fn name(self) -> &'static str {
        match self {
            Provider::Cpu => "cpu",
            Provider::Cuda => "cuda",
            Provider::TensorRt => "tensorrt",
        }
    }

    /// Whether this build of edgevae and the loaded ONNX Runtime library both have the provider
    /// (a CUDA-enabled library can still fail at session creation if no GPU is present: the
    /// provider is registered with `error_on_failure`, so that failure is seen and the session
    /// falls back, see `session::load`).
    fn available(self) -> bool {
        match self {
            Provider::Cpu => true,
            #[cfg(feature = "cuda")]
            Provider::Cuda => ep::CUDA::is_available().unwrap_or(false),
            #[cfg(feature = "tensorrt")]
            Provider::TensorRt => ep::TensorRT::is_available().unwrap_or(false),
            #[allow(unreachable_patterns)]
            _ => false,
        }
    }

    fn dispatch(self) -> ExecutionProviderDispatch {
        match self {
            #[cfg(feature = "cuda")]
            Provider::Cuda => ep::CUDA::default().build().error_on_failure(),
            #[cfg(feature = "tensorrt")]
            Provider::TensorRt => ep::TensorRT::default().build().error_on_failure(),
            // Only reached if CPU is ever registered explicitly: keep ORT's CPU arena on.
            #[allow(unreachable_patterns)]
            _ => ep::CPU::default().with_arena_allocator(true).build(),
        }
    }
}

#[derive(Clone, Debug)]
pub struct RuntimeOptions {
    /// Providers in order of preference; CPU is always the last resort.
    pub providers: Vec<Provider>,
    /// Fail instead of falling back when a provider is unavailable.
    pub strict: bool,
    /// Intra-op threads (None: one per CPU this process may use, see
    /// [`RuntimeOptions::intra_threads`]).
    pub threads: Option<usize>,
    /// Which exported precision to load.
    pub precision: Precision,
    /// The ONNX Runtime library (see [`super::environment`]).
    pub library: Option<PathBuf>,
    /// Let ONNX Runtime repack the weights for its GEMM kernels when the session is built (its
    /// default). Off: a 5-6 ms shorter cold start for the MNIST-sized sampler and the same
    /// 1-thread batch-1 latency, but 8-24 % less throughput at batch 64-256 (docs/results.md, "Runtime
    /// sampler").
    pub prepack_weights: bool,
}

impl Default for RuntimeOptions {
    fn default() -> Self {
        Self {
            providers: vec![Provider::Cpu],
            strict: false,
            threads: None,
            precision: Precision::Fp32,
            library: None,
            prepack_weights: true,
        }
    }
}

impl RuntimeOptions {
    /// The intra-op thread count sessions are built with: `threads`, else one per CPU this
    /// process may use (`std::thread::available_parallelism`, which honours affinity masks and
    /// cgroup quotas). The count is always given to ONNX Runtime, never left at 0: with 0 ONNX
    /// Runtime picks the same count on this 2-core machine but pins its workers to cores, which
    /// made opening the MNIST-sized sampler slower (cold start median 48.6 vs 42.6 ms, old and
    /// new builds interleaved) with no change in steady-state speed (docs/results.md, "Runtime sampler").
    pub fn intra_threads(&self) -> usize {
        self.threads.filter(|&t| t > 0).unwrap_or_else(|| {
            std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
        })
    }
}

/// The outcome of choosing providers: what runs, what was skipped, and what failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProviderChoice {
    /// The provider ONNX Runtime was given first, which runs the graph (CPU runs only the nodes
    /// an accelerator has no kernel for).
    pub active: Provider,
    /// Providers asked for that this build of edgevae or the loaded library does not have.
    pub skipped: Vec<Provider>,
    /// Providers that this build and the library have but that failed to initialise for this
    /// session (no GPU, no driver), each with ONNX Runtime's message.
    pub failed: Vec<(Provider, String)>,
}

impl ProviderChoice {
    pub fn describe(&self) -> String {
        let mut out = format!("execution provider: {}", self.active.name());
        if !self.skipped.is_empty() {
            let skipped: Vec<&str> = self.skipped.iter().map(|p| p.name()).collect();
            out.push_str(&format!(
                " ({} not available in this build; fell back)",
                skipped.join(", ")
            ));
        }
        for (p, why) in &self.failed {
            out.push_str(&format!(
                " ({} failed to initialise, fell back: {why})",
                p.name()
            ));
        }
        out
    }
}

/// The providers to try, in order: the accelerators of `options` that are available, up to the
/// first `cpu` in the list (providers after it would never run: CPU takes every node), with what
/// was skipped. CPU itself is never registered: ONNX Runtime appends it, arena on; registering
/// it explicitly changes its settings (measured: 7-18 % slower sampling).
pub fn choose(options: &RuntimeOptions) -> Result<(Vec<Provider>, Vec<Provider>), RuntimeError> {
    let mut skipped = Vec::new();
    let mut usable = Vec::new();
    for &p in &options.providers {
        if p == Provider::Cpu {
            break;
        }
        if p.available() {
            if !usable.contains(&p) {
                usable.push(p);
            }
        } else if options.strict {
            return Err(RuntimeError::ProviderUnavailable {
                provider: p.name(),
                reason: "not available in this ONNX Runtime build".into(),
            });
        } else {
            skipped.push(p);
        }
    }
    Ok((usable, skipped))
}

/// What ONNX Runtime is given for `providers` (accelerators only).
pub fn dispatch(providers: &[Provider]) -> Vec<ExecutionProviderDispatch> {
    providers.iter().map(|p| p.dispatch()).collect()
}

#[cfg(test)]
mod tests {
    use super::{choose, Provider, RuntimeOptions};

    /// CPU takes every node, so providers listed after it never run: they are neither
    /// registered nor reported (with `cpu,cuda` the runtime used to report CPU while it
    /// registered CUDA first).
    #[test]
    fn providers_after_cpu_are_never_registered() {
        let options = RuntimeOptions {
            providers: vec![Provider::Cpu, Provider::Cuda, Provider::TensorRt],
            strict: true,
            ..RuntimeOptions::default()
        };
        let (registered, skipped) = choose(&options).expect("strict, yet nothing unavailable");
        assert!(registered.is_empty() && skipped.is_empty());
    }

    #[test]
    fn thread_count_is_always_explicit() {
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        let with = |threads| RuntimeOptions {
            threads,
            ..RuntimeOptions::default()
        };
        assert_eq!(with(None).intra_threads(), cpus);
        // 0 (the C ABI's "choose for me") must not reach ONNX Runtime as 0: that pins workers.
        assert_eq!(with(Some(0)).intra_threads(), cpus);
        assert_eq!(with(Some(3)).intra_threads(), 3);
        assert_eq!(with(Some(1)).intra_threads(), 1);
    }
}
