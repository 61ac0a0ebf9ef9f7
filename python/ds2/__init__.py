"""Python binding of libds2, the DeepSpeech2 inference engine in C.

    import ds2
    model = ds2.Model("data/default-model.gguf")
    session = model.session(precision="int8", threads=2)
    print(session.transcribe("speech.wav").text)

A thin ctypes layer over the public C API (include/ds2.h): every call goes to libds2.so, and
ctypes releases the GIL while it runs, so sessions in different Python threads infer in
parallel. Errors the library reports become ds2.Error carrying its message.
"""
import ctypes
import enum
import os
import threading
import weakref
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from . import _lib
from ._convert import convert

__version__ = "0.1.0"
__all__ = ["Model", "ModelInfo", "Session", "Result", "Word", "LanguageModel", "LmInfo", "Error",
           "Status", "load_audio", "convert", "status_string", "library_path"]

_ERROR_SIZE = 1024
_INT_MAX = 2**31 - 1


class Status(enum.IntEnum):
    """ds2_status values (include/ds2.h)."""
    OK = 0
    INVALID_ARGUMENT = 1
    IO = 2
    MODEL_FORMAT = 3
    AUDIO_FORMAT = 4
    OUT_OF_MEMORY = 5
    NOT_BUILT = 6
    NO_DEVICE = 7
    BACKEND = 8
    UNSUPPORTED = 9


class Error(Exception):
    """A failure reported by libds2 (or a bad argument caught before it reaches the C API).

    `status` is the Status, `message` the library's own text (what str() shows)."""

    def __init__(self, status, message):
        try:
            status = Status(status)
        except ValueError:
            pass
        self.status = status
        self.message = message
        super().__init__(message)


def status_string(status):
    """ds2_status_string: the library's static name for a status code."""
    return _lib.lib().ds2_status_string(int(status)).decode()


def library_path():
    """Path of the libds2.so this process loaded (see README: how it is found)."""
    return _lib.lib().ds2_path


def _check(status, message):
    if status != Status.OK:
        raise Error(status, message or status_string(status))


def _fspath(path):
    """Encodes a path for C; a NUL byte would silently truncate it there, so refuse it."""
    b = os.fsencode(path)
    if b"\0" in b:
        raise Error(Status.INVALID_ARGUMENT, f"path {path!r} contains a NUL byte")
    return b


def _c_int(name, value, lo=None):
    """value as a C int; ctypes would truncate larger ints silently."""
    try:
        v = int(value)
    except (TypeError, ValueError):
        raise Error(Status.INVALID_ARGUMENT, f"{name} must be an integer, not {value!r}")
    if v != value or not -_INT_MAX - 1 <= v <= _INT_MAX or (lo is not None and v < lo):
        raise Error(Status.INVALID_ARGUMENT, f"{name} {value!r} is out of range")
    return v


@dataclass(frozen=True)
class ModelInfo:
    """ds2_model_info plus the label alphabet."""
    sample_rate: int
    n_labels: int
    blank_index: int
    rnn_type: str
    hidden_size: int
    hidden_layers: int
    bidirectional: bool
    lookahead_context: int
    conv_channels: int
    weights_int8: bool
    n_parameters: int
    file_bytes: int
    labels: tuple


