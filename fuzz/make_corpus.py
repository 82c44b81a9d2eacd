#!/usr/bin/env python3
"""Writes the seed inputs of every fuzz target into fuzz/corpus/<target>/ (standard library only).

Seeds are small valid inputs plus near-valid ones (one field wrong), named seed-*, so libFuzzer
starts from the formats' structure. Re-running overwrites only the seed-* files; whatever
libFuzzer added to the corpus stays.
"""

import gzip
import json
import pathlib
import struct

FUZZ = pathlib.Path(__file__).resolve().parent
ROOT = FUZZ.parent


def put(target, name, data):
    d = FUZZ / "corpus" / target
    d.mkdir(parents=True, exist_ok=True)
    # mtime 0 keeps the gzip bytes identical from run to run.
    (d / f"seed-{name}").write_bytes(data)


def gz(data):
    return gzip.compress(data, mtime=0)


# --- manifest ----------------------------------------------------------------------------------

SHA = "0123456789abcdef" * 4
minimal = {
    "format_version": 2,
    "trainer_version": "0.1.0",
    "input_dim": 4,
    "latent": 2,
    "image_shape": [2, 2],
    "scaling": "unit",
    "gamma_stage1": 0.01,
    "gamma_stage2": 0.5,
    "robust": False,
    "graphs": [],
    "outlier": None,
}
with_graphs = dict(
    minimal,
    graphs=[
        {"role": "sampler", "precision": "fp32", "file": "sampler_fp32.onnx", "sha256": SHA, "bytes": 10},
        {"role": "filter", "precision": "fp16w", "file": "filter_fp16w.onnx", "sha256": SHA, "bytes": 12},
    ],
)
robust = dict(
    with_graphs,
    robust=True,
    scaling="real",
    image_shape=None,
    outlier={
        "score_threshold": 3.5,
        "element_threshold": 9.0,
        "contamination": 0.1,
        "element_noise": [0.25, 0.5, 1e-4, 2.0],
    },
)


def manifest(name, value, compact=False):
    text = json.dumps(value, separators=(",", ":")) if compact else json.dumps(value, indent=2)
    put("manifest", name, text.encode())


put("manifest", "quickstart.json", (ROOT / "models/quickstart/manifest.json").read_bytes())
manifest("minimal.json", minimal)
manifest("minimal-compact.json", minimal, compact=True)
manifest("graphs.json", with_graphs)
manifest("robust.json", robust, compact=True)
manifest("bad-version.json", dict(minimal, format_version=3))
manifest("bad-shape.json", dict(minimal, image_shape=[3, 2]))
manifest("bad-sha.json", dict(with_graphs, graphs=[dict(with_graphs["graphs"][0], sha256="ABC")]))
manifest("bad-file.json", dict(with_graphs, graphs=[dict(with_graphs["graphs"][0], file="../x.onnx")]))
manifest("duplicate-graph.json", dict(with_graphs, graphs=[with_graphs["graphs"][0]] * 2))
manifest("bad-noise.json", dict(robust, outlier=dict(robust["outlier"], element_noise=[1.0, 0.0, 1.0, 1.0])))
manifest("short-noise.json", dict(robust, outlier=dict(robust["outlier"], element_noise=[1.0])))
put("manifest", "truncated.json", json.dumps(minimal).encode()[:-7])
put("manifest", "nested.json", b'{"format_version":2,"x":[[[[[[{"a":[1]}]]]]]]}')

# --- idx ---------------------------------------------------------------------------------------


def idx(code, dims, payload):
    return bytes([0, 0, code, len(dims)]) + b"".join(struct.pack(">I", d) for d in dims) + payload


images = idx(0x08, [2, 3, 3], bytes(range(0, 18 * 14, 14)))
labels = idx(0x08, [5], bytes([0, 1, 2, 9, 255]))
floats = idx(0x0D, [4, 2], struct.pack(">8f", 0.0, -1.5, 2.25, 1e-3, 3e8, -0.0, 7.0, 0.5))
for name, data in [("u8-images.idx", images), ("u8-labels.idx", labels), ("f32.idx", floats)]:
    put("idx", name, data)
    put("idx", name + ".gz", gz(data))
