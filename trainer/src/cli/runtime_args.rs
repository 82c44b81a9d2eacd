//! The ONNX Runtime flags shared by the commands that run an exported model (`edgevae filter`,
//! `edgevae sample --model`).

use anyhow::Context;
use clap::Args;

use edgevae_runtime::core::Precision;
use edgevae_runtime::{Provider, RuntimeOptions};

#[derive(Debug, Args)]
pub struct RuntimeArgs {
    /// Execution providers in order of preference (cpu, cuda, tensorrt); an unavailable one
    /// falls back to the next, and CPU is the last resort.
    #[arg(long, default_value = "cpu")]
    provider: String,
    /// Fail instead of falling back when a provider is unavailable.
    #[arg(long)]
    strict: bool,
    /// Which exported precision to run (fp32, fp16w, fp16, int8).
    #[arg(long, default_value = "fp32")]
    precision: String,
    /// Skip ONNX Runtime's weight prepacking: a faster model open (cold start) at the same
    /// batch-1 latency, but less throughput on large batches.
    #[arg(long)]
    no_prepack: bool,
    /// Intra-op threads of ONNX Runtime (default: one per CPU this process may use).
    #[arg(long)]
    threads: Option<usize>,
}

impl RuntimeArgs {
    /// ONNX Runtime options from the flags.
    pub fn options(&self) -> anyhow::Result<RuntimeOptions> {
        Ok(RuntimeOptions {
            providers: Provider::parse_list(&self.provider)?,
            strict: self.strict,
            precision: Precision::parse(&self.precision).with_context(|| {
                format!(
                    "unknown precision {:?}: use one of {}",
                    self.precision,
                    Precision::ALL.map(|p| p.name()).join(", ")
                )
            })?,
            prepack_weights: !self.no_prepack,
            threads: self.threads,
            ..RuntimeOptions::default()
        })
    }
}
