//! Cross-process benchmarks of the record against its baselines, run by
//! `scripts/bench` inside a private IPC namespace with a private /dev/shm.
//!
//! ```text
//! ipcbench latency [--rounds R] [--scale F] [--out DIR]
//! ipcbench rates [--secs S]
//! ipcbench procs --bin-dir DIR [--c-dir DIR] [--key-dir DIR] [--runs N] [--pair-secs S]
//! ipcbench stream [--secs S] [--rounds R] [--segment BYTES] [--out DIR]
//!                 [--parts throughput,sizes,wake] [--write-sizes 64,65536]
//! ipcbench stream-tools --bin-dir DIR --out DIR [--mib N] [--runs N]
//! ipcbench namespaces --bin-dir DIR [--namespaces N] [--objects N] [--runs N]
//! ipcbench capi --c-bench PATH [--secs S] [--rounds R] [--reads N] [--key-dir DIR]
//! ```
//!
//! `latency`: ping-pong between this process and a child of the same binary,
//! pinned to different CPUs, over four mechanisms in interleaved rounds:
//! a bare atomic word in a System V segment (the floor: one cache line
//! crossing cores each way), the seqlock record (Publisher::publish, the
//! peer busy-polls the sequence, reads the record with `record::read` and
//! answers on a second record), a pipe pair and a Unix socket pair. One-way
//! latency is half a round trip.
//!
//! `rates`: publishes per second with 0, 1 and 8 reader threads reading flat
//! out, and consistent records per second per reader.
//!
//! `procs`: wall time and peak RSS of `shm_read --once`, the publish rate of
//! the whole `shm_write --interval 0` process, and the CPU time and RSS of a
//! 1 Hz writer/reader pair (beside the C originals when `--c-dir` is given).
//!
//! `stream`: the stream's ring against a pipe and against the floor (a
//! minimal ring with no protocol): throughput for write sizes from 64 bytes
//! to 64 KiB, and the wake-up of a sleeping reader.
//!
//! `stream-tools`: `shm_write --stream` into `shm_read --stream` against
//! `cat | cat`, for several ring sizes, and the CPU of each waiting side.
//!
//! `namespaces`: `shm_read --list --all-namespaces` over many IPC namespaces
//! against `nsenter ... ipcs` and `lsipc` run in each (needs root, and runs
//! outside the private namespace the others run in).
//!
//! `capi`: the C API (libshmtools) beside the protocol sides and the Rust
//! facade: the ring at 64 B and 64 KiB writes, and a read of the time
//! record and of a value.

use std::collections::HashMap;
use std::fs::File;
use std::hint::spin_loop;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Barrier};
use std::time::{Duration, Instant};

use nix::sched::{sched_getaffinity, sched_setaffinity, CpuSet};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use shm_common::protocol::clock::Timestamp;
use shm_common::protocol::header::word::MAGIC;
use shm_common::protocol::time::layout::word;
use shm_common::protocol::time::record::{read, Publisher, Reading, Record, WriterInfo};
use shm_common::transport::key::Key;
use shm_common::transport::segment::Segment;
use shm_common::transport::table::TableEntry;
use shm_common::transport::view::{ReadView, WriteView};

mod capi;
mod cpus;
mod floor;
mod latency;
mod mech;
mod namespaces;
mod procs;
mod rates;
mod segment;
mod stream;
mod stream_tools;
use capi::*;
use cpus::*;
use floor::*;
use latency::*;
use mech::*;
use namespaces::*;
use procs::*;
use rates::*;
use segment::*;
use stream::*;
use stream_tools::*;

pub(crate) type Result<T> = std::result::Result<T, String>;

/// How long any wait for the other side may take before the run fails.
pub(crate) const DEADLINE: Duration = Duration::from_secs(20);
/// Segment words of the ping record, the pong record and the floor's two words:
/// each on its own cache lines, far apart.
pub(crate) const PING: std::ops::Range<usize> = 0..word::COUNT;
pub(crate) const PONG: std::ops::Range<usize> = 256..256 + word::COUNT;
pub(crate) const FLOOR_PING: usize = 448;
pub(crate) const FLOOR_PONG: usize = 480;
pub(crate) const SEGMENT_BYTES: usize = 4096;
/// The floor's child stores this to say it is ready.
pub(crate) const READY: u64 = 1 << 63;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("latency") => latency(&Opts::parse(&args[1..])),
        Some("rates") => rates(&Opts::parse(&args[1..])),
        Some("procs") => procs(&Opts::parse(&args[1..])),
        Some("stream") => stream(&Opts::parse(&args[1..])),
        Some("stream-tools") => stream_tools(&Opts::parse(&args[1..])),
        Some("namespaces") => namespaces(&Opts::parse(&args[1..])),
        Some("child") => child(&args[1..]),
        Some("stream-child") => stream_child(&args[1..]),
        Some("capi") => capi(&Opts::parse(&args[1..])),
        Some("capi-child") => capi_child(&args[1..]),
        _ => Err(
            "usage: ipcbench latency|rates|procs|stream|stream-tools|capi|namespaces [options] (see the source)"
                .into(),
        ),
    };
    if let Err(e) = result {
        eprintln!("ipcbench: {e}");
        std::process::exit(1);
    }
}

/// `--name value` options.
pub(crate) struct Opts(HashMap<String, String>);

impl Opts {
    pub(crate) fn parse(args: &[String]) -> Self {
        let mut map = HashMap::new();
        for pair in args.chunks(2) {
            if let [name, value] = pair {
                map.insert(name.trim_start_matches("--").to_owned(), value.clone());
            }
        }
        Opts(map)
    }

    pub(crate) fn num(&self, name: &str, default: f64) -> f64 {
        self.0
            .get(name)
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    }

    pub(crate) fn text(&self, name: &str) -> Option<String> {
        self.0.get(name).cloned()
    }

    pub(crate) fn path(&self, name: &str) -> Option<PathBuf> {
        self.0.get(name).map(PathBuf::from)
    }
}
