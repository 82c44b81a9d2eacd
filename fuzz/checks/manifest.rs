//! Bytes -> `Manifest::parse`, the no_std manifest parser of the runtime core (built here without
//! the runtime's default features). Any panic, stack overflow or sanitizer report is a bug: the
//! parser must answer every input with `Ok` or `Err`.
//!
//! The check itself, shared by the fuzz target (`fuzz/fuzz_targets/manifest.rs`) and the test that
//! replays the committed corpus `fuzz/corpus/manifest/` on every test run.

use edgevae_runtime::core::{GraphRole, Manifest, Precision};

/// Runs one input; a panic is a bug.
pub fn check_input(data: &[u8]) {
    let Ok(manifest) = Manifest::parse(data) else {
        return;
    };
    // What parses has been validated; validating again must agree.
    manifest
        .validate()
        .expect("a parsed manifest must validate");
    assert!(manifest.input_dim > 0 && manifest.latent > 0);
    if let Some(o) = &manifest.outlier {
        assert_eq!(o.element_noise.len(), manifest.input_dim as usize);
    }
    for role in [GraphRole::Sampler, GraphRole::Filter] {
        for precision in [Precision::Fp32, Precision::Fp16, Precision::Fp16w] {
            if let Some(g) = manifest.graph(role, precision) {
                assert!(g.role == role && g.precision == precision);
                assert!(!g.file.is_empty() && !g.file.contains('/'));
            }
        }
    }
}
