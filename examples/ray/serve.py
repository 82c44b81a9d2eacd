"""Serves edgevae's sampler and outlier filter over HTTP with Ray Serve, on 127.0.0.1.

Two or more replicas, each holding an edgevae model (the Python binding over libedgevae);
requests are batched with `@serve.batch`: the rows of every filter request in a batch go
through one filter call, and each response says how large its batch was.

    POST /edgevae/filter  {"x": [[...], ...], "passes": 1}  -> {"scores", "mask", "cleaned", "batch"}
    POST /edgevae/sample  {"n": 4, "seed": 7}               -> {"x", "batch"}

    python examples/ray/serve.py --address 127.0.0.1:6390 --model models/quickstart --port 8123

The batch size of a request is the number of requests served together (not rows).
"""

import argparse
import pathlib
import sys
import time

import numpy as np
import ray
from ray import serve
from starlette.requests import Request

REPO = pathlib.Path(__file__).resolve().parents[2]
# The workers import this module and the binding from the repository (one machine, or a shared
# checkout).
RUNTIME_ENV = {
    "env_vars": {"PYTHONPATH": f"{pathlib.Path(__file__).resolve().parent}:{REPO / 'python'}"}
}


@serve.deployment(ray_actor_options={"num_cpus": 0.5})
class EdgevaeService:
    def __init__(self, model, passes_max=8):
        sys.path.insert(0, str(REPO / "python"))
        import edgevae

        self.model = edgevae.Model(model, threads=1)
        self.sampler = self.model.sampler()
        self.filter = self.model.filter()
        self.passes_max = passes_max

    @serve.batch(max_batch_size=16, batch_wait_timeout_s=0.005)
    async def filter_batch(self, requests):
        # One filter call per number of passes asked for, over the rows of all its requests.
        out = [None] * len(requests)
        for passes in sorted({p for _, p in requests}):
            idx = [i for i, (_, p) in enumerate(requests) if p == passes]
            x = np.ascontiguousarray(np.concatenate([requests[i][0] for i in idx]))
            scores, mask, cleaned = self.filter.run(x, passes=passes)
            at = 0
            for i in idx:
                n = len(requests[i][0])
                out[i] = {
                    "scores": scores[at:at + n].tolist(),
                    "mask": mask[at:at + n].tolist(),
                    "cleaned": cleaned[at:at + n].tolist(),
                    "batch": len(requests),
                }
                at += n
        return out

    @serve.batch(max_batch_size=16, batch_wait_timeout_s=0.005)
    async def sample_batch(self, requests):
        return [
            {"x": self.sampler.sample(n, seed).tolist(), "batch": len(requests)}
            for n, seed in requests
        ]

    async def __call__(self, request: Request):
        body = await request.json()
        if request.url.path.endswith("/filter"):
            x = np.asarray(body["x"], dtype=np.float32)
            passes = int(body.get("passes", 1))
            if x.ndim != 2 or x.shape[1] != self.model.input_dim or not 1 <= passes <= self.passes_max:
                return {"error": f"x must be [n, {self.model.input_dim}], passes 1..{self.passes_max}"}
            return await self.filter_batch((x, passes))
        if request.url.path.endswith("/sample"):
            return await self.sample_batch((int(body["n"]), int(body["seed"])))
        return {"error": "POST /filter or /sample"}


def start(address, model, port, replicas=2):
    """Deploys the service on the cluster at `address`; returns its base URL."""
    ray.init(address=address, _node_ip_address="127.0.0.1", ignore_reinit_error=True,
             log_to_driver=False, runtime_env=RUNTIME_ENV)
    serve.start(http_options={"host": "127.0.0.1", "port": port})
    app = EdgevaeService.options(num_replicas=replicas).bind(str(model))
    serve.run(app, name="edgevae", route_prefix="/edgevae", blocking=False)
    return f"http://127.0.0.1:{port}/edgevae"


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--address", required=True)
    p.add_argument("--model", required=True)
    p.add_argument("--port", type=int, default=8123)
    p.add_argument("--replicas", type=int, default=2)
    args = p.parse_args()
    url = start(args.address, args.model, args.port, args.replicas)
    print(f"serving {url}/filter and {url}/sample; Ctrl-C stops")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        serve.shutdown()


if __name__ == "__main__":
    main()
