//! The filter fails closed on real-valued data too: the calibration records the range of its
//! rows (`value_range` in the manifest), and a value more than one span outside it (3e38,
//! finite, so it passes the NaN check) is an outlier by definition: masked, cleaned to a
//! value inside the data's range, its row flagged, and the network is shown the nearest value of
//! the range, so the rest of the row still reconstructs. Without the range (manifests written
//! before it, and every real-valued model before this change) the network saw 3e38: the rest of
//! the row reconstructed at about 4e37, every element of it was masked and "cleaned" to such
//! values.

mod common;

use edgevae_runtime::{FilterOutput, ModelDir, RuntimeError, RuntimeOptions};

#[test]
fn huge_values_in_real_valued_data_are_masked_and_flag_the_row() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (rows, thresholds, model_dir) =
        common::calibrated_manifold_model(tmp.path(), 5, "manifold:n=600,k=2,d=20", 2);
    let [lo, hi] = thresholds
        .value_range
        .expect("real-valued data get a value range");

    let n = 4;
    let d = rows.dim;
    let mut x = rows.values()[..n * d].to_vec();
    let planted: Vec<usize> = (0..d).step_by(7).collect();
    for &j in &planted {
        x[j] = if j % 2 == 0 { 3.0e38 } else { -3.0e38 };
    }
    let model = ModelDir::open(&model_dir, RuntimeOptions::default()).expect("model");
    let mut filter = model.filter().expect("filter");
    let mut out = FilterOutput::new(n, d);
    // Row 0's reconstruction from its clean values, for what the planted values do to the rest.
    filter
        .filter_into(&rows.values()[..n * d], n, 1, &mut out)
        .expect("clean batch");
    let clean_reconstruction = out.reconstruction()[..d].to_vec();
    let others_moved = |out: &FilterOutput| {
        (0..d)
            .filter(|j| !planted.contains(j))
            .map(|j| (out.reconstruction()[j] - clean_reconstruction[j]).abs())
            .fold(0.0f32, f32::max)
    };
    let in_range = |v: f32| v.is_finite() && v >= lo - (hi - lo) && v <= hi + (hi - lo);
    for passes in [1, 3] {
        filter.filter_into(&x, n, passes, &mut out).expect("filter");
        for &j in &planted {
            assert_eq!(
                out.mask()[j],
                1,
                "{passes} passes: planted element {j} not masked"
            );
        }
        for (j, &c) in out.cleaned()[..d].iter().enumerate() {
            assert!(
                in_range(c),
                "{passes} passes: row 0 element {j} cleaned to {c}, outside [{lo}, {hi}] widened"
            );
        }
        assert!(out.scores().iter().all(|s| s.is_finite()));
        assert!(out.cleaned().iter().all(|v| v.is_finite()));
        assert!(out.is_outlier(0), "{passes} passes: row 0 not flagged");
        if passes == 1 {
            println!(
                "with the range: the rest of row 0 moved by {}",
                others_moved(&out)
            );
        }
    }

    // The same model without the range (as manifests were written before it).
    let path = model_dir.join("manifest.json");
    let mut manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).expect("manifest")).expect("json");
    manifest["outlier"]
        .as_object_mut()
        .expect("outlier")
        .remove("value_range");
    std::fs::write(&path, serde_json::to_vec(&manifest).expect("json")).expect("write");
    let model = ModelDir::open(&model_dir, RuntimeOptions::default()).expect("model");
    let mut open_filter = model.filter().expect("filter");
    match open_filter.filter_into(&x, n, 1, &mut out) {
        Err(RuntimeError::NonFiniteOutput { .. }) => {}
        Ok(()) => {
            let moved = others_moved(&out);
            println!("without the range: the rest of row 0 moved by {moved}");
            assert!(
                !out.cleaned()[..d].iter().all(|&c| in_range(c)),
                "without the range the row was cleaned within the data's range: the range is \
                 not what keeps it there"
            );
        }
        Err(e) => panic!("without the range: {e}"),
    }
}
