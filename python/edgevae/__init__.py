"""edgevae for Python: sampling and outlier filtering through libedgevae's C ABI.

Pure Python over ctypes (nothing to compile on the user's side), numpy arrays in and out:

    import edgevae
    model = edgevae.Model("models/quickstart")
    x = model.sampler().sample(16, seed=7)            # float32 [16, input_dim]
    scores, mask, cleaned = model.filter().run(x, passes=3)

The library is `libedgevae.so` (`cargo build --release -p edgevae-ffi`): the path given to
`Model(libedgevae=...)`, else `EDGEVAE_LIBRARY`, else this repository's `target/release/` or
`target/debug/`. ONNX Runtime is found as the C ABI finds it (`ORT_DYLIB_PATH`, or the copy
`scripts/fetch-onnxruntime.sh` fetched). Every status other than OK raises `EdgevaeError`,
carrying the status name and the library's last-error message. A sampler or filter is used by
one thread at a time (a concurrent call raises `EdgevaeError` with status `BUSY`).
"""

import ctypes
import os
import pathlib
import threading

import numpy as np

__all__ = ["EdgevaeError", "Model", "Sampler", "Filter", "PRECISIONS", "library", "version"]

# Values of EDGEVAE_PRECISION_* in edgevae.h.
PRECISIONS = {"fp32": 0, "fp16w": 1, "fp16": 2, "int8": 3}

_REPO = pathlib.Path(__file__).resolve().parents[2]


class EdgevaeError(Exception):
    """A call into libedgevae failed: `status` (int), `status_name` and the message."""

    def __init__(self, function, status, status_name, message):
        self.function = function
        self.status = status
        self.status_name = status_name
        self.message = message
        super().__init__(f"{function}: {status_name} ({status}): {message}")


class _Options(ctypes.Structure):
    # struct edgevae_options, in the header's field order.
    _fields_ = [
        ("providers", ctypes.c_char_p),
        ("threads", ctypes.c_uint32),
        ("strict", ctypes.c_bool),
        ("precision", ctypes.c_uint32),
        ("library_path", ctypes.c_char_p),
        ("prepack_weights", ctypes.c_bool),
    ]


_lib = None
_lib_lock = threading.Lock()

_f32p = ctypes.POINTER(ctypes.c_float)
_u8p = ctypes.POINTER(ctypes.c_uint8)
_size = ctypes.c_size_t
_status = ctypes.c_int32


def _declare(lib):
    sigs = {
        "edgevae_version": ([], ctypes.c_char_p),
        "edgevae_status_name": ([ctypes.c_int32], ctypes.c_char_p),
        "edgevae_last_error": ([ctypes.c_char_p, _size, ctypes.POINTER(_size)], _status),
        "edgevae_options_default": ([ctypes.POINTER(_Options)], _status),
        "edgevae_model_open": (
            [ctypes.c_char_p, ctypes.POINTER(_Options), ctypes.POINTER(ctypes.c_void_p)],
            _status,
        ),
        "edgevae_model_free": ([ctypes.c_void_p], None),
        "edgevae_model_input_dim": ([ctypes.c_void_p, ctypes.POINTER(_size)], _status),
        "edgevae_model_latent": ([ctypes.c_void_p, ctypes.POINTER(_size)], _status),
        "edgevae_sampler_new": ([ctypes.c_void_p, ctypes.POINTER(ctypes.c_void_p)], _status),
        "edgevae_sampler_sample": (
            [ctypes.c_void_p, _size, ctypes.c_uint64, _f32p, _size],
            _status,
        ),
        "edgevae_sampler_free": ([ctypes.c_void_p], None),
        "edgevae_filter_new": ([ctypes.c_void_p, ctypes.POINTER(ctypes.c_void_p)], _status),
        "edgevae_filter_run": (
            [ctypes.c_void_p, _f32p, _size, _size, _size, _f32p, _size, _u8p, _size, _f32p, _size],
            _status,
        ),
        "edgevae_filter_score_threshold": (
            [ctypes.c_void_p, ctypes.POINTER(ctypes.c_double)],
            _status,
        ),
        "edgevae_filter_free": ([ctypes.c_void_p], None),
    }
    for name, (args, res) in sigs.items():
        fn = getattr(lib, name)
        fn.argtypes = args
        fn.restype = res


def _candidates(explicit):
    if explicit:
        yield pathlib.Path(explicit)
        return
    env = os.environ.get("EDGEVAE_LIBRARY")
    if env:
        yield pathlib.Path(env)
        return
    for profile in ("release", "debug"):
        yield _REPO / "target" / profile / "libedgevae.so"


def library(path=None):
    """The loaded libedgevae (once per process; a later `path` must name the same file)."""
    global _lib
    with _lib_lock:
        if _lib is not None:
            return _lib
        tried = []
        for candidate in _candidates(path):
            tried.append(str(candidate))
            if candidate.is_file():
                lib = ctypes.CDLL(str(candidate))
                _declare(lib)
                _lib = lib
                return lib
        raise FileNotFoundError(
            "libedgevae.so not found (looked at: " + ", ".join(tried) + "); build it with "
            "`cargo build --release -p edgevae-ffi` or set EDGEVAE_LIBRARY"
        )


def _check(lib, function, status):
    if status == 0:
        return
    name = lib.edgevae_status_name(status).decode()
    buf = ctypes.create_string_buffer(1024)
    written = _size(0)
    lib.edgevae_last_error(buf, len(buf), ctypes.byref(written))
    raise EdgevaeError(function, status, name, buf.value.decode("utf-8", "replace"))


