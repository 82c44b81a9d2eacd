//! `edgevae bench frey`.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use clap::Args;

use crate::bench::frey::{corrupted_faces, run_pcp, run_variant, to_csv, FreyOptions, VARIANTS};
use edgevae_trainer::atomic_file;
use edgevae_trainer::nmse::nmse;
use edgevae_trainer::train::plots::{write_image_rows, ImageRow};

/// Faces shown in the figure (the first training rows).
const SHOWN: usize = 8;

#[derive(Debug, Args)]
pub struct FreyArgs {
    /// The Frey faces (1,965 images of 28 x 20), or any image data as for `train --data`.
    #[arg(
        long,
        default_value = "../shared/data/frey-faces/frey_faces-idx3-ubyte.gz"
    )]
    data: String,
    /// Share of pixels replaced with uniform noise in every face.
    #[arg(long, default_value_t = 0.2)]
    corrupt: f32,
    /// Stage-1 epochs of each VAE.
    #[arg(long, default_value_t = 200)]
    epochs: usize,
    /// Recycling passes of the third VAE (`train --recycle`), also used when it cleans.
    #[arg(long, default_value_t = 3)]
    recycle: usize,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Where results.csv, frey.png and the three run directories go.
    #[arg(long, default_value = "runs/bench-frey")]
    out: PathBuf,
}

pub fn run(args: FreyArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.corrupt > 0.0 && args.corrupt < 1.0,
        "--corrupt must be a fraction in (0, 1)"
    );
    anyhow::ensure!(
        args.recycle >= 2,
        "--recycle must be at least 2 (1 is no recycling)"
    );
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let opts = FreyOptions {
        data: args.data.clone(),
        corrupt: args.corrupt,
        epochs: args.epochs,
        recycle: args.recycle,
        seed: args.seed,
        hidden: None,
        work_dir: args.out.clone(),
    };
    let started = Instant::now();
    let faces = corrupted_faces(&opts).with_context(|| format!("loading {}", args.data))?;
    let shape = faces
        .image_shape
        .with_context(|| format!("{}: the demo needs image data", args.data))?;
    let input = nmse(&faces.clean_values(), &faces.values());
    println!(
        "{} training faces of {}x{}, {:.0} % of pixels replaced: NMSE of the corrupted input {input:.4}",
        faces.len(),
        shape.0,
        shape.1,
        100.0 * args.corrupt
    );
    let mut results = vec![run_pcp(&faces)?];
    for v in VARIANTS {
        results.push(run_variant(&opts, v, &faces).with_context(|| v.name)?);
    }
    println!("{:<28} {:>8} {:>8}", "method", "NMSE", "seconds");
    for r in &results {
        println!("{:<28} {:>8.4} {:>8.1}", r.method, r.nmse, r.seconds);
    }
    let csv = args.out.join("results.csv");
    atomic_file::write(&csv, to_csv(input, &results).as_bytes())?;

    let d = faces.dim;
    let shown = SHOWN.min(faces.len());
    let first = |v: &[f32]| v[..shown * d].to_vec();
    let mut rows = vec![
        ImageRow {
            label: vec!["clean".into()],
            images: first(&faces.clean_values()),
        },
        ImageRow {
            label: vec!["corrupted".into(), format!("NMSE {input:.4}")],
            images: first(&faces.values()),
        },
    ];
    for r in &results {
        let name = r.method.split(" (").next().unwrap_or(&r.method);
        rows.push(ImageRow {
            label: vec![name.replace('_', " "), format!("NMSE {:.4}", r.nmse)],
            images: first(&r.estimate),
        });
    }
    let header: Vec<String> = (0..shown).map(|i| format!("face {i}")).collect();
    let figure = args.out.join("frey.png");
    write_image_rows(&figure, shape, &header, 170, &rows)?;
    println!(
        "written: {}, {} ({:.1} min)",
        csv.display(),
        figure.display(),
        started.elapsed().as_secs_f64() / 60.0
    );
    Ok(())
}
