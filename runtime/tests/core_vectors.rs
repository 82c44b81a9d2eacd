//! The core's reference values (`tests/support/core_vectors.rs`) hold on the host; the same
//! file runs on the Cortex-M4 under qemu (`runtime/cortex-m4`, `.ci/run`).

#[path = "support/core_vectors.rs"]
mod core_vectors;

#[test]
fn core_reference_values_hold_on_the_host() {
    let manifest = include_bytes!("../../models/quickstart/manifest.json");
    let mut parsed = edgevae_runtime::core::Manifest::EMPTY;
    assert_eq!(
        core_vectors::check(manifest, &mut parsed),
        0,
        "failed checks (bits)"
    );
}
