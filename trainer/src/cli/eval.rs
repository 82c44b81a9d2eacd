//! `edgevae eval`: placeholder until the metrics module lands.
use std::path::PathBuf;

use clap::Args;

#[derive(Debug, Args)]
pub struct EvalArgs {
    #[arg(long)]
    run: PathBuf,
    #[arg(long)]
    data: String,
}

pub fn run(_args: EvalArgs) -> anyhow::Result<()> {
    anyhow::bail!("not yet")
}
