//! include/edgevae.h and include/edgevae_micro.h are what cbindgen makes of their crates today
//! (`edgevae-ffi`, and `edgevae-micro-ffi` in micro/): the committed headers never drift from
//! the Rust signatures. `EDGEVAE_BLESS=1` rewrites them.

use std::path::Path;

/// Generates the header of the crate at `crate_dir` with its cbindgen.toml and compares it
/// with the committed `header` (or writes it, under EDGEVAE_BLESS=1).
fn check(crate_dir: &Path, header: &Path) {
    let config =
        cbindgen::Config::from_file(crate_dir.join("cbindgen.toml")).expect("cbindgen.toml");
    let bindings = cbindgen::Builder::new()
        .with_crate(crate_dir)
        .with_config(config)
        .generate()
        .expect("cbindgen cannot generate the header");
    let mut generated = Vec::new();
    bindings.write(&mut generated);
    let generated = String::from_utf8(generated).expect("header is UTF-8");

    if std::env::var_os("EDGEVAE_BLESS").is_some_and(|v| v == "1") {
        std::fs::write(header, &generated).expect("write the header");
        return;
    }
    let committed = std::fs::read_to_string(header).unwrap_or_default();
    if committed != generated {
        let first = committed
            .lines()
            .zip(generated.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| committed.lines().count().min(generated.lines().count()));
        panic!(
            "{} is out of date (first difference at line {}: committed {:?}, generated {:?}); \
             run `EDGEVAE_BLESS=1 cargo test -p edgevae-ffi --test header` to regenerate",
            header.display(),
            first + 1,
            committed.lines().nth(first).unwrap_or("<end>"),
            generated.lines().nth(first).unwrap_or("<end>"),
        );
    }
}

#[test]
fn header_is_up_to_date() {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    check(crate_dir, &crate_dir.join("include/edgevae.h"));
}

#[test]
fn micro_header_is_up_to_date() {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    check(
        &crate_dir.join("micro"),
        &crate_dir.join("include/edgevae_micro.h"),
    );
}
