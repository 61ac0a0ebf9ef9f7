"""ctypes declarations of include/ds2.h and the search for libds2.so.

The loaded library handle is the package's only global: it is opened once, on first use, so that
`import ds2` succeeds (and `ds2.convert`, which needs no C code, works) on a machine where
libds2.so has not been built yet.
"""
import ctypes
import ctypes.util
import os
import threading

# Mirrors of the C structs, field for field (include/ds2.h). ctypes computes the same padding
# as the C compiler for these plain layouts.
LOG_FN = ctypes.CFUNCTYPE(None, ctypes.c_int, ctypes.c_char_p, ctypes.c_void_p)


class ModelParams(ctypes.Structure):
    _fields_ = [("log", LOG_FN), ("log_user_data", ctypes.c_void_p)]


class ModelInfo(ctypes.Structure):
    _fields_ = [("sample_rate", ctypes.c_int), ("n_labels", ctypes.c_int),
                ("blank_index", ctypes.c_int), ("rnn_type", ctypes.c_char_p),
                ("hidden_size", ctypes.c_int), ("hidden_layers", ctypes.c_int),
                ("bidirectional", ctypes.c_int), ("lookahead_context", ctypes.c_int),
                ("conv_channels", ctypes.c_int), ("weights_int8", ctypes.c_int),
                ("n_parameters", ctypes.c_uint64), ("file_bytes", ctypes.c_uint64)]


class Audio(ctypes.Structure):
    _fields_ = [("samples", ctypes.POINTER(ctypes.c_float)), ("n_samples", ctypes.c_size_t),
                ("sample_rate", ctypes.c_int)]


class SessionParams(ctypes.Structure):
    _fields_ = [("precision", ctypes.c_int), ("device", ctypes.c_int),
                ("n_threads", ctypes.c_int), ("gpu_index", ctypes.c_int),
                ("fp32_convs", ctypes.c_int), ("log", LOG_FN),
                ("log_user_data", ctypes.c_void_p)]


class LmInfo(ctypes.Structure):
    _fields_ = [("order", ctypes.c_int), ("counts", ctypes.c_uint64 * 7)]


class Utterance(ctypes.Structure):
    _fields_ = [("samples", ctypes.POINTER(ctypes.c_float)), ("n_samples", ctypes.c_size_t)]


class RunParams(ctypes.Structure):
    # must mirror ds2_run_params in include/ds2.h field for field
    _fields_ = [("want_probs", ctypes.c_int), ("chunk_seconds", ctypes.c_double),
                ("want_timestamps", ctypes.c_int), ("decoder", ctypes.c_int),
                ("beam_width", ctypes.c_int), ("cutoff_top_n", ctypes.c_int),
                ("cutoff_prob", ctypes.c_double), ("lm", ctypes.c_void_p),
                ("alpha", ctypes.c_double), ("beta", ctypes.c_double),
                ("unk_score_offset", ctypes.c_double), ("token_min_logp", ctypes.c_double),
                ("beam_prune_logp", ctypes.c_double)]


class Word(ctypes.Structure):
    _fields_ = [("text", ctypes.c_char_p), ("start_s", ctypes.c_double),
                ("end_s", ctypes.c_double)]


class Result(ctypes.Structure):
    # must mirror ds2_result in include/ds2.h field for field
    _fields_ = [("text", ctypes.c_char_p), ("probs", ctypes.POINTER(ctypes.c_float)),
                ("n_frames", ctypes.c_int), ("n_labels", ctypes.c_int),
                ("score", ctypes.c_double), ("words", ctypes.POINTER(Word)),
                ("n_words", ctypes.c_int)]


