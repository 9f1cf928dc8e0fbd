"""Type stubs for shmtools (the extension module shmtools._shmtools)."""

import os
from typing_extensions import Buffer
from types import TracebackType
from typing import Self

_Path = str | os.PathLike[str]

class Error(Exception):
    """Any failure of a channel; the message says what and how to fix it."""

class NoWriter(Error):
    """No live writer holds the key (yet, or any more)."""

class BrokenStream(Error):
    """The other side of the stream went away before its clean end: data may be missing."""

class _Channel:
    """A context manager: leaving the block closes the channel."""

    def __enter__(self) -> Self: ...
    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

class ValueWriter(_Channel):
    """Publishes the latest value under a key, as ``shm_write --value`` does."""

    def __init__(
        self,
        key_file: _Path = "/dev/shm/shm_file",
        proj_id: int = 8,
        size: int = 4096,
        mode: int = 0o600,
    ) -> None: ...
    def publish(self, data: Buffer | str) -> None:
        """Publish ``data`` (a ``str`` as UTF-8) as the new value."""
    def close(self) -> None:
        """Stop publishing and remove the segment."""

class ValueReader(_Channel):
    """Reads the latest value a writer (``ValueWriter``, ``shm_write``) publishes."""

    def __init__(self, key_file: _Path = "/dev/shm/shm_file", proj_id: int = 8) -> None: ...
    def read(self) -> bytes:
        """The current value.

        While it is the value last returned, the same ``bytes`` object is
        returned again, without a copy (checked as every read checks the writer).
        """
    def wait_change(self, timeout: float | None = None) -> bytes:
        """The next value this reader has not returned yet (at once if there is one).

        Sleeps until the writer publishes; ``TimeoutError`` after ``timeout`` seconds.
        """
    def close(self) -> None:
        """Detach from the segment."""

class StreamWriter(_Channel):
    """The producer side of a lossless stream, as ``shm_write --stream``."""

    def __init__(
        self, key_file: _Path = "/dev/shm/shm_file", proj_id: int = 8, size: int = 262144
    ) -> None: ...
    def write(self, data: Buffer) -> int:
        """Write all of ``data``, waiting while the ring is full; its length."""
    def close(self) -> None:
        """End the stream cleanly: the reader sees the end after the last byte."""

class StreamReader(_Channel):
    """The consumer side of a lossless stream, as ``shm_read --stream``."""

    def __init__(self, key_file: _Path = "/dev/shm/shm_file", proj_id: int = 8) -> None: ...
    def read(self, n: int = -1) -> bytes:
        """Up to ``n`` bytes (all until the end when ``n`` < 0); ``b""`` at the end."""
    def readinto(self, buffer: Buffer) -> int:
        """Fill a writable contiguous buffer without a copy; the count, 0 at the end."""
    def close(self) -> None:
        """Detach from the stream."""

def read_time(key_file: _Path = "/dev/shm/shm_file", proj_id: int = 8) -> int:
    """The seconds of the classic time record a ``shm_write`` publishes."""
