"""Read and write IDX files, the simple binary format MNIST is stored in.

An IDX file is a 4-byte magic number, one big-endian uint32 per dimension,
then the values in C order. The magic number is two zero bytes, a type code
(0x08 means unsigned byte) and the number of dimensions. We only support
uint8 data with 1 to 4 dimensions, which covers MNIST.
"""

from __future__ import annotations

import gzip
import os
import struct
import zlib
from pathlib import Path

import numpy as np

GZIP_MAGIC = b"\x1f\x8b"
UINT8_TYPE_CODE = 0x08
MAX_DIMENSIONS = 4

# Errors the gzip module raises for damaged or truncated streams.
_GZIP_ERRORS = (OSError, EOFError, zlib.error)


class IdxError(ValueError):
    """A file (or byte string) is not a valid uint8 IDX file."""


def read_idx(source: str | os.PathLike | bytes | bytearray | memoryview) -> np.ndarray:
    """Parse an IDX file (gzip-compressed or raw) into a uint8 array.

    `source` is a path or the file's bytes. The returned array shares memory
    with the decoded bytes, so it is read-only. Raises IdxError for content
    that is not a valid uint8 IDX file (OSError if a path cannot be read).
    """
    name, content = _read_source(source)
    if not content:
        raise IdxError(f"IDX file {name} is empty.")
    if content[:2] == GZIP_MAGIC:
        content = _gunzip(content, name)
    return _parse(content, name)


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


def _read_source(source) -> tuple[str, bytes | bytearray | memoryview]:
    """Return a display name and the raw content of `source`."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        return "<bytes>", source
    path = Path(source)
    return f"'{path}'", path.read_bytes()


def _gunzip(content, name: str) -> bytes:
    try:
        return gzip.decompress(content)
    except _GZIP_ERRORS as error:
        raise IdxError(f"IDX file {name} is a damaged or truncated gzip file ({error}).") from None


def _parse(content, name: str) -> np.ndarray:
    """Check the header and payload size, then view the payload as an array."""
    if len(content) < 4:
        raise IdxError(f"IDX file {name} is too short to hold an IDX header ({len(content)} bytes).")
    zero1, zero2, type_code, ndim = bytes(content[:4])
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

    header_size = 4 + 4 * ndim
    if len(content) < header_size:
        raise IdxError(f"IDX file {name} is truncated inside its header.")
    shape = struct.unpack(f">{ndim}I", bytes(content[4:header_size]))
    if 0 in shape:
        raise IdxError(f"IDX file {name} has an empty dimension in its shape {shape}.")

    expected = int(np.prod(shape, dtype=np.int64))
    actual = len(content) - header_size
    if actual < expected:
        raise IdxError(
            f"IDX file {name} is truncated: shape {shape} needs {expected} data bytes but only {actual} are present."
        )
    if actual > expected:
        raise IdxError(
            f"IDX file {name} has {actual - expected} unexpected trailing bytes after the data for shape {shape}."
        )
    # frombuffer + reshape is a view of `content`: no copy of the (large) payload.
    return np.frombuffer(content, dtype=np.uint8, offset=header_size).reshape(shape)