put("idx", "truncated.idx", images[:-1])
put("idx", "trailing.idx", images + b"\x00")
put("idx", "trailing.idx.gz", gz(floats + b"\x00\x00"))
put("idx", "truncated.idx.gz", gz(floats)[:-6])
put("idx", "type-i32.idx", idx(0x0C, [2], bytes(8)))
put("idx", "nan.idx", idx(0x0D, [2], struct.pack(">2f", 1.0, float("nan"))))
put("idx", "zero-dim.idx", idx(0x08, [2, 0], b""))
put("idx", "huge-dims.idx.gz", gz(idx(0x08, [65536, 65535], bytes(64))))

# --- npy ---------------------------------------------------------------------------------------


def npy(dict_text, payload, major=1):
    header = dict_text
    prefix = 10 if major == 1 else 12
    header += " " * ((64 - (prefix + len(header) + 1) % 64) % 64) + "\n"
    size = struct.pack("<H", len(header)) if major == 1 else struct.pack("<I", len(header))
    return b"\x93NUMPY" + bytes([major, 0]) + size + header.encode("latin1") + payload


def npy_dict(descr, shape, fortran=False):
    dims = "".join(f"{d}, " for d in shape) if len(shape) == 1 else ", ".join(map(str, shape))
    return f"{{'descr': '{descr}', 'fortran_order': {fortran}, 'shape': ({dims}), }}"


f32 = struct.pack("<6f", 0.0, 1.0, -2.5, 0.125, 1e-7, 3.0)
put("npy", "f32-2x3.npy", npy(npy_dict("<f4", [2, 3]), f32))
put("npy", "f32-6.npy", npy(npy_dict("<f4", [6]), f32))
put("npy", "f32-v2.npy", npy(npy_dict("<f4", [3, 2]), f32, major=2))
put("npy", "f32-big-endian.npy", npy(npy_dict(">f4", [2, 3]), struct.pack(">6f", 1, 2, 3, 4, 5, 6)))
put("npy", "u8-2x2x2.npy", npy(npy_dict("|u1", [2, 2, 2]), bytes([0, 1, 2, 3, 128, 200, 254, 255])))
put("npy", "f64.npy", npy(npy_dict("<f8", [2]), struct.pack("<2d", 1.0, 2.0)))
put("npy", "fortran.npy", npy(npy_dict("<f4", [2, 3], fortran=True), f32))
put("npy", "truncated.npy", npy(npy_dict("<f4", [2, 3]), f32[:-1]))
put("npy", "trailing.npy", npy(npy_dict("<f4", [2, 3]), f32 + b"\x00"))
put("npy", "scalar.npy", npy("{'descr': '<f4', 'fortran_order': False, 'shape': (), }", f32[:4]))
put("npy", "inf.npy", npy(npy_dict("<f4", [2]), struct.pack("<2f", 1.0, float("inf"))))
put("npy", "overflow.npy", npy(npy_dict("<f4", [2**40, 2**40]), b""))

# --- micro_blob --------------------------------------------------------------------------------

# Prefixes of the quickstart's int8 blobs: the header alone, the header and layer table, and the
# first 8 KiB (libFuzzer's runs use -max_len=8192; the whole blobs are a second corpus directory,
# models/quickstart, see fuzz/README.md). HEADER_BYTES, LAYER_BYTES: runtime/src/micro/format.rs;
# the layer count is the header's 7th word.
for role in ["sampler", "filter"]:
    blob = (ROOT / f"models/quickstart/{role}_micro_int8.bin").read_bytes()
    layers = struct.unpack_from("<I", blob, 8 + 4 * 6)[0]
    table = 64 + 32 * layers
    put("micro_blob", f"{role}-header.bin", blob[:64])
    put("micro_blob", f"{role}-layer-table.bin", blob[:table])
    put("micro_blob", f"{role}-8k.bin", blob[:8192])
