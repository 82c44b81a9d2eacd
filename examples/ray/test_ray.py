"""The Ray examples on a local two-node cluster (two `ray start` processes on 127.0.0.1, one CPU
each, usage statistics off), bounded in time. A cluster that cannot start fails the tests with
Ray's output; nothing is skipped.

    PYTHONPATH=python target/venv-ray/bin/python -m pytest -q -s examples/ray

Needs libedgevae.so and the edgevae binary (`cargo build --release -p edgevae-ffi -p
edgevae-trainer`) and ONNX Runtime (`scripts/fetch-onnxruntime.sh`).
"""

import concurrent.futures
import json
import os
import pathlib
import socket
import subprocess
import sys
import time
import urllib.request

import numpy as np
import pytest

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(REPO / "python"))

import clean_dataset  # noqa: E402
import edgevae  # noqa: E402

MODEL = REPO / "models" / "quickstart"
CLI = REPO / "target" / "release" / "edgevae"
RAY = pathlib.Path(sys.executable).parent / "ray"
ENV = dict(os.environ, RAY_USAGE_STATS_ENABLED="0", PYTHONPATH=f"{HERE}:{REPO / 'python'}")
# The serve load test's figures, for docs/results.md.
FIGURES = REPO / "target" / "ray-serve-figures.json"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(cmd, timeout):
    cmd = [str(c) for c in cmd]
    done = subprocess.run(cmd, env=ENV, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{' '.join(cmd)} failed:\n{done.stdout}\n{done.stderr}"
    return done


@pytest.fixture(scope="session")
def cluster():
    port = free_port()
    address = f"127.0.0.1:{port}"
    common = ["--node-ip-address", "127.0.0.1", "--num-cpus", "1", "--disable-usage-stats"]
    try:
        run([RAY, "start", "--head", "--port", port, "--include-dashboard=false", *common], 120)
        run([RAY, "start", "--address", address, *common], 120)
        yield address
    finally:
        import ray

        # The driver first, so that stopping the nodes is not reported as a lost raylet.
        ray.shutdown()
        subprocess.run([RAY, "stop", "--force"], env=ENV, capture_output=True, timeout=120)


def dirty_rows(n, seed):
    with edgevae.Model(MODEL, threads=1) as m:
        x = m.sampler().sample(n, seed=seed)
    flip = np.random.default_rng(seed).random(x.shape) < 0.05
    x[flip] = 1 - x[flip]
    return x


def test_cleaning_shards_on_two_nodes_equals_edgevae_filter(cluster, tmp_path):
    shards, out = tmp_path / "shards", tmp_path / "cleaned"
    shards.mkdir()
    for i in range(6):
        np.save(shards / f"part-{i}.npy", dirty_rows(40 + 7 * i, seed=100 + i))
    done = clean_dataset.clean(cluster, MODEL, shards, out, passes=2, actors=2)
    assert len(done) == 6
    nodes = {node for _, node, _ in done}
    assert len(nodes) == 2, f"the work ran on {len(nodes)} node(s): {done}"
    for i in range(6):
        ref = tmp_path / f"cli-{i}"
        run([CLI, "filter", "--model", MODEL, "--input", shards / f"part-{i}.npy", "--passes", 2,
             "--threads", 1, "--out", ref], 120)
        for part in ("cleaned", "mask", "scores"):
            got = np.load(out / f"part-{i}.{part}.npy")
            want = np.load(ref / f"{part}.npy")
            np.testing.assert_array_equal(got, want, err_msg=f"part-{i} {part}")


def post(url, body, timeout=30):
    req = urllib.request.Request(url, data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    started = time.perf_counter()
    with urllib.request.urlopen(req, timeout=timeout) as r:
        reply = json.loads(r.read())
    return reply, time.perf_counter() - started


def percentiles(seconds):
    ms = np.array(seconds) * 1e3
    return {"p50_ms": float(np.percentile(ms, 50)), "p99_ms": float(np.percentile(ms, 99))}


def test_serve_batches_requests_and_answers_each_correctly(cluster):
    import serve as edgevae_serve

    port = free_port()
    url = edgevae_serve.start(cluster, MODEL, port, replicas=2)
    requests, clients, limit = 240, 16, 180.0
    rng = np.random.default_rng(5)
    pool = dirty_rows(64, seed=9)
    bodies = []
    for i in range(requests):
        rows = rng.integers(0, len(pool), size=int(rng.integers(1, 4)))
        bodies.append({"x": pool[rows].tolist(), "passes": 1, "rows": rows})

    # Warm-up: both replicas loaded before timing.
    for _ in range(4):
        post(f"{url}/filter", {"x": pool[:1].tolist(), "passes": 1}, timeout=120)
    started = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(clients) as ex:
        futures = [ex.submit(post, f"{url}/filter", {"x": b["x"], "passes": 1}) for b in bodies]
        results = [f.result(timeout=limit) for f in futures]
    wall = time.perf_counter() - started
    assert wall < limit

    with edgevae.Model(MODEL, threads=1) as m:
        f = m.filter()
        direct = []
        for b in bodies:
            x = np.ascontiguousarray(np.asarray(b["x"], dtype=np.float32))
            t = time.perf_counter()
            want = f.run(x, passes=1)
            direct.append(time.perf_counter() - t)
            reply = results[len(direct) - 1][0]
            assert "error" not in reply, reply
            # Served in a batch with other requests' rows: the same rows, the same model, so
            # the same values up to the GEMM rounding of another batch size.
            np.testing.assert_allclose(reply["scores"], want[0], rtol=1e-5, atol=1e-4)
            np.testing.assert_allclose(reply["cleaned"], want[2], atol=1e-4)
            mask = np.asarray(reply["mask"], dtype=np.uint8)
            assert (mask != want[1]).mean() <= 1e-3, "masks differ"
    batches = [r[0]["batch"] for r in results]
    assert max(batches) > 1, "no request was batched with another"
    sample, _ = post(f"{url}/sample", {"n": 3, "seed": 7})
    with edgevae.Model(MODEL, threads=1) as m:
        np.testing.assert_allclose(sample["x"], m.sampler().sample(3, seed=7), atol=1e-5)

    figures = {
        "requests": requests,
        "clients": clients,
        "rows_per_request": "1-3",
        "replicas": 2,
        "nodes": 2,
        "batch_sizes_seen": sorted(set(batches)),
        "mean_batch": float(np.mean(batches)),
        "served_throughput_rps": requests / wall,
        "served": percentiles([r[1] for r in results]),
        "in_process_throughput_rps": requests / sum(direct),
        "in_process": percentiles(direct),
        "cpu": next(
            line.split(":", 1)[1].strip()
            for line in open("/proc/cpuinfo")
            if line.startswith("model name")
        ),
    }
    FIGURES.parent.mkdir(exist_ok=True)
    FIGURES.write_text(json.dumps(figures, indent=1))
    print("\nray serve load test:", json.dumps(figures))
