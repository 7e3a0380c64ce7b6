"""A cheap static budget for a saved model, read before Keras sees the file.

Safe mode stops code execution, not resource use: a 400 KB file can declare gigabytes of
variables, repeat one HDF5 dataset in its weight list, back a variable with a dataset that
stores nothing, choose an initializer that runs a QR decomposition per kernel (loading with
``compile=False`` still runs initializers before the weights are read), apply one layer
hundreds of times, or hold tens of thousands of layers. :func:`check_budget` works these
costs out from the JSON description (shapes propagated layer by layer, as Keras would build
them) and from the HDF5 datasets' headers (never their data), and refuses what is over
:class:`ModelBudget` with a message naming the limit and what to change.

The budget is the first line; the limited child process that loads the model
(:mod:`autograder.judge.models.evaluator`) is the second, for whatever an estimate misses.
"""

from __future__ import annotations

import math
import shutil
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from autograder.judge.models.description import (
    NPZ_WEIGHTS_ENTRY,
    WEIGHTS_ENTRY,
    ModelDescription,
    ModelRefusedError,
    open_archive,
)

Shape = tuple[int | None, ...]  # with the batch dimension first


@dataclass(frozen=True)
class ModelBudget:
    """What one saved model may cost the judge. The workshop's largest model (the CNN) has
    0.11 M parameters, 9 layers and costs 2.8 MFLOP per image; these limits leave room
    for every experiment the notebooks invite (more filters, wider or extra layers)."""

    max_parameters: int = 10_000_000  # 40 MB of float32 variables
    max_layers: int = 256  # layers in the description, nested models included
    max_applications: int = 16  # times one layer object is applied (shared layers)
    max_flops_per_sample: int = 300_000_000  # multiply-adds ×2, one input row or image
    max_activation_values: int = 8_000_000  # largest single layer output, per sample
    max_initializer_flops: int = 4_000_000_000  # e.g. Orthogonal's QR, all kernels
    max_weight_bytes: int = 256 * 2**20  # bytes the HDF5 datasets Keras reads declare
    max_weight_links: int = 20_000  # names in the weights file (groups and datasets)
    # Off only to show what the limited child does with a file the budget would refuse.
    inspect_weights: bool = True


@dataclass
class Estimate:
    """What the description declares, as far as shapes could be worked out."""

    layers: int = 0
    applications: dict[str, int] = field(default_factory=dict)
    parameters: int = 0
    flops: int = 0
    largest_output: int = 0
    initializer_flops: int = 0
    unknown_shapes: list[str] = field(default_factory=list)  # layers whose cost is unknown


class _OverBudget(Exception):
    pass


# -- shapes and costs from the description ----------------------------------------------------

def _int(value: Any, default: int = 0) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def _tuple(value: Any, rank: int, default: int = 1) -> tuple[int, ...]:
    if isinstance(value, int) and not isinstance(value, bool):
        return (value,) * rank
    if isinstance(value, list | tuple) and len(value) == rank:
        return tuple(_int(v, default) for v in value)
    return (default,) * rank


def _shape(value: Any) -> Shape | None:
    if not isinstance(value, list | tuple) or len(value) > 16:
        return None
    if value and all(isinstance(v, list | tuple) for v in value):
        return _shape(value[0])  # a one-input model may record [shape]
    dims: list[int | None] = []
    for v in value:
        if v is None:
            dims.append(None)
        elif isinstance(v, int) and not isinstance(v, bool) and v >= 0:
            dims.append(v)
        else:
            return None
    return tuple(dims)


def _size(shape: Shape) -> int | None:
    """Values per sample (the batch dimension left out), None when not fixed."""
    total = 1
    for d in shape[1:]:
        if d is None:
            return None
        total *= d
    return total


def _config(obj: dict[str, Any]) -> dict[str, Any]:
    config = obj.get("config")
    return config if isinstance(config, dict) else {}


def _declared_input(obj: dict[str, Any]) -> Shape | None:
    config = _config(obj)
    for key in ("batch_shape", "batch_input_shape"):
        if config.get(key) is not None:
            return _shape(config[key])
    build = obj.get("build_config")
    if isinstance(build, dict) and build.get("input_shape") is not None:
        return _shape(build["input_shape"])
    if config.get("build_input_shape") is not None:
        return _shape(config["build_input_shape"])
    return None