def _rows(x, dim, what):
    """`x` as the C ABI takes it: a C-contiguous float32 array [n, dim], n >= 1. Anything else
    is refused with a message saying what was given; no silent conversion or copy."""
    if not isinstance(x, np.ndarray):
        raise TypeError(f"{what} must be a numpy array, not {type(x).__name__}")
    if x.dtype != np.float32:
        raise TypeError(f"{what} must be float32, not {x.dtype} (convert with x.astype(np.float32))")
    if x.ndim != 2 or x.shape[1] != dim or x.shape[0] == 0:
        raise ValueError(f"{what} must have shape [n, {dim}] with n >= 1, not {list(x.shape)}")
    if not x.flags["C_CONTIGUOUS"]:
        raise ValueError(
            f"{what} must be C-contiguous (row-major, no strides): use np.ascontiguousarray(x)"
        )
    return x


class _Owned:
    """A C handle this object owns, freed once (`edgevae_<kind>_free`) by `close`, by the end of
    a `with` block, or when the object is collected."""

    _kind = ""
    _handle = None

    def close(self):
        if self._handle:
            getattr(self._lib, f"edgevae_{self._kind}_free")(self._handle)
            self._handle = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        self.close()


class Model(_Owned):
    """A model directory opened with libedgevae (`edgevae_model_open`)."""

    _kind = "model"

    def __init__(
        self,
        directory,
        providers="cpu",
        threads=0,
        precision="fp32",
        strict=False,
        prepack_weights=True,
        onnxruntime=None,
        libedgevae=None,
    ):
        lib = library(libedgevae)
        if precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {sorted(PRECISIONS)}, not {precision!r}")
        if not isinstance(threads, int) or threads < 0:
            raise ValueError(f"threads must be a non-negative integer, not {threads!r}")
        self._lib = lib
        options = _Options()
        _check(lib, "edgevae_options_default", lib.edgevae_options_default(ctypes.byref(options)))
        # Kept alive until edgevae_model_open has read them.
        self._strings = [s.encode() if s is not None else None for s in (providers, onnxruntime)]
        options.providers = self._strings[0]
        options.library_path = self._strings[1]
        options.threads = threads
        options.strict = bool(strict)
        options.precision = PRECISIONS[precision]
        options.prepack_weights = bool(prepack_weights)
        handle = ctypes.c_void_p()
        path = os.fsencode(os.fspath(directory))
        _check(
            lib,
            "edgevae_model_open",
            lib.edgevae_model_open(path, ctypes.byref(options), ctypes.byref(handle)),
        )
        self._handle = handle
        dim, latent = _size(), _size()
        _check(lib, "edgevae_model_input_dim", lib.edgevae_model_input_dim(handle, ctypes.byref(dim)))
        _check(lib, "edgevae_model_latent", lib.edgevae_model_latent(handle, ctypes.byref(latent)))
        self.input_dim = dim.value
        self.latent = latent.value

    def sampler(self):
        return Sampler(self)

    def filter(self):
        return Filter(self)


class _Handle(_Owned):
    """A sampler or filter of an open model."""

    def __init__(self, model):
        if not model._handle:
            raise ValueError("the model is closed")
        self._lib = model._lib
        self._model = model  # the C handles may not outlive their model
        self.dim = model.input_dim
        handle = ctypes.c_void_p()
        new = getattr(self._lib, f"edgevae_{self._kind}_new")
        _check(self._lib, f"edgevae_{self._kind}_new", new(model._handle, ctypes.byref(handle)))
        self._handle = handle


class Sampler(_Handle):
    """Two-stage samples: `sample(n, seed)` is the C ABI's `edgevae_sampler_sample`."""

    _kind = "sampler"

    def sample(self, n, seed=0):
        if not isinstance(n, int) or n < 1:
            raise ValueError(f"n must be a positive integer, not {n!r}")
        if not isinstance(seed, int) or not 0 <= seed < 2**64:
            raise ValueError(f"seed must be an integer in [0, 2**64), not {seed!r}")
        out = np.empty((n, self.dim), dtype=np.float32)
        _check(
            self._lib,
            "edgevae_sampler_sample",
            self._lib.edgevae_sampler_sample(
                self._handle, n, seed, out.ctypes.data_as(_f32p), out.size
            ),
        )
        return out


class Filter(_Handle):
    """The outlier filter: `run(x, passes)` is `edgevae_filter_run` on a float32 [n, dim] array,
    read in place (no copy); returns (scores [n] float32, mask [n, dim] uint8, cleaned [n, dim]
    float32)."""

    _kind = "filter"

    @property
    def score_threshold(self):
        out = ctypes.c_double()
        _check(
            self._lib,
            "edgevae_filter_score_threshold",
            self._lib.edgevae_filter_score_threshold(self._handle, ctypes.byref(out)),
        )
        return out.value

    def run(self, x, passes=1):
        x = _rows(x, self.dim, "x")
        if not isinstance(passes, int) or passes < 1:
            raise ValueError(f"passes must be a positive integer, not {passes!r}")
        n = x.shape[0]
        scores = np.empty(n, dtype=np.float32)
        mask = np.empty((n, self.dim), dtype=np.uint8)
        cleaned = np.empty((n, self.dim), dtype=np.float32)
        _check(
            self._lib,
            "edgevae_filter_run",
            self._lib.edgevae_filter_run(
                self._handle,
                x.ctypes.data_as(_f32p),
                x.size,
                n,
                passes,
                scores.ctypes.data_as(_f32p),
                scores.size,
                mask.ctypes.data_as(_u8p),
                mask.size,
                cleaned.ctypes.data_as(_f32p),
                cleaned.size,
            ),
        )
        return scores, mask, cleaned


def version():
    """libedgevae's version string."""
    return library().edgevae_version().decode()
