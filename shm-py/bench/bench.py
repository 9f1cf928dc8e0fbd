"""The shmtools benchmark: each figure beside its baseline, from the same run.

Run by scripts/bench-python inside a private IPC namespace with a private
/dev/shm (never the machine's own). Prints a Markdown table:

- stream throughput: StreamReader.readinto against os.read from a pipe, the
  same producer process writing the same chunks into either;
- value read cost: ValueReader.read() of a 64-byte value against a Python
  call that does nothing (the floor), each in the same timing loop, both
  of a value unchanged since the last read (the common case: read() returns
  the same bytes object again) and of one published anew before every read;
- wake-up latency: ValueReader.wait_change() against a reader blocked in
  os.read on a pipe, and against multiprocessing.shared_memory plus a
  multiprocessing.Queue doing the same latest-value job.

BENCH_QUICK=1 makes a short smoke run.
"""

import fcntl
import multiprocessing
import os
import statistics
import struct
import time
from multiprocessing import shared_memory

import shmtools

QUICK = os.environ.get("BENCH_QUICK") == "1"
STREAM_BYTES = (256 if QUICK else 2048) << 20
# (chunk, ring and pipe size): the defaults (a 256 KiB ring, a 64 KiB pipe)
# with 64 KiB writes and reads, as scripts/bench measures the tools; then
# 1 MiB chunks with ring and pipe both 1 MiB.
SETUPS = ((64 << 10, 0, 0), (1 << 20, 1 << 20, 1 << 20))
ROUNDS = 1 if QUICK else 3
WAKES = 200 if QUICK else 1000
CALLS = 100_000 if QUICK else 1_000_000
KEY = "/dev/shm/shmtools-bench"
VALUE = bytes(range(64))
FORK = multiprocessing.get_context("fork")
# The reader on one CPU, every producer on another (as scripts/bench pins
# its processes), so that placement does not change from run to run.
CPUS = sorted(os.sched_getaffinity(0))
READER_CPU, WRITER_CPU = CPUS[-1], CPUS[0]


def spawn(target, *args):
    """Run `target(*args)` in a child process on the writer's CPU."""

    def pinned():
        os.sched_setaffinity(0, {WRITER_CPU})
        target(*args)

    process = FORK.Process(target=pinned, daemon=True)
    process.start()
    return process


def retry_open(make):
    """Open a reader once the producer's segment is there and set up (a
    segment caught between its creation and its header is refused)."""
    deadline = time.monotonic() + 20
    while True:
        try:
            return make()
        except shmtools.Error:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.001)


def produce(write, total, size):
    """The one producer: `total` bytes in writes of `size`."""
    chunk = memoryview(bytes(size))
    left = total
    while left > 0:
        n = write(chunk[: min(size, left)])
        left -= n


def stream_producer(chunk, ring):
    with shmtools.StreamWriter(key_file=KEY, size=ring) as writer:
        produce(writer.write, STREAM_BYTES, chunk)


def pipe_producer(fd, chunk):
    produce(lambda b: os.write(fd, b), STREAM_BYTES, chunk)
    os.close(fd)


def stream_rate(chunk, ring):
    """Bytes per second readinto moves from the ring."""
    producer = spawn(stream_producer, chunk, ring)
    reader = retry_open(lambda: shmtools.StreamReader(key_file=KEY))
    buffer = bytearray(chunk)
    got = 0
    start = time.perf_counter()
    while n := reader.readinto(buffer):
        got += n
    took = time.perf_counter() - start
    producer.join()
    assert got == STREAM_BYTES, got
    return got / took


def pipe_rate(chunk, size):
    """Bytes per second os.read moves from a pipe of `size` (0: the default)."""
    r, w = os.pipe()
    if size:
        fcntl.fcntl(w, fcntl.F_SETPIPE_SZ, size)
    producer = spawn(pipe_producer, w, chunk)
    os.close(w)
    got = 0
    start = time.perf_counter()
    while data := os.read(r, chunk):
        got += len(data)
    took = time.perf_counter() - start
    producer.join()
    os.close(r)
    assert got == STREAM_BYTES, got
    return got / took


def per_call(fn):
    """Nanoseconds per call of fn in a plain loop, the best of 5 runs."""
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter_ns()
        for _ in range(CALLS):
            fn()
        best = min(best, (time.perf_counter_ns() - start) / CALLS)
    return best


