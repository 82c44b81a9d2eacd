//! `OutlierFilter::filter_into` on a robust model makes no Rust heap allocation per call after
//! warm-up, at batch 1 and 64, for 1 and 3 passes. A robust filter also selects and reads the
//! graph's `x_log_var` output (its inlier variances) on every pass; the runtime's own
//! zero-allocation test covers the plain path with the committed quickstart model.

mod common;

#[path = "../../runtime/tests/support/counting_alloc.rs"]
mod counting_alloc;

use counting_alloc::counted;
use edgevae_runtime::{FilterOutput, ModelDir, RuntimeOptions};

#[test]
fn robust_filter_into_allocates_nothing_after_warm_up() {
    let tmp = tempfile::tempdir().expect("tempdir");
    // 1,000 rows: 100 validation rows, enough for a batch of 64.
    let (rows, _, model_dir) =
        common::calibrated_manifold_model(tmp.path(), 23, "manifold:n=1000,k=2,d=20", 2);

    let model = ModelDir::open(&model_dir, RuntimeOptions::default()).expect("model");
    let mut filter = model.filter().expect("filter");
    let d = model.input_dim();
    let mut out = FilterOutput::new(64, d);
    for n in [1usize, 64] {
        let mut x = rows.values()[..n * d].to_vec();
        // Something for the mask to find.
        x.iter_mut().step_by(7).for_each(|v| *v += 5.0);
        filter.filter_into(&x, n, 1, &mut out).expect("warm-up");
        let per_call: Vec<usize> = [1usize, 3, 1, 3]
            .into_iter()
            .map(|passes| {
                let (result, allocations) = counted(|| filter.filter_into(&x, n, passes, &mut out));
                result.expect("filter");
                allocations
            })
            .collect();
        assert_eq!(
            per_call, [0; 4],
            "batch {n}: allocations at 1, 3, 1, 3 passes"
        );
        assert!(out.masked_elements() > 0, "batch {n}: nothing masked");
        assert!(out.element_scores().iter().all(|s| s.is_finite()));
    }
}
