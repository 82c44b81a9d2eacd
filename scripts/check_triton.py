"""Validates a Triton model repository written by `edgevae triton` without a Triton server
(none installs here: its wheels need Python 3.12 and glibc 2.39):

- every `config.pbtxt` parses, with protobuf's text format, as Triton's own `ModelConfig`
  message (from the `tritonclient` package), strictly (an unknown field is an error);
- platform `onnxruntime_onnx`, a positive `max_batch_size`, dynamic batching, an instance
  group; TensorRT FP16 as accelerator exactly for the fp16 graphs;
- input and output names, order, types and dims agree with the ONNX graph's, the batch
  dimension symbolic;
- `1/model.onnx` passes `onnx.checker` and runs in Python onnxruntime on a batch of 3, giving
  finite outputs of the configured widths;
- the README gives the manifest's thresholds.

Usage: check_triton.py REPOSITORY
"""

import json
import pathlib
import sys

import numpy as np
import onnx
import onnxruntime as ort
from google.protobuf import text_format
from tritonclient.grpc import model_config_pb2

repo = pathlib.Path(sys.argv[1])
manifest = json.loads((repo / "manifest.json").read_text())
models = sorted(p for p in repo.iterdir() if p.is_dir())
expected = sorted(f"{g['role']}_{g['precision']}" for g in manifest["graphs"])
assert [m.name for m in models] == expected, (expected, [m.name for m in models])
ELEM = onnx.TensorProto.FLOAT

for model in models:
    config = text_format.Parse((model / "config.pbtxt").read_text(), model_config_pb2.ModelConfig())
    assert config.name == model.name, config.name
    assert config.platform == "onnxruntime_onnx", config.platform
    assert config.max_batch_size > 0
    assert config.HasField("dynamic_batching")
    assert len(config.instance_group) == 1 and config.instance_group[0].count >= 1
    accelerators = config.optimization.execution_accelerators.gpu_execution_accelerator
    fp16 = model.name.endswith("_fp16")
    assert [a.name for a in accelerators] == (["tensorrt"] if fp16 else []), model.name
    if fp16:
        assert accelerators[0].parameters["precision_mode"] == "FP16"

    path = model / "1" / "model.onnx"
    graph = onnx.load(str(path))
    onnx.checker.check_model(graph, full_check=True)
    for kind, ports, values in (
        ("input", config.input, graph.graph.input),
        ("output", config.output, graph.graph.output),
    ):
        assert [p.name for p in ports] == [v.name for v in values], (model.name, kind)
        for p, v in zip(ports, values):
            assert p.data_type == model_config_pb2.TYPE_FP32, (model.name, p.name)
            assert v.type.tensor_type.elem_type == ELEM, (model.name, v.name)
            dims = v.type.tensor_type.shape.dim
            assert dims[0].dim_param and not dims[0].HasField("dim_value"), (model.name, v.name)
            assert list(p.dims) == [d.dim_value for d in dims[1:]], (model.name, p.name)

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    feeds = {}
    for p in config.input:
        width = int(p.dims[0])
        feeds[p.name] = (
            rng.random((3, width)) if p.name == "x" else rng.standard_normal((3, width))
        ).astype(np.float32)
    outputs = session.run([p.name for p in config.output], feeds)
    for p, out in zip(config.output, outputs):
        assert out.shape == (3, int(p.dims[0])), (model.name, p.name, out.shape)
        assert np.isfinite(out).all(), (model.name, p.name)
    print(f"{model.name}: config parses as ModelConfig, ports agree with the graph, runs in onnxruntime")

readme = (repo / "README.md").read_text()
outlier = manifest["outlier"]
if outlier is not None:
    for key in ("element_threshold", "score_threshold"):
        assert f"`{key}` {outlier[key]}" in readme, key
print(f"{repo}: {len(models)} Triton models valid")
