"""Reads PyTorch checkpoints with numpy and the standard library only, without executing code.

torch.save files are pickles; a normal unpickler imports and calls whatever globals the file
names, so a hostile checkpoint can run code. This reader's unpickler resolves only an allowlist:
torch's tensor-rebuild helpers and storage types (mapped to our own numpy-backed stand-ins) and
the configuration classes deepspeech.pytorch / Lightning / OmegaConf put in checkpoints (mapped to
inert objects that only record their pickled state). Any other global is refused.

Formats: the zip archive torch.save writes since 1.6 (<dir>/data.pkl + <dir>/data/<key>) and the
legacy stream (magic number, protocol, sys info, pickle, storage keys, raw storages).

load_checkpoint(path) returns the unpickled object with tensors as TensorRef (call .numpy());
to_plain(obj) turns OmegaConf containers / nodes / enums into dicts, lists and strings.
"""
import _compat_pickle
import io
import os
import pickle
import struct
import sys
import zipfile

import numpy as np

LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
LEGACY_PROTOCOL = 1001


class CheckpointError(Exception):
    pass


# --- tensors and storages -------------------------------------------------------------------

_STORAGE_DTYPES = {
    "DoubleStorage": "f8", "FloatStorage": "f4", "HalfStorage": "f2", "BFloat16Storage": "bf16",
    "LongStorage": "i8", "IntStorage": "i4", "ShortStorage": "i2", "CharStorage": "i1",
    "ByteStorage": "u1", "BoolStorage": "?", "ComplexFloatStorage": "c8",
    "ComplexDoubleStorage": "c16",
}


class StorageType:
    def __init__(self, name):
        self.name = name
        self.code = _STORAGE_DTYPES[name]

    def itemsize(self):
        return 2 if self.code == "bf16" else np.dtype(self.code).itemsize


class Storage:
    """Flat element array of one storage; `data` is filled when the bytes are read."""

    def __init__(self, stype, key, numel):
        self.stype = stype
        self.key = key
        self.numel = numel
        self.data = None

    def set_bytes(self, raw, byteorder):
        code = self.stype.code
        if code == "bf16":
            bits = np.frombuffer(raw, dtype=byteorder + "u2").astype(np.uint32) << 16
            self.data = bits.view(np.float32)
        else:
            dt = np.dtype(code)
            if dt.itemsize > 1:
                dt = dt.newbyteorder(byteorder)
            self.data = np.frombuffer(raw, dtype=dt).astype(dt.newbyteorder("="))
        if self.numel is not None and self.data.size < self.numel:
            raise CheckpointError(f"storage {self.key}: {self.data.size} elements, "
                                  f"expected {self.numel}")


class TensorRef:
    """A tensor view (offset, size, stride, in elements) of a Storage."""

    def __init__(self, storage, offset, size, stride):
        self.storage = storage
        self.offset = int(offset)
        self.shape = tuple(int(s) for s in size)
        self.stride = tuple(int(s) for s in stride)

    def numpy(self):
        data = self.storage.data
        if data is None:
            raise CheckpointError(f"storage {self.storage.key} has no data")
        if not self.shape:
            return data[self.offset:self.offset + 1].reshape(()).copy()
        extent = self.offset + 1 + sum((n - 1) * s for n, s in zip(self.shape, self.stride)
                                       if n > 0)
        if any(n == 0 for n in self.shape):
            return np.zeros(self.shape, dtype=data.dtype)
        if min(self.stride) < 0 or extent > data.size:
            raise CheckpointError(f"tensor view {self.shape}/{self.stride}+{self.offset} "
                                  f"outside storage {self.storage.key} ({data.size} elements)")
        view = np.lib.stride_tricks.as_strided(
            data[self.offset:], shape=self.shape,
            strides=[s * data.itemsize for s in self.stride], writeable=False)
        return np.array(view)

    def __repr__(self):
        return f"TensorRef({self.storage.stype.name}, {list(self.shape)})"


def _rebuild_tensor(storage, storage_offset, size, stride, *_ignored):
    if not isinstance(storage, Storage):
        raise CheckpointError("tensor rebuild without a storage")
    return TensorRef(storage, storage_offset, size, stride)


def _rebuild_parameter(data, *_ignored):
    return data


# --- inert stand-ins for configuration objects ---------------------------------------------