def _initializer_cost(initializer: Any, shape: tuple[int, ...]) -> int:
    name = initializer.get("class_name") if isinstance(initializer, dict) else initializer
    if not isinstance(name, str) or name.lower() != "orthogonal" or len(shape) < 2:
        return 0
    rows, cols = math.prod(shape[:-1]), shape[-1]
    big, small = max(rows, cols), min(rows, cols)
    return 2 * big * small * small  # a QR decomposition of a (big × small) matrix


class _Walker:
    def __init__(self, budget: ModelBudget) -> None:
        self.budget = budget
        self.estimate = Estimate()

    # each check raises as soon as a total passes its limit, so a hostile description
    # never makes the walk itself expensive
    def _count_layer(self) -> None:
        self.estimate.layers += 1
        if self.estimate.layers > self.budget.max_layers:
            raise _OverBudget(f"more than {self.budget.max_layers:,} layers")

    def _apply_count(self, name: str) -> None:
        count = self.estimate.applications.get(name, 0) + 1
        self.estimate.applications[name] = count
        if count > self.budget.max_applications:
            raise _OverBudget(f"the layer {name!r} applied more than "
                              f"{self.budget.max_applications} times")
        if sum(self.estimate.applications.values()) > self.budget.max_layers:
            raise _OverBudget(f"more than {self.budget.max_layers:,} layer applications")

    def _variable(self, config: dict[str, Any], key: str, shape: tuple[int, ...]) -> None:
        # The initializer first: its message says what to change when both are over.
        self.estimate.initializer_flops += _initializer_cost(config.get(key), shape)
        if self.estimate.initializer_flops > self.budget.max_initializer_flops:
            raise _OverBudget("initializers (here Orthogonal, on a large kernel) that cost "
                              f"more than {self.budget.max_initializer_flops:.0e} operations "
                              "to run")
        self.estimate.parameters += math.prod(shape)
        if self.estimate.parameters > self.budget.max_parameters:
            raise _OverBudget(f"more than {self.budget.max_parameters:,} parameters")

    def _work(self, flops: int) -> None:
        self.estimate.flops += flops
        if self.estimate.flops > self.budget.max_flops_per_sample:
            raise _OverBudget(f"more than {self.budget.max_flops_per_sample:,} operations "
                              "per sample")

    def _output(self, shape: Shape) -> None:
        values = _size(shape)
        if values is not None:
            self.estimate.largest_output = max(self.estimate.largest_output, values)
            if values > self.budget.max_activation_values:
                raise _OverBudget(f"a layer output of more than "
                                  f"{self.budget.max_activation_values:,} values per sample")

    # -- models --------------------------------------------------------------------------------
    def model(self, obj: dict[str, Any], inputs: list[Shape | None]) -> list[Shape | None]:
        config = _config(obj)
        layers = config.get("layers")
        if not isinstance(layers, list):
            return [None]
        if obj.get("class_name") == "Sequential" or "input_layers" not in config:
            return self._sequential(obj, layers, inputs)
        return self._functional(config, layers, inputs)

    def _sequential(self, obj: dict[str, Any], layers: list[Any],
                    inputs: list[Shape | None]) -> list[Shape | None]:
        shape = inputs[0] if inputs and inputs[0] is not None else _declared_input(obj)
        for layer in layers:
            if not isinstance(layer, dict):
                continue
            if shape is None:
                shape = _declared_input(layer)
            shape = self.layer(layer, [shape])[0]
        return [shape]

    def _functional(self, config: dict[str, Any], layers: list[Any],
                    inputs: list[Shape | None]) -> list[Shape | None]:
        by_name: dict[str, dict[str, Any]] = {}
        pending: list[tuple[str, int, list[Any]]] = []
        for layer in layers:
            if not isinstance(layer, dict):
                continue
            name = str(_config(layer).get("name", layer.get("name", "?")))
            by_name[name] = layer
            nodes = layer.get("inbound_nodes")
            if layer.get("class_name") == "InputLayer":
                continue
            for index, node in enumerate(nodes if isinstance(nodes, list) else []):
                self._apply_count(name)
                pending.append((name, index, list(_history(node))))
        outputs: dict[tuple[str, int], list[Shape | None]] = {}
        input_names = [_history_name(ref) for ref in _list(config.get("input_layers"))]
        for position, input_name in enumerate(input_names):
            source = by_name.get(input_name or "")
            given = inputs[position] if position < len(inputs) else None
            shape = given if given is not None else (
                _declared_input(source) if source else None)
            if source is not None:
                self._count_layer()
            outputs[(input_name or "", 0)] = [shape]
        # Layers are listed in the order Keras built them; a few passes settle the rest.
        for _ in range(len(pending) + 1):
            if not pending:
                break
            waiting = []
            for name, index, sources in pending:
                if not all((src, node) in outputs for src, node, _ in sources):
                    waiting.append((name, index, sources))
                    continue
                shapes = [_pick(outputs[(src, node)], tensor) for src, node, tensor in sources]
                outputs[(name, index)] = self.layer(by_name[name], shapes, count=index == 0)
            if len(waiting) == len(pending):
                break  # a reference to nothing: Keras will refuse the file itself
            pending = waiting
        results = []
        for ref in _list(config.get("output_layers")):
            out_name = _history_name(ref) or ""
            node = _int(ref[1]) if isinstance(ref, list) and len(ref) > 1 else 0
            tensor = _int(ref[2]) if isinstance(ref, list) and len(ref) > 2 else 0
            results.append(_pick(outputs.get((out_name, node), [None]), tensor))
        return results or [None]

    # -- layers --------------------------------------------------------------------------------
    def layer(self, obj: dict[str, Any], inputs: list[Shape | None], *,
              count: bool = True) -> list[Shape | None]:
        class_name = obj.get("class_name")
        if count:
            self._count_layer()
        if class_name in ("Sequential", "Functional", "Model"):
            return self.model(obj, inputs)
        config = _config(obj)
        if class_name == "InputLayer":
            return [_declared_input(obj)]
        shape = inputs[0] if inputs else None
        if shape is None or not shape:
            self.estimate.unknown_shapes.append(str(config.get("name", class_name)))
            return [None]
        output = self._layer_shape(str(class_name), config, shape, inputs)
        if output is None:
            self.estimate.unknown_shapes.append(str(config.get("name", class_name)))
        else:
            self._output(output)
        return [output]

    def _layer_shape(self, class_name: str, config: dict[str, Any], shape: Shape,
                     inputs: list[Shape | None]) -> Shape | None:
        last = shape[-1]
        if class_name == "Dense":
            units = _int(config.get("units"))
            if last is None:
                return None
            self._variable(config, "kernel_initializer", (last, units))
            if config.get("use_bias", True):
                self._variable(config, "bias_initializer", (units,))
            rows = _size((*shape[:-1], 1))
            self._work(2 * last * units * (rows or 1))
            return (*shape[:-1], units)
        if class_name in ("Conv1D", "Conv2D", "SeparableConv2D", "DepthwiseConv2D"):
            return self._convolution(class_name, config, shape)
        if class_name.startswith(("MaxPooling", "AveragePooling")):
            rank = 1 if class_name.endswith("1D") else 2
            pool = _tuple(config.get("pool_size"), rank, 2)
            strides = _tuple(config.get("strides") or pool, rank, 1)
            return self._spatial(shape, pool, strides, (1,) * rank, config, last)
        if class_name.startswith(("GlobalMaxPooling", "GlobalAveragePooling")):
            if config.get("keepdims"):
                return (shape[0], *([1] * (len(shape) - 2)), last)
            return (shape[0], last)
        if class_name == "Flatten":
            values = _size(shape)
            return (shape[0], values) if values is not None else None
        if class_name == "Reshape":
            target = _shape(config.get("target_shape"))
            values = _size(shape)
            if target is None:
                return None
            dims = [d if d != -1 else None for d in target]
            return (shape[0], *dims) if values is not None else None
        if class_name in ("Resizing", "CenterCrop") and len(shape) == 4:
            return (shape[0], _int(config.get("height")), _int(config.get("width")), last)
        if class_name == "Concatenate":
            known = [s for s in inputs if s is not None]
            if len(known) != len(inputs) or any(s[-1] is None for s in known):
                return None
            return (*shape[:-1], sum(s[-1] or 0 for s in known))
        if last is not None and class_name in ("BatchNormalization", "LayerNormalization",
                                               "Normalization", "PReLU"):
            per_channel = {"BatchNormalization": 4, "LayerNormalization": 2,
                           "Normalization": 2, "PReLU": 1}[class_name]
            for _ in range(per_channel):
                self._variable({}, "", (last,))
        values = _size(shape)
        self._work(values or 0)  # an element-wise layer
        return shape

    def _convolution(self, class_name: str, config: dict[str, Any], shape: Shape) -> Shape | None:
        rank = 1 if class_name == "Conv1D" else 2
        if len(shape) != rank + 2:
            return None
        first = config.get("data_format") == "channels_first"
        channels = shape[1] if first else shape[-1]
        spatial: Shape = shape[2:] if first else shape[1:-1]
        if channels is None:
            return None
        kernel = _tuple(config.get("kernel_size"), rank, 1)
        strides = _tuple(config.get("strides"), rank, 1)
        dilation = _tuple(config.get("dilation_rate"), rank, 1)
        multiplier = max(1, _int(config.get("depth_multiplier"), 1))
        if class_name == "DepthwiseConv2D":
            filters = channels * multiplier
            per_output = math.prod(kernel)
            self._variable(config, "depthwise_initializer", (*kernel, channels, multiplier))
        elif class_name == "SeparableConv2D":
            filters = _int(config.get("filters"))
            per_output = math.prod(kernel) + channels * multiplier
            self._variable(config, "depthwise_initializer", (*kernel, channels, multiplier))
            self._variable(config, "pointwise_initializer", (1, 1, channels * multiplier,
                                                             filters))
        else:
            groups = max(1, _int(config.get("groups"), 1))
            filters = _int(config.get("filters"))
            per_output = math.prod(kernel) * (channels // groups)
            self._variable(config, "kernel_initializer", (*kernel, channels // groups, filters))
        if config.get("use_bias", True):
            self._variable(config, "bias_initializer", (filters,))
        out = self._spatial((shape[0], *spatial, channels), kernel, strides, dilation, config,
                            filters)
        if out is None:
            return None
        positions = _size((*out[:-1], 1))
        if positions is None:
            self.estimate.unknown_shapes.append(str(config.get("name", class_name)))
        else:
            self._work(2 * per_output * filters * positions)
        return (out[0], filters, *out[1:-1]) if first else out

    @staticmethod
    def _spatial(shape: Shape, window: tuple[int, ...], strides: tuple[int, ...],
                 dilation: tuple[int, ...], config: dict[str, Any],
                 channels: int | None) -> Shape | None:
        dims = shape[1:-1]
        if len(dims) != len(window):
            return None
        same = config.get("padding") == "same"
        out: list[int | None] = []
        for n, k, s, d in zip(dims, window, strides, dilation, strict=True):
            if n is None:
                out.append(None)
            elif same:
                out.append(-(-n // max(s, 1)))
            else:
                out.append(max(0, (n - d * (k - 1) - 1) // max(s, 1) + 1))
        return (shape[0], *out, channels)


def _list(value: Any) -> list[Any]:
    if isinstance(value, list) and value and isinstance(value[0], str):
        return [value]  # a single [name, node, tensor] reference
    return value if isinstance(value, list) else []


def _history_name(ref: Any) -> str | None:
    return ref[0] if isinstance(ref, list) and ref and isinstance(ref[0], str) else None


def _pick(shapes: list[Shape | None], tensor: int) -> Shape | None:
    return shapes[tensor] if 0 <= tensor < len(shapes) else None


def _history(node: Any, depth: int = 0) -> Iterator[tuple[str, int, int]]:
    """The (layer, node, tensor) references a node's inputs come from, Keras 3 and 2 forms."""
    if depth > 8:
        return
    if isinstance(node, dict):
        history = _config(node).get("keras_history") if node.get("class_name") == \
            "__keras_tensor__" else None
        if isinstance(history, list) and len(history) == 3 and isinstance(history[0], str):
            yield history[0], _int(history[1]), _int(history[2])
            return
        for key in ("args", "kwargs"):
            yield from _history(node.get(key), depth + 1)
        return
    if isinstance(node, list):
        if len(node) >= 3 and isinstance(node[0], str) and isinstance(node[1], int):
            yield node[0], _int(node[1]), _int(node[2])  # Keras 2: [name, node, tensor, {}]
            return
        for item in node:
            yield from _history(item, depth + 1)


def estimate(description: ModelDescription, budget: ModelBudget) -> Estimate:
    """Walk the description; raises :class:`ModelRefusedError` when over ``budget``."""
    walker = _Walker(budget)
    try:
        walker.model(description.model_config, [None])
    except _OverBudget as over:
        raise ModelRefusedError(_message(description.file_name, str(over))) from None
    except RecursionError:
        raise ModelRefusedError(f"{description.file_name} nests models too deeply.") from None
    except (TypeError, ValueError, IndexError, KeyError, AttributeError, OverflowError):
        # A description this walk cannot follow is left to Keras, under the child's limits;
        # the estimate says it is incomplete.
        walker.estimate.unknown_shapes.append("(description not followed)")
    return walker.estimate


def _message(file_name: str, limit: str) -> str:
    return (f"{file_name} declares {limit}, which is over what the grader evaluates for "
            "this exercise. The workshop's networks are far smaller: use the layers and "
            "sizes the exercise asks for (fewer or smaller layers, no layer reused many "
            "times, the default kernel initializer) and save the model again.")


# -- the HDF5 datasets Keras would read --------------------------------------------------------

@dataclass
class _Datasets:
    budget: ModelBudget
    file_name: str
    links: int = 0
    declared: int = 0
    addresses: set[Any] = field(default_factory=set)

    def refuse(self, why: str) -> ModelRefusedError:
        return ModelRefusedError(f"{self.file_name} {why}; the grader does not read such "
                                 "weights. Save the model again with model.save(...).")

    def link(self) -> None:
        self.links += 1
        if self.links > self.budget.max_weight_links:
            raise self.refuse(f"holds more than {self.budget.max_weight_links:,} names in "
                              "its weights")

    def dataset(self, dataset: Any, name: str, *, repeated_ok: bool = False) -> None:
        import h5py

        address = _address(dataset)
        if address in self.addresses and not repeated_ok:
            raise self.refuse(f"uses the weights dataset {name!r} more than once")
        self.addresses.add(address)
        plist = dataset.id.get_create_plist()
        if plist.get_layout() not in (h5py.h5d.CONTIGUOUS, h5py.h5d.CHUNKED, h5py.h5d.COMPACT) \
                or plist.get_external_count() > 0:
            raise self.refuse(f"stores the dataset {name!r} outside the file")
        declared = int(dataset.size) * int(dataset.dtype.itemsize)
        if dataset.dtype.kind not in "biuf" and declared > 4096:
            raise self.refuse(f"holds a non-numeric dataset {name!r}")
        stored = int(dataset.id.get_storage_size())
        if stored < declared:
            raise self.refuse(f"declares {declared / 2**20:,.1f} MiB in the dataset {name!r} "
                              f"but stores {stored / 2**20:,.1f} MiB")
        self.declared += declared
        if self.declared > self.budget.max_weight_bytes:
            raise self.refuse(f"declares more than {self.budget.max_weight_bytes // 2**20} "
                              "MiB of weights")

    def walk(self, group: Any, depth: int = 0) -> None:
        import h5py

        if depth > 32:
            raise self.refuse("nests its weights too deeply")
        for name in group:
            self.link()
            link = group.get(name, getlink=True)
            if not isinstance(link, h5py.HardLink):
                raise self.refuse(f"links {name!r} to another place or file")
            item = group[name]
            if isinstance(item, h5py.Dataset):
                self.dataset(item, item.name)
            elif isinstance(item, h5py.Group):
                address = _address(item)
                if address in self.addresses:
                    raise self.refuse(f"uses the weights group {item.name!r} more than once")
                self.addresses.add(address)
                self.walk(item, depth + 1)


def _address(obj: Any) -> Any:
    import h5py

    info = h5py.h5o.get_info(obj.id)
    return getattr(info, "token", None) or getattr(info, "addr", None)


def _h5_weights(handle: Any, datasets: _Datasets) -> None:
    """A legacy ``.h5`` file: Keras reads each layer's ``weight_names`` from its group."""
    import h5py

    group = handle.get("model_weights", handle)
    if not isinstance(group, h5py.Group):
        return
    for layer in list(group.values())[: datasets.budget.max_weight_links]:
        datasets.link()
        if not isinstance(layer, h5py.Group):
            continue
        names = layer.attrs.get("weight_names")
        if names is None:
            continue
        names = [n.decode("utf-8", "replace") if isinstance(n, bytes) else str(n)
                 for n in list(names)[: datasets.budget.max_weight_links]]
        if len(set(names)) != len(names):
            raise datasets.refuse(f"repeats a name in the weight list of layer {layer.name!r}")
        for name in names:
            datasets.link()
            try:
                item = layer[name]
            except (KeyError, ValueError, OSError):
                continue  # Keras will report the missing weight itself
            if isinstance(item, h5py.Dataset):
                datasets.dataset(item, f"{layer.name}/{name}")


def _npz_weights(path: Path, datasets: _Datasets) -> None:
    """Weights saved as ``.npz``: every array stored uncompressed, its ``.npy`` header
    declaring no more bytes than the member holds."""
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            datasets.link()
            if info.compress_type != zipfile.ZIP_STORED:
                raise datasets.refuse(f"compresses the weights array {info.filename!r}")
            with archive.open(info) as member:
                try:
                    version = np.lib.format.read_magic(member)
                    read = {(1, 0): np.lib.format.read_array_header_1_0,
                            (2, 0): np.lib.format.read_array_header_2_0}.get(version)
                    if read is None:
                        raise ValueError(f"npy format {version}")
                    shape, _, dtype = read(member, max_header_size=10_000)
                except (ValueError, OSError, SyntaxError) as exc:
                    raise datasets.refuse(f"holds an unreadable array {info.filename!r}") \
                        from exc
            declared = math.prod(shape) * dtype.itemsize
            if dtype.hasobject or declared > info.file_size:
                raise datasets.refuse(f"declares {declared / 2**20:,.1f} MiB in the array "
                                      f"{info.filename!r} but stores "
                                      f"{info.file_size / 2**20:,.1f} MiB")
            datasets.declared += declared
            if datasets.declared > datasets.budget.max_weight_bytes:
                raise datasets.refuse(f"declares more than "
                                      f"{datasets.budget.max_weight_bytes // 2**20} MiB of "
                                      "weights")


def check_weights(path: Path, description: ModelDescription, budget: ModelBudget) -> None:
    """Refuse weights whose datasets could make Keras read more than the file holds."""
    import h5py

    datasets = _Datasets(budget, description.file_name)
    try:
        if description.format == "h5":
            with h5py.File(path, "r") as handle:
                datasets.walk(handle)  # every name, once: aliases and sparse datasets
                _h5_weights(handle, _Datasets(budget, description.file_name))
            return
        with tempfile.TemporaryDirectory(prefix="autograder-weights-") as tmp:
            with open_archive(path) as archive:
                names = archive.namelist()
                entry = next((n for n in (WEIGHTS_ENTRY, NPZ_WEIGHTS_ENTRY) if n in names),
                             None)
                if entry is None:
                    return
                weights = Path(tmp) / entry
                with archive.open(entry) as source, weights.open("wb") as target:
                    shutil.copyfileobj(source, target)
            if entry == NPZ_WEIGHTS_ENTRY:
                _npz_weights(weights, datasets)
                return
            with h5py.File(weights, "r") as handle:
                datasets.walk(handle)
    except ModelRefusedError:
        raise
    except Exception as exc:  # h5py reports a malformed file in many ways
        raise ModelRefusedError(f"{description.file_name}'s weights are not a readable HDF5 "
                                f"file ({type(exc).__name__}: {str(exc)[:200]}).") from exc


def check_budget(path: Path, description: ModelDescription,
                 budget: ModelBudget | None = None) -> Estimate:
    """Refuse ``path`` (a file that passed the allow-list) when it is over ``budget``."""
    budget = budget or ModelBudget()
    found = estimate(description, budget)
    if budget.inspect_weights:
        check_weights(path, description, budget)
    return found
