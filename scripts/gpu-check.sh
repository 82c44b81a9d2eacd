#!/usr/bin/env bash
# The trainer's CUDA path, checked on a GPU machine that has no Rust toolchain and no network.
#
#   scripts/gpu-check.sh build   # here: a CUDA trainer binary (nvcc from PyPI, used at build time
#                                # only) and what the run needs, in target/gpu-check/, packed
#                                # into target/gpu-check.tar.xz
#   scripts/gpu-check.sh run     # there, from the repository root: the checks below; writes its
#                                # report to ${OUT:-target/gpu-check/out}/report.txt
#
# The run, on the GPU machine:
#   1. trains the MNIST model (gzip IDX files carried along) for 3 stage-1 epochs and 1 stage-2
#      epoch on --device cuda, and the same run on the CPU with the same seed;
#   2. compares the two runs' per-epoch stage-1 losses: GPU and CPU kernels sum in other orders,
#      so they are not bit-identical; the check is a relative difference of at most 1e-3 in
#      epoch 0's training loss and 1e-2 in every later validation loss (a wrong kernel or a lost
#      gradient moves them by far more: an untrained model's loss differs by over 50 %);
#   3. times the stage-1 step (batch 64 and 256) with `edgevae bench step --device cuda` next to
#      PyTorch on the same GPU (scripts/gpu/torch_step_cuda.py, the CPU peer's model).
# Through the device tool: run `scripts/gpu-check.sh build` here, then
#   run(command="scripts/gpu-check.sh run", carry=["target/gpu-check.tar.xz"])
#
# How the binary finds CUDA. candle-core 0.11.1 turns on cudarc's `dynamic-linking`, which links
# libcuda, libcublas(Lt), libnvrtc and libcurand at build time; this machine has none of them, and
# the GPU machine's may differ. `build` therefore compiles against a copy of candle-core whose only
# change is cudarc's `dynamic-loading` instead (cargo `--config patch`, Cargo.lock restored after):
# the binary then dlopens the libraries at run time by cudarc's candidate names (libcublas.so.13
# and so on). Only libcudart.so.13 is linked (candle-kernels' MoE kernels need it); the kit
# carries the wheel's copy. `run` puts the Python environment's nvidia/*/lib directories, then
# the kit's lib/, on LD_LIBRARY_PATH.
# candle opens a cuRAND generator with every CUDA device although edgevae never draws numbers on
# the device; where no libcurand is found, `run` uses scripts/gpu/curand-stub.c (built by `build`),
# which refuses any request for numbers, so a path that did draw would fail loudly.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
kit="$root/target/gpu-check"
# The CUDA 13.0 compiler and headers from PyPI, pinned (the 12.x nvcc wheels hold only ptxas).
# They install as one tree, nvidia/cu13/. candle's kernels become PTX for compute capability 9.0
# (the H200); PTX from CUDA 13.0 loads on every CUDA 13 driver.
WHEELS=(nvidia-cuda-nvcc==13.0.88 nvidia-cuda-crt==13.0.88 nvidia-cuda-runtime==13.0.96
    nvidia-cuda-cccl==13.0.85 nvidia-nvvm==13.0.88)
COMPUTE_CAP="${CUDA_COMPUTE_CAP:-90}"

build() {
    local venv="$root/target/gpu-check-venv"
    [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
    "$venv/bin/pip" install -q "${WHEELS[@]}"
    local cuda_home
    cuda_home="$("$venv/bin/python" -c 'import nvidia, os; print(os.path.join(list(nvidia.__path__)[0], "cu13"))')"
    [ -x "$cuda_home/bin/nvcc" ] || { echo "no nvcc in $cuda_home/bin" >&2; exit 1; }
    local registry_copy patched="$root/target/gpu-check-src/candle-core"
    registry_copy="$(ls -d "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/candle-core-0.11.1 | head -1)"
    [ -f "$registry_copy/Cargo.toml" ] || { echo "candle-core 0.11.1 is not in the cargo registry; run cargo fetch" >&2; exit 1; }
    rm -rf "$patched" && mkdir -p "$(dirname "$patched")" && cp -r "$registry_copy" "$patched"
    grep -q '"dynamic-linking",' "$patched/Cargo.toml" || { echo "candle-core's cudarc features changed; see the comment at the top" >&2; exit 1; }
    sed -i 's/"dynamic-linking",/"dynamic-loading",/' "$patched/Cargo.toml"
    cp "$root/Cargo.lock" "$root/target/gpu-check-src/Cargo.lock.saved"
    # candle-kernels links its MoE kernels against libcudart by its unversioned name, which the
    # wheel does not ship; LIBRARY_PATH reaches the linker without touching cargo's fingerprints.
    local link_dir="$root/target/gpu-check-src/link"
    mkdir -p "$link_dir" && ln -sf "$cuda_home/lib/libcudart.so.13" "$link_dir/libcudart.so"
    local status=0
    LIBRARY_PATH="$link_dir${LIBRARY_PATH:+:$LIBRARY_PATH}" CUDA_HOME="$cuda_home" CUDA_PATH="$cuda_home" PATH="$cuda_home/bin:$PATH" \
        CUDARC_CUDA_VERSION=13000 CUDA_COMPUTE_CAP="$COMPUTE_CAP" \
        CARGO_TARGET_DIR="$root/target/cuda-build" \
        cargo build --release -p edgevae-trainer --features cuda --manifest-path "$root/Cargo.toml" \
        --config "patch.crates-io.candle-core.path=\"$patched\"" || status=$?
    cp "$root/target/gpu-check-src/Cargo.lock.saved" "$root/Cargo.lock"
    [ "$status" = 0 ] || exit "$status"
    rm -rf "$kit" && mkdir -p "$kit/mnist"
    cp "$root/target/cuda-build/release/edgevae" "$kit/edgevae"
    strip "$kit/edgevae"
    mkdir -p "$kit/curand-stub"
    cc -shared -fPIC -O2 -Wall -Wextra -Werror -o "$kit/curand-stub/libcurand.so" \
        "$root/scripts/gpu/curand-stub.c"
    # Only the CUDA runtime is linked (its soname, libcudart.so.13, travels in the kit); the
    # driver, cuBLAS, NVRTC and cuRAND are loaded when the device opens.
    if readelf -d "$kit/edgevae" | grep -E 'NEEDED.*(libcuda\.|cublas|nvrtc|curand)'; then
        echo "the binary links CUDA libraries that cudarc should load at run time" >&2; exit 1
    fi
    mkdir -p "$kit/lib" && cp -L "$cuda_home/lib/libcudart.so.13" "$kit/lib/"
    local data="$root/../shared/data/mnist"
    for f in train-images-idx3-ubyte.gz t10k-images-idx3-ubyte.gz; do
        cp "$data/$f" "$kit/mnist/$f"
    done
    cp "$root/../shared/bench/torch_vae_step.py" "$kit/torch_vae_step.py"
    du -sh "$kit"
    # The device tool carries at most 64 MiB; the kit is 67 MB as it is and 19 MB packed.
    tar -C "$root/target" -cf - gpu-check | xz -T0 -6 >"$root/target/gpu-check.tar.xz"
    du -sh "$root/target/gpu-check.tar.xz"
    echo "ready: carry target/gpu-check.tar.xz and run scripts/gpu-check.sh run there"
}

