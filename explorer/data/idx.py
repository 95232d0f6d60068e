"""Read and write IDX files, the simple binary format MNIST is stored in.

An IDX file is a 4-byte magic number, one big-endian uint32 per dimension,
then the values in C order. The magic number is two zero bytes, a type code
(0x08 means unsigned byte) and the number of dimensions. We only support
uint8 data with 1 to 4 dimensions, which covers MNIST.

Reading never trusts the file: the header is checked before any payload is read,
and a gzip file is inflated only up to the size its header declares (plus one byte,
to notice trailing data), so a small file that would inflate to gigabytes is refused
after reading a few bytes of it.
"""

from __future__ import annotations

import gzip
import io
import os
import struct
import zlib
from pathlib import Path

import numpy as np

GZIP_MAGIC = b"\x1f\x8b"
UINT8_TYPE_CODE = 0x08
MAX_DIMENSIONS = 4
MAX_PAYLOAD_BYTES = 64 * 1024 * 1024  # the MNIST training images take 47 MB

# Errors the gzip module raises for damaged or truncated streams.
_GZIP_ERRORS = (gzip.BadGzipFile, EOFError, zlib.error)
_READ_BLOCK = 1024 * 1024


class IdxError(ValueError):
    """A file (or byte string) is not a valid uint8 IDX file."""


def read_idx(
    source: str | os.PathLike | bytes | bytearray | memoryview,
    max_shape: tuple[int, ...] | None = None,
    max_bytes: int = MAX_PAYLOAD_BYTES,
) -> np.ndarray:
    """Parse an IDX file (gzip-compressed or raw) into a read-only uint8 array.

    `source` is a path or the file's bytes. `max_shape`, if given, is the largest
    shape accepted: the file must have as many dimensions and none larger. Raises
    IdxError for content that is not a valid uint8 IDX file or is too large
    (OSError if a path cannot be read).
    """
    name, raw, size = _open_source(source)
    with raw:
        if size == 0:
            raise IdxError(f"IDX file {name} is empty.")
        compressed = raw.read(2) == GZIP_MAGIC
        raw.seek(0)
        if not compressed:
            return _read_stream(raw, name, max_shape, max_bytes, size)
        try:
            with gzip.GzipFile(fileobj=raw, mode="rb") as stream:
                return _read_stream(stream, name, max_shape, max_bytes, size=None)
        except _GZIP_ERRORS as error:
            raise IdxError(f"IDX file {name} is a damaged or truncated gzip file ({error}).") from None


def write_idx(path: str | os.PathLike, array: np.ndarray, compress: bool = False) -> None:
    """Write a uint8 array (1 to 4 dimensions) as an IDX file, gzipped if `compress`."""
    array = np.asarray(array)
    if array.dtype != np.uint8:
        raise TypeError(f"write_idx only writes uint8 arrays, got {array.dtype}.")
    if not 1 <= array.ndim <= MAX_DIMENSIONS:
        raise ValueError(f"write_idx needs 1 to {MAX_DIMENSIONS} dimensions, got {array.ndim}.")
    header = bytes([0, 0, UINT8_TYPE_CODE, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    content = header + np.ascontiguousarray(array).tobytes()
    if compress:
        content = gzip.compress(content, mtime=0)  # mtime=0: same input, same bytes
    Path(path).write_bytes(content)


def _open_source(source) -> tuple[str, io.BufferedIOBase, int]:
    """A display name, a binary stream over `source` (a path or bytes) and its size."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        return "<bytes>", io.BytesIO(source), memoryview(source).nbytes
    path = Path(source)
    stream = open(path, "rb")
    return f"'{path}'", stream, os.fstat(stream.fileno()).st_size


def _read_stream(stream, name: str, max_shape, max_bytes: int, size: int | None) -> np.ndarray:
    """Read the header, check it, then exactly the payload it declares.

    `size` is the total content size when it is known without reading (raw files),
    else None (gzip): the payload is then read up to its declared size and one byte more.
    """
    shape = _read_header(stream, name)
    header_size = 4 + 4 * len(shape)
    _check_shape(shape, name, max_shape, max_bytes)
    expected = int(np.prod(shape, dtype=np.int64))
    if size is not None and size - header_size > expected:
        raise IdxError(
            f"IDX file {name} has {size - header_size - expected} unexpected trailing bytes "
            f"after the data for shape {shape}."
        )
    payload = np.empty(expected, dtype=np.uint8)
    received = _read_into(stream, memoryview(payload))
    if received < expected:
        raise IdxError(
            f"IDX file {name} is truncated: shape {shape} needs {expected} data bytes but only {received} are present."
        )
    if stream.read(1):
        raise IdxError(f"IDX file {name} has unexpected trailing bytes after the data for shape {shape}.")
    payload.flags.writeable = False  # the arrays are shared: nobody may change them
    return payload.reshape(shape)


def _read_header(stream, name: str) -> tuple[int, ...]:
    """The shape declared by the header; IdxError unless it is a uint8 IDX header."""
    magic = _read_exactly(stream, 4)
    if len(magic) < 4:
        raise IdxError(f"IDX file {name} is too short to hold an IDX header ({len(magic)} bytes).")
    zero1, zero2, type_code, ndim = magic
    if zero1 != 0 or zero2 != 0:
        raise IdxError(
            f"File {name} is not an IDX file (it does not start with the IDX magic number 00 00 08 0N)."
        )
    if type_code != UINT8_TYPE_CODE:
        raise IdxError(
            f"IDX file {name} has data type code 0x{type_code:02x}; only 0x08 (unsigned byte) is supported."
        )
    if not 1 <= ndim <= MAX_DIMENSIONS:
        raise IdxError(f"IDX file {name} declares {ndim} dimensions; expected 1 to {MAX_DIMENSIONS}.")
    dimensions = _read_exactly(stream, 4 * ndim)
    if len(dimensions) < 4 * ndim:
        raise IdxError(f"IDX file {name} is truncated inside its header.")
    return struct.unpack(f">{ndim}I", dimensions)


def _check_shape(shape: tuple[int, ...], name: str, max_shape, max_bytes: int) -> None:
    if 0 in shape:
        raise IdxError(f"IDX file {name} has an empty dimension in its shape {shape}.")
    if max_shape is not None and (
        len(shape) != len(max_shape) or any(n > limit for n, limit in zip(shape, max_shape))
    ):
        raise IdxError(f"IDX file {name} declares shape {shape}; expected at most {tuple(max_shape)}.")
    declared = int(np.prod(shape, dtype=np.int64))
    if declared > max_bytes:
        raise IdxError(
            f"IDX file {name} declares shape {shape} ({declared / 1e6:,.0f} MB), "
            f"more than the {max_bytes / 1e6:,.0f} MB accepted."
        )


def _read_exactly(stream, count: int) -> bytes:
    """Up to `count` bytes: fewer only at the end of the stream."""
    buffer = bytearray(count)
    return bytes(buffer[: _read_into(stream, memoryview(buffer))])


def _read_into(stream, target: memoryview) -> int:
    """Fill `target` from `stream` block by block; the number of bytes read."""
    filled = 0
    while filled < len(target):
        count = stream.readinto(target[filled : filled + _READ_BLOCK])
        if not count:
            break
        filled += count
    return filled