class Model:
    """A loaded libds2 model file (GGUF). Immutable: one Model may serve any number of
    sessions in any number of threads. Freed when the last reference (including every Session
    made from it) goes away, or by close()."""

    def __init__(self, path):
        lib = _lib.lib()
        self._lib = lib
        self._handle = None
        # Open sessions, weakly: close() must not free the C model under them.
        self._sessions = weakref.WeakSet()
        self.path = os.fspath(path)
        err = ctypes.create_string_buffer(_ERROR_SIZE)
        handle = ctypes.c_void_p()
        params = lib.ds2_model_default_params()
        st = lib.ds2_model_load(_fspath(path), ctypes.byref(params), ctypes.byref(handle), err,
                                _ERROR_SIZE)
        _check(st, err.value.decode(errors="replace"))
        self._handle = handle
        ci = _lib.ModelInfo()
        lib.ds2_model_get_info(handle, ctypes.byref(ci))
        labels = tuple(lib.ds2_model_label(handle, i).decode() for i in range(ci.n_labels))
        self.info = ModelInfo(
            sample_rate=ci.sample_rate, n_labels=ci.n_labels, blank_index=ci.blank_index,
            rnn_type=ci.rnn_type.decode(), hidden_size=ci.hidden_size,
            hidden_layers=ci.hidden_layers, bidirectional=bool(ci.bidirectional),
            lookahead_context=ci.lookahead_context, conv_channels=ci.conv_channels,
            weights_int8=bool(ci.weights_int8), n_parameters=ci.n_parameters,
            file_bytes=ci.file_bytes, labels=labels)

    @property
    def labels(self):
        """The CTC alphabet, label i at index i (ds2_model_label)."""
        return self.info.labels

    def label(self, i):
        """ds2_model_label(i); IndexError outside 0..n_labels-1."""
        s = self._lib.ds2_model_label(self._ptr(), _c_int("label index", i))
        if s is None:
            raise IndexError(f"label {i} out of range 0..{self.info.n_labels - 1}")
        return s.decode()

    def session(self, precision="fp32", device="cpu", threads=1, fp32_convs=False, **decode):
        """A new Session on this model; see Session (decode: its decoder options)."""
        return Session(self, precision=precision, device=device, threads=threads,
                       fp32_convs=fp32_convs, **decode)

    def _ptr(self):
        if self._handle is None:
            raise Error(Status.INVALID_ARGUMENT, "the model is closed")
        return self._handle

    def close(self):
        """Frees the C model now. Refused (ds2.Error) while a session made from it is open,
        since the C API requires every session to be freed before its model."""
        if self._sessions:
            raise Error(Status.INVALID_ARGUMENT,
                        f"cannot close the model: {len(self._sessions)} session(s) still open")
        if self._handle is not None:
            self._lib.ds2_model_free(self._handle)
            self._handle = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        # Sessions reference their model, so normally none is left here; at interpreter exit
        # the order is arbitrary, and leaking beats freeing a model still in use.
        if getattr(self, "_handle", None) is not None and not self._sessions:
            self.close()

    def __repr__(self):
        i = self.info
        return (f"ds2.Model({self.path!r}: {i.rnn_type} H={i.hidden_size} "
                f"layers={i.hidden_layers} {i.n_labels} labels @ {i.sample_rate} Hz)")


@dataclass(frozen=True)
class LmInfo:
    """ds2_lm_info: the n-gram order and counts[k], the number of k-grams (k = 1..order)."""
    order: int
    counts: tuple


class LanguageModel:
    """A word n-gram language model (ARPA file) for the beam decoder: ds2_lm_load. Immutable;
    load it once and pass it to any number of sessions and threads (lm=...). Freed when the
    last reference goes away, or by close() (refused while a run is using it)."""

    def __init__(self, path):
        lib = _lib.lib()
        self._lib = lib
        self._handle = None
        self._users = 0  # runs in progress: the C API requires the LM to outlive them
        self._lock = threading.Lock()
        self.path = os.fspath(path)
        err = ctypes.create_string_buffer(_ERROR_SIZE)
        handle = ctypes.c_void_p()
        st = lib.ds2_lm_load(_fspath(path), ctypes.byref(handle), err, _ERROR_SIZE)
        _check(st, err.value.decode(errors="replace"))
        self._handle = handle
        ci = _lib.LmInfo()
        lib.ds2_lm_get_info(handle, ctypes.byref(ci))
        self.info = LmInfo(order=ci.order, counts=tuple(ci.counts[k] for k in range(ci.order + 1)))

    def _acquire(self):
        with self._lock:
            if self._handle is None:
                raise Error(Status.INVALID_ARGUMENT, "the language model is closed")
            self._users += 1
            return self._handle

    def _release(self):
        with self._lock:
            self._users -= 1

    def close(self):
        """Frees the C LM now; refused (ds2.Error) while a transcribe() call is using it."""
        with self._lock:
            if self._users:
                raise Error(Status.INVALID_ARGUMENT,
                            f"cannot close the language model: {self._users} run(s) using it")
            if self._handle is not None:
                self._lib.ds2_lm_free(self._handle)
                self._handle = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        if getattr(self, "_handle", None) is not None:
            self.close()

    def __repr__(self):
        return f"ds2.LanguageModel({self.path!r}: order {self.info.order})"


