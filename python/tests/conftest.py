"""Shared fixtures: the repository's bundled model and eval audio, and build/ds2-transcribe as
the reference the binding must agree with."""
import os
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODEL = os.path.join(ROOT, "data", "default-model.gguf")
HELDOUT = os.path.join(ROOT, "data", "eval", "heldout", "wav")
GOLDEN = os.path.join(ROOT, "test", "golden")
# The build under test: DS2_BUILD_DIR (make test-python-package passes $(BUILD)), else build/.
BUILD = os.path.join(ROOT, os.environ.get("DS2_BUILD_DIR", "build"))
TRANSCRIBE = os.path.join(BUILD, "ds2-transcribe")


def heldout(n):
    """The first n files of the bundled held-out eval set, as absolute paths."""
    return [os.path.join(HELDOUT, f) for f in sorted(os.listdir(HELDOUT))[:n]]


def reference_transcripts(paths, *args):
    """{path: text} from build/ds2-transcribe on the same model, one utterance at a time."""
    if not os.access(TRANSCRIBE, os.X_OK):
        pytest.skip(f"{TRANSCRIBE} not built (run make)")
    out = subprocess.run([TRANSCRIBE, "-m", MODEL, *args, *paths], check=True,
                         capture_output=True, text=True).stdout
    return dict(line.split("\t", 1) for line in out.splitlines())


@pytest.fixture(scope="session")
def model():
    import ds2
    return ds2.Model(MODEL)


@pytest.fixture(scope="session")
def session(model):
    return model.session()


def need_ray():
    """Skips the calling test where `ray` (with Serve) is not importable, or fails it when
    DS2_REQUIRE_RAY=1 (make test-python-package, whose interpreter has Ray: a skip there would
    hide that the Ray tests did not run)."""
    import importlib.util
    # find_spec, not import: the tests run Ray in subprocesses, and importing ray.serve here
    # would only cost time and warnings. Serve's own dependencies are checked too.
    def absent(m):
        try:
            return importlib.util.find_spec(m) is None
        except ImportError:  # ray.serve's parent ray missing
            return True
    missing = [m for m in ("ray", "ray.serve", "starlette", "uvicorn") if absent(m)]
    if missing:
        if os.environ.get("DS2_REQUIRE_RAY") == "1":
            pytest.fail(f"DS2_REQUIRE_RAY=1 but not importable: {', '.join(missing)}")
        pytest.skip(f"ray[serve] not installed (no {', '.join(missing)}); "
                    "scripts/setup-venv.sh ray")
