"""`python -m explorer.data download|verify`: get MNIST, or check the files you have.

  python -m explorer.data download [--dir DIR] [--deadline SECONDS]
  python -m explorer.data verify [--dir DIR]
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path

from explorer.data import mnist

def main(argv: list[str] | None = None) -> int:
    """Entry point of `python -m explorer.data`; returns the exit code."""
    parser = argparse.ArgumentParser(prog="python -m explorer.data", description="Download or verify MNIST.")
    commands = parser.add_subparsers(dest="command", required=True)
    download_cmd = commands.add_parser("download", help="download MNIST (default: into the cache folder)")
    download_cmd.add_argument("--dir", help="folder to download into instead of the cache")
    download_cmd.add_argument(
        "--deadline", type=float, metavar="SECONDS",
        help=f"time limit of the whole download (default: MNIST_DOWNLOAD_DEADLINE or {mnist.DOWNLOAD_DEADLINE})",
    )  # fmt: skip
    verify_cmd = commands.add_parser("verify", help="check the SHA-256 of the MNIST files")
    verify_cmd.add_argument("--dir", help="folder to check (default: MNIST_DIR or the cache)")
    args = parser.parse_args(argv)

    try:
        with _SigtermUnwinds():
            if args.command == "download":
                return _cli_download(args.dir, args.deadline)
            return _cli_verify(args.dir)
    except mnist.DataError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\ninterrupted: nothing partial was left behind", file=sys.stderr)
        return 130
    except _Terminated:
        print("\nstopped: nothing partial was left behind", file=sys.stderr)
        return 128 + signal.SIGTERM


class _Terminated(BaseException):
    """SIGTERM arrived; raised like Ctrl-C's KeyboardInterrupt so that cleanup code runs."""


class _SigtermUnwinds:
    """While active (in the main thread only), SIGTERM raises _Terminated instead of killing
    the process outright, so `finally` blocks remove partial downloads."""

    def __enter__(self):
        self.previous = None
        if threading.current_thread() is threading.main_thread():
            self.previous = signal.signal(signal.SIGTERM, self._raise)

    def __exit__(self, *exc_info):
        if self.previous is not None:
            signal.signal(signal.SIGTERM, self.previous)

    @staticmethod
    def _raise(signum, frame):
        raise _Terminated()


def _cli_download(directory: str | None, deadline: float | None) -> int:
    progress_line = _ProgressLine()
    try:
        # Module globals are read at call time so tests (and tools) can swap them.
        folder = mnist.download_mnist(
            directory, progress=progress_line, mirrors=mnist.MIRRORS, checksums=mnist.CHECKSUMS, deadline=deadline
        )
    finally:
        progress_line.finish()
    print(f"MNIST files are in {folder}")
    return 0


def _cli_verify(directory: str | None) -> int:
    folder = Path(directory) if directory else mnist.find_mnist()
    if folder is None:
        raise mnist.DataError(f"No MNIST to verify: {mnist.mnist_status()}. {mnist._how_to_provide()}")
    results = mnist.verify_mnist(folder, checksums=mnist.CHECKSUMS)
    for name, ok, detail in results:
        print(f"{'OK ' if ok else 'BAD'} {name}: {detail}")
    return 0 if all(ok for _, ok, _ in results) else 1


class _ProgressLine:
    """Shows download progress as one self-overwriting line on stderr."""

    def __init__(self):
        self.used = False

    def __call__(self, fraction: float, message: str) -> None:
        print(f"\r{fraction:6.1%}  {message:<60.60}", end="", file=sys.stderr, flush=True)
        self.used = True

    def finish(self) -> None:
        if self.used:
            print(file=sys.stderr)  # move off the progress line