P = ctypes.POINTER
_c_void_pp = P(ctypes.c_void_p)
# name: (restype, argtypes). Handles (ds2_model *, ds2_lm *, ds2_session *) are opaque void
# pointers.
_SIGNATURES = {
    "ds2_status_string": (ctypes.c_char_p, [ctypes.c_int]),
    "ds2_model_default_params": (ModelParams, []),
    "ds2_model_load": (ctypes.c_int, [ctypes.c_char_p, P(ModelParams), _c_void_pp,
                                      ctypes.c_char_p, ctypes.c_size_t]),
    "ds2_model_free": (None, [ctypes.c_void_p]),
    "ds2_model_get_info": (None, [ctypes.c_void_p, P(ModelInfo)]),
    "ds2_model_label": (ctypes.c_char_p, [ctypes.c_void_p, ctypes.c_int]),
    "ds2_audio_load": (ctypes.c_int, [ctypes.c_char_p, ctypes.c_int, P(Audio), ctypes.c_char_p,
                                      ctypes.c_size_t]),
    "ds2_audio_free": (None, [P(Audio)]),
    "ds2_lm_load": (ctypes.c_int, [ctypes.c_char_p, _c_void_pp, ctypes.c_char_p,
                                   ctypes.c_size_t]),
    "ds2_lm_free": (None, [ctypes.c_void_p]),
    "ds2_lm_get_info": (None, [ctypes.c_void_p, P(LmInfo)]),
    "ds2_session_default_params": (SessionParams, []),
    "ds2_session_create": (ctypes.c_int, [ctypes.c_void_p, P(SessionParams), _c_void_pp,
                                          ctypes.c_char_p, ctypes.c_size_t]),
    "ds2_session_free": (None, [ctypes.c_void_p]),
    "ds2_session_error": (ctypes.c_char_p, [ctypes.c_void_p]),
    "ds2_run_default_params": (RunParams, []),
    "ds2_run": (ctypes.c_int, [ctypes.c_void_p, P(Utterance), ctypes.c_int, P(RunParams),
                               P(Result)]),
    "ds2_run_file": (ctypes.c_int, [ctypes.c_void_p, ctypes.c_char_p, P(RunParams), P(Result)]),
    "ds2_result_free": (None, [P(Result)]),
}

_HERE = os.path.dirname(os.path.abspath(__file__))
# python/ds2/_lib.py -> the repository root, when the package is used from a checkout.
_REPO = os.path.dirname(os.path.dirname(_HERE))


def candidates():
    """Where libds2.so is looked for, in order: $DS2_LIBRARY, the copy `pip install` bundled
    into the package, build/libds2.so of the checkout this file sits in, then the system
    (ctypes.util.find_library, e.g. after `make install`). Returns (origin, path) pairs."""
    out = []
    env = os.environ.get("DS2_LIBRARY")
    if env:
        out.append(("$DS2_LIBRARY", env))
    out.append(("package", os.path.join(_HERE, "libds2.so")))
    out.append(("checkout", os.path.join(_REPO, "build", "libds2.so")))
    found = ctypes.util.find_library("ds2")
    if found:
        out.append(("system", found))
    return out


_lib = None
_lib_lock = threading.Lock()


def lib():
    """The loaded libds2 (ctypes.CDLL), opened on first call. CDLL, not PyDLL: ctypes then
    releases the GIL for the duration of every foreign call, so inference in one Python thread
    does not stop the others."""
    global _lib
    with _lib_lock:
        if _lib is not None:
            return _lib
        tried = []
        env = os.environ.get("DS2_LIBRARY")
        for origin, path in candidates():
            # An explicit $DS2_LIBRARY must load or fail loudly: silently falling back to some
            # other copy would test or run a library the user did not ask for.
            if origin != "system" and not os.path.exists(path):
                if origin == "$DS2_LIBRARY":
                    raise OSError(f"DS2_LIBRARY={env}: no such file")
                tried.append(path)
                continue
            handle = ctypes.CDLL(path)
            for name, (restype, argtypes) in _SIGNATURES.items():
                fn = getattr(handle, name)
                fn.restype, fn.argtypes = restype, argtypes
            handle.ds2_path = path
            _lib = handle
            return _lib
        raise OSError("libds2.so not found (looked in " + ", ".join(tried) +
                      " and the system library path); build it with `make` in the repository, "
                      "or set DS2_LIBRARY to its path")
