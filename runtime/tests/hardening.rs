//! The runtime's part of the hardening corpus (tests/corpus/README.md): bad manifests, bad model
//! directories, bytes that are not ONNX, wrong buffers and non-finite inputs through the Rust
//! API. Every case is generated from the committed `models/quickstart` (copied into temporary
//! directories, never modified) or read from the seeds in `tests/corpus/manifest/`, runs under
//! `catch_unwind` and must fail with the specific error named here.

#[path = "../../tests/corpus/harness.rs"]
mod harness;

use std::path::{Path, PathBuf};

use edgevae_runtime::core::outlier::{filter_row, InputGate, RowOutput};
use edgevae_runtime::core::{CoreError, FieldProblem, Precision};
use edgevae_runtime::{FilterOutput, ModelDir, Provider, RuntimeError, RuntimeOptions};
use serde_json::{json, Value};

use harness::{ensure, mentions, Corpus, Verdict};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn quickstart() -> PathBuf {
    root().join("models/quickstart")
}

fn base_manifest() -> Value {
    serde_json::from_slice(&std::fs::read(quickstart().join("manifest.json")).expect("manifest"))
        .expect("JSON")
}

/// The error a bad manifest must get.
#[derive(Clone, Copy, Debug)]
enum Want {
    Syntax,
    Format(u32),
    /// `ManifestValue` whose text contains this.
    Value(&'static str),
}

fn check_core(e: &CoreError, want: Want, at: Option<&str>) -> Verdict {
    match (want, e) {
        // A well-formed document with a bad value must name the value's field and say what
        // was expected there; broken JSON may be anywhere.
        (Want::Syntax, CoreError::ManifestSyntax { field, problem }) => match at {
            Some(at) => {
                // Deeper is more precise: `graphs = [1]` names `graphs[0]`.
                ensure(field.to_string().starts_with(at), || {
                    format!("names field `{field}`, not `{at}`")
                })?;
                ensure(
                    !matches!(
                        problem,
                        FieldProblem::NotJson
                            | FieldProblem::EndsEarly
                            | FieldProblem::TrailingText
                    ),
                    || format!("says {problem:?} of a well-formed value"),
                )
            }
            None => Ok(()),
        },
        (Want::Format(n), CoreError::UnsupportedFormat { found }) if *found == n => Ok(()),
        (Want::Value(needle), CoreError::ManifestValue(what)) => mentions(what, needle),
        _ => Err(format!("expected {want:?}")),
    }
}

/// A path of object keys and array indices into a JSON value.
#[derive(Clone, Copy)]
enum Key {
    Field(&'static str),
    Index(usize),
}
use Key::{Field as F, Index as I};

fn at<'a>(v: &'a mut Value, path: &[Key]) -> &'a mut Value {
    path.iter().fold(v, |v, k| match k {
        F(name) => &mut v[*name],
        I(i) => &mut v[*i],
    })
}

