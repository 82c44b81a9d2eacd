"""Cleans a dataset of .npy shards with edgevae's outlier filter on a Ray cluster.

Ray Data reads the list of shards and runs `map_batches` on a pool of actors; each actor holds
one edgevae filter (the Python binding over libedgevae, so the scoring is edgevae's own C ABI
code, not a re-implementation) and writes, per input shard `NAME.npy`, `NAME.cleaned.npy`
(float32), `NAME.mask.npy` (uint8, 1 = outlier) and `NAME.scores.npy` (float32 row scores)
into the output directory, as `edgevae filter` writes cleaned/mask/scores.

    python examples/ray/clean_dataset.py --address 127.0.0.1:6390 --model models/quickstart \
        --input shards/ --output cleaned/ [--passes 3] [--actors 2]

Prints, per shard, the node that cleaned it; the last line counts the nodes used.
"""

import argparse
import json
import os
import pathlib
import sys
import time

import numpy as np
import ray

REPO = pathlib.Path(__file__).resolve().parents[2]
# The workers import this module and the binding from the repository (one machine, or a shared
# checkout).
RUNTIME_ENV = {
    "env_vars": {"PYTHONPATH": f"{pathlib.Path(__file__).resolve().parent}:{REPO / 'python'}"}
}


@ray.remote(num_cpus=0)
class _Gate:
    """Counts the actors that are ready, so that each waits for the whole pool: otherwise the
    first actor up cleans a small dataset alone before the others have loaded their model."""

    def __init__(self):
        self.ready = 0

    def arrive(self):
        self.ready += 1

    def count(self):
        return self.ready


class ShardCleaner:
    """A Ray actor holding one edgevae filter; cleans whole shards."""

    def __init__(self, model, output, passes, threads, gate, actors):
        sys.path.insert(0, str(REPO / "python"))
        import edgevae

        self.model = edgevae.Model(model, threads=threads)
        self.filter = self.model.filter()
        self.output = pathlib.Path(output)
        self.passes = passes
        self.node = ray.get_runtime_context().get_node_id()
        ray.get(gate.arrive.remote())
        deadline = time.monotonic() + 120
        while ray.get(gate.count.remote()) < actors and time.monotonic() < deadline:
            time.sleep(0.05)

    def __call__(self, batch):
        nodes, rows = [], []
        for path in batch["path"]:
            path = pathlib.Path(path)
            x = np.ascontiguousarray(np.load(path), dtype=np.float32)
            scores, mask, cleaned = self.filter.run(x, passes=self.passes)
            stem = self.output / path.stem
            np.save(f"{stem}.cleaned.npy", cleaned)
            np.save(f"{stem}.mask.npy", mask)
            np.save(f"{stem}.scores.npy", scores)
            nodes.append(self.node)
            rows.append(len(x))
        return {"path": batch["path"], "node": np.array(nodes), "rows": np.array(rows)}


def clean(address, model, input_dir, output_dir, passes=1, actors=2, threads=1):
    """Cleans every `*.npy` of `input_dir` into `output_dir`; returns [(shard, node, rows)]."""
    shards = sorted(str(p) for p in pathlib.Path(input_dir).glob("*.npy"))
    if not shards:
        raise FileNotFoundError(f"no .npy shards in {input_dir}")
    os.makedirs(output_dir, exist_ok=True)
    ray.init(address=address, _node_ip_address="127.0.0.1", ignore_reinit_error=True,
             log_to_driver=False, runtime_env=RUNTIME_ENV)
    ds = ray.data.from_items([{"path": s} for s in shards], override_num_blocks=len(shards))
    gate = _Gate.remote()
    done = ds.map_batches(
        ShardCleaner,
        fn_constructor_args=(str(model), str(output_dir), passes, threads, gate, actors),
        batch_size=1,
        # A fixed pool, one shard in flight per actor: the shards are dealt out in turn.
        compute=ray.data.ActorPoolStrategy(size=actors, max_tasks_in_flight_per_actor=1),
        num_cpus=1,
    ).take_all()
    return [(r["path"], r["node"], int(r["rows"])) for r in done]


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--address", required=True, help="the Ray cluster, host:port")
    p.add_argument("--model", required=True)
    p.add_argument("--input", required=True, help="a directory of .npy shards [n, input_dim]")
    p.add_argument("--output", required=True)
    p.add_argument("--passes", type=int, default=1)
    p.add_argument("--actors", type=int, default=2)
    args = p.parse_args()
    done = clean(args.address, args.model, args.input, args.output, args.passes, args.actors)
    for path, node, rows in done:
        print(f"{path}: {rows} rows on node {node[:12]}")
    print(json.dumps({"shards": len(done), "nodes": len({n for _, n, _ in done})}))


if __name__ == "__main__":
    main()