class Inert:
    """Instance of an allowlisted class: records constructor args and pickled state only."""

    qualname = "?"

    def __init__(self, *args, **kwargs):
        pass

    def __setstate__(self, state):
        if isinstance(state, tuple) and len(state) == 2:  # (dict state, slot state)
            merged = dict(state[0] or {})
            merged.update(state[1] or {})
            state = merged
        self.state = state if isinstance(state, dict) else {"_state": state}

    # dict/list subclasses (Lightning's AttributeDict) are rebuilt through these.
    def __setitem__(self, key, value):
        self.state.setdefault("_items", {})[key] = value

    def append(self, value):
        self.state.setdefault("_list", []).append(value)

    def extend(self, values):
        self.state.setdefault("_list", []).extend(values)

    def __repr__(self):
        return f"<{self.qualname} {self.state!r}>"


_inert_classes = {}


def _inert_new(cls, *args, **kwargs):
    # NEWOBJ calls __new__ without __init__: set up the record here.
    obj = object.__new__(cls)
    obj.args, obj.kwargs, obj.state = args, kwargs, {}
    return obj


def _inert_class(qualname):
    cls = _inert_classes.get(qualname)
    if cls is None:
        cls = type(qualname.rsplit(".", 1)[-1], (Inert,), {"qualname": qualname})
        cls.__new__ = _inert_new
        _inert_classes[qualname] = cls
    return cls


class EnumValue:
    """An enum member (e.g. RNNType.lstm); `value` is the pickled value or member name."""

    def __init__(self, enum_name, value=None, member=None):
        self.enum_name = enum_name
        self.value = value
        self.member = member

    def __repr__(self):
        return f"{self.enum_name}({self.member or self.value!r})"


class EnumClass:
    """Allowlisted Enum class: calling it with a value gives an EnumValue."""

    def __init__(self, qualname):
        self.qualname = qualname

    def __call__(self, value):
        return EnumValue(self.qualname, value=value)


class Marker:
    """A class or object that is only referenced (types in metadata, nn.LSTM as an enum value)."""

    def __init__(self, qualname):
        self.qualname = qualname
        self.name = qualname.rsplit(".", 1)[-1]

    def __call__(self, *args, **kwargs):
        raise CheckpointError(f"checkpoint tries to call {self.qualname}")

    def __repr__(self):
        return f"<{self.qualname}>"


class AttrDict(dict):
    """OrderedDict stand-in; takes pickled attributes (state_dict()._metadata)."""


def _safe_getattr(obj, name):
    # Python >= 3.11 pickles enum members as getattr(EnumClass, 'member').
    if isinstance(obj, EnumClass) and isinstance(name, str):
        return EnumValue(obj.qualname, member=name)
    raise CheckpointError(f"refusing getattr({obj!r}, {name!r})")


def _safe_getitem(obj, index):
    # typing generics in OmegaConf metadata: Tuple[Any, ...], Dict[str, Any].
    if isinstance(obj, Marker):
        return Marker(f"{obj.qualname}[...]")
    raise CheckpointError(f"refusing getitem on {obj!r}")


def _reconstructor(cls, base, state):
    # copyreg._reconstructor (pickle protocols 0/1): only for our inert classes.
    if isinstance(cls, type) and issubclass(cls, Inert):
        return cls()
    raise CheckpointError(f"refusing copyreg._reconstructor for {cls!r}")


# --- the restricted unpickler ---------------------------------------------------------------

_TORCH_FUNCS = {
    ("torch._utils", "_rebuild_tensor"): _rebuild_tensor,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    ("torch._utils", "_rebuild_parameter_with_state"): _rebuild_parameter,
}
_BUILTINS = {
    ("collections", "OrderedDict"): AttrDict,
    ("collections", "defaultdict"): lambda *factory: AttrDict(),  # factory never called
    ("builtins", "set"): set,
    ("builtins", "frozenset"): frozenset,
    ("builtins", "complex"): complex,
    ("builtins", "slice"): slice,
    ("copyreg", "_reconstructor"): _reconstructor,
    ("builtins", "getattr"): _safe_getattr,
    ("_operator", "getitem"): _safe_getitem,
    ("operator", "getitem"): _safe_getitem,
    ("builtins", "Ellipsis"): Ellipsis,
}
# Plain value types (OmegaConf metadata refers to them; constructing them runs no code).
_BUILTIN_TYPES = {t.__name__: t for t in (str, int, float, bool, bytes, bytearray, dict, list,
                                          tuple, object)}

# Modules whose classes we model as inert records; enum modules get EnumClass.
_INERT_MODULE_PREFIXES = ("omegaconf", "deepspeech_pytorch.configs", "hydra_configs",
                          "hydra.conf")
_ENUM_MODULES = ("deepspeech_pytorch.enums",)
_INERT_CLASSES = {
    ("pytorch_lightning.utilities.parsing", "AttributeDict"),
    ("lightning_fabric.utilities.data", "AttributeDict"),
    ("lightning.fabric.utilities.data", "AttributeDict"),
    ("argparse", "Namespace"),
}
# nn modules only ever appear as RNNType enum values (nn.LSTM); never instantiated.
_MARKER_CLASSES = {
    ("torch.nn.modules.rnn", "LSTM"), ("torch.nn.modules.rnn", "GRU"),
    ("torch.nn.modules.rnn", "RNN"),
}