/// A field and the raw JSON values tried for it, each with the error it must get.
type FieldValues = (&'static [Key], &'static [(&'static str, Want)]);
/// A manifest change whose dimensions disagree with a graph: (name, role, change, message).
type DimCase = (&'static str, Role, fn(&mut Value), &'static str);
/// (name, u, eps and out lengths, (expected, found) in the error).
type NoiseCase = (&'static str, usize, usize, usize, (usize, usize));

/// Placeholder replaced by raw JSON text after serialising (for tokens a `Value` cannot hold).
const RAW: &str = "@@raw@@";

/// `base` with the value at `path` replaced by the raw JSON text `raw`, compact.
fn set_raw(base: &Value, path: &[Key], raw: &str) -> Vec<u8> {
    let mut v = base.clone();
    *at(&mut v, path) = Value::String(RAW.into());
    serde_json::to_string(&v)
        .expect("JSON")
        .replacen(&format!("\"{RAW}\""), raw, 1)
        .into_bytes()
}

/// `base` without the field at `path`.
fn remove(base: &Value, path: &[Key]) -> Vec<u8> {
    let mut v = base.clone();
    let (last, parent) = path.split_last().expect("non-empty path");
    let F(name) = last else {
        panic!("remove takes a field")
    };
    at(&mut v, parent)
        .as_object_mut()
        .expect("object")
        .remove(*name)
        .expect("field present");
    serde_json::to_vec(&v).expect("JSON")
}

fn edit(base: &Value, f: impl FnOnce(&mut Value)) -> Vec<u8> {
    let mut v = base.clone();
    f(&mut v);
    serde_json::to_vec(&v).expect("JSON")
}

/// `path` as the runtime names a manifest field: `graphs[0].sha256`.
fn field_name(path: &[Key]) -> String {
    let mut out = String::new();
    for k in path {
        match k {
            F(n) if out.is_empty() => out.push_str(n),
            F(n) => {
                out.push('.');
                out.push_str(n)
            }
            I(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

fn describe(path: &[Key]) -> String {
    path.iter()
        .map(|k| match k {
            F(n) => n.to_string(),
            I(i) => i.to_string(),
        })
        .collect::<Vec<_>>()
        .join(".")
}

/// Runs one manifest case through `ModelDir::open` (the error must be `Manifest`, name the
/// manifest file and carry the core error wanted) and checks that `Manifest::parse` agrees.
fn manifest_case(c: &mut Corpus, category: &'static str, name: String, bytes: Vec<u8>, want: Want) {
    manifest_case_at(c, category, name, bytes, want, None)
}

/// [`manifest_case`] whose `ManifestSyntax` error must name the field `at`.
fn manifest_case_at(
    c: &mut Corpus,
    category: &'static str,
    name: String,
    bytes: Vec<u8>,
    want: Want,
    at: Option<String>,
) {
    let tmp = tempfile::tempdir().expect("temp dir");
    let path = tmp.path().join("manifest.json");
    std::fs::write(&path, &bytes).expect("write");
    c.case(
        category,
        name,
        || {
            let direct = edgevae_runtime::core::Manifest::parse(&bytes).err();
            ModelDir::open(tmp.path(), RuntimeOptions::default()).map(|_| direct)
        },
        |e| match e {
            RuntimeError::Manifest { path: p, source } => {
                ensure(*p == path, || format!("names {}", p.display()))?;
                mentions(&e.to_string(), &path.display().to_string())?;
                check_core(source, want, at.as_deref())?;
                let again = edgevae_runtime::core::Manifest::parse(&bytes).err();
                ensure(again.as_ref() == Some(source), || {
                    format!("Manifest::parse says {again:?}")
                })
            }
            _ => Err("expected RuntimeError::Manifest".into()),
        },
    );
}

// ---------------------------------------------------------------------------------------------
// Manifests.

const GAMMA_BAD: &str = "gamma must be a positive number";
const DIMS_BAD: &str = "input_dim and latent must be positive";
const SHAPE_BAD: &str = "image_shape does not multiply";
const SHA_BAD: &str = "sha256 must be 64 lower-case hex";
const FILE_BAD: &str = "plain file name";
const DUP_BAD: &str = "two graphs share";
const THRESH_BAD: &str = "outlier thresholds must be finite";
const NOISE_LEN: &str = "element_noise must hold input_dim";
const NOISE_BAD: &str = "element_noise values must be positive";
const RANGE_BAD: &str = "value_range must be two finite numbers";
const STD_BAD: &str = "standardization must have a finite center and a positive scale";

fn manifests(c: &mut Corpus) {
    let base = base_manifest();
    let compact = serde_json::to_vec(&base).expect("JSON");
    edgevae_runtime::core::Manifest::parse(&compact).expect("the base manifest is valid");

    // Syntax: the compact manifest cut at 24 evenly spaced offsets before its closing brace.
    let close = compact.len() - 1;
    for k in 0..24 {
        let cut = k * close / 24;
        manifest_case(
            c,
            "manifest-syntax",
            format!("truncated at {cut}"),
            compact[..cut].to_vec(),
            Want::Syntax,
        );
    }
    // Syntax: one structural character (every 40th of them) replaced by '#'.
    let structural: Vec<usize> = compact
        .iter()
        .enumerate()
        .filter(|(_, b)| b"{}[]:,\"".contains(b))
        .map(|(i, _)| i)
        .collect();
    for &i in structural.iter().step_by(structural.len() / 16 + 1) {
        let mut bytes = compact.clone();
        bytes[i] = b'#';
        manifest_case(
            c,
            "manifest-syntax",
            format!("byte {i} ({:?}) -> '#'", compact[i] as char),
            bytes,
            Want::Syntax,
        );
    }
    let text = String::from_utf8(compact.clone()).expect("UTF-8");
    let deep = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
    let whole: Vec<(&str, Vec<u8>)> = vec![
        ("empty", vec![]),
        ("whitespace", b" \n\t ".to_vec()),
        ("null", b"null".to_vec()),
        ("array", b"[]".to_vec()),
        ("empty object", b"{}".to_vec()),
        ("number", b"1".to_vec()),
        ("string", b"\"manifest\"".to_vec()),
        (
            "byte-order mark",
            [b"\xef\xbb\xbf".as_slice(), &compact].concat(),
        ),
        ("trailing text", format!("{text} x").into_bytes()),
        ("trailing object", format!("{text}{{}}").into_bytes()),
        ("twice", format!("{text}{text}").into_bytes()),
        (
            "invalid UTF-8",
            text.replacen("0.1.0", "0.\u{1}.0", 1)
                .into_bytes()
                .into_iter()
                .map(|b| if b == 1 { 0xff } else { b })
                .collect(),
        ),
        (
            "duplicate key",
            text.replacen('{', "{\"latent\":32,", 1).into_bytes(),
        ),
        // Once a stack overflow (an abort): serde-json-core recursed through every level of
        // an unknown field's value.
        (
            "unknown field nested 100000 deep",
            text.replacen('{', &format!("{{\"x\":{},", deep(100_000)), 1)
                .into_bytes(),
        ),
        (
            "unknown field nested 17 deep",
            text.replacen('{', &format!("{{\"x\":{},", deep(16)), 1)
                .into_bytes(),
        ),
        (
            "objects nested 50000 deep",
            format!("{}{}", "{\"a\":".repeat(50_000), "}".repeat(50_000)).into_bytes(),
        ),
        (
            "image_shape nested 100000 deep",
            text.replacen("[28,28]", &deep(100_000), 1).into_bytes(),
        ),
    ];
    for (name, bytes) in whole {
        manifest_case(c, "manifest-syntax", name.into(), bytes, Want::Syntax);
    }

    // Every required field missing, one at a time.
    let required: &[&[Key]] = &[
        &[F("format_version")],
        &[F("trainer_version")],
        &[F("input_dim")],
        &[F("latent")],
        &[F("scaling")],
        &[F("gamma_stage1")],
        &[F("gamma_stage2")],
        &[F("graphs")],
        &[F("graphs"), I(0), F("role")],
        &[F("graphs"), I(0), F("precision")],
        &[F("graphs"), I(0), F("file")],
        &[F("graphs"), I(0), F("sha256")],
        &[F("graphs"), I(0), F("bytes")],
        &[F("graphs"), I(5), F("role")],
        &[F("graphs"), I(5), F("precision")],
        &[F("graphs"), I(5), F("file")],
        &[F("graphs"), I(5), F("sha256")],
        &[F("graphs"), I(5), F("bytes")],
        &[F("outlier"), F("score_threshold")],
        &[F("outlier"), F("element_threshold")],
        &[F("outlier"), F("contamination")],
        &[F("outlier"), F("element_noise")],
    ];
    for path in required {
        manifest_case_at(
            c,
            "manifest-missing",
            format!("without {}", describe(path)),
            remove(&base, path),
            Want::Syntax,
            Some(field_name(path)),
        );
    }
    // (The optional fields may go: controls, not cases.)
    for optional in ["image_shape", "robust", "outlier"] {
        edgevae_runtime::core::Manifest::parse(&remove(&base, &[F(optional)]))
            .unwrap_or_else(|e| panic!("without {optional}: {e:?}"));
    }
    // A log-likelihood element threshold may be negative (controls, not cases).
    for raw in ["-1", "-1e-9", "0"] {
        let path = [F("outlier"), F("element_threshold")];
        edgevae_runtime::core::Manifest::parse(&set_raw(&base, &path, raw))
            .unwrap_or_else(|e| panic!("element_threshold {raw}: {e:?}"));
    }

    // Each field set to values of the wrong type or out of range.
    use Want::{Format, Syntax, Value as V};
    let table: &[FieldValues] = &[
        (
            &[F("format_version")],
            &[
                ("0", Format(0)),
                ("1", Format(1)),
                ("3", Format(3)),
                ("99", Format(99)),
                ("4294967295", Format(u32::MAX)),
                ("-1", Syntax),
                ("4294967296", Syntax),
                ("1.0", Syntax),
                ("\"1\"", Syntax),
                ("null", Syntax),
                ("true", Syntax),
                ("[1]", Syntax),
            ],
        ),
        (
            &[F("input_dim")],
            &[
                ("0", V(DIMS_BAD)),
                ("785", V(SHAPE_BAD)),
                ("4294967295", V(SHAPE_BAD)),
                ("-784", Syntax),
                ("4294967296", Syntax),
                ("\"784\"", Syntax),
                ("784.5", Syntax),
                ("null", Syntax),
            ],
        ),
        (
            &[F("latent")],
            &[
                ("0", V(DIMS_BAD)),
                ("-1", Syntax),
                ("\"32\"", Syntax),
                ("null", Syntax),
                ("4294967296", Syntax),
                ("3.2e1", Syntax),
            ],
        ),
        (
            &[F("gamma_stage1")],
            &[
                ("0", V(GAMMA_BAD)),
                ("-0.0", V(GAMMA_BAD)),
                ("-1", V(GAMMA_BAD)),
                ("1e999", V(GAMMA_BAD)),
                ("null", V(GAMMA_BAD)),
                ("\"0.5\"", Syntax),
                ("true", Syntax),
                ("NaN", Syntax),
                ("Infinity", Syntax),
            ],
        ),
        (
            &[F("gamma_stage2")],
            &[
                ("0", V(GAMMA_BAD)),
                ("-0.0", V(GAMMA_BAD)),
                ("-1e-300", V(GAMMA_BAD)),
                ("-1e999", V(GAMMA_BAD)),
                ("null", V(GAMMA_BAD)),
                ("\"0.5\"", Syntax),
                ("[]", Syntax),
                ("nan", Syntax),
                ("-Infinity", Syntax),
            ],
        ),
        (
            &[F("image_shape")],
            &[
                ("[28,27]", V(SHAPE_BAD)),
                ("[1,1]", V(SHAPE_BAD)),
                ("[0,784]", V(SHAPE_BAD)),
                ("[784,0]", V(SHAPE_BAD)),
                // 268435505 * 16 wraps to 784 in u32 arithmetic.
                ("[268435505,16]", V(SHAPE_BAD)),
                ("[65536,65536]", V(SHAPE_BAD)),
                ("[28]", Syntax),
                ("[28,28,1]", Syntax),
                ("\"28x28\"", Syntax),
                ("[-28,-28]", Syntax),
                ("[28.0,28.0]", Syntax),
                ("{}", Syntax),
            ],
        ),
        (
            &[F("scaling")],
            &[
                ("\"Unit\"", Syntax),
                ("\"\"", Syntax),
                ("\"log\"", Syntax),
                ("1", Syntax),
                ("null", Syntax),
            ],
        ),
        (
            &[F("robust")],
            &[("\"yes\"", Syntax), ("1", Syntax), ("null", Syntax)],
        ),
        (
            &[F("trainer_version")],
            &[
                ("\"0.1.0-and-a-long-suffix-x\"", Syntax),
                ("1", Syntax),
                ("null", Syntax),
            ],
        ),
        (
            &[F("graphs")],
            &[
                ("null", Syntax),
                ("{}", Syntax),
                ("\"sampler\"", Syntax),
                ("[1]", Syntax),
                ("[[]]", Syntax),
            ],
        ),
        (
            &[F("graphs"), I(0), F("bytes")],
            &[
                ("-1", Syntax),
                ("18446744073709551616", Syntax),
                ("\"1702262\"", Syntax),
                ("1.5", Syntax),
                ("null", Syntax),
            ],
        ),
        (
            &[F("graphs"), I(1), F("role")],
            &[
                ("\"encoder\"", Syntax),
                ("\"Filter\"", Syntax),
                ("\"\"", Syntax),
                ("null", Syntax),
            ],
        ),
        (
            &[F("graphs"), I(2), F("precision")],
            &[
                ("\"fp8\"", Syntax),
                ("\"FP16\"", Syntax),
                ("\"bf16\"", Syntax),
                ("16", Syntax),
            ],
        ),
        (
            &[F("outlier")],
            &[
                ("5", Syntax),
                ("\"none\"", Syntax),
                ("[]", Syntax),
                ("true", Syntax),
            ],
        ),
        (
            &[F("outlier"), F("score_threshold")],
            &[
                ("null", V(THRESH_BAD)),
                ("1e999", V(THRESH_BAD)),
                ("\"76\"", Syntax),
            ],
        ),
        (
            &[F("outlier"), F("element_threshold")],
            &[
                ("null", V(THRESH_BAD)),
                ("-1e999", V(THRESH_BAD)),
                ("1e999", V(THRESH_BAD)),
                ("\"9\"", Syntax),
            ],
        ),
        (
            &[F("standardization")],
            &[
                ("{\"center\":50,\"scale\":0}", V(STD_BAD)),
                ("{\"center\":50,\"scale\":-2}", V(STD_BAD)),
                ("{\"center\":50}", Syntax),
                ("[50,10]", Syntax),
                ("\"z\"", Syntax),
            ],
        ),
        (
            &[F("outlier"), F("value_range")],
            &[
                ("[2,1]", V(RANGE_BAD)),
                ("[1,1]", V(RANGE_BAD)),
                ("[1]", Syntax),
                ("[1,2,3]", Syntax),
                ("\"0..1\"", Syntax),
            ],
        ),
        (
            &[F("outlier"), F("contamination")],
            &[
                ("-0.1", V(THRESH_BAD)),
                ("1.0000001", V(THRESH_BAD)),
                ("2", V(THRESH_BAD)),
                ("null", V(THRESH_BAD)),
                ("1e999", V(THRESH_BAD)),
                ("-1e999", V(THRESH_BAD)),
                ("\"0.1\"", Syntax),
            ],
        ),
    ];
    for (path, values) in table {
        for (raw, want) in *values {
            manifest_case_at(
                c,
                "manifest-values",
                format!("{} = {raw}", describe(path)),
                set_raw(&base, path, raw),
                *want,
                Some(field_name(path)),
            );
        }
    }
    // input_dim 785 without image_shape: then the calibration's width is wrong.
    manifest_case(
        c,
        "manifest-values",
        "input_dim = 785, image_shape null".into(),
        edit(&base, |v| {
            v["input_dim"] = json!(785);
            v["image_shape"] = Value::Null;
        }),
        V(NOISE_LEN),
    );

    // SHA-256 strings.
    let sha0 = base["graphs"][0]["sha256"]
        .as_str()
        .expect("sha")
        .to_string();
    for g in 0..6 {
        let sha = base["graphs"][g]["sha256"]
            .as_str()
            .expect("sha")
            .to_string();
        manifest_case(
            c,
            "manifest-sha256",
            format!("graph {g}: 63 digits"),
            set_raw(
                &base,
                &[F("graphs"), I(g), F("sha256")],
                &format!("\"{}\"", &sha[..63]),
            ),
            V(SHA_BAD),
        );
    }
    let bad_shas = [
        ("upper case", sha0.to_uppercase(), V(SHA_BAD)),
        ("non-hex g", format!("g{}", &sha0[1..]), V(SHA_BAD)),
        ("space", format!(" {}", &sha0[1..]), V(SHA_BAD)),
        ("empty", String::new(), V(SHA_BAD)),
        ("32 two-byte characters", "é".repeat(32), V(SHA_BAD)),
        ("65 digits", format!("{sha0}0"), Syntax),
        ("128 digits", format!("{sha0}{sha0}"), Syntax),
    ];
    for (name, sha, want) in bad_shas {
        manifest_case_at(
            c,
            "manifest-sha256",
            format!("graph 0: {name}"),
            edit(&base, |v| v["graphs"][0]["sha256"] = json!(sha)),
            want,
            Some("graphs[0].sha256".into()),
        );
    }
    manifest_case_at(
        c,
        "manifest-sha256",
        "graph 0: a number".into(),
        set_raw(&base, &[F("graphs"), I(0), F("sha256")], "1234"),
        Syntax,
        Some("graphs[0].sha256".into()),
    );

    // File names that are not plain names in the model directory.
    let names: &[(&str, Want)] = &[
        ("\"../sampler_fp32.onnx\"", V(FILE_BAD)),
        ("\"models/sampler_fp32.onnx\"", V(FILE_BAD)),
        ("\"/etc/passwd\"", V(FILE_BAD)),
        ("\"..\"", V(FILE_BAD)),
        ("\".\"", V(FILE_BAD)),
        ("\".hidden.onnx\"", V(FILE_BAD)),
        ("\"\"", V(FILE_BAD)),
        ("\"sampler_fp32.onnx/\"", V(FILE_BAD)),
        ("\"a\\\\b.onnx\"", V(FILE_BAD)),
        ("\"a\\u0000b.onnx\"", V(FILE_BAD)),
        // Raw control characters, which serde-json-core lets through inside strings.
        ("\"sampler\nfp32.onnx\"", V(FILE_BAD)),
        ("\"sampler\tfp32.onnx\"", V(FILE_BAD)),
        ("\"sampler\u{7f}.onnx\"", V(FILE_BAD)),
        (
            "\"an-extremely-long-file-name-that-does-not-fit-sixty-four-bytes.onnx\"",
            Syntax,
        ),
        ("42", Syntax),
    ];
    for (raw, want) in names {
        manifest_case_at(
            c,
            "manifest-file",
            format!("file = {raw}"),
            set_raw(&base, &[F("graphs"), I(0), F("file")], raw),
            *want,
            Some("graphs[0].file".into()),
        );
    }

    // Duplicate graphs: each one listed twice (over its neighbour's entry: the quickstart lists
    // all eight the capacity holds), and a role and precision under another file.
    let listed = base["graphs"].as_array().map_or(0, Vec::len);
    assert_eq!(
        listed, 8,
        "the quickstart manifest lists every role and precision"
    );
    for g in 0..listed {
        manifest_case(
            c,
            "manifest-graphs",
            format!("graph {g} listed twice"),
            edit(&base, |v| {
                v["graphs"][(g + 1) % listed] = v["graphs"][g].clone();
            }),
            V(DUP_BAD),
        );
    }
    manifest_case(
        c,
        "manifest-graphs",
        "sampler fp32 twice, other file".into(),
        edit(&base, |v| {
            let mut copy = v["graphs"][0].clone();
            copy["file"] = json!("sampler_other.onnx");
            v["graphs"][listed - 1] = copy;
        }),
        V(DUP_BAD),
    );
    manifest_case_at(
        c,
        "manifest-graphs",
        "nine graphs (capacity 8)".into(),
        edit(&base, |v| {
            let graphs = v["graphs"].as_array_mut().expect("graphs");
            let extra: Vec<Value> = graphs[..3].to_vec();
            graphs.extend(extra);
        }),
        Syntax,
        Some("graphs".into()),
    );

    // The outlier section's per-element noise.
    for len in [0usize, 1, 783, 785, 1568, 4096] {
        manifest_case(
            c,
            "manifest-outlier",
            format!("element_noise of {len} values"),
            edit(&base, |v| {
                v["outlier"]["element_noise"] = json!(vec![0.01; len])
            }),
            V(NOISE_LEN),
        );
    }
    manifest_case_at(
        c,
        "manifest-outlier",
        "element_noise of 4097 values (capacity 4096)".into(),
        edit(&base, |v| {
            v["outlier"]["element_noise"] = json!(vec![0.01; 4097])
        }),
        Syntax,
        Some("outlier.element_noise".into()),
    );
    for pos in [0usize, 391, 783] {
        for raw in ["0", "-0.0", "-0.0001", "1e-50", "1e39", "null"] {
            manifest_case(
                c,
                "manifest-outlier",
                format!("element_noise[{pos}] = {raw}"),
                set_raw(&base, &[F("outlier"), F("element_noise"), I(pos)], raw),
                V(NOISE_BAD),
            );
        }
    }
    for raw in ["\"0.01\"", "[0.01]", "true"] {
        manifest_case_at(
            c,
            "manifest-outlier",
            format!("element_noise[5] = {raw}"),
            set_raw(&base, &[F("outlier"), F("element_noise"), I(5)], raw),
            Syntax,
            Some("outlier.element_noise[5]".into()),
        );
    }
}

/// The hand-written seeds of tests/corpus/manifest/: every file must be listed here.
fn manifest_seeds(c: &mut Corpus) {
    use Want::{Format, Syntax, Value as V};
    let table: &[(&str, Option<Want>)] = &[
        ("valid-small.json", None),
        ("unknown-format-version.json", Some(Format(3))),
        ("missing-graphs.json", Some(Syntax)),
        ("missing-sha256.json", Some(Syntax)),
        ("wrong-type-latent.json", Some(Syntax)),
        ("zero-latent.json", Some(V(DIMS_BAD))),
        ("negative-gamma.json", Some(V(GAMMA_BAD))),
        ("image-shape-mismatch.json", Some(V(SHAPE_BAD))),
        ("sha256-upper-case.json", Some(V(SHA_BAD))),
        ("sha256-short.json", Some(V(SHA_BAD))),
        ("file-path-traversal.json", Some(V(FILE_BAD))),
        ("file-absolute.json", Some(V(FILE_BAD))),
        ("duplicate-graph.json", Some(V(DUP_BAD))),
        ("noise-wrong-length.json", Some(V(NOISE_LEN))),
        ("noise-not-positive.json", Some(V(NOISE_BAD))),
        ("contamination-out-of-range.json", Some(V(THRESH_BAD))),
        ("unknown-precision.json", Some(Syntax)),
        ("not-an-object.json", Some(Syntax)),
        ("empty.json", Some(Syntax)),
        ("trailing-garbage.json", Some(Syntax)),
        ("byte-order-mark.json", Some(Syntax)),
        ("deep-nesting.json", Some(Syntax)),
    ];
    let dir = root().join("tests/corpus/manifest");
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .expect("tests/corpus/manifest")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    let mut listed: Vec<String> = table.iter().map(|(f, _)| f.to_string()).collect();
    listed.sort();
    assert_eq!(files, listed, "every seed needs an expectation here");
    for (file, want) in table {
        let bytes = std::fs::read(dir.join(file)).expect("seed");
        match want {
            None => {
                edgevae_runtime::core::Manifest::parse(&bytes)
                    .unwrap_or_else(|e| panic!("{file} must be valid: {e:?}"));
            }
            Some(want) => manifest_case(c, "manifest-seeds", file.to_string(), bytes, *want),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Model directories and graph files.

/// A model directory: `manifest` plus the given files (name, bytes).
fn model_dir(manifest: &Value, files: &[(&str, &[u8])]) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        tmp.path().join("manifest.json"),
        serde_json::to_vec_pretty(manifest).expect("JSON"),
    )
    .expect("write manifest");
    for (name, bytes) in files {
        std::fs::write(tmp.path().join(name), bytes).expect("write graph");
    }
    tmp
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Role {
    Sampler,
    Filter,
}

/// Opens `dir` and loads the graph of `role`; the model directory itself must open.
fn load(dir: &Path, role: Role, options: RuntimeOptions) -> Result<(), RuntimeError> {
    let model = ModelDir::open(dir, options)?;
    match role {
        Role::Sampler => model.sampler().map(drop),
        Role::Filter => model.filter().map(drop),
    }
}

/// The error names `file` (its path in the message).
fn names(e: &RuntimeError, file: &Path) -> Verdict {
    mentions(&e.to_string(), &file.display().to_string())
}

fn graph_mismatch(e: &RuntimeError, file: &Path, needle: &str) -> Verdict {
    match e {
        RuntimeError::GraphMismatch { path, problem } => {
            ensure(path == file, || format!("names {}", path.display()))?;
            names(e, file)?;
            mentions(problem, needle)
        }
        _ => Err("expected GraphMismatch".into()),
    }
}

fn checksum(e: &RuntimeError, file: &Path, manifest_sha: &str, bytes: &[u8]) -> Verdict {
    match e {
        RuntimeError::Checksum {
            path,
            expected,
            found,
        } => {
            ensure(path == file, || format!("names {}", path.display()))?;
            names(e, file)?;
            ensure(expected == manifest_sha, || format!("expected {expected}"))?;
            ensure(*found == sha256_hex(bytes), || format!("found {found}"))
        }
        _ => Err("expected Checksum".into()),
    }
}

fn io_error(e: &RuntimeError, file: &Path) -> Verdict {
    match e {
        RuntimeError::Io { path, .. } => {
            ensure(path == file, || format!("names {}", path.display()))?;
            names(e, file)
        }
        _ => Err("expected Io".into()),
    }
}

struct Graphs {
    sampler: Vec<u8>,
    filter: Vec<u8>,
}

impl Graphs {
    fn read() -> Self {
        Self {
            sampler: std::fs::read(quickstart().join("sampler_fp32.onnx")).expect("sampler"),
            filter: std::fs::read(quickstart().join("filter_fp32.onnx")).expect("filter"),
        }
    }

    fn bytes(&self, role: Role) -> &[u8] {
        match role {
            Role::Sampler => &self.sampler,
            Role::Filter => &self.filter,
        }
    }
}

/// Index of the fp32 entry of `role` in the quickstart manifest.
fn entry(role: Role) -> usize {
    match role {
        Role::Sampler => 0,
        Role::Filter => 1,
    }
}

fn file_name(role: Role) -> &'static str {
    match role {
        Role::Sampler => "sampler_fp32.onnx",
        Role::Filter => "filter_fp32.onnx",
    }
}

fn model_dirs(c: &mut Corpus, graphs: &Graphs) {
    let base = base_manifest();
    let opts = RuntimeOptions::default;

    c.case(
        "model-dir",
        "directory does not exist",
        || ModelDir::open(Path::new("/nonexistent/edgevae-corpus"), opts()),
        |e| io_error(e, Path::new("/nonexistent/edgevae-corpus/manifest.json")),
    );
    let empty = tempfile::tempdir().expect("temp dir");
    c.case(
        "model-dir",
        "no manifest.json",
        || ModelDir::open(empty.path(), opts()),
        |e| io_error(e, &empty.path().join("manifest.json")),
    );
    let odd = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir(odd.path().join("manifest.json")).expect("mkdir");
    c.case(
        "model-dir",
        "manifest.json is a directory",
        || ModelDir::open(odd.path(), opts()),
        |e| io_error(e, &odd.path().join("manifest.json")),
    );
    let as_file = quickstart().join("manifest.json");
    c.case(
        "model-dir",
        "the model directory is a file",
        || ModelDir::open(&as_file, opts()),
        |e| io_error(e, &as_file.join("manifest.json")),
    );

    for role in [Role::Sampler, Role::Filter] {
        let file = file_name(role);
        let bytes = graphs.bytes(role);
        let e = entry(role);

        // The graph file missing, a directory, a dangling link.
        let dir = model_dir(&base, &[]);
        c.case(
            "model-dir",
            format!("{file} missing"),
            || load(dir.path(), role, opts()),
            |err| io_error(err, &dir.path().join(file)),
        );
        let dir = model_dir(&base, &[]);
        std::fs::create_dir(dir.path().join(file)).expect("mkdir");
        c.case(
            "model-dir",
            format!("{file} is a directory"),
            || load(dir.path(), role, opts()),
            |err| io_error(err, &dir.path().join(file)),
        );
        let dir = model_dir(&base, &[]);
        std::os::unix::fs::symlink("/nonexistent/graph.onnx", dir.path().join(file))
            .expect("symlink");
        c.case(
            "model-dir",
            format!("{file} is a dangling link"),
            || load(dir.path(), role, opts()),
            |err| io_error(err, &dir.path().join(file)),
        );

        // Truncated or extended files, manifest unchanged: the sizes differ (no hashing, no ORT).
        let len = bytes.len();
        for cut in [0, 1, 4, 64, 4096, len / 2, len - 1] {
            let dir = model_dir(&base, &[(file, &bytes[..cut])]);
            c.case(
                "model-dir",
                format!("{file} truncated to {cut} bytes"),
                || load(dir.path(), role, opts()),
                |err| {
                    graph_mismatch(
                        err,
                        &dir.path().join(file),
                        &format!("file has {cut} bytes, the manifest says {len}"),
                    )
                },
            );
        }
        for extra in [1usize, 4096] {
            let longer = [bytes, &vec![0u8; extra]].concat();
            let dir = model_dir(&base, &[(file, &longer)]);
            c.case(
                "model-dir",
                format!("{file} with {extra} bytes appended"),
                || load(dir.path(), role, opts()),
                |err| graph_mismatch(err, &dir.path().join(file), "the manifest says"),
            );
        }
        // The manifest's size wrong.
        for size in [0u64, len as u64 - 1, len as u64 + 1, u64::MAX] {
            let m = edit(&base, |v| v["graphs"][e]["bytes"] = json!(size));
            let m: Value = serde_json::from_slice(&m).expect("JSON");
            let dir = model_dir(&m, &[(file, bytes)]);
            c.case(
                "model-dir",
                format!("{file}: manifest bytes = {size}"),
                || load(dir.path(), role, opts()),
                |err| {
                    graph_mismatch(
                        err,
                        &dir.path().join(file),
                        &format!("the manifest says {size}"),
                    )
                },
            );
        }
        // One byte flipped at spread offsets, manifest unchanged: checksum.
        let sha = base["graphs"][e]["sha256"]
            .as_str()
            .expect("sha")
            .to_string();
        for k in 0..6 {
            let at = k * (len - 1) / 5;
            let mut flipped = bytes.to_vec();
            flipped[at] ^= 0x01;
            let dir = model_dir(&base, &[(file, &flipped)]);
            c.case(
                "model-dir",
                format!("{file}: byte {at} flipped"),
                || load(dir.path(), role, opts()),
                |err| checksum(err, &dir.path().join(file), &sha, &flipped),
            );
        }
        // The manifest's checksum wrong (valid hex).
        let other = base["graphs"][1 - e]["sha256"]
            .as_str()
            .expect("sha")
            .to_string();
        for wrong in ["0".repeat(64), other] {
            let m: Value =
                serde_json::from_slice(&edit(&base, |v| v["graphs"][e]["sha256"] = json!(wrong)))
                    .expect("JSON");
            let dir = model_dir(&m, &[(file, bytes)]);
            c.case(
                "model-dir",
                format!("{file}: manifest sha256 {}…", &wrong[..8]),
                || load(dir.path(), role, opts()),
                |err| checksum(err, &dir.path().join(file), &wrong, bytes),
            );
        }
    }

    // No graph of the role and precision asked for.
    let missing: &[(&str, Role, Precision, Vec<usize>)] = &[
        (
            "no sampler fp32 entry",
            Role::Sampler,
            Precision::Fp32,
            vec![0],
        ),
        (
            "no filter fp32 entry",
            Role::Filter,
            Precision::Fp32,
            vec![1],
        ),
        (
            "no sampler fp16w entry",
            Role::Sampler,
            Precision::Fp16w,
            vec![4],
        ),
        (
            "no graphs at all",
            Role::Sampler,
            Precision::Fp32,
            (0..8).collect(),
        ),
    ];
    for (name, role, precision, drop_entries) in missing {
        let m: Value = serde_json::from_slice(&edit(&base, |v| {
            let graphs = v["graphs"].as_array_mut().expect("graphs");
            for i in drop_entries.iter().rev() {
                graphs.remove(*i);
            }
        }))
        .expect("JSON");
        let dir = model_dir(&m, &[]);
        let options = RuntimeOptions {
            precision: *precision,
            ..RuntimeOptions::default()
        };
        c.case(
            "model-dir",
            *name,
            || load(dir.path(), *role, options),
            |err| match err {
                RuntimeError::MissingGraph {
                    dir: d,
                    precision: p,
                    ..
                } => {
                    ensure(d == dir.path() && p == precision, || "wrong graph".into())?;
                    names(err, dir.path())
                }
                _ => Err("expected MissingGraph".into()),
            },
        );
    }
    // No calibration: no filter.
    let m: Value =
        serde_json::from_slice(&edit(&base, |v| v["outlier"] = Value::Null)).expect("JSON");
    let dir = model_dir(&m, &[]);
    c.case(
        "model-dir",
        "outlier: null, filter asked for",
        || load(dir.path(), Role::Filter, opts()),
        |err| match err {
            RuntimeError::NotCalibrated { dir: d } if d == dir.path() => names(err, dir.path()),
            _ => Err("expected NotCalibrated naming the directory".into()),
        },
    );
}

/// Graphs that pass the size and checksum checks but are the wrong graph: ONNX Runtime loads
/// them and the ports are checked against the manifest (one session load per case).
fn wrong_graphs(c: &mut Corpus, graphs: &Graphs) {
    let base = base_manifest();
    // Entry `e` of the manifest pointing at `bytes` (its checksum and size made to match).
    let pointing = |m: &Value, e: usize, bytes: &[u8]| -> Value {
        let mut m = m.clone();
        m["graphs"][e]["sha256"] = json!(sha256_hex(bytes));
        m["graphs"][e]["bytes"] = json!(bytes.len());
        m
    };
    let swaps: &[(&str, Role, &[u8], &str)] = &[
        (
            "sampler graph listed as the filter",
            Role::Filter,
            &graphs.sampler,
            "inputs are [\"u\", \"eps\"]",
        ),
        (
            "filter graph listed as the sampler",
            Role::Sampler,
            &graphs.filter,
            "inputs are [\"x\"]",
        ),
    ];
    for (name, role, bytes, needle) in swaps {
        let m = pointing(&base, entry(*role), bytes);
        let file = file_name(*role);
        let dir = model_dir(&m, &[(file, bytes)]);
        c.case(
            "model-dir-ports",
            *name,
            || load(dir.path(), *role, RuntimeOptions::default()),
            |e| graph_mismatch(e, &dir.path().join(file), needle),
        );
    }
    let fp16w = std::fs::read(quickstart().join("sampler_fp16w.onnx")).expect("fp16w");
    let m = pointing(&base, entry(Role::Filter), &fp16w);
    let dir = model_dir(&m, &[("filter_fp32.onnx", &fp16w)]);
    c.case(
        "model-dir-ports",
        "fp16w sampler listed as the fp32 filter",
        || load(dir.path(), Role::Filter, RuntimeOptions::default()),
        |e| graph_mismatch(e, &dir.path().join("filter_fp32.onnx"), "inputs are"),
    );
    // Dimensions that disagree with the graphs.
    let dims: &[DimCase] = &[
        (
            "latent 31",
            Role::Sampler,
            |v| v["latent"] = json!(31),
            "expected [N, 31]",
        ),
        (
            "latent 33",
            Role::Filter,
            |v| v["latent"] = json!(33),
            "expected [N, 33]",
        ),
        (
            "input_dim 783",
            Role::Sampler,
            |v| {
                v["input_dim"] = json!(783);
                v["image_shape"] = Value::Null;
                v["outlier"] = Value::Null;
            },
            "expected [N, 783]",
        ),
        (
            "input_dim 785",
            Role::Filter,
            |v| {
                v["input_dim"] = json!(785);
                v["image_shape"] = Value::Null;
                v["outlier"]["element_noise"] = json!(vec![0.01; 785]);
            },
            "expected [N, 785]",
        ),
        (
            "robust true (no x_log_var output)",
            Role::Filter,
            |v| v["robust"] = json!(true),
            "x_log_var",
        ),
    ];
    for (name, role, change, needle) in dims {
        let mut m = base.clone();
        change(&mut m);
        let file = file_name(*role);
        let dir = model_dir(&m, &[(file, graphs.bytes(*role))]);
        c.case(
            "model-dir-ports",
            format!("{}: {name}", file),
            || load(dir.path(), *role, RuntimeOptions::default()),
            |e| graph_mismatch(e, &dir.path().join(file), needle),
        );
    }
}

/// Bytes that are not an ONNX model, with a matching size and checksum in the manifest, so
/// they reach ONNX Runtime, which must refuse them.
fn onnx_bytes(c: &mut Corpus, graphs: &Graphs) {
    let base = base_manifest();
    let s = &graphs.sampler;
    let len = s.len();
    let mut cases: Vec<(String, Vec<u8>)> = vec![
        ("empty file".into(), vec![]),
        ("1 KiB of zeros".into(), vec![0; 1024]),
        ("1 KiB of 0xff".into(), vec![0xff; 1024]),
        (
            "4 KiB of noise".into(),
            (0..4096u32)
                .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
                .collect(),
        ),
        ("text".into(), b"this is not an ONNX model\n".to_vec()),
        (
            "the manifest".into(),
            std::fs::read(quickstart().join("manifest.json")).expect("manifest"),
        ),
        (
            "the graph reversed".into(),
            s.iter().rev().copied().collect(),
        ),
    ];
    for cut in [1usize, 2, 16, 100, 1000, len / 2, len - 64] {
        cases.push((format!("the sampler cut to {cut} bytes"), s[..cut].to_vec()));
    }
    let mut head = s.clone();
    head[..64].fill(0xff);
    cases.push(("first 64 bytes 0xff".into(), head));
    for (name, bytes) in cases {
        let mut m = base.clone();
        m["graphs"][0]["sha256"] = json!(sha256_hex(&bytes));
        m["graphs"][0]["bytes"] = json!(bytes.len());
        let dir = model_dir(&m, &[("sampler_fp32.onnx", &bytes)]);
        c.case(
            "onnx-bytes",
            name,
            || load(dir.path(), Role::Sampler, RuntimeOptions::default()),
            |e| {
                graph_mismatch(
                    e,
                    &dir.path().join("sampler_fp32.onnx"),
                    "ONNX Runtime cannot load it",
                )
            },
        );
    }
}

fn options(c: &mut Corpus) {
    for bad in ["gpu", "", "cuda,cpu", "CPU!", "npu"] {
        c.case(
            "options",
            format!("provider {bad:?}"),
            || Provider::parse(bad),
            |e| match e {
                RuntimeError::UnknownProvider(name) => {
                    ensure(name == &bad.trim().to_ascii_lowercase(), || name.clone())
                }
                _ => Err("expected UnknownProvider".into()),
            },
        );
    }
    for bad in ["cpu,gpu", " ,cuda;cpu"] {
        c.case(
            "options",
            format!("provider list {bad:?}"),
            || Provider::parse_list(bad),
            |e| match e {
                RuntimeError::UnknownProvider(_) => Ok(()),
                _ => Err("expected UnknownProvider".into()),
            },
        );
    }
    // Strict: an accelerator this build lacks is an error, before any session is made.
    #[cfg(not(any(feature = "cuda", feature = "tensorrt")))]
    for (provider, name) in [(Provider::Cuda, "cuda"), (Provider::TensorRt, "tensorrt")] {
        let options = RuntimeOptions {
            providers: vec![provider, Provider::Cpu],
            strict: true,
            ..RuntimeOptions::default()
        };
        c.case(
            "options",
            format!("strict {name}"),
            || load(&quickstart(), Role::Sampler, options),
            |e| match e {
                RuntimeError::ProviderUnavailable { provider, .. } if *provider == name => Ok(()),
                _ => Err("expected ProviderUnavailable".into()),
            },
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Buffers and non-finite inputs through the Rust API.

fn buffer_len(e: &RuntimeError, expected: usize, found: usize) -> Verdict {
    match e {
        RuntimeError::Buffer(CoreError::BufferLength {
            expected: x,
            found: f,
        }) => ensure(*x == expected && *f == found, || {
            format!("expected {expected}, found {found}")
        }),
        _ => Err("expected Buffer(BufferLength)".into()),
    }
}

fn buffers(c: &mut Corpus) {
    let model = ModelDir::open(&quickstart(), RuntimeOptions::default()).expect("quickstart");
    let d = model.input_dim();
    let k = model.latent();
    let mut sampler = model.sampler().expect("sampler");
    let mut filter = model.filter().expect("filter");

    // Sampler::sample_into.
    c.case(
        "rust-sampler",
        "sample_into n = 0",
        || sampler.sample_into(0, 0, &mut []),
        |e| {
            ensure(matches!(e, RuntimeError::EmptyBatch), || {
                "EmptyBatch".into()
            })
        },
    );
    c.case(
        "rust-sampler",
        "sample_into n = 0 with a full buffer",
        || sampler.sample_into(0, 0, &mut vec![0.0; d]),
        |e| {
            ensure(matches!(e, RuntimeError::EmptyBatch), || {
                "EmptyBatch".into()
            })
        },
    );
    for (n, len) in [
        (1, d - 1),
        (1, d + 1),
        (1, 0),
        (3, 3 * d - 1),
        (3, 2 * d),
        (3, 4 * d),
    ] {
        let mut out = vec![0.0f32; len];
        c.case(
            "rust-sampler",
            format!("sample_into n = {n}, out of {len}"),
            || sampler.sample_into(n, 0, &mut out),
            |e| buffer_len(e, n * d, len),
        );
    }
    for n in [usize::MAX, usize::MAX / d + 1] {
        c.case(
            "rust-sampler",
            format!("sample_into n = {n} (n * dim overflows)"),
            || sampler.sample_into(n, 0, &mut vec![0.0; d]),
            |e| buffer_len(e, usize::MAX, d),
        );
    }
    // Sampler::sample_with_noise.
    let noise = |len: usize| vec![0.0f32; len];
    let n = 2;
    let noise_cases: &[NoiseCase] = &[
        ("u short", n * k - 1, n * k, n * d, (n * k, n * k - 1)),
        ("u long", n * k + 1, n * k, n * d, (n * k, n * k + 1)),
        ("u empty", 0, n * k, n * d, (n * k, 0)),
        ("eps short", n * k, n * k - 1, n * d, (n * k, n * k - 1)),
        ("eps long", n * k, 3 * k, n * d, (n * k, 3 * k)),
        ("out short", n * k, n * k, n * d - 1, (n * d, n * d - 1)),
        ("out long", n * k, n * k, n * d + d, (n * d, n * d + d)),
        ("out of latent width", n * k, n * k, n * k, (n * d, n * k)),
    ];
    for (name, u, eps, out, (expected, found)) in noise_cases {
        let (u, eps, mut out) = (noise(*u), noise(*eps), noise(*out));
        c.case(
            "rust-sampler",
            format!("sample_with_noise {name}"),
            || sampler.sample_with_noise(n, &u, &eps, &mut out),
            |e| buffer_len(e, *expected, *found),
        );
    }
    c.case(
        "rust-sampler",
        "sample_with_noise n = 0, empty buffers",
        || sampler.sample_with_noise(0, &[], &[], &mut []),
        |e| {
            ensure(matches!(e, RuntimeError::EmptyBatch), || {
                "EmptyBatch".into()
            })
        },
    );
    c.case(
        "rust-sampler",
        "sample_with_noise n = usize::MAX",
        || sampler.sample_with_noise(usize::MAX, &noise(k), &noise(k), &mut noise(d)),
        |e| buffer_len(e, usize::MAX, k),
    );
    // After the errors, a good call works.
    let mut out = vec![0.0; 2 * d];
    sampler.sample_into(2, 1, &mut out).expect("a good call");
    assert!(out.iter().all(|v| v.is_finite()));

    // OutlierFilter::filter_into.
    let n = 4;
    let x: Vec<f32> = out.iter().chain(&out).copied().collect();
    let mut fo = FilterOutput::new(n, d);
    let zero_passes = |e: &RuntimeError| {
        ensure(matches!(e, RuntimeError::ZeroPasses), || {
            "ZeroPasses".into()
        })
    };
    c.case(
        "rust-filter",
        "passes = 0",
        || filter.filter_into(&x, n, 0, &mut fo),
        zero_passes,
    );
    c.case(
        "rust-filter",
        "passes = 0 and n = 0",
        || filter.filter_into(&[], 0, 0, &mut fo),
        zero_passes,
    );
    c.case(
        "rust-filter",
        "n = 0",
        || filter.filter_into(&[], 0, 1, &mut fo),
        |e| {
            ensure(matches!(e, RuntimeError::EmptyBatch), || {
                "EmptyBatch".into()
            })
        },
    );
    c.case(
        "rust-filter",
        "n = 0 with rows",
        || filter.filter_into(&x, 0, 3, &mut fo),
        |e| {
            ensure(matches!(e, RuntimeError::EmptyBatch), || {
                "EmptyBatch".into()
            })
        },
    );
    for (name, len) in [
        ("x short", n * d - 1),
        ("x long", n * d + 1),
        ("x empty", 0),
    ] {
        let xs = vec![0.5f32; len];
        c.case(
            "rust-filter",
            name,
            || filter.filter_into(&xs, n, 1, &mut fo),
            |e| buffer_len(e, n * d, len),
        );
    }
    c.case(
        "rust-filter",
        "n = usize::MAX",
        || filter.filter_into(&x, usize::MAX, 1, &mut fo),
        |e| buffer_len(e, usize::MAX, n * d),
    );
    for (name, rows, dim) in [
        ("output of n - 1 rows", n - 1, d),
        ("output of 0 rows", 0, d),
        ("output of width d - 1", n, d - 1),
        ("output of width d + 1", n, d + 1),
        ("output of width 0", n, 0),
    ] {
        let mut small = FilterOutput::new(rows, dim);
        c.case(
            "rust-filter",
            name,
            || filter.filter_into(&x, n, 1, &mut small),
            |e| match e {
                RuntimeError::FilterOutputTooSmall {
                    rows: r,
                    dim: dd,
                    capacity,
                    out_dim,
                } => ensure(
                    *r == n && *dd == d && *capacity == rows && *out_dim == dim,
                    || "wrong numbers".into(),
                ),
                _ => Err("expected FilterOutputTooSmall".into()),
            },
        );
    }
    // NaN and infinities at several positions.
    let specials: [(&str, f32); 5] = [
        ("NaN", f32::NAN),
        ("-NaN", -f32::NAN),
        ("signalling NaN", f32::from_bits(0x7f80_0001)),
        ("+Inf", f32::INFINITY),
        ("-Inf", f32::NEG_INFINITY),
    ];
    for (row, col) in [(0, 0), (0, d - 1), (2, 17), (n - 1, d - 1)] {
        for (what, value) in specials {
            let mut bad = x.clone();
            bad[row * d + col] = value;
            c.case(
                "rust-nonfinite",
                format!("{what} at row {row}, column {col}"),
                // The rows the output holds after the failed call come with the error.
                || {
                    filter
                        .filter_into(&bad, n, 2, &mut fo)
                        .map_err(|e| (e, fo.rows()))
                },
                |(e, rows_left)| match e {
                    RuntimeError::NonFiniteInput { row: r, column, .. } => {
                        ensure(*r == row && *column == col, || "wrong position".into())?;
                        mentions(&e.to_string(), &format!("row {row}, column {col}"))?;
                        ensure(*rows_left == 0, || "a failed call left rows".into())
                    }
                    _ => Err("expected NonFiniteInput".into()),
                },
            );
        }
    }
    // The first non-finite value is the one reported.
    let mut two = x.clone();
    two[3 * d + 5] = f32::NAN;
    two[d + 9] = f32::INFINITY;
    c.case(
        "rust-nonfinite",
        "Inf at row 1 before NaN at row 3",
        || filter.filter_into(&two, n, 1, &mut fo),
        |e| match e {
            RuntimeError::NonFiniteInput {
                row: 1, column: 9, ..
            } => Ok(()),
            _ => Err("expected NonFiniteInput at row 1, column 9".into()),
        },
    );
    // graph_outputs.
    c.case(
        "rust-filter",
        "graph_outputs n = 0",
        || filter.graph_outputs(&[], 0),
        |e| {
            ensure(matches!(e, RuntimeError::EmptyBatch), || {
                "EmptyBatch".into()
            })
        },
    );
    c.case(
        "rust-filter",
        "graph_outputs x short",
        || filter.graph_outputs(&x[..d + 1], 2),
        |e| buffer_len(e, 2 * d, d + 1),
    );
    // After the errors, a good call works.
    filter.filter_into(&x, n, 2, &mut fo).expect("a good call");
    assert_eq!(fo.rows(), n);

    // The core's filter_row: every slice of the wrong length, and empty rows.
    let row = vec![0.5f32; 8];
    let lengths: [(&str, [usize; 5]); 5] = [
        ("x_mean", [7, 8, 8, 8, 8]),
        ("log_var", [8, 9, 8, 8, 8]),
        ("mask", [8, 8, 0, 8, 8]),
        ("cleaned", [8, 8, 8, 7, 8]),
        ("element_scores", [8, 8, 8, 8, 3]),
    ];
    for (name, [mean_len, log_var_len, mask_len, cleaned_len, scores_len]) in lengths {
        let mut mask = vec![0u8; mask_len];
        let mut cleaned = vec![0.0f32; cleaned_len];
        let mut element_scores = vec![0.0f32; scores_len];
        let found = [mean_len, log_var_len, mask_len, cleaned_len, scores_len]
            .into_iter()
            .find(|&l| l != 8)
            .expect("one wrong");
        let (mean, log_var) = (vec![0.25f32; mean_len], vec![-4.6f32; log_var_len]);
        c.case(
            "core-filter-row",
            format!("{name} of the wrong length"),
            || {
                let out = RowOutput {
                    mask: &mut mask,
                    cleaned: &mut cleaned,
                    element_scores: &mut element_scores,
                };
                filter_row(&row, &mean, &log_var, 9.0, &InputGate::OPEN, out)
            },
            |e| {
                ensure(*e == CoreError::BufferLength { expected: 8, found }, || {
                    format!("expected BufferLength {{ 8, {found} }}")
                })
            },
        );
    }
    c.case(
        "core-filter-row",
        "empty row",
        || {
            let out = RowOutput {
                mask: &mut [],
                cleaned: &mut [],
                element_scores: &mut [],
            };
            filter_row(&[], &[], &[], 9.0, &InputGate::OPEN, out)
        },
        |e| {
            ensure(
                *e == CoreError::BufferLength {
                    expected: 1,
                    found: 0,
                },
                || "expected BufferLength { 1, 0 }".into(),
            )
        },
    );
}

#[test]
fn runtime_hardening_corpus() {
    let mut c = Corpus::new("runtime");
    manifests(&mut c);
    manifest_seeds(&mut c);
    let graphs = Graphs::read();
    model_dirs(&mut c, &graphs);
    wrong_graphs(&mut c, &graphs);
    onnx_bytes(&mut c, &graphs);
    options(&mut c);
    buffers(&mut c);
    c.finish();
}
