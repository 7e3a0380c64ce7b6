import zipfile
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
    with pytest.raises(plaindata.PlainDataError, match="not plain numbers"):
        plaindata.load(tmp_path / "v.json", tmp_path / "v.npz", max_bytes=10**7)


def test_oversized_and_deeply_nested_input_is_refused(tmp_path: Path) -> None:
    (tmp_path / "v.npz").write_bytes(b"")
    (tmp_path / "v.json").write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(plaindata.PlainDataError):
        plaindata.load(tmp_path / "v.json", tmp_path / "v.npz", max_bytes=10**7)
    with pytest.raises(plaindata.PlainDataError, match="over the 10 allowed"):
        plaindata.load(tmp_path / "v.json", tmp_path / "v.npz", max_bytes=10)


# -- total, bounded decoding: every malformed input is a PlainDataError, checked cheaply ----

def _load_json(tmp_path: Path, text: str | bytes, arrays: dict[str, np.ndarray] | None = None,
               budget: plaindata.ArrayBudget | None = None) -> object:
    data = text.encode() if isinstance(text, str) else text
    (tmp_path / "v.json").write_bytes(data)
    with open(tmp_path / "v.npz", "wb") as handle:
        np.savez(handle, **(arrays or {}))  # type: ignore[arg-type]
    return plaindata.load(tmp_path / "v.json", tmp_path / "v.npz", max_bytes=10**8,
                          budget=budget)


@pytest.mark.parametrize(("text", "what"), [
    ('{"__float__": "x"}', "not nan, inf"),
    ('{"__float__": 1}', "not nan, inf"),
    ('{"__int__": "' + "9" * 5000 + '"}', "short decimal"),
    ('{"__int__": "1e5"}', "short decimal"),
    ('{"__int__": 3}', "short decimal"),
    ("9" * 5000, "more than 1000 digits"),
    ("1" + "0" * 500 + ".5", "more than 400 characters"),
    ("NaN", "bare NaN"),
    ('{"__array__": "a7"}', "names no array"),
    ('{"__array__": ["a0"]}', "names no array"),
    ('{"__tuple__": 5}', "encoded tuple"),
    ('{"__dict__": [1]}', "encoded dict"),
    ('{"__int__": "1", "x": 2}', "stray keys"),
    ('{"status": "ok"}', "unknown encoded value"),
    ("[" * 40 + "]" * 40, "nests deeper"),
    ('"' + "[" * 50 + '"', None),  # brackets inside a string are not nesting
    (b"\xff\xfe", "not UTF-8"),
    ("{", "not valid JSON"),
])
def test_ill_typed_markers_and_bounds_are_refused(tmp_path: Path, text: str,
                                                  what: str | None) -> None:
    if what is None:
        assert _load_json(tmp_path, text) == "[" * 50
        return
    with pytest.raises(plaindata.PlainDataError, match=what):
        _load_json(tmp_path, text)


def test_depth_is_measured_before_parsing() -> None:
    assert plaindata.json_depth(b'[[{"a": "[[[["}]]]') == 3
    assert plaindata.json_depth(b'"\\"[[]]') == 2  # an escaped backslash ends the string
    assert plaindata.json_depth(b"") == 0


def _npy_header(shape: tuple[int, ...], descr: str = "<f8") -> bytes:
    header = repr({"descr": descr, "fortran_order": False, "shape": shape})
    header = header + " " * ((64 - (10 + len(header) + 1) % 64) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header.encode()


def _bomb(tmp_path: Path, member: bytes, name: str = "a0.npy",
          compression: int = zipfile.ZIP_STORED) -> None:
    with zipfile.ZipFile(tmp_path / "v.npz", "w", compression=compression) as archive:
        archive.writestr(name, member)
    (tmp_path / "v.json").write_text('{"__array__": "a0"}')


def test_an_npy_header_declaring_terabytes_is_refused_before_allocating(
        tmp_path: Path) -> None:
    import tracemalloc

    _bomb(tmp_path, _npy_header((2**40,)) + b"\0" * 64)
    tracemalloc.start()
    with pytest.raises(plaindata.PlainDataError, match="over the"):
        plaindata.load(tmp_path / "v.json", tmp_path / "v.npz", max_bytes=10**7)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 2**20  # refused from the header: nothing near 8 TiB was asked for


@pytest.mark.parametrize(("member", "what"), [
    (_npy_header((10,)) + b"\0" * 16, "more data than it holds"),
    (_npy_header((2,), "|O") + b"\0" * 16, "not plain numbers"),
    (_npy_header((2,), "[('a', '<f8')]") + b"\0" * 16, "unreadable header|not plain"),
    (b"\x93NUMPY\x09\x00" + b"\0" * 20, "unknown format|unreadable header"),
    (b"not an npy at all", "unreadable header"),
])
def test_malformed_npy_members_are_refused(tmp_path: Path, member: bytes, what: str) -> None:
    _bomb(tmp_path, member)
    with pytest.raises(plaindata.PlainDataError, match=what):
        plaindata.load(tmp_path / "v.json", tmp_path / "v.npz", max_bytes=10**7)


def test_compressed_or_oddly_named_members_are_refused(tmp_path: Path) -> None:
    good = _npy_header((1,)) + b"\0" * 8
    _bomb(tmp_path, good, compression=zipfile.ZIP_DEFLATED)
    with pytest.raises(plaindata.PlainDataError, match="compressed"):
        plaindata.load(tmp_path / "v.json", tmp_path / "v.npz", max_bytes=10**7)
    _bomb(tmp_path, good, name="../x.npy")
    with pytest.raises(plaindata.PlainDataError, match="unexpected entry"):
        plaindata.load(tmp_path / "v.json", tmp_path / "v.npz", max_bytes=10**7)


def test_one_budget_bounds_the_arrays_of_many_records(tmp_path: Path) -> None:
    budget = plaindata.ArrayBudget(3 * 8 * 1000)
    for _ in range(3):
        _load_json(tmp_path, '{"__array__": "a0"}', {"a0": np.zeros(1000)}, budget)
    with pytest.raises(plaindata.PlainDataError, match="over the 24,000 bytes"):
        _load_json(tmp_path, '{"__array__": "a0"}', {"a0": np.zeros(1000)}, budget)


def test_links_and_fifos_are_not_read(tmp_path: Path) -> None:
    import os

    (tmp_path / "real.json").write_text("1")
    (tmp_path / "v.json").symlink_to(tmp_path / "real.json")
    with pytest.raises(plaindata.PlainDataError, match="cannot be opened"):
        plaindata.load(tmp_path / "v.json", tmp_path / "v.npz", max_bytes=10**7)
    (tmp_path / "v.json").unlink()
    os.mkfifo(tmp_path / "v.json")
    with pytest.raises(plaindata.PlainDataError, match="not a regular file"):
        plaindata.load(tmp_path / "v.json", tmp_path / "v.npz", max_bytes=10**7)


def test_arrays_keep_their_values_and_layout(tmp_path: Path) -> None:
    fortran = np.asfortranarray(np.arange(12.0).reshape(3, 4))
    value = {"f": fortran, "s": np.array(["ab", "c"]), "i": np.arange(5, dtype=np.int16),
             "empty": np.zeros((0, 3))}
    back = roundtrip(value, tmp_path)
    assert isinstance(back, dict)
    for key, array in value.items():
        np.testing.assert_array_equal(back[key], array)
        assert back[key].dtype == array.dtype and back[key].shape == array.shape
    back["i"][0] = 7  # writable, like np.load's arrays
