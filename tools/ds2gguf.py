"""Minimal GGUF v3 writer and reader (numpy + standard library only).

Only what libds2 model files use: scalar/string/array key-values and f32 / i8 tensors.
Layout (little-endian): magic "GGUF", u32 version, u64 n_tensors, u64 n_kv, key-values,
tensor infos (name, u32 n_dims, u64 ne[n_dims] fastest first, u32 type, u64 offset), padding to
the alignment, tensor blob (each tensor at a multiple of the alignment from the blob start).
"""
import struct

import numpy as np

GGUF_MAGIC = b"GGUF"
GGUF_VERSION = 3
DEFAULT_ALIGNMENT = 32

# Key-value types.
T_U8, T_I8, T_U16, T_I16, T_U32, T_I32, T_F32, T_BOOL, T_STRING, T_ARRAY, T_U64, T_I64, T_F64 = \
    range(13)
_SCALAR_FMT = {T_U8: "<B", T_I8: "<b", T_U16: "<H", T_I16: "<h", T_U32: "<I", T_I32: "<i",
               T_F32: "<f", T_BOOL: "<?", T_U64: "<Q", T_I64: "<q", T_F64: "<d"}

# Tensor (ggml) types used here.
GGML_F32 = 0
GGML_I8 = 24
_TENSOR_DTYPE = {GGML_F32: np.dtype("<f4"), GGML_I8: np.dtype("i1")}


class U32(int):
    """Marks an int to be written as u32 (plain ints are rejected to keep types explicit)."""


class F32(float):
    """Marks a float to be written as f32."""


class ArrayU32(list):
    """Marks a list of ints to be written as array of u32."""


def _pack_string(s):
    b = s.encode("utf-8")
    return struct.pack("<Q", len(b)) + b


def _kv_type_and_payload(value):
    if isinstance(value, bool):
        return T_BOOL, struct.pack("<?", value)
    if isinstance(value, U32):
        if not 0 <= value < 2**32:
            raise ValueError(f"u32 out of range: {value}")
        return T_U32, struct.pack("<I", value)
    if isinstance(value, F32):
        return T_F32, struct.pack("<f", value)
    if isinstance(value, str):
        return T_STRING, _pack_string(value)
    if isinstance(value, ArrayU32):
        return T_ARRAY, struct.pack("<IQ", T_U32, len(value)) + b"".join(
            struct.pack("<I", int(v)) for v in value)
    if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        return T_ARRAY, struct.pack("<IQ", T_STRING, len(value)) + b"".join(
            _pack_string(v) for v in value)
    raise TypeError(f"unsupported GGUF value {value!r} ({type(value).__name__}); "
                    "wrap ints in U32, floats in F32, u32 lists in ArrayU32")


def _align(n, a):
    return (n + a - 1) // a * a


def write_gguf(path, kv, tensors, alignment=DEFAULT_ALIGNMENT):
    """kv: list of (key, value); tensors: list of (name, numpy array f32 or i8), written in order.
    Numpy shapes are row-major (slowest first); GGUF ne[] is written reversed."""
    header = bytearray()
    header += GGUF_MAGIC + struct.pack("<IQQ", GGUF_VERSION, len(tensors), len(kv))
    for key, value in kv:
        vtype, payload = _kv_type_and_payload(value)
        header += _pack_string(key) + struct.pack("<I", vtype) + payload
    blobs = []
    offset = 0
    for name, arr in tensors:
        arr = np.ascontiguousarray(arr)
        if arr.dtype == np.float32:
            ttype = GGML_F32
        elif arr.dtype == np.int8:
            ttype = GGML_I8
        else:
            raise TypeError(f"tensor {name}: unsupported dtype {arr.dtype}")
        arr = arr.astype(_TENSOR_DTYPE[ttype], copy=False)
        header += _pack_string(name) + struct.pack("<I", arr.ndim)
        header += b"".join(struct.pack("<Q", d) for d in reversed(arr.shape))
        offset = _align(offset, alignment)
        header += struct.pack("<IQ", ttype, offset)
        blobs.append((offset, arr.tobytes()))
        offset += arr.nbytes
    with open(path, "wb") as f:
        f.write(header)
        f.write(b"\0" * (_align(len(header), alignment) - len(header)))
        pos = 0
        for off, data in blobs:
            f.write(b"\0" * (off - pos))
            f.write(data)
            pos = off + len(data)


class _Cursor:
    def __init__(self, buf):
        self.buf = buf
        self.pos = 0

    def take(self, fmt):
        size = struct.calcsize(fmt)
        if self.pos + size > len(self.buf):
            raise ValueError("GGUF file truncated")
        (v,) = struct.unpack_from(fmt, self.buf, self.pos)
        self.pos += size
        return v

    def string(self):
        n = self.take("<Q")
        if self.pos + n > len(self.buf):
            raise ValueError("GGUF string runs past end of file")
        s = bytes(self.buf[self.pos:self.pos + n]).decode("utf-8")
        self.pos += n
        return s

    def value(self, vtype):
        if vtype in _SCALAR_FMT:
            return self.take(_SCALAR_FMT[vtype])
        if vtype == T_STRING:
            return self.string()
        if vtype == T_ARRAY:
            etype = self.take("<I")
            n = self.take("<Q")
            return [self.value(etype) for _ in range(n)]
        raise ValueError(f"unknown GGUF value type {vtype}")


def read_gguf(path):
    """Returns (kv dict, tensors dict name -> numpy array in numpy (row-major) shape)."""
    with open(path, "rb") as f:
        buf = f.read()
    c = _Cursor(buf)
    if bytes(buf[:4]) != GGUF_MAGIC:
        raise ValueError(f"{path}: not a GGUF file")
    c.pos = 4
    version = c.take("<I")
    if version != GGUF_VERSION:
        raise ValueError(f"{path}: GGUF version {version}, expected 3")
    n_tensors = c.take("<Q")
    n_kv = c.take("<Q")
    kv = {}
    for _ in range(n_kv):
        key = c.string()
        kv[key] = c.value(c.take("<I"))
    alignment = kv.get("general.alignment", DEFAULT_ALIGNMENT)
    infos = []
    for _ in range(n_tensors):
        name = c.string()
        n_dims = c.take("<I")
        ne = [c.take("<Q") for _ in range(n_dims)]
        ttype = c.take("<I")
        offset = c.take("<Q")
        infos.append((name, tuple(reversed(ne)), ttype, offset))
    blob = _align(c.pos, alignment)
    tensors = {}
    for name, shape, ttype, offset in infos:
        if ttype not in _TENSOR_DTYPE:
            raise ValueError(f"tensor {name}: unsupported type {ttype}")
        if offset % alignment:
            raise ValueError(f"tensor {name}: misaligned offset {offset}")
        dt = _TENSOR_DTYPE[ttype]
        count = int(np.prod(shape, dtype=np.int64))
        start = blob + offset
        if start + count * dt.itemsize > len(buf):
            raise ValueError(f"tensor {name}: data runs past end of file")
        tensors[name] = np.frombuffer(buf, dtype=dt, count=count, offset=start).reshape(shape)
    return kv, tensors
