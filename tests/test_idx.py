"""Tests for explorer.data.idx: reading and writing tiny generated IDX files."""

import gzip
import struct
import tracemalloc

import numpy as np
import pytest

from explorer.data.idx import IdxError, read_idx, write_idx


def idx_header(shape, type_code=0x08):
    return bytes([0, 0, type_code, len(shape)]) + struct.pack(f">{len(shape)}I", *shape)


def idx_bytes(shape, payload=None, type_code=0x08):
    """Hand-build IDX bytes, so tests do not depend on write_idx."""
    header = idx_header(shape, type_code)
    if payload is None:
        payload = bytes(i % 256 for i in range(int(np.prod(shape))))
    return header + payload


@pytest.fixture
def images():
    return np.random.default_rng(0).integers(0, 256, size=(5, 4, 3), dtype=np.uint8)


@pytest.fixture
def labels():
    return np.array([3, 1, 4, 1, 5], dtype=np.uint8)


@pytest.mark.parametrize("compress", [False, True])
def test_round_trip_images_and_labels(tmp_path, images, labels, compress):
    write_idx(tmp_path / "images", images, compress=compress)
    write_idx(tmp_path / "labels", labels, compress=compress)

    images_back = read_idx(tmp_path / "images")
    labels_back = read_idx(str(tmp_path / "labels"))

    assert images_back.dtype == np.uint8 and images_back.shape == (5, 4, 3)
    assert labels_back.dtype == np.uint8 and labels_back.shape == (5,)
    np.testing.assert_array_equal(images_back, images)
    np.testing.assert_array_equal(labels_back, labels)


def test_compressed_file_is_gzip_and_detected_by_content_not_name(tmp_path, images):
    path = tmp_path / "no-suffix-but-gzipped"
    write_idx(path, images, compress=True)
    assert path.read_bytes()[:2] == b"\x1f\x8b"
    np.testing.assert_array_equal(read_idx(path), images)

    raw_named_gz = tmp_path / "raw.gz"
    write_idx(raw_named_gz, images, compress=False)
    np.testing.assert_array_equal(read_idx(raw_named_gz), images)


def test_reads_bytes_raw_and_gzipped():
    content = idx_bytes((2, 3))
    expected = np.arange(6, dtype=np.uint8).reshape(2, 3)
    np.testing.assert_array_equal(read_idx(content), expected)
    np.testing.assert_array_equal(read_idx(gzip.compress(content)), expected)


def test_hand_built_file_matches_write_idx(tmp_path):
    write_idx(tmp_path / "x", np.arange(6, dtype=np.uint8).reshape(2, 3))
    assert (tmp_path / "x").read_bytes() == idx_bytes((2, 3))


def test_four_dimensions_supported():
    assert read_idx(idx_bytes((1, 2, 3, 4))).shape == (1, 2, 3, 4)


def test_truncated_payload(tmp_path):
    path = tmp_path / "short.idx"
    path.write_bytes(idx_bytes((10, 10))[:-7])
    with pytest.raises(IdxError, match="truncated") as info:
        read_idx(path)
    assert "short.idx" in str(info.value)


def test_trailing_bytes(tmp_path):
    path = tmp_path / "long.idx"
    path.write_bytes(idx_bytes((3,)) + b"xyz")
    with pytest.raises(IdxError, match="3 unexpected trailing bytes") as info:
        read_idx(path)
    assert "long.idx" in str(info.value)


def test_truncated_header():
    content = idx_bytes((2, 3, 4))[:10]
    with pytest.raises(IdxError, match="header"):
        read_idx(content)


def test_wrong_magic(tmp_path):
    path = tmp_path / "magic.idx"
    path.write_bytes(b"\x01\x00" + idx_bytes((4,))[2:])
    with pytest.raises(IdxError, match="not an IDX file") as info:
        read_idx(path)
    assert "magic.idx" in str(info.value)


@pytest.mark.parametrize("type_code", [0x09, 0x0B, 0x0D])
def test_unsupported_type_code(type_code):
    with pytest.raises(IdxError, match=f"0x{type_code:02x}"):
        read_idx(idx_bytes((4,), payload=bytes(4), type_code=type_code))


@pytest.mark.parametrize("ndim", [0, 5])
def test_bad_number_of_dimensions(ndim):
    content = bytes([0, 0, 0x08, ndim]) + bytes(4 * ndim + 8)
    with pytest.raises(IdxError, match="dimensions"):
        read_idx(content)


def test_zero_dimension_rejected():
    with pytest.raises(IdxError, match="empty dimension"):
        read_idx(idx_bytes((0, 3), payload=b""))


def test_empty_file(tmp_path):
    path = tmp_path / "empty"
    path.write_bytes(b"")
    with pytest.raises(IdxError, match="empty") as info:
        read_idx(path)
    assert "empty" in str(info.value) and str(path) in str(info.value)


