"""The process that holds one student model: it limits itself, loads the file with Keras
in safe mode (``compile=False``), then answers the judge's requests (summary, predictions
on held-out arrays, Dense weights) until the judge closes the connection.

It starts either forked from the evaluator's warm process (:mod:`.zygote`, TensorFlow
already imported) or as a fresh interpreter (``python -m autograder.judge.models.fresh FD``,
for comparison in ``benchmarks/model_evaluation.py``). Limits, applied before Keras reads
the file: a memory cgroup (v1) of its own when the judge may create one, else an
address-space rlimit above what the process has already mapped; a CPU-time rlimit; one
compute thread. The judge adds a wall-clock limit per request.
"""

from __future__ import annotations

import os
import resource
import socket
import sys
from pathlib import Path
from typing import Any

import numpy as np

from autograder.judge.models import wire

MAX_REQUEST_BYTES = 512 * 2**20


def _vm_size() -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


def cgroup_dir(base: str, pid: int) -> Path:
    return Path(base) / f"autograder-model-{pid}"


def _join_cgroup(base: str | None, memory_bytes: int) -> bool:
    if not base:
        return False
    try:
        folder = cgroup_dir(base, os.getpid())
        folder.mkdir()
        (folder / "memory.limit_in_bytes").write_text(str(memory_bytes))
        swap = folder / "memory.memsw.limit_in_bytes"
        if swap.exists():
            swap.write_text(str(memory_bytes))
        (folder / "cgroup.procs").write_text(str(os.getpid()))
        return True
    except OSError:
        return False


def apply_limits(request: dict[str, Any]) -> str:
    """Limit this process; returns how memory is limited ("cgroup" or "rlimit")."""
    memory = int(request["memory_bytes"])
    cpu = int(request["cpu_seconds"])
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 2))
    if _join_cgroup(request.get("cgroup_base"), memory):
        how = "cgroup"
    else:
        # TensorFlow maps far more address space than it touches; the limit sits above
        # what is mapped already, so it bounds what loading and predicting add.
        limit = _vm_size() + memory
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        how = "rlimit"
    threads = max(1, int(request.get("threads", 1)))
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    return how


def _error(exc: BaseException) -> dict[str, Any]:
    text = f"{type(exc).__name__}: {exc}"
    memory = isinstance(exc, MemoryError) or "ResourceExhausted" in text or \
        "bad_alloc" in text or "Unable to allocate" in text or "OOM" in text
    return {"ok": False, "error": text[:600], "memory": memory}


def _predict(model: Any, header: dict[str, Any], x: np.ndarray) -> dict[str, np.ndarray]:
    batch_size = max(1, int(header.get("batch_size", 256)))
    max_values = int(header["max_values"])
    outputs = []
    for start in range(0, len(x), batch_size):
        batch = np.asarray(x[start:start + batch_size], dtype="float32")
        result = model(batch, training=False)
        if isinstance(result, list | tuple | dict):
            raise ValueError("the model has several outputs")
        values = np.asarray(result, dtype="float32")
        if values.size > max_values * len(batch):
            raise ValueError(f"the model gives {values.size // max(len(batch), 1):,} values "
                             "per sample")
        outputs.append(values)
    if not outputs:
        return {"y": np.zeros((0,), dtype="float32")}
    return {"y": np.concatenate(outputs)}


def _dense_weights(model: Any) -> dict[str, np.ndarray]:
    from autograder.judge.models.summary import keras_layers

    arrays = {}
    index = 0
    for layer in keras_layers(model):
        if layer.__class__.__name__ == "Dense":
            weights = [np.asarray(w) for w in layer.get_weights()]
            arrays[f"kernel_{index}"] = weights[0]
            arrays[f"bias_{index}"] = (weights[1] if len(weights) > 1
                                       else np.zeros(weights[0].shape[-1], weights[0].dtype))
            index += 1
    return arrays


def serve(sock: socket.socket) -> None:
    """Read the load request, load, then answer requests until the judge hangs up."""
    request, _ = wire.receive(sock, MAX_REQUEST_BYTES)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    import keras  # already imported when forked from the warm process

    memory = apply_limits(request)
    try:
        from autograder.judge.models.summary import summarize

        model = keras.saving.load_model(request["path"], compile=False, safe_mode=True)
        summary = summarize(model)
    except BaseException as exc:
        wire.send(sock, {**_error(exc), "limits": memory})
        return
    wire.send(sock, {"ok": True, "summary": summary.to_plain(), "limits": memory})
    while True:
        try:
            header, arrays = wire.receive(sock, MAX_REQUEST_BYTES)
        except wire.WireError:
            return
        try:
            if header.get("op") == "predict":
                wire.send(sock, {"ok": True}, _predict(model, header, arrays["x"]))
            elif header.get("op") == "dense_weights":
                wire.send(sock, {"ok": True}, _dense_weights(model))
            else:
                return
        except BaseException as exc:
            wire.send(sock, _error(exc))


def main() -> None:
    """A fresh interpreter holding one model (see :mod:`.fresh`)."""
    sock = socket.socket(fileno=int(sys.argv[1]))
    try:
        serve(sock)
    finally:
        sys.stdout.flush()
        os._exit(0)

