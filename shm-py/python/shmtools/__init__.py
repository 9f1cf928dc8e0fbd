"""System V shared memory between containers, from Python.

The value channel (``ValueWriter``/``ValueReader``), the lossless stream
(``StreamWriter``/``StreamReader``) and the classic time record
(``read_time``), speaking exactly the bytes ``shm_write`` and ``shm_read``
speak. Every wait releases the GIL and wakes for Ctrl-C.
"""

from ._shmtools import (
    BrokenStream,
    Error,
    NoWriter,
    StreamReader,
    StreamWriter,
    ValueReader,
    ValueWriter,
    read_time,
)

__all__ = [
    "BrokenStream",
    "Error",
    "NoWriter",
    "StreamReader",
    "StreamWriter",
    "ValueReader",
    "ValueWriter",
    "read_time",
]