run() {
    local bin="$kit/edgevae"
    if [ ! -x "$bin" ] && [ -f "$root/target/gpu-check.tar.xz" ]; then
        # Python unpacks it: the GPU machine may have no xz.
        python3 -c 'import sys, tarfile; tarfile.open(sys.argv[1]).extractall(sys.argv[2])' \
            "$root/target/gpu-check.tar.xz" "$root/target"
    fi
    [ -x "$bin" ] || { echo "no kit: run scripts/gpu-check.sh build here first" >&2; exit 1; }
    local out="${OUT:-$kit/out}"
    mkdir -p "$out"
    local report="$out/report.txt"
    : >"$report"
    say() { echo "$*" | tee -a "$report"; }
    say "gpu: $(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null || echo unknown)"
    say "cpu: $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) CPUs"
    local libs
    libs="$(python3 -c 'import glob, os, nvidia
print(":".join(sorted({os.path.dirname(p) for d in nvidia.__path__ for p in glob.glob(os.path.join(d, "**", "lib*.so*"), recursive=True)})))' 2>/dev/null || true)"
    local dir have_curand=0
    IFS=: read -ra dirs <<<"$libs"
    for dir in "${dirs[@]}"; do
        compgen -G "$dir/libcurand.so*" >/dev/null && have_curand=1
    done
    if [ "$have_curand" = 0 ]; then
        libs="${libs:+$libs:}$kit/curand-stub"
        say "libcurand: none in the Python environment; using the stub (scripts/gpu/curand-stub.c)"
    fi
    # The kit's libcudart last: the environment's own CUDA 13 runtime wins when it has one.
    export LD_LIBRARY_PATH="$libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}:$kit/lib"
    say "LD_LIBRARY_PATH: $LD_LIBRARY_PATH"
    local train=(train --data "$kit/mnist" --epochs 3 --stage2-epochs 1 --seed 7)
    rm -rf "$out/cuda" "$out/cpu"
    local t0 t1 t2
    t0=$(date +%s.%N)
    "$bin" "${train[@]}" --device cuda --out "$out/cuda" 2>&1 | tail -3 | tee -a "$report"
    t1=$(date +%s.%N)
    "$bin" "${train[@]}" --device cpu --out "$out/cpu" 2>&1 | tail -3 | tee -a "$report"
    t2=$(date +%s.%N)
    say "training wall time: cuda $(python3 -c "print(f'{$t1-$t0:.1f}')") s, cpu $(python3 -c "print(f'{$t2-$t1:.1f}')") s"
    python3 - "$out/cuda/state.json" "$out/cpu/state.json" <<'PY' | tee -a "$report"
import json, sys
gpu, cpu = (json.load(open(p))["stage1"]["history"] for p in sys.argv[1:3])
assert len(gpu) == len(cpu) == 3, (len(gpu), len(cpu))
worst = 0.0
for g, c in zip(gpu, cpu):
    for key, tol in (("train_loss", 1e-3 if g["epoch"] == 0 else 1e-2), ("val_loss", 1e-2)):
        rel = abs(g[key] - c[key]) / max(abs(c[key]), 1e-9)
        worst = max(worst, rel / tol)
        print(f"epoch {g['epoch']} {key}: cuda {g[key]:.4f} cpu {c[key]:.4f} rel {rel:.2e} (tol {tol:g})")
        print(f"  epoch seconds: cuda {g['seconds']:.2f} cpu {c['seconds']:.2f}")
print("loss check:", "PASS" if worst <= 1.0 else "FAIL")
sys.exit(0 if worst <= 1.0 else 1)
PY
    for batch in 64 256; do
        "$bin" bench step --device cuda --batch "$batch" --warmup 20 --steps 200 | tee -a "$report"
        python3 "$root/scripts/gpu/torch_step_cuda.py" "$kit/torch_vae_step.py" "$batch" 20 200 | tee -a "$report"
    done
}

case "${1:-}" in
    build) build ;;
    run) run ;;
    *) echo "usage: scripts/gpu-check.sh build|run" >&2; exit 2 ;;
esac