class RestrictedUnpickler(pickle.Unpickler):
    def __init__(self, file, storage_loader):
        super().__init__(file, encoding="utf-8")
        self._storage_loader = storage_loader

    def find_class(self, module, name):
        # Python 2 names written by protocols <= 2, mapped as pickle's own find_class does.
        if (module, name) in _compat_pickle.NAME_MAPPING:
            module, name = _compat_pickle.NAME_MAPPING[(module, name)]
        elif module in _compat_pickle.IMPORT_MAPPING:
            module = _compat_pickle.IMPORT_MAPPING[module]
        key = (module, name)
        if key in _TORCH_FUNCS:
            return _TORCH_FUNCS[key]
        if module == "torch" and name in _STORAGE_DTYPES:
            return StorageType(name)
        if key in _BUILTINS:
            return _BUILTINS[key]
        if module == "builtins" and name in _BUILTIN_TYPES:
            return _BUILTIN_TYPES[name]
        if module == "typing":
            return Marker(f"typing.{name}")
        if module in _ENUM_MODULES:
            if "." in name:  # pickled by member name: RNNType.lstm
                enum_name, member = name.rsplit(".", 1)
                return EnumValue(f"{module}.{enum_name}", member=member)
            return EnumClass(f"{module}.{name}")
        if key in _MARKER_CLASSES:
            return Marker(f"{module}.{name}")
        if key in _INERT_CLASSES or module.startswith(_INERT_MODULE_PREFIXES):
            if module.startswith("omegaconf") and name[:1].islower():
                raise CheckpointError(f"refusing to load global {module}.{name}")
            return _inert_class(f"{module}.{name}")
        raise CheckpointError(f"refusing to load global {module}.{name} (not on the allowlist "
                              "of tools/ds2_checkpoint.py)")

    def persistent_load(self, pid):
        return self._storage_loader(pid)


def _check_pid(pid):
    if not (isinstance(pid, tuple) and len(pid) >= 5 and pid[0] == "storage"
            and isinstance(pid[1], StorageType)):
        raise CheckpointError(f"unexpected persistent id {pid!r}")


def _load_zip(path):
    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
        pkls = [n for n in names if n.endswith("/data.pkl") and n.count("/") == 1]
        if len(pkls) != 1:
            raise CheckpointError(f"{path}: zip file without a single <dir>/data.pkl "
                                  "(not a torch.save archive)")
        prefix = pkls[0][:-len("data.pkl")]
        byteorder = "<"
        if prefix + "byteorder" in names:
            order = zf.read(prefix + "byteorder").decode().strip()
            byteorder = {"little": "<", "big": ">"}.get(order)
            if byteorder is None:
                raise CheckpointError(f"{path}: unknown byteorder {order!r}")
        storages = {}

        def load_storage(pid):
            _check_pid(pid)
            stype, key, numel = pid[1], str(pid[2]), pid[4]
            if key not in storages:
                st = Storage(stype, key, numel)
                try:
                    raw = zf.read(f"{prefix}data/{key}")
                except KeyError:
                    raise CheckpointError(f"{path}: storage {key} missing from archive")
                st.set_bytes(raw, byteorder)
                storages[key] = st
            elif storages[key].stype.name != stype.name:
                raise CheckpointError(f"{path}: storage {key} used with two dtypes")
            return storages[key]

        with zf.open(pkls[0]) as f:
            return RestrictedUnpickler(io.BytesIO(f.read()), load_storage).load()


