from pathlib import Path

import numpy as np
import pytest

from autograder import plaindata


def roundtrip(value: object, tmp_path: Path) -> object:
    plaindata.dump(value, tmp_path / "v.json", tmp_path / "v.npz")
    return plaindata.load(tmp_path / "v.json", tmp_path / "v.npz", max_bytes=10**7)


def test_values_survive_the_trip(tmp_path: Path) -> None:
    value = {"a": (1, 2.5, np.arange(6).reshape(2, 3)), "b": [None, True, "x"],
             "nan": float("nan"), "big": 2**70, "f32": np.float32(1.5)}
    back = roundtrip(value, tmp_path)
    assert isinstance(back, dict)
    assert back["a"][0] == 1 and isinstance(back["a"], tuple)
    np.testing.assert_array_equal(back["a"][2], np.arange(6).reshape(2, 3))
    assert back["b"] == [None, True, "x"]
    assert np.isnan(back["nan"]) and back["big"] == 2**70 and back["f32"] == 1.5


def test_object_arrays_and_arbitrary_objects_are_refused(tmp_path: Path) -> None:
    with pytest.raises(plaindata.PlainDataError):
        roundtrip(np.array([object()], dtype=object), tmp_path)
    with pytest.raises(plaindata.PlainDataError, match="not plain data"):
        roundtrip(object(), tmp_path)


def test_a_pickled_array_is_never_loaded(tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    with open(tmp_path / "v.npz", "wb") as handle:
        np.savez(handle, a0=np.array([marker], dtype=object))
    (tmp_path / "v.json").write_text('{"__array__": "a0"}')
    with pytest.raises(plaindata.PlainDataError, match="not a plain array archive"):
        plaindata.load(tmp_path / "v.json", tmp_path / "v.npz", max_bytes=10**7)


def test_oversized_and_deeply_nested_input_is_refused(tmp_path: Path) -> None:
    (tmp_path / "v.npz").write_bytes(b"")
    (tmp_path / "v.json").write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(plaindata.PlainDataError):
        plaindata.load(tmp_path / "v.json", tmp_path / "v.npz", max_bytes=10**7)
    with pytest.raises(plaindata.PlainDataError, match="larger than"):
        plaindata.load(tmp_path / "v.json", tmp_path / "v.npz", max_bytes=10)
