//! Integration tests of the no_std core's public API: manifest parsing and validation, the
//! seeded Gaussian stream, buffer-length checks, precision names and the outlier arithmetic.

use edgevae_runtime::core::{
    buffers::check_len, manifest::OutlierThresholds, CoreError, FieldPath, FieldProblem,
    GaussianRng, GraphEntry, GraphRole, Manifest, PathStep, Precision, Scaling, FORMAT_VERSION,
};

const SHA_A: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
const SHA_B: &str = "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210";

/// A valid manifest as the exporter would write it (compact, one line).
fn base_json() -> String {
    format!(
        concat!(
            r#"{{"format_version":2,"trainer_version":"0.1.0","input_dim":784,"latent":64,"#,
            r#""image_shape":[28,28],"scaling":"unit","gamma_stage1":0.0027,"gamma_stage2":0.87,"#,
            r#""graphs":[{{"role":"sampler","precision":"fp32","file":"sampler_fp32.onnx","#,
            r#""sha256":"{a}","bytes":1234567}},"#,
            r#"{{"role":"filter","precision":"fp16w","file":"filter_fp16w.onnx","#,
            r#""sha256":"{b}","bytes":654321}}],"outlier":null}}"#
        ),
        a = SHA_A,
        b = SHA_B
    )
}

/// `base_json()` with the single occurrence of `from` replaced by `to`; panics when `from` does
/// not occur exactly once, so a variant can never silently equal the valid base.
fn variant(from: &str, to: &str) -> String {
    let base = base_json();
    assert_eq!(
        base.matches(from).count(),
        1,
        "`{from}` must occur exactly once in the base manifest"
    );
    base.replacen(from, to, 1)
}

fn parse(json: &str) -> Result<Manifest, CoreError> {
    Manifest::parse(json.as_bytes())
}

fn graph_json(role: &str, precision: &str, file: &str) -> String {
    format!(
        r#"{{"role":"{role}","precision":"{precision}","file":"{file}","sha256":"{SHA_A}","bytes":1}}"#
    )
}

/// A valid manifest whose `graphs` array is exactly `graphs`.
fn with_graphs(graphs: &[String]) -> String {
    format!(
        concat!(
            r#"{{"format_version":2,"trainer_version":"0.1.0","input_dim":784,"latent":64,"#,
            r#""image_shape":null,"scaling":"real","gamma_stage1":1.0,"gamma_stage2":1.0,"#,
            r#""graphs":[{}],"outlier":null}}"#
        ),
        graphs.join(",")
    )
}

fn assert_value_error(json: &str) {
    match parse(json) {
        Err(CoreError::ManifestValue(what)) => assert!(!what.is_empty()),
        other => panic!("expected ManifestValue, got {other:?} for {json}"),
    }
}

fn assert_syntax_error(json: &str) {
    let got = parse(json);
    assert!(
        matches!(got, Err(CoreError::ManifestSyntax { .. })),
        "for {json}: {got:?}"
    );
}

// ---------------------------------------------------------------- valid manifests

#[test]
fn format_version_constant_is_two() {
    // 2: log-likelihood element scores; a version-1 manifest's threshold meant something else.
    assert_eq!(FORMAT_VERSION, 2);
}

#[test]
fn valid_manifest_parses_with_expected_fields() {
    let m = parse(&base_json()).expect("valid manifest");
    assert_eq!(m.format_version, 2);
    assert_eq!(m.trainer_version.as_str(), "0.1.0");
    assert_eq!(m.input_dim, 784);
    assert_eq!(m.latent, 64);
    assert_eq!(m.image_shape, Some([28, 28]));
    assert_eq!(m.scaling, Scaling::Unit);
    assert_eq!(m.gamma_stage1, 0.0027);
    assert_eq!(m.gamma_stage2, 0.87);
    assert_eq!(m.outlier, None);
    assert_eq!(m.graphs.len(), 2);

    let s: &GraphEntry = &m.graphs[0];
    assert_eq!(s.role, GraphRole::Sampler);
    assert_eq!(s.precision, Precision::Fp32);
    assert_eq!(s.file.as_str(), "sampler_fp32.onnx");
    assert_eq!(s.sha256.as_str(), SHA_A);
    assert_eq!(s.bytes, 1_234_567);

    let f = &m.graphs[1];
    assert_eq!(f.role, GraphRole::Filter);
    assert_eq!(f.precision, Precision::Fp16w);
    assert_eq!(f.file.as_str(), "filter_fp16w.onnx");
    assert_eq!(f.sha256.as_str(), SHA_B);
    assert_eq!(f.bytes, 654_321);

    assert_eq!(m.validate(), Ok(()));
}