def nothing():
    """The floor: a Python call that does nothing."""


def value_holder(ready, done):
    with shmtools.ValueWriter(key_file=KEY, size=4096) as writer:
        writer.publish(VALUE)
        ready.set()
        done.wait()


def unchanged_reads():
    """ValueReader.read() of a value a writer in another process holds
    unchanged, in ns per call, and the reader, closed."""
    ready, done = FORK.Event(), FORK.Event()
    holder = spawn(value_holder, ready, done)
    ready.wait()
    reader = shmtools.ValueReader(key_file=KEY)
    first = reader.read()
    assert first == VALUE
    cost = per_call(reader.read)
    assert reader.read() is first, "an unchanged value is the same object"
    done.set()
    holder.join()
    reader.close()
    return cost, reader


def changed_reads():
    """ValueReader.read() of a value published anew before every read, in
    ns per call: a loop of publish() then read(), less a loop of publish()
    alone (writer and reader in this process, so that every read finds a
    value it has not returned, without racing a writer)."""
    with shmtools.ValueWriter(key_file=KEY, size=4096) as writer:
        writer.publish(VALUE)
        reader = shmtools.ValueReader(key_file=KEY)
        last = reader.read()

        def publish():
            writer.publish(VALUE)

        def publish_and_read():
            writer.publish(VALUE)
            return reader.read()

        for _ in range(1000):
            value = publish_and_read()
            assert value == VALUE and value is not last, "every read a new value"
            last = value
        both = per_call(publish_and_read)
        alone = per_call(publish)
        reader.close()
    return both - alone


def read_cost():
    """(ValueReader.read() of an unchanged value, of a changed one, the
    floor, a method of the package that does nothing, a
    multiprocessing.shared_memory read), in ns per call."""
    unchanged, closed = unchanged_reads()
    changed = changed_reads()
    floor = per_call(nothing)
    binding = per_call(closed.close)
    memory = shared_memory.SharedMemory(create=True, size=64)
    memory.buf[:64] = VALUE
    lock = FORK.Lock()

    def locked_read():
        with lock:
            return bytes(memory.buf[:64])

    theirs = per_call(locked_read)
    memory.close()
    memory.unlink()
    return unchanged, changed, floor, binding, theirs


def stamp():
    return struct.pack("q", time.monotonic_ns()) + VALUE[8:]


def value_sender(go):
    with shmtools.ValueWriter(key_file=KEY, size=4096) as writer:
        writer.publish(stamp())
        go.wait()
        for _ in range(WAKES):
            time.sleep(0.002)
            writer.publish(stamp())
        writer.publish(b"end")
        go.wait()


def pipe_sender(fd, go):
    go.wait()
    for _ in range(WAKES):
        time.sleep(0.002)
        os.write(fd, stamp())


def mp_sender(name, queue, go):
    memory = shared_memory.SharedMemory(name=name)
    go.wait()
    for _ in range(WAKES):
        time.sleep(0.002)
        memory.buf[:64] = stamp()
        queue.put(None)
    memory.close()


def latency(value):
    """Microseconds from publish to the reader holding the value."""
    return (time.monotonic_ns() - struct.unpack("q", value[:8])[0]) / 1000


def wake_value():
    go = FORK.Barrier(2)
    sender = spawn(value_sender, go)
    reader = retry_open(lambda: shmtools.ValueReader(key_file=KEY))
    reader.read()
    go.wait()
    # A reader late for one value gets the next: the count may fall short.
    samples = []
    while (value := reader.wait_change(timeout=10)) != b"end":
        samples.append(latency(value))
    go.wait()
    sender.join()
    return samples


def wake_pipe():
    go = FORK.Barrier(2)
    r, w = os.pipe()
    sender = spawn(pipe_sender, w, go)
    os.close(w)
    go.wait()
    samples = [latency(os.read(r, 64)) for _ in range(WAKES)]
    sender.join()
    os.close(r)
    return samples


def wake_mp():
    go = FORK.Barrier(2)
    memory = shared_memory.SharedMemory(create=True, size=64)
    queue = FORK.Queue()
    sender = spawn(mp_sender, memory.name, queue, go)
    go.wait()
    samples = []
    for _ in range(WAKES):
        queue.get()
        samples.append(latency(bytes(memory.buf[:64])))
    sender.join()
    memory.close()
    memory.unlink()
    return samples


