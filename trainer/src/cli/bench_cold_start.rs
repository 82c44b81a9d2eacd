//! `edgevae bench cold-start`: open a model directory and draw the first sample, in fresh
//! processes. A cold start can only be measured once per process (ONNX Runtime is loaded once),
//! so `--repeat N` runs this command N times as child processes and summarises them.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;

use super::runtime_args::RuntimeArgs;

/// Set in the child processes: each measures one cold start and prints it.
const CHILD_ENV: &str = "EDGEVAE_COLD_START_CHILD";

#[derive(Debug, Args)]
pub struct ColdStartArgs {
    /// Model directory made by `edgevae export`.
    #[arg(long)]
    model: PathBuf,
    /// Fresh processes to measure; their median and maximum are printed.
    #[arg(long, default_value_t = 10)]
    repeat: usize,
    #[command(flatten)]
    runtime: RuntimeArgs,
}

pub fn run(args: ColdStartArgs) -> anyhow::Result<()> {
    if std::env::var_os(CHILD_ENV).is_some() || args.repeat <= 1 {
        return measure_once(&args);
    }
    let exe = std::env::current_exe().context("cannot find the edgevae executable to re-run")?;
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let mut firsts = Vec::with_capacity(args.repeat);
    for _ in 0..args.repeat {
        let out = Command::new(&exe)
            .args(&argv)
            .env(CHILD_ENV, "1")
            .output()
            .with_context(|| format!("cannot run {}", exe.display()))?;
        let text = String::from_utf8_lossy(&out.stdout);
        anyhow::ensure!(
            out.status.success(),
            "a cold-start run failed: {}{}",
            text,
            String::from_utf8_lossy(&out.stderr)
        );
        print!("{text}");
        let ms = first_sample_ms(&text)
            .with_context(|| format!("unexpected cold-start output: {text:?}"))?;
        firsts.push(ms);
    }
    firsts.sort_by(f64::total_cmp);
    let median = firsts[firsts.len() / 2];
    let max = firsts[firsts.len() - 1];
    let under = firsts.iter().filter(|&&t| t <= 50.0).count();
    println!(
        "cold start {}: median {median:.1} ms, max {max:.1} ms, {under} of {} runs within 50 ms",
        args.model.display(),
        firsts.len()
    );
    Ok(())
}

fn first_sample_ms(line: &str) -> Option<f64> {
    let rest = line.split("first sample at ").nth(1)?;
    rest.split(" ms").next()?.trim().parse().ok()
}

fn measure_once(args: &ColdStartArgs) -> anyhow::Result<()> {
    let options = args.runtime.options()?;
    let t0 = Instant::now();
    let dir = edgevae_runtime::ModelDir::open(&args.model, options)?;
    let mut sampler = dir.sampler()?;
    let opened = t0.elapsed();
    let mut out = vec![0.0f32; dir.input_dim()];
    sampler.sample_into(1, 0, &mut out)?;
    let first = t0.elapsed();
    let library = edgevae_runtime::library_load_time().unwrap_or_default();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "cold start {}: first sample at {:.1} ms (of which library load + environment {:.1} ms, \
         manifest + checksum + session {:.1} ms, first run {:.2} ms)",
        args.model.display(),
        ms(first),
        ms(library),
        ms(opened.saturating_sub(library)),
        ms(first - opened)
    );
    Ok(())
}