#[test]
fn graph_lookup_by_role_and_precision() {
    let m = parse(&base_json()).unwrap();
    let s = m
        .graph(GraphRole::Sampler, Precision::Fp32)
        .expect("sampler fp32");
    assert_eq!(s.file.as_str(), "sampler_fp32.onnx");
    let f = m
        .graph(GraphRole::Filter, Precision::Fp16w)
        .expect("filter fp16w");
    assert_eq!(f.file.as_str(), "filter_fp16w.onnx");
    assert!(m.graph(GraphRole::Sampler, Precision::Fp16).is_none());
    assert!(m.graph(GraphRole::Sampler, Precision::Fp16w).is_none());
    assert!(m.graph(GraphRole::Filter, Precision::Fp32).is_none());
    assert!(m.graph(GraphRole::Filter, Precision::Fp16).is_none());
}

#[test]
fn graph_role_names() {
    assert_eq!(GraphRole::Sampler.name(), "sampler");
    assert_eq!(GraphRole::Filter.name(), "filter");
}

#[test]
fn manifest_with_outlier_thresholds_parses() {
    let json = variant(
        r#""outlier":null"#,
        &format!(
            r#""outlier":{{"score_threshold":12.5,"element_threshold":9.0,"contamination":0.05,"element_noise":[{}]}}"#,
            vec!["0.25"; 784].join(",")
        ),
    );
    let m = parse(&json).expect("manifest with outlier thresholds");
    assert_eq!(
        m.outlier,
        Some(OutlierThresholds {
            score_threshold: 12.5,
            element_threshold: 9.0,
            contamination: 0.05,
            element_noise: heapless::Vec::from_slice(&[0.25; 784]).unwrap(),
            value_range: None,
        })
    );
    // The rest is unchanged.
    let base = parse(&base_json()).unwrap();
    assert_eq!(m.graphs, base.graphs);
    assert_eq!(m.input_dim, base.input_dim);
}

#[test]
fn pretty_printed_manifest_with_trailing_newline_parses() {
    let json = format!(
        r#"{{
  "format_version": 2,
  "trainer_version": "0.1.0",
  "input_dim": 3,
  "latent": 2,
  "image_shape": null,
  "scaling": "real",
  "gamma_stage1": 1e-5,
  "gamma_stage2": 2,
  "graphs": [
    {{
      "role": "filter",
      "precision": "fp16",
      "file": "filter_fp16.onnx",
      "sha256": "{SHA_B}",
      "bytes": 0
    }}
  ],
  "outlier": null
}}
"#
    );
    let m = parse(&json).expect("pretty manifest");
    assert_eq!(m.image_shape, None);
    assert_eq!(m.scaling, Scaling::Real);
    assert_eq!(m.gamma_stage1, 1e-5);
    assert_eq!(m.gamma_stage2, 2.0);
    assert_eq!(m.input_dim, 3);
    assert_eq!(m.latent, 2);
    assert!(m.graph(GraphRole::Filter, Precision::Fp16).is_some());
}