def quantiles(samples):
    samples = sorted(samples)
    return statistics.median(samples), samples[int(len(samples) * 0.99) - 1]


def verdict(ok):
    return "met" if ok else "NOT met"


def main():
    os.sched_setaffinity(0, {READER_CPU})
    rows = []
    for chunk, ring_size, pipe_size in SETUPS:
        rings, pipes = [], []
        for _ in range(ROUNDS):  # interleaved, so both see the same load
            rings.append(stream_rate(chunk, ring_size))
            pipes.append(pipe_rate(chunk, pipe_size))
        ring, pipe = statistics.median(rings), statistics.median(pipes)
        kib = lambda n, default: f"{n >> 10} KiB" if n else f"default {default}"
        rows.append((
            f"stream, {STREAM_BYTES >> 20} MiB in {chunk >> 10} KiB writes and reads, "
            f"ring {kib(ring_size, '256 KiB')}, pipe {kib(pipe_size, '64 KiB')} (median of {ROUNDS})",
            f"StreamReader.readinto {ring / 1e9:.2f} GB/s",
            f"os.read from a pipe {pipe / 1e9:.2f} GB/s",
            f"{ring / pipe:.2f}x",
            f">= 3x: {verdict(ring >= 3 * pipe)}",
        ))
    unchanged, changing, floor, binding, theirs = read_cost()
    rows.append((
        "read a 64-byte value unchanged since the last read (ns per call in a loop, best of 5)",
        f"ValueReader.read() {unchanged:.0f} ns",
        f"a call that does nothing {floor:.0f} ns",
        f"{unchanged / floor:.2f}x",
        f"<= 2x: {verdict(unchanged <= 2 * floor)}",
    ))
    rows.append((
        "read a 64-byte value published anew before every read "
        "(publish() then read(), less publish() alone; ns per call, best of 5)",
        f"ValueReader.read() {changing:.0f} ns",
        f"a call that does nothing {floor:.0f} ns",
        f"{changing / floor:.2f}x",
        f"<= 2x: {verdict(changing <= 2 * floor)}",
    ))
    rows.append((
        "of which the call into the package (ns per call)",
        f"close() of a closed ValueReader {binding:.0f} ns",
        f"a call that does nothing {floor:.0f} ns",
        f"{binding / floor:.2f}x",
        "reported",
    ))
    rows.append((
        "read a 64-byte value, against multiprocessing (each read a copy)",
        f"ValueReader.read() of a changed value {changing:.0f} ns",
        f"shared_memory read under a multiprocessing.Lock {theirs:.0f} ns",
        f"{theirs / changing:.2f}x faster" if theirs >= changing else f"{changing / theirs:.2f}x slower",
        "reported",
    ))
    wakes = {wake_value: [], wake_pipe: [], wake_mp: []}
    for _ in range(ROUNDS):  # interleaved, so all see the same load
        for measure, samples in wakes.items():
            samples.extend(measure())
    value_med, value_p99 = quantiles(wakes[wake_value])
    pipe_med, pipe_p99 = quantiles(wakes[wake_pipe])
    mp_med, mp_p99 = quantiles(wakes[wake_mp])
    rows.append((
        f"wake-up, publish to value in hand ({ROUNDS} rounds of {WAKES} wakes, median / p99)",
        f"wait_change {value_med:.0f} / {value_p99:.0f} us",
        f"os.read on a pipe {pipe_med:.0f} / {pipe_p99:.0f} us",
        f"{value_med / pipe_med:.2f}x",
        f"within the pipe's: {verdict(value_med <= pipe_med * 1.1)}",
    ))
    rows.append((
        "wake-up, the latest-value job against multiprocessing (median / p99)",
        f"wait_change {value_med:.0f} / {value_p99:.0f} us",
        f"shared_memory + Queue {mp_med:.0f} / {mp_p99:.0f} us",
        f"{mp_med / value_med:.2f}x faster" if mp_med >= value_med else f"{value_med / mp_med:.2f}x slower",
        "reported",
    ))
    print("| measurement | shmtools | baseline | ratio | target |")
    print("|---|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
