//! `edgevae bench outliers`.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

use crate::bench::outliers::{score_model, score_pcp, OutlierScore};
use edgevae_runtime::RuntimeOptions;
use edgevae_trainer::atomic_file;
use edgevae_trainer::data::{load_splits, DataSource, LoadOptions, Splits};

#[derive(Debug, Args)]
pub struct OutliersArgs {
    /// Data whose test split is corrupted and cleaned (e.g. ../shared/data/mnist); its
    /// validation split when it has no test split.
    #[arg(long)]
    data: String,
    /// Fraction of elements replaced by noise (uniform [0, 1] for pixels).
    #[arg(long, default_value_t = 0.2)]
    corrupt: f32,
    /// Rows scored (the first of the split).
    #[arg(long, default_value_t = 2000)]
    rows: usize,
    /// Model directory of a robust model (`train --robust`, then `export`), scored with 1 and
    /// with --passes passes.
    #[arg(long)]
    robust_model: Option<PathBuf>,
    /// Model directory of a plain model, scored with 1 pass.
    #[arg(long)]
    plain_model: Option<PathBuf>,
    /// Passes of the second robust row.
    #[arg(long, default_value_t = 3)]
    passes: usize,
    /// Skip Principal Component Pursuit (minutes on a few thousand images).
    #[arg(long)]
    no_pcp: bool,
    /// Corruption seed.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Write the table as CSV here.
    #[arg(long)]
    csv: Option<PathBuf>,
}

pub fn run(args: OutliersArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        (0.0..1.0).contains(&args.corrupt) && args.corrupt > 0.0,
        "--corrupt must be in (0, 1)"
    );
    anyhow::ensure!(args.rows > 0, "--rows must be at least 1");
    let splits = load_corrupted(&args.data, args.corrupt, args.seed)?;
    let data = splits.test.unwrap_or(splits.val);
    let data = data.head(args.rows.min(data.len()));
    println!(
        "{} rows of {} ({} columns), {:.0}% of elements replaced by noise",
        data.len(),
        args.data,
        data.dim,
        args.corrupt * 100.0
    );
    let mut table: Vec<OutlierScore> = Vec::new();
    if let Some(m) = &args.robust_model {
        table.push(score_model(
            m,
            RuntimeOptions::default(),
            &data,
            1,
            "robust VAE, 1 pass",
        )?);
        table.push(score_model(
            m,
            RuntimeOptions::default(),
            &data,
            args.passes,
            &format!("robust VAE, {} passes", args.passes),
        )?);
    }
    if let Some(m) = &args.plain_model {
        table.push(score_model(
            m,
            RuntimeOptions::default(),
            &data,
            1,
            "plain VAE, 1 pass",
        )?);
    }
    if !args.no_pcp {
        table.push(score_pcp(&data)?);
    }
    println!(
        "| method | element AUROC | AUROC where clean = 0 / > 0 | cleaned NMSE | masked | time |\n|---|---|---|---|---|---|"
    );
    let mut csv = String::from(
        "method,auroc,auroc_clean_zero,auroc_clean_nonzero,nmse_cleaned,masked_fraction,seconds\n",
    );
    for r in &table {
        println!(
            "| {} | {:.4} | {:.4} / {:.4} | {:.4} | {} | {:.1} s |",
            r.method,
            r.auroc,
            r.auroc_clean_zero,
            r.auroc_clean_nonzero,
            r.nmse_cleaned,
            if r.masked.is_nan() {
                "-".to_string()
            } else {
                format!("{:.1}%", r.masked * 100.0)
            },
            r.seconds
        );
        csv.push_str(&format!(
            "{},{:.6},{:.6},{:.6},{:.6},{:.6},{:.2}\n",
            quoted(&r.method),
            r.auroc,
            r.auroc_clean_zero,
            r.auroc_clean_nonzero,
            r.nmse_cleaned,
            r.masked,
            r.seconds
        ));
    }
    let noisy = edgevae_trainer::nmse::nmse(data.clean.as_deref().unwrap_or(&[]), &data.values());
    println!("(the corrupted input itself: NMSE {noisy:.4})");
    if let Some(path) = &args.csv {
        atomic_file::write(path, csv.as_bytes())?;
    }
    Ok(())
}

/// The splits of `data` with a `corrupt` share of every row's elements replaced by noise
/// (corruption seed `seed`), as the benchmarks on corrupted data load them.
pub(super) fn load_corrupted(data: &str, corrupt: f32, seed: u64) -> anyhow::Result<Splits> {
    let source = DataSource::parse(data)?;
    let opts = LoadOptions {
        seed,
        val_fraction: 0.1,
        corrupt: Some(corrupt),
        limit: None,
    };
    load_splits(&source, &opts).with_context(|| format!("loading {data}"))
}

/// A CSV field in double quotes, inner quotes doubled (RFC 4180): method names hold commas.
fn quoted(field: &str) -> String {
    format!("\"{}\"", field.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use super::quoted;

    #[test]
    fn csv_fields_with_commas_and_quotes_stay_one_field() {
        assert_eq!(quoted("robust VAE, 1 pass"), "\"robust VAE, 1 pass\"");
        assert_eq!(quoted("a \"b\""), "\"a \"\"b\"\"\"");
    }
}