def _load_legacy(path):
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size

        def no_storage(pid):
            raise CheckpointError(f"{path}: unexpected persistent id in header")

        magic = RestrictedUnpickler(f, no_storage).load()
        if magic != LEGACY_MAGIC:
            raise CheckpointError(f"{path}: not a torch.save file (neither zip archive nor "
                                  "legacy pickle stream with torch's magic number); the old tar "
                                  "format is not supported")
        protocol = RestrictedUnpickler(f, no_storage).load()
        if protocol != LEGACY_PROTOCOL:
            raise CheckpointError(f"{path}: legacy protocol {protocol} not supported")
        sys_info = RestrictedUnpickler(f, no_storage).load()
        byteorder = "<" if not isinstance(sys_info, dict) or \
            sys_info.get("little_endian", True) else ">"
        storages = {}

        def load_storage(pid):
            _check_pid(pid)
            stype, key, numel = pid[1], str(pid[2]), pid[4]
            if key not in storages:
                storages[key] = Storage(stype, key, numel)
            base = storages[key]
            view = pid[5] if len(pid) > 5 else None
            if view is not None:
                # Legacy storage view (view_key, offset, size): a slice of the root storage.
                _, offset, size = view
                return _StorageView(base, int(offset), int(size))
            return base

        obj = RestrictedUnpickler(f, load_storage).load()
        keys = RestrictedUnpickler(f, no_storage).load()
        for key in keys:
            key = str(key)
            st = storages.get(key)
            if st is None:
                raise CheckpointError(f"{path}: data for unknown storage {key}")
            hdr = f.read(8)
            if len(hdr) != 8:
                raise CheckpointError(f"{path}: truncated at storage {key}")
            (numel,) = struct.unpack(byteorder + "q", hdr)
            nbytes = numel * st.stype.itemsize()
            if nbytes > size - f.tell():
                raise CheckpointError(f"{path}: storage {key} claims {nbytes} bytes, more than "
                                      "the rest of the file")
            raw = f.read(nbytes)
            if numel < 0 or len(raw) != nbytes:
                raise CheckpointError(f"{path}: truncated data for storage {key}")
            st.set_bytes(raw, byteorder)
    _resolve_views(obj)
    return obj


class _StorageView(Storage):
    def __init__(self, base, offset, size):
        super().__init__(base.stype, f"{base.key}[{offset}:+{size}]", size)
        self.base = base
        self.view_offset = offset


def _resolve_views(obj, seen=None):
    seen = set() if seen is None else seen
    if id(obj) in seen:
        return
    seen.add(id(obj))
    if isinstance(obj, TensorRef) and isinstance(obj.storage, _StorageView):
        sv = obj.storage
        sv.data = sv.base.data[sv.view_offset:sv.view_offset + sv.numel]
    elif isinstance(obj, dict):
        for v in obj.values():
            _resolve_views(v, seen)
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            _resolve_views(v, seen)
    elif isinstance(obj, Inert):
        _resolve_views(obj.state, seen)


def load_checkpoint(path):
    """Loads a torch.save file without executing code; raises CheckpointError."""
    try:
        if zipfile.is_zipfile(path):
            return _load_zip(path)
        with open(path, "rb") as f:
            if f.read(4) == b"PK\x03\x04":
                raise CheckpointError(f"{path}: damaged or truncated zip archive")
        return _load_legacy(path)
    except (CheckpointError, OSError):
        raise
    except Exception as e:  # malformed pickle data surfaces as many exception types
        raise CheckpointError(f"{path}: cannot read checkpoint: {type(e).__name__}: {e}")


# --- conversion of config objects to plain values -------------------------------------------

def object_type_name(obj):
    """OmegaConf structured-config class name of a pickled DictConfig (e.g.
    'BiDirectionalConfig'), or None."""
    if isinstance(obj, Inert):
        meta = obj.state.get("_metadata")
        if isinstance(meta, Inert):
            ot = meta.state.get("object_type")
            if isinstance(ot, (Marker, Inert)) or isinstance(ot, type) and issubclass(ot, Inert):
                return getattr(ot, "qualname", "").rsplit(".", 1)[-1] or None
    return None


def to_plain(obj, depth=0):
    """OmegaConf containers -> dict/list, value nodes -> values, enums -> member name or value
    (nn.LSTM -> 'lstm'), tensors stay TensorRef."""
    if depth > 100:
        raise CheckpointError("config nesting too deep")
    if isinstance(obj, EnumValue):
        if obj.member is not None:
            return obj.member
        v = obj.value
        if isinstance(v, Marker):
            return v.name.lower()
        return to_plain(v, depth + 1)
    if isinstance(obj, Marker):
        return obj.name
    if isinstance(obj, dict):
        return {to_plain(k, depth + 1): to_plain(v, depth + 1) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_plain(v, depth + 1) for v in obj]
    if isinstance(obj, Inert):
        q = obj.qualname
        st = obj.state
        if q.endswith("DictConfig") or q.endswith("ListConfig"):
            content = st.get("_content")
            return to_plain(content, depth + 1)
        if q.startswith("omegaconf.nodes") or "_val" in st:
            return to_plain(st.get("_val"), depth + 1)
        if "_items" in st:  # dict subclass
            d = {to_plain(k, depth + 1): to_plain(v, depth + 1) for k, v in st["_items"].items()}
            return d
        if "_list" in st:
            return to_plain(st["_list"], depth + 1)
        return {k: to_plain(v, depth + 1) for k, v in st.items() if not k.startswith("_")}
    return obj


if __name__ == "__main__":
    for p in sys.argv[1:]:
        ck = load_checkpoint(p)
        print(p, type(ck).__name__, list(ck)[:20] if isinstance(ck, dict) else "")