@pytest.mark.parametrize(
    "content",
    [
        b"\x89PNG\r\n\x1a\n" + bytes(100),  # start of a PNG file
        b"hello, this is a text file\n",
        b"ab",
    ],
)
def test_foreign_file(tmp_path, content):
    path = tmp_path / "foreign.dat"
    path.write_bytes(content)
    with pytest.raises(IdxError) as info:
        read_idx(path)
    assert "foreign.dat" in str(info.value)


def test_truncated_gzip(tmp_path):
    path = tmp_path / "cut.gz"
    path.write_bytes(gzip.compress(idx_bytes((50, 50)))[:-20])
    with pytest.raises(IdxError, match="gzip") as info:
        read_idx(path)
    assert "cut.gz" in str(info.value)


def test_corrupted_gzip_body(tmp_path):
    compressed = bytearray(gzip.compress(idx_bytes((50, 50))))
    compressed[15:25] = b"\xff" * 10
    path = tmp_path / "garbled.gz"
    path.write_bytes(bytes(compressed))
    with pytest.raises(IdxError, match="gzip"):
        read_idx(path)


def test_gzip_of_non_idx_content():
    with pytest.raises(IdxError, match="not an IDX file"):
        read_idx(gzip.compress(b"just some text, no header here"))


def test_errors_are_value_errors():
    assert issubclass(IdxError, ValueError)


def test_missing_file_raises_os_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_idx(tmp_path / "nope")


def test_write_idx_rejects_other_dtypes(tmp_path):
    with pytest.raises(TypeError, match="uint8"):
        write_idx(tmp_path / "f", np.zeros(3, dtype=np.float32))
    with pytest.raises(ValueError, match="dimensions"):
        write_idx(tmp_path / "f", np.zeros((1, 1, 1, 1, 1), dtype=np.uint8))
    assert not (tmp_path / "f").exists()


def test_write_idx_handles_non_contiguous_arrays(tmp_path):
    array = np.arange(12, dtype=np.uint8).reshape(3, 4).T  # Fortran-ordered view
    write_idx(tmp_path / "t", array)
    np.testing.assert_array_equal(read_idx(tmp_path / "t"), array)


# ---------------------------------------------------------------------------
# Files that inflate to far more than they declare
# ---------------------------------------------------------------------------


def gzip_bomb(header, megabytes):
    """A small .gz that inflates to `header` and `megabytes` MB of zeros (one gzip member per MB:
    a valid gzip file, quick to build)."""
    zeros = bytes(1 << 20)
    return gzip.compress(header + zeros) + gzip.compress(zeros) * (megabytes - 1)


def peak_memory_of(function):
    """The exception `function()` raises and the peak memory (bytes) traced while it ran."""
    tracemalloc.start()
    try:
        with pytest.raises(IdxError) as info:
            function()
        return info.value, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_gzip_bomb_with_a_small_header_is_refused_without_inflating_it(tmp_path):
    path = tmp_path / "bomb.gz"
    path.write_bytes(gzip_bomb(idx_header((10, 28, 28)), megabytes=200))
    assert path.stat().st_size < 2 << 20
    error, peak = peak_memory_of(lambda: read_idx(path))
    assert "unexpected trailing bytes" in str(error) and "bomb.gz" in str(error)
    assert peak < 4 << 20  # inflating it all would take 200 MB


def test_declared_shape_larger_than_allowed_is_refused_before_reading(tmp_path):
    path = tmp_path / "big.gz"
    path.write_bytes(gzip_bomb(idx_header((70000, 28, 28)), megabytes=60))
    error, peak = peak_memory_of(lambda: read_idx(path, max_shape=(60000, 28, 28)))
    assert "declares shape (70000, 28, 28); expected at most (60000, 28, 28)" in str(error)
    assert peak < 1 << 20


def test_max_shape_also_checks_the_number_of_dimensions():
    with pytest.raises(IdxError, match=r"declares shape \(2, 3\)"):
        read_idx(idx_bytes((2, 3)), max_shape=(10, 3, 3))
    assert read_idx(idx_bytes((2, 3)), max_shape=(2, 3)).shape == (2, 3)


def test_huge_declared_payload_is_refused_by_default(tmp_path):
    path = tmp_path / "huge.gz"
    path.write_bytes(gzip_bomb(idx_header((1000, 1000, 1000)), megabytes=2))
    error, peak = peak_memory_of(lambda: read_idx(path))
    assert "(1000, 1000, 1000)" in str(error) and "MB accepted" in str(error)
    assert peak < 1 << 20


def test_raw_file_with_trailing_gigabytes_is_refused_from_its_size(tmp_path):
    path = tmp_path / "sparse.idx"
    with open(path, "wb") as f:
        f.write(idx_bytes((3,)))
        f.truncate(1 << 30)  # a sparse file: 1 GB on paper, nothing on disk
    error, peak = peak_memory_of(lambda: read_idx(path))
    assert "unexpected trailing bytes" in str(error)
    assert peak < 1 << 20


def test_arrays_read_are_read_only(tmp_path, images):
    write_idx(tmp_path / "images.gz", images, compress=True)
    assert not read_idx(tmp_path / "images.gz").flags.writeable