class Word(NamedTuple):
    """One word of a transcript with its time span in seconds (ds2_word): start = first
    emission frame of its first letter, end = that of its last, times the frame stride."""
    word: str
    start_s: float
    end_s: float


@dataclass(frozen=True)
class Result:
    """One utterance's output: the transcript of the chosen decoder, its words with start/end
    seconds (a tuple of Word; empty when timestamps=False), the decoder's score, and when
    asked for the softmax probabilities as a float32 array of shape (n_frames, n_labels)."""
    text: str
    n_frames: int
    probs: np.ndarray = None
    words: tuple = ()
    score: float = 0.0


_PRECISIONS = {"fp32": 0, "int8": 1}
_DEVICES = {"cpu": 0, "gpu": 1, "cuda": 1}
_DECODERS = {"greedy": 0, "beam": 1}
# Decoder options of Session and transcribe(); None means ds2_run_default_params()' value.
_DECODE_KEYS = ("decoder", "lm", "alpha", "beta", "beam_width", "cutoff_top_n", "cutoff_prob",
                "unk_score_offset", "token_min_logp", "beam_prune_logp", "timestamps")


class Session:
    """Working memory for running a Model with a precision ('fp32' or 'int8'), a device
    ('cpu' or 'gpu') and a CPU thread count. One session runs one call at a time (calls from
    several threads on the same session wait for each other); use one session per thread for
    parallelism.

    Decoder options, the session's defaults for every transcribe() call (which may override
    each): decoder='greedy' (default) or 'beam' (CTC prefix beam search); lm, a
    ds2.LanguageModel for the beam (loaded once, shared); alpha, beta (score = ln P_ctc +
    alpha ln P_lm + beta words; both 0 by default); beam_width (10), cutoff_top_n (40),
    cutoff_prob (1.0); unk_score_offset (-10: pyctcdecode's soft lexicon, see ds2.h; 0 off);
    token_min_logp, beam_prune_logp (pyctcdecode's pruning, ln; 0 = off, the default);
    timestamps=True fills Result.words (either decoder)."""

    def __init__(self, model, precision="fp32", device="cpu", threads=1, fp32_convs=False,
                 decoder="greedy", lm=None, alpha=None, beta=None, beam_width=None,
                 cutoff_top_n=None, cutoff_prob=None, unk_score_offset=None, token_min_logp=None,
                 beam_prune_logp=None, timestamps=True):
        self._handle = None
        if not isinstance(model, Model):
            raise TypeError(f"model must be a ds2.Model, not {type(model).__name__}")
        if precision not in _PRECISIONS:
            raise Error(Status.INVALID_ARGUMENT,
                        f"precision must be 'fp32' or 'int8', not {precision!r}")
        if device not in _DEVICES:
            raise Error(Status.INVALID_ARGUMENT, f"device must be 'cpu' or 'gpu', not {device!r}")
        lib = model._lib
        # Held for our lifetime: the C session must be freed before its model.
        self.model = model
        self._lib = lib
        self.precision, self.device = precision, device
        self.decode = dict(decoder=decoder, lm=lm, alpha=alpha, beta=beta, beam_width=beam_width,
                           cutoff_top_n=cutoff_top_n, cutoff_prob=cutoff_prob,
                           unk_score_offset=unk_score_offset, token_min_logp=token_min_logp,
                           beam_prune_logp=beam_prune_logp, timestamps=timestamps)
        self._run_params(self.decode)  # bad options fail here, not at the first transcribe
        # The C session is single-threaded; a lock turns misuse from two threads into waiting
        # instead of a data race. Waiting on it does not hold the GIL.
        self._lock = threading.Lock()
        p = lib.ds2_session_default_params()
        p.precision = _PRECISIONS[precision]
        p.device = _DEVICES[device]
        # threads and fp32_convs are range-checked by ds2_session_create itself (its message
        # is the one users see); here only what ctypes cannot carry faithfully is refused.
        p.n_threads = _c_int("threads", threads)
        p.fp32_convs = _c_int("fp32_convs", fp32_convs)
        self.threads = p.n_threads
        err = ctypes.create_string_buffer(_ERROR_SIZE)
        handle = ctypes.c_void_p()
        st = lib.ds2_session_create(model._ptr(), ctypes.byref(p), ctypes.byref(handle), err,
                                    _ERROR_SIZE)
        _check(st, err.value.decode(errors="replace"))
        self._handle = handle
        model._sessions.add(self)

    def transcribe(self, x, probs=False, chunk_seconds=0.0, **decode):
        """Transcribes x: a path (str or os.PathLike) of any audio file libsndfile reads, a
        1-D float32 numpy array of samples at the model's sample rate, or a list of these,
        which runs as one batch (each result equals running it alone).

        Returns a Result, or a list of Results for a list. probs=True fills Result.probs.
        chunk_seconds > 0 splits each utterance into chunks carrying the RNN state, as
        deepspeech.pytorch's transcribe does; 0 (default) does so in 60 s chunks for an
        utterance longer than 60 s (DS2_DEFAULT_CHUNK_SECONDS); < 0 never chunks. A single path
        runs through ds2_run_file (the same result; a long file is read chunk by chunk). decode:
        any of the session's decoder options
        (decoder, lm, alpha, beta, beam_width, cutoff_top_n, cutoff_prob, unk_score_offset,
        token_min_logp, beam_prune_logp, timestamps), for
        this call only. Raises ds2.Error on any failure."""
        unknown = set(decode) - set(_DECODE_KEYS)
        if unknown:
            raise TypeError(f"transcribe() got unexpected keyword argument(s) {sorted(unknown)}")
        opts = dict(self.decode, **decode)
        if isinstance(x, (list, tuple)):
            return self._run([self._samples(e) for e in x], probs, chunk_seconds, opts)
        if isinstance(x, (str, bytes, os.PathLike)):
            return self._run([x], probs, chunk_seconds, opts, path=True)[0]
        return self._run([self._samples(x)], probs, chunk_seconds, opts)[0]

    def _run_params(self, opts, want_probs=False, chunk_seconds=0.0):
        """ds2_run_params from the options; ranges are ds2_run's to check (its message is the
        one users see); here only what ctypes cannot carry faithfully is refused."""
        rp = self._lib.ds2_run_default_params()
        rp.want_probs = 1 if want_probs else 0
        rp.want_timestamps = 1 if opts["timestamps"] else 0
        if opts["decoder"] not in _DECODERS:
            raise Error(Status.INVALID_ARGUMENT,
                        f"decoder must be 'greedy' or 'beam', not {opts['decoder']!r}")
        rp.decoder = _DECODERS[opts["decoder"]]
        lm = opts["lm"]
        if lm is not None and not isinstance(lm, LanguageModel):
            raise TypeError(f"lm must be a ds2.LanguageModel, not {type(lm).__name__}")
        for k in ("beam_width", "cutoff_top_n"):
            if opts[k] is not None:
                setattr(rp, k, _c_int(k, opts[k]))
        for k, v in [("chunk_seconds", chunk_seconds)] + [
                (k, opts[k]) for k in ("alpha", "beta", "cutoff_prob", "unk_score_offset",
                                       "token_min_logp", "beam_prune_logp")]:
            if v is None:
                continue
            if isinstance(v, bool):
                raise Error(Status.INVALID_ARGUMENT, f"{k} must be a number, not {v!r}")
            try:
                setattr(rp, k, float(v))
            except (TypeError, ValueError):
                raise Error(Status.INVALID_ARGUMENT, f"{k} must be a number, not {v!r}")
        return rp

    def _samples(self, x):
        if isinstance(x, (str, bytes, os.PathLike)):
            return load_audio(x, self.model.info.sample_rate)
        if isinstance(x, np.ndarray):
            if x.ndim != 1:
                raise Error(Status.INVALID_ARGUMENT,
                            f"audio array must be 1-D (mono samples), not shape {x.shape}")
            if x.dtype.kind != "f":
                # Integer PCM would need a scale the caller knows and we do not.
                raise Error(Status.INVALID_ARGUMENT,
                            f"audio array must be floating point (float32), not {x.dtype}")
            return np.ascontiguousarray(x, dtype=np.float32)
        raise TypeError("transcribe() takes a path, a float32 numpy array or a list of them, "
                        f"not {type(x).__name__}")

    def _run(self, arrays, want_probs, chunk_seconds, opts, path=False):
        rp = self._run_params(opts, want_probs, chunk_seconds)
        if not arrays:
            return []
        lm = opts["lm"]
        if lm is None:
            return self._run_c(arrays, rp, want_probs, path)
        rp.lm = lm._acquire()
        try:
            return self._run_c(arrays, rp, want_probs, path)
        finally:
            lm._release()

    def _run_c(self, arrays, rp, want_probs, path=False):
        lib = self._lib
        n = len(arrays)
        utts = (_lib.Utterance * n)()
        if path:
            c_path = _fspath(arrays[0])
        else:
            for u, a in zip(utts, arrays):
                u.samples = a.ctypes.data_as(ctypes.POINTER(ctypes.c_float))
                u.n_samples = a.size
        results = (_lib.Result * n)()
        batch = _c_int("batch size", n)
        with self._lock:
            if self._handle is None:
                raise Error(Status.INVALID_ARGUMENT, "the session is closed")
            # `arrays` stays referenced until ds2_run returns: the C side reads their memory.
            if path:
                st = lib.ds2_run_file(self._handle, c_path, ctypes.byref(rp), results)
            else:
                st = lib.ds2_run(self._handle, utts, batch, ctypes.byref(rp), results)
            if st != Status.OK:
                raise Error(st, (lib.ds2_session_error(self._handle) or b"").decode(
                    errors="replace") or status_string(st))
        out = []
        try:
            for r in results:
                p = None
                if want_probs:
                    # Copied: the C buffer is freed just below.
                    p = np.ctypeslib.as_array(r.probs, shape=(r.n_frames, r.n_labels)).copy() \
                        if r.n_frames else np.zeros((0, r.n_labels), np.float32)
                words = tuple(Word(w.text.decode(errors="replace"), w.start_s, w.end_s)
                              for w in (r.words[k] for k in range(r.n_words))) \
                    if r.words else ()
                out.append(Result(text=r.text.decode(errors="replace"), n_frames=r.n_frames,
                                  probs=p, words=words, score=r.score))
        finally:
            for r in results:
                lib.ds2_result_free(ctypes.byref(r))
        return out

    def close(self):
        """Frees the C session now (also done when the object is garbage collected)."""
        lock = getattr(self, "_lock", None)
        if lock is None:
            return
        with lock:
            if self._handle is not None:
                self._lib.ds2_session_free(self._handle)
                self._handle = None
                self.model._sessions.discard(self)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        if getattr(self, "_handle", None) is not None:
            self.close()

    def __repr__(self):
        return (f"ds2.Session({self.model.path!r}, precision={self.precision!r}, "
                f"device={self.device!r}, threads={self.threads})")


def load_audio(path, sample_rate):
    """ds2_audio_load: reads any format libsndfile reads, averages the channels and resamples
    to sample_rate (pass model.info.sample_rate). Returns a float32 numpy array."""
    lib = _lib.lib()
    rate = _c_int("sample_rate", sample_rate)
    audio = _lib.Audio()
    err = ctypes.create_string_buffer(_ERROR_SIZE)
    st = lib.ds2_audio_load(_fspath(path), rate, ctypes.byref(audio), err, _ERROR_SIZE)
    _check(st, err.value.decode(errors="replace"))
    try:
        if audio.n_samples == 0:
            return np.zeros(0, np.float32)
        return np.ctypeslib.as_array(audio.samples, shape=(audio.n_samples,)).copy()
    finally:
        lib.ds2_audio_free(ctypes.byref(audio))
