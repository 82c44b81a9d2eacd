//! The sampler fails closed: noise holding a NaN or an infinity is refused with an error naming
//! the value, and no sample it returns is ever NaN or infinite (huge finite noise, which can
//! overflow a graph, gives finite samples or an error naming the row and column). Uses the
//! committed quickstart model and the fetched ONNX Runtime library.

use std::path::Path;

use edgevae_runtime::core::Precision;
use edgevae_runtime::{ModelDir, RuntimeError, RuntimeOptions};

fn open(precision: Precision) -> ModelDir {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/quickstart");
    let options = RuntimeOptions {
        precision,
        ..RuntimeOptions::default()
    };
    ModelDir::open(&dir, options).expect("quickstart model")
}

#[test]
fn non_finite_noise_is_refused() {
    let model = open(Precision::Fp32);
    let mut sampler = model.sampler().expect("sampler");
    let (n, k, d) = (2, model.latent(), model.input_dim());
    let mut out = vec![7.0f32; n * d];
    for (bad, index) in [
        (f32::NAN, 3),
        (f32::INFINITY, 0),
        (f32::NEG_INFINITY, 2 * k - 1),
    ] {
        for in_u in [true, false] {
            let mut u = vec![0.1f32; n * k];
            let mut eps = vec![0.1f32; n * k];
            if in_u {
                u[index] = bad;
            } else {
                eps[index] = bad;
            }
            let err = sampler
                .sample_with_noise(n, &u, &eps, &mut out)
                .expect_err("non-finite noise");
            let what = if in_u { "u" } else { "eps" };
            assert!(
                matches!(err, RuntimeError::NonFiniteNoise { what: w, index: i, .. } if w == what && i == index),
                "{err:?}"
            );
            assert!(
                err.to_string().contains(&format!("{what} {index}")),
                "{err}"
            );
            assert!(out.iter().all(|&v| v == 7.0), "nothing is written on error");
        }
    }
}

#[test]
fn no_sample_is_ever_non_finite() {
    for precision in Precision::ALL {
        let model = open(precision);
        let mut sampler = model.sampler().expect("sampler");
        let (n, k, d) = (4, model.latent(), model.input_dim());
        let mut outcomes = Vec::new();
        for huge in [1.0e4f32, 7.0e4, 3.0e38, -3.0e38] {
            let u = vec![huge; n * k];
            let eps = vec![huge; n * k];
            let mut out = vec![0.0f32; n * d];
            match sampler.sample_with_noise(n, &u, &eps, &mut out) {
                Ok(()) => {
                    assert!(
                        out.iter().all(|v| v.is_finite()),
                        "{precision:?}, noise {huge}: a non-finite sample was returned"
                    );
                    outcomes.push("finite");
                }
                Err(RuntimeError::NonFiniteOutput {
                    what: "sample",
                    row,
                    column,
                    value,
                }) => {
                    assert!(row < n && column < d && !value.is_finite());
                    outcomes.push("refused");
                }
                Err(e) => panic!("{precision:?}, noise {huge}: {e}"),
            }
        }
        // Measured: 1e4 and 7e4 give finite samples, +-3e38 overflow every graph.
        assert!(
            outcomes.contains(&"refused"),
            "{precision:?}: {outcomes:?}: the overflow path was not driven"
        );
    }
}
