//! `edgevae triton` on the committed quickstart model: one model per graph with its config and
//! a byte-identical copy of the graph; a graph that does not match the manifest's SHA-256 is
//! refused naming the file. (`.ci/run` also validates the configs against Triton's own
//! `ModelConfig` with `scripts/check_triton.py`.)

use std::path::Path;

use edgevae_runtime::core::graph_ports;
use edgevae_trainer::export::triton::{write_repository, TritonOptions};

fn quickstart() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/quickstart")
}

#[test]
fn writes_one_model_per_graph_with_the_graph_contract() {
    let out = tempfile::tempdir().expect("temp dir");
    let names =
        write_repository(&quickstart(), out.path(), &TritonOptions::default()).expect("repository");
    assert_eq!(
        names,
        [
            "sampler_fp32",
            "filter_fp32",
            "sampler_fp16",
            "filter_fp16",
            "sampler_fp16w",
            "filter_fp16w",
            "sampler_int8",
            "filter_int8"
        ]
    );
    for name in &names {
        let (role, precision) = name.split_once('_').expect("role_precision");
        let config = std::fs::read_to_string(out.path().join(name).join("config.pbtxt"))
            .expect("config.pbtxt");
        assert!(config.contains(&format!("name: \"{name}\"")), "{config}");
        assert!(
            config.contains("platform: \"onnxruntime_onnx\""),
            "{config}"
        );
        assert!(config.contains("max_batch_size: 256"), "{config}");
        let ports: &[&str] = if role == "sampler" {
            &[
                graph_ports::U.name,
                graph_ports::EPS.name,
                graph_ports::X.name,
            ]
        } else {
            &[
                graph_ports::X.name,
                graph_ports::Z_MEAN.name,
                graph_ports::X_MEAN.name,
            ]
        };
        for port in ports {
            assert!(
                config.contains(&format!("name: \"{port}\"")),
                "{name}: {port}"
            );
        }
        assert_eq!(
            config.contains("precision_mode"),
            precision == "fp16",
            "{name}: TensorRT FP16 only for fp16 graphs"
        );
        let copied = std::fs::read(out.path().join(name).join("1/model.onnx")).expect("model");
        let original =
            std::fs::read(quickstart().join(format!("{role}_{precision}.onnx"))).expect("graph");
        assert_eq!(copied, original, "{name}: the graph is copied unchanged");
    }
    let readme = std::fs::read_to_string(out.path().join("README.md")).expect("README");
    assert!(
        readme.contains("`element_threshold` 4.394449154672439"),
        "{readme}"
    );
}

#[test]
fn a_graph_that_does_not_match_the_manifest_is_refused() {
    let model = tempfile::tempdir().expect("temp dir");
    for entry in std::fs::read_dir(quickstart()).expect("quickstart") {
        let entry = entry.expect("entry");
        std::fs::copy(entry.path(), model.path().join(entry.file_name())).expect("copy");
    }
    let graph = model.path().join("filter_fp16w.onnx");
    let mut bytes = std::fs::read(&graph).expect("graph");
    bytes[1000] ^= 1;
    std::fs::write(&graph, bytes).expect("write");
    let out = tempfile::tempdir().expect("temp dir");
    let err = write_repository(model.path(), out.path(), &TritonOptions::default())
        .expect_err("a tampered graph")
        .to_string();
    assert!(
        err.contains("filter_fp16w.onnx") && err.contains("SHA-256"),
        "{err}"
    );
    let zero = TritonOptions {
        max_batch_size: 0,
        ..TritonOptions::default()
    };
    let err = write_repository(&quickstart(), out.path(), &zero).expect_err("batch 0");
    assert!(err.to_string().contains("max batch size"), "{err}");
}
