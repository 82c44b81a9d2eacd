//! The micro backend's reference values (`tests/support/micro_vectors.rs`) hold on the host; the
//! same file runs on the Cortex-M4 under qemu (`runtime/cortex-m4`, `.ci/run`).

#[path = "support/micro_vectors.rs"]
mod micro_vectors;

#[test]
fn micro_reference_values_hold_on_the_host() {
    let manifest = edgevae_runtime::core::Manifest::parse(include_bytes!(
        "../../models/quickstart/manifest.json"
    ))
    .expect("manifest");
    let (failed, m) = micro_vectors::check(&manifest);
    assert_eq!(
        failed, 0,
        "failed checks (bits); measured: picks {:?} sum {:?} score {:?} masked {} \
         reconstruction sum {:?}",
        m.picks, m.sum, m.score, m.masked, m.reconstruction_sum
    );
}