#[test]
fn missing_optional_fields_and_empty_graphs_parse() {
    let json = variant(r#""image_shape":[28,28],"#, "");
    let json = json.replacen(r#","outlier":null"#, "", 1);
    assert!(!json.contains("outlier") && !json.contains("image_shape"));
    let m = parse(&json).expect("optional fields may be absent");
    assert_eq!(m.image_shape, None);
    assert_eq!(m.outlier, None);

    let m = parse(&with_graphs(&[])).expect("no graphs is a valid manifest");
    assert!(m.graphs.is_empty());
    assert!(m.graph(GraphRole::Sampler, Precision::Fp32).is_none());
}

#[test]
fn all_eight_role_precision_pairs_fit() {
    let mut graphs = Vec::new();
    for role in ["sampler", "filter"] {
        for p in ["fp32", "fp16", "fp16w", "int8"] {
            graphs.push(graph_json(role, p, &format!("{role}_{p}.onnx")));
        }
    }
    let m = parse(&with_graphs(&graphs)).expect("eight distinct graphs");
    assert_eq!(m.graphs.len(), 8);
    for role in [GraphRole::Sampler, GraphRole::Filter] {
        for p in Precision::ALL {
            let g = m.graph(role, p).expect("every pair present");
            assert_eq!(
                g.file.as_str(),
                format!("{}_{}.onnx", role.name(), p.name())
            );
        }
    }
}

// ---------------------------------------------------------------- invalid manifests

#[test]
fn not_json_is_syntax_error() {
    assert_syntax_error("");
    assert_syntax_error("not json");
    assert_syntax_error("[]");
    assert!(matches!(
        Manifest::parse(&[0xff, 0xfe, 0x00]),
        Err(CoreError::ManifestSyntax { .. })
    ));
}

#[test]
fn truncated_manifest_is_syntax_error() {
    let base = base_json();
    for cut in [1, base.len() / 3, base.len() / 2, base.len() - 1] {
        assert_syntax_error(&base[..cut]);
    }
}

#[test]
fn trailing_garbage_is_syntax_error() {
    assert_syntax_error(&format!("{} x", base_json()));
    assert_syntax_error(&format!("{}{{}}", base_json()));
}

#[test]
fn missing_required_field_is_syntax_error() {
    assert_syntax_error(&variant(r#""latent":64,"#, ""));
    assert_syntax_error(&variant(r#""format_version":2,"#, ""));
    assert_syntax_error(&variant(r#""scaling":"unit","#, ""));
    assert_syntax_error(&variant(r#","bytes":654321"#, ""));
}

#[test]
fn wrong_type_is_syntax_error() {
    assert_syntax_error(&variant(r#""latent":64"#, r#""latent":"64""#));
    assert_syntax_error(&variant(r#""input_dim":784"#, r#""input_dim":-784"#));
    assert_syntax_error(&variant(
        r#""image_shape":[28,28]"#,
        r#""image_shape":[28]"#,
    ));
    assert_syntax_error(&variant(
        r#""image_shape":[28,28]"#,
        r#""image_shape":"28x28""#,
    ));
    assert_syntax_error(&variant(r#""scaling":"unit""#, r#""scaling":"log""#));
    assert_syntax_error(&variant(r#""role":"sampler""#, r#""role":"encoder""#));
    assert_syntax_error(&variant(r#""graphs":["#, r#""graphs":{"#));
}

#[test]
fn unknown_precision_is_syntax_error() {
    assert_syntax_error(&variant(r#""precision":"fp32""#, r#""precision":"fp8""#));
    assert_syntax_error(&variant(r#""precision":"fp32""#, r#""precision":"FP32""#));
}

#[test]
fn unsupported_format_version() {
    for old_or_new in [1, 3] {
        assert_eq!(
            parse(&variant(
                r#""format_version":2"#,
                &format!(r#""format_version":{old_or_new}"#)
            )),
            Err(CoreError::UnsupportedFormat { found: old_or_new })
        );
    }
    assert_eq!(
        parse(&variant(r#""format_version":2"#, r#""format_version":0"#)),
        Err(CoreError::UnsupportedFormat { found: 0 })
    );
}

#[test]
fn zero_dimensions_are_value_errors() {
    assert_value_error(&variant(r#""input_dim":784"#, r#""input_dim":0"#));
    assert_value_error(&variant(r#""latent":64"#, r#""latent":0"#));
}

#[test]
fn image_shape_must_multiply_to_input_dim() {
    assert_value_error(&variant(
        r#""image_shape":[28,28]"#,
        r#""image_shape":[28,27]"#,
    ));
    assert_value_error(&variant(
        r#""image_shape":[28,28]"#,
        r#""image_shape":[0,784]"#,
    ));
    // Products that overflow u32 must not wrap around to input_dim:
    // 268435505 * 16 = 2^32 + 784, which is 784 in wrapping u32 arithmetic.
    assert_eq!(268_435_505u32.wrapping_mul(16), 784);
    assert_value_error(&variant(
        r#""image_shape":[28,28]"#,
        r#""image_shape":[268435505,16]"#,
    ));
    assert_value_error(&variant(
        r#""image_shape":[28,28]"#,
        r#""image_shape":[65536,65536]"#,
    ));
    // The transposed shape is fine.
    let m = parse(&variant(
        r#""image_shape":[28,28]"#,
        r#""image_shape":[784,1]"#,
    ))
    .unwrap();
    assert_eq!(m.image_shape, Some([784, 1]));
}

#[test]
fn gamma_must_be_positive_and_finite() {
    for bad in ["0.0", "0", "-0.5", "-1e-9", "null", "1e999"] {
        assert_value_error(&variant(
            r#""gamma_stage1":0.0027"#,
            &format!(r#""gamma_stage1":{bad}"#),
        ));
        assert_value_error(&variant(
            r#""gamma_stage2":0.87"#,
            &format!(r#""gamma_stage2":{bad}"#),
        ));
    }
}

#[test]
fn sha256_must_be_64_lower_case_hex() {
    // 63 characters.
    assert_value_error(&variant(SHA_A, &SHA_A[..63]));
    // Upper case.
    assert_value_error(&variant(SHA_A, &SHA_A.to_uppercase()));
    // Non-hex, right length.
    let mut non_hex = SHA_A.to_string();
    non_hex.replace_range(10..11, "g");
    assert_eq!(non_hex.len(), 64);
    assert_value_error(&variant(SHA_A, &non_hex));
    // Empty.
    assert_value_error(&variant(SHA_A, ""));
    // 65 characters do not fit the fixed-capacity string: rejected while parsing.
    assert_syntax_error(&variant(SHA_A, &format!("{SHA_A}0")));
}

#[test]
fn file_must_be_a_plain_name() {
    for bad in [
        "../x.onnx",
        "a/b.onnx",
        "",
        "/abs.onnx",
        "..",
        ".hidden.onnx",
    ] {
        assert_value_error(&variant(
            r#""file":"sampler_fp32.onnx""#,
            &format!(r#""file":"{bad}""#),
        ));
    }
    // A JSON-escaped backslash (Windows separator) is rejected too.
    assert_value_error(&variant(
        r#""file":"sampler_fp32.onnx""#,
        r#""file":"a\\b.onnx""#,
    ));
}

#[test]
fn duplicate_role_and_precision_is_value_error() {
    let dup = variant(
        r#""role":"filter","precision":"fp16w""#,
        r#""role":"sampler","precision":"fp32""#,
    );
    assert_value_error(&dup);
    // Same role in another precision is fine.
    let m = parse(&variant(
        r#""role":"filter","precision":"fp16w""#,
        r#""role":"sampler","precision":"fp16w""#,
    ))
    .unwrap();
    assert!(m.graph(GraphRole::Sampler, Precision::Fp32).is_some());
    assert!(m.graph(GraphRole::Sampler, Precision::Fp16w).is_some());
}

#[test]
fn more_than_eight_graphs_is_syntax_error() {
    let graphs: Vec<String> = (0..9)
        .map(|i| graph_json("sampler", "fp32", &format!("g{i}.onnx")))
        .collect();
    // Eight fit the fixed capacity and then fail validation (duplicates)...
    assert_value_error(&with_graphs(&graphs[..8]));
    // ...nine overflow it while parsing.
    assert_syntax_error(&with_graphs(&graphs));
}

#[test]
fn outlier_thresholds_are_validated() {
    let noise = vec!["0.5"; 784].join(",");
    for bad in [
        r#""score_threshold":null,"element_threshold":9.0,"contamination":0.05"#,
        r#""score_threshold":12.5,"element_threshold":null,"contamination":0.05"#,
        r#""score_threshold":12.5,"element_threshold":9.0,"contamination":null"#,
        r#""score_threshold":12.5,"element_threshold":9.0,"contamination":1.5"#,
        r#""score_threshold":12.5,"element_threshold":9.0,"contamination":-0.1"#,
    ] {
        assert_value_error(&variant(
            r#""outlier":null"#,
            &format!(r#""outlier":{{{bad},"element_noise":[{noise}]}}"#),
        ));
    }
    // Log-likelihood thresholds may be negative (a narrow value range); scores too.
    let negative = r#""score_threshold":-3.5,"element_threshold":-9.0,"contamination":0.05"#;
    let m = parse(&variant(
        r#""outlier":null"#,
        &format!(r#""outlier":{{{negative},"element_noise":[{noise}]}}"#),
    ))
    .expect("negative thresholds are valid");
    let o = m.outlier.expect("outlier");
    assert_eq!((o.score_threshold, o.element_threshold), (-3.5, -9.0));
}

#[test]
fn validate_checks_a_constructed_manifest() {
    let mut m = parse(&base_json()).unwrap();
    assert_eq!(m.validate(), Ok(()));
    m.format_version = 7;
    assert_eq!(m.validate(), Err(CoreError::UnsupportedFormat { found: 7 }));
    m.format_version = FORMAT_VERSION;
    m.gamma_stage2 = f64::NAN;
    assert!(matches!(m.validate(), Err(CoreError::ManifestValue(_))));
    m.gamma_stage2 = f64::INFINITY;
    assert!(matches!(m.validate(), Err(CoreError::ManifestValue(_))));
    m.gamma_stage2 = 0.5;
    assert_eq!(m.validate(), Ok(()));
    m.image_shape = Some([1, 784]);
    assert_eq!(m.validate(), Ok(()));
    m.image_shape = Some([2, 784]);
    assert!(matches!(m.validate(), Err(CoreError::ManifestValue(_))));
}

#[test]
fn error_display_is_specific() {
    let syntax = CoreError::ManifestSyntax {
        field: FieldPath::ROOT,
        problem: FieldProblem::NotJson,
    }
    .to_string();
    assert!(syntax.contains("JSON"), "{syntax}");
    let field = CoreError::ManifestSyntax {
        field: FieldPath::ROOT
            .then(PathStep::Key("graphs"))
            .then(PathStep::Index(2))
            .then(PathStep::Key("sha256")),
        problem: FieldProblem::TooLong { max: 64 },
    }
    .to_string();
    assert_eq!(
        field,
        "manifest field `graphs[2].sha256`: longer than 64 bytes"
    );

    let version = CoreError::UnsupportedFormat { found: 2 }.to_string();
    assert!(version.contains("version 2"), "{version}");
    assert!(version.contains(&FORMAT_VERSION.to_string()), "{version}");

    let value = CoreError::ManifestValue("gamma must be a positive number").to_string();
    assert!(value.contains("gamma must be a positive number"), "{value}");

    let len = CoreError::BufferLength {
        expected: 12,
        found: 7,
    }
    .to_string();
    assert!(len.contains("12") && len.contains('7'), "{len}");

    // The messages the parser actually produces are specific too.
    let Err(e) = parse(&variant(r#""latent":64"#, r#""latent":0"#)) else {
        panic!("latent 0 must fail");
    };
    assert!(e.to_string().contains("latent"), "{e}");
    let Err(e) = parse(&variant(SHA_A, &SHA_A[..63])) else {
        panic!("short sha must fail");
    };
    assert!(e.to_string().contains("sha256"), "{e}");

    // std::error::Error is implemented (feature std).
    let boxed: Box<dyn std::error::Error> = Box::new(CoreError::ManifestSyntax {
        field: FieldPath::ROOT,
        problem: FieldProblem::EndsEarly,
    });
    assert!(!boxed.to_string().is_empty());
}

// ---------------------------------------------------------------- GaussianRng

fn u32s(seed: u64, n: usize) -> Vec<u32> {
    let mut r = GaussianRng::new(seed);
    (0..n).map(|_| r.next_u32()).collect()
}

#[test]
fn rng_same_seed_same_sequence() {
    assert_eq!(u32s(42, 1000), u32s(42, 1000));
    let mut a = GaussianRng::new(7);
    let mut b = GaussianRng::new(7);
    for _ in 0..1000 {
        assert_eq!(a.normal().to_bits(), b.normal().to_bits());
    }
}

#[test]
fn rng_different_seeds_differ() {
    let a = u32s(1, 16);
    let b = u32s(2, 16);
    let c = u32s(0, 16);
    assert_ne!(a, b);
    assert_ne!(a, c);
    assert_ne!(b, c);
    // Not merely shifted copies: they share almost no values.
    let shared = a.iter().filter(|v| b.contains(v)).count();
    assert!(shared <= 1, "{shared} shared values");
}

#[test]
fn rng_matches_reference_splitmix64_xoshiro128pp() {
    // splitmix64 from state 0: the well-known first two outputs.
    let a: u64 = 0xe220_a839_7b1d_cdaf;
    let b: u64 = 0x6e78_9e6a_a1b9_65f4;
    let mut s = [a as u32, (a >> 32) as u32, b as u32, (b >> 32) as u32];
    let mut reference = || {
        let result = s[0].wrapping_add(s[3]).rotate_left(7).wrapping_add(s[0]);
        let t = s[1] << 9;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(11);
        result
    };
    let expected: Vec<u32> = (0..64).map(|_| reference()).collect();
    assert_eq!(u32s(0, 64), expected);
}

#[test]
fn rng_seed_zero_is_not_stuck() {
    let v = u32s(0, 200);
    let mut distinct = v.clone();
    distinct.sort_unstable();
    distinct.dedup();
    assert!(distinct.len() >= 199, "{} distinct of 200", distinct.len());
    assert!(v.iter().any(|&x| x != 0));

    let mut r = GaussianRng::new(0);
    let n: Vec<f32> = (0..100).map(|_| r.normal()).collect();
    assert!(n.iter().all(|x| x.is_finite()));
    assert!(n.windows(2).all(|w| w[0] != w[1]));
}

#[test]
fn rng_uniform_in_half_open_unit_interval() {
    let mut r = GaussianRng::new(123);
    let (mut lo, mut hi, mut sum) = (f32::MAX, f32::MIN, 0.0f64);
    let n = 100_000;
    for _ in 0..n {
        let u = r.uniform();
        assert!(u > 0.0 && u <= 1.0, "uniform {u} outside (0, 1]");
        lo = lo.min(u);
        hi = hi.max(u);
        sum += f64::from(u);
    }
    assert!(lo < 1e-3, "min {lo}");
    assert!(hi > 1.0 - 1e-3, "max {hi}");
    let mean = sum / f64::from(n);
    assert!((mean - 0.5).abs() < 0.01, "mean {mean}");
}

#[test]
fn rng_normal_moments() {
    let mut r = GaussianRng::new(2024);
    let n = 200_000;
    let (mut s1, mut s2) = (0.0f64, 0.0f64);
    for _ in 0..n {
        let x = f64::from(r.normal());
        assert!(x.is_finite());
        s1 += x;
        s2 += x * x;
    }
    let mean = s1 / f64::from(n);
    let var = s2 / f64::from(n) - mean * mean;
    assert!(mean.abs() < 0.02, "mean {mean}");
    assert!((var - 1.0).abs() < 0.03, "variance {var}");
}

#[test]
fn rng_normal_is_box_muller_of_uniform_pairs() {
    let mut r = GaussianRng::new(99);
    let mut u = r.clone();
    for _ in 0..100 {
        let (u1, u2) = (u.uniform(), u.uniform());
        let rad = (-2.0 * u1.ln()).sqrt();
        let theta = 2.0 * std::f32::consts::PI * u2;
        let (n1, n2) = (r.normal(), r.normal());
        assert!((n1 - rad * theta.cos()).abs() < 1e-5, "{n1}");
        assert!((n2 - rad * theta.sin()).abs() < 1e-5, "{n2}");
    }
}

#[test]
fn rng_fill_normal_equals_successive_normals() {
    let mut a = GaussianRng::new(5);
    let mut b = a.clone();
    // Odd length, so the second fill starts from a cached spare.
    let mut buf = vec![0.0f32; 33];
    a.fill_normal(&mut buf);
    let expected: Vec<f32> = (0..33).map(|_| b.normal()).collect();
    assert_eq!(
        buf.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
        expected.iter().map(|x| x.to_bits()).collect::<Vec<_>>()
    );
    let mut buf2 = vec![0.0f32; 10];
    a.fill_normal(&mut buf2);
    let expected2: Vec<f32> = (0..10).map(|_| b.normal()).collect();
    assert_eq!(buf2, expected2);
    // Empty fill consumes nothing.
    a.fill_normal(&mut []);
    assert_eq!(a.normal().to_bits(), b.normal().to_bits());
}

// ---------------------------------------------------------------- check_len

#[test]
fn check_len_exact_is_ok() {
    assert_eq!(check_len(&[0.0; 12], 3, 4), Ok(()));
    assert_eq!(check_len(&[], 0, 4), Ok(()));
    assert_eq!(check_len(&[], 5, 0), Ok(()));
}

#[test]
fn check_len_wrong_length_reports_numbers() {
    assert_eq!(
        check_len(&[0.0; 11], 3, 4),
        Err(CoreError::BufferLength {
            expected: 12,
            found: 11
        })
    );
    assert_eq!(
        check_len(&[0.0; 13], 3, 4),
        Err(CoreError::BufferLength {
            expected: 12,
            found: 13
        })
    );
    assert_eq!(
        check_len(&[0.0; 1], 0, 4),
        Err(CoreError::BufferLength {
            expected: 0,
            found: 1
        })
    );
}

#[test]
fn check_len_overflow_is_error_not_panic() {
    assert!(matches!(
        check_len(&[0.0; 2], usize::MAX, 2),
        Err(CoreError::BufferLength { found: 2, .. })
    ));
    assert!(matches!(
        check_len(&[], 2, usize::MAX),
        Err(CoreError::BufferLength { found: 0, .. })
    ));
    // usize::MAX * 1 does not overflow, but no slice of f32 is that long.
    assert!(check_len(&[0.0; 3], usize::MAX, 1).is_err());
}

// ---------------------------------------------------------------- Precision

#[test]
fn precision_parse() {
    assert_eq!(Precision::parse("fp32"), Some(Precision::Fp32));
    assert_eq!(Precision::parse("fp16"), Some(Precision::Fp16));
    assert_eq!(Precision::parse("fp16w"), Some(Precision::Fp16w));
    assert_eq!(Precision::parse(" fp16 "), Some(Precision::Fp16));
    for bad in ["", "fp8", "FP32", "fp 16", "fp16ww", "bf16", "fp"] {
        assert_eq!(Precision::parse(bad), None, "{bad:?}");
    }
}

#[test]
fn precision_name_round_trips() {
    let names: Vec<&str> = Precision::ALL.iter().map(|p| p.name()).collect();
    assert_eq!(names, ["fp32", "fp16", "fp16w", "int8"]);
    for p in Precision::ALL {
        assert_eq!(Precision::parse(p.name()), Some(p));
    }
}

#[test]
fn precision_half_truth_table() {
    let table = [
        (Precision::Fp32, false, false, false),
        (Precision::Fp16, true, true, false),
        (Precision::Fp16w, true, false, false),
        (Precision::Int8, false, false, true),
    ];
    for (p, weights, compute, int8) in table {
        assert_eq!(p.half_weights(), weights, "{p:?} half_weights");
        assert_eq!(p.half_compute(), compute, "{p:?} half_compute");
        assert_eq!(p.int8_products(), int8, "{p:?} int8_products");
    }
}

fn outlier_json(noise: &str) -> String {
    variant(
        r#""outlier":null"#,
        &format!(
            r#""outlier":{{"score_threshold":1.0,"element_threshold":9.0,"contamination":0.1,"element_noise":[{noise}]}}"#
        ),
    )
}

#[test]
fn outlier_noise_of_the_wrong_width_is_refused() {
    let err = parse(&outlier_json(&vec!["0.5"; 783].join(","))).unwrap_err();
    assert_eq!(
        err,
        CoreError::ManifestValue("outlier element_noise must hold input_dim values")
    );
}

#[test]
fn outlier_noise_must_be_positive() {
    let mut values = vec!["0.5"; 784];
    values[10] = "0";
    let err = parse(&outlier_json(&values.join(","))).unwrap_err();
    assert_eq!(
        err,
        CoreError::ManifestValue("outlier element_noise values must be positive numbers")
    );
}

#[test]
fn outlier_noise_wider_than_the_capacity_is_a_syntax_error_not_a_panic() {
    let err = parse(&outlier_json(&vec!["0.5"; 5000].join(","))).unwrap_err();
    assert_eq!(
        err.to_string(),
        "manifest field `outlier.element_noise`: more than 4096 values"
    );
}

#[test]
fn element_score_is_twice_the_gaussian_negative_log_likelihood() {
    use edgevae_runtime::core::outlier::element_score;
    let ln_2pi = (2.0 * std::f64::consts::PI).ln();
    for (x, mean, var) in [
        (0.5f64, 0.2f64, 0.01f64),
        (-1.0, 2.0, 4.0),
        (3.0, 3.0, 1e-4),
    ] {
        let want = (x - mean).powi(2) / var + (var).ln() + ln_2pi;
        let got = f64::from(element_score(x as f32, mean as f32, var.ln() as f32));
        assert!(
            (got - want).abs() <= 1e-4 * want.abs().max(1.0),
            "{x} {mean} {var}: {got} vs {want}"
        );
    }
    // The same residual where the model expects more spread scores lower.
    assert!(element_score(0.3, 0.0, 0.01f32.ln()) > element_score(0.3, 0.0, 0.09f32.ln()));
}

#[test]
fn element_threshold_from_prior_and_range() {
    use edgevae_runtime::core::outlier::element_threshold;
    let close = |a: f64, b: f64| (a - b).abs() < 1e-12;
    // p = 0.1 on [0, 1]: 2 ln 9.
    assert!(close(
        element_threshold(0.1, 1.0).expect("valid"),
        2.0 * 9f64.ln()
    ));
    // Even odds: only the range counts; a range of e adds 2.
    assert!(close(
        element_threshold(0.5, std::f64::consts::E).expect("valid"),
        2.0
    ));
    for (prior, range) in [
        (0.0, 1.0),
        (1.0, 1.0),
        (f64::NAN, 1.0),
        (0.1, 0.0),
        (0.1, -1.0),
        (0.1, f64::INFINITY),
    ] {
        assert_eq!(
            element_threshold(prior, range),
            None,
            "prior {prior}, range {range}"
        );
    }
}

#[test]
fn row_log_var_takes_the_heads_row_else_the_noise() {
    use edgevae_runtime::core::outlier::row_log_var;
    let noise = [-1.0f32, -2.0];
    let head = [0.1f32, 0.2, 0.3, 0.4];
    assert_eq!(row_log_var(None, &noise, 5), &noise);
    assert_eq!(row_log_var(Some(&head), &noise, 0), &[0.1, 0.2]);
    assert_eq!(row_log_var(Some(&head), &noise, 1), &[0.3, 0.4]);
    // A row past the head is empty (filter_row then reports the length), not a panic.
    assert!(row_log_var(Some(&head), &noise, 2).is_empty());
}

/// Each error names the field (with the graph's or the value's index) and the problem; before,
/// all of these read "not valid JSON of the edgevae manifest shape".
#[test]
fn manifest_errors_name_the_field_and_the_problem() {
    let message = |json: &str| parse(json).unwrap_err().to_string();
    for (json, want) in [
        (
            variant(r#""latent":64,"#, ""),
            "manifest field `latent`: missing",
        ),
        (
            variant(r#""latent":64"#, r#""latent":"64""#),
            "manifest field `latent`: expected an integer from 0 to 4294967295",
        ),
        (
            variant(r#""latent":64"#, r#""latent":-64"#),
            "manifest field `latent`: expected an integer from 0 to 4294967295",
        ),
        (
            variant(r#""latent":64"#, r#""latent":6.4e1"#),
            "manifest field `latent`: expected an integer from 0 to 4294967295",
        ),
        (
            variant(r#""latent":64"#, r#""latent":64,"latent":64"#),
            "manifest field `latent`: given twice",
        ),
        (
            variant(r#""bytes":654321"#, r#""bytes":-1"#),
            "manifest field `graphs[1].bytes`: expected a byte count (a non-negative integer)",
        ),
        (
            variant(r#""role":"filter""#, r#""role":"encoder""#),
            "manifest field `graphs[1].role`: expected \"sampler\" or \"filter\"",
        ),
        (
            variant(r#""precision":"fp16w""#, r#""precision":"fp8""#),
            "manifest field `graphs[1].precision`: expected \"fp32\", \"fp16\" or \"fp16w\"",
        ),
        (
            variant(
                &format!(r#""sha256":"{SHA_B}""#),
                &format!(r#""sha256":"{SHA_B}0""#),
            ),
            "manifest field `graphs[1].sha256`: longer than 64 bytes",
        ),
        (
            variant(
                r#""trainer_version":"0.1.0""#,
                r#""trainer_version":"0.1.0-a-suffix-too-long-for-it""#,
            ),
            "manifest field `trainer_version`: longer than 24 bytes",
        ),
        (
            variant(r#""scaling":"unit""#, r#""scaling":"log""#),
            "manifest field `scaling`: expected \"unit\" or \"real\"",
        ),
        (
            variant(
                r#""outlier":null"#,
                r#""outlier":{"score_threshold":1,"element_threshold":2,"contamination":0.1,"element_noise":[0.5,"x"]}"#,
            ),
            "manifest field `outlier.element_noise[1]`: expected a number",
        ),
        (
            variant(
                r#""outlier":null"#,
                r#""outlier":{"score_threshold":1,"contamination":0.1,"element_noise":[]}"#,
            ),
            "manifest field `outlier.element_threshold`: missing",
        ),
        (
            base_json()[..100].to_string(),
            "the file ends before this value does",
        ),
        (
            format!("{} x", base_json()),
            "manifest is not an edgevae manifest: text after the closing brace",
        ),
        (
            "[1]".to_string(),
            "manifest is not an edgevae manifest: expected an object",
        ),
    ] {
        let got = message(&json);
        assert!(got.contains(want), "{got:?} does not say {want:?}");
    }
}

/// `parse_into` fills a caller's manifest in place, as `parse` returns it, and overwrites what
/// an earlier parse left there (optional fields included).
#[test]
fn parse_into_fills_in_place_and_resets_optional_fields() {
    let calibrated = variant(
        r#""outlier":null"#,
        &format!(
            r#""robust":true,"outlier":{{"score_threshold":1,"element_threshold":2,"contamination":0.1,"element_noise":[{}]}}"#,
            vec!["0.5"; 784].join(",")
        ),
    );
    let mut m = Manifest::EMPTY;
    Manifest::parse_into(calibrated.as_bytes(), &mut m).expect("calibrated");
    assert_eq!(m, parse(&calibrated).expect("parse"));
    assert!(
        m.robust
            && m.outlier
                .as_ref()
                .is_some_and(|o| o.element_noise.len() == 784)
    );
    let plain = variant(r#""image_shape":[28,28],"#, "");
    Manifest::parse_into(plain.as_bytes(), &mut m).expect("plain");
    assert_eq!(m, parse(&plain).expect("parse"));
    assert!(!m.robust && m.outlier.is_none() && m.image_shape.is_none());
}

/// The optional `value_range` of real-valued calibrations: parsed, validated, and absent when
/// not written (the quickstart manifest has none).
#[test]
fn outlier_value_range_is_optional_and_validated() {
    let with = |range: &str| {
        variant(
            r#""outlier":null"#,
            &format!(
                r#""outlier":{{"score_threshold":1,"element_threshold":2,"contamination":0.1,"element_noise":[{}]{range}}}"#,
                vec!["0.5"; 784].join(",")
            ),
        )
    };
    let m = parse(&with(r#","value_range":[-3.5,40]"#)).expect("with a range");
    assert_eq!(m.outlier.and_then(|o| o.value_range), Some([-3.5, 40.0]));
    let m = parse(&with("")).expect("without one");
    assert_eq!(m.outlier.and_then(|o| o.value_range), None);
    for bad in [r#","value_range":[2,1]"#, r#","value_range":[1,1]"#] {
        assert_value_error(&with(bad));
    }
    let err = parse(&with(r#","value_range":[1]"#))
        .unwrap_err()
        .to_string();
    assert!(err.contains("`outlier.value_range`"), "{err}");
}
