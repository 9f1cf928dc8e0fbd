//! `shm_read`'s command line.

use std::time::Duration;

use clap::Parser;
use shm_common::cli::flags::{parse_duration, parse_queue_name, KeyArgs};
use shm_common::protocol::mqueue::END;
use shm_common::transport::key::Key;
use shm_common::transport::mqueue::QueueName;

use crate::output::Format;

/// The command line.
#[derive(Debug, Parser)]
#[command(
    name = "shm_read",
    version,
    about = "Print the time or value a shm_write publishes in System V shared memory",
    long_about = "Print the time (or value) a shm_write, or the classic C shm_write, publishes in \
        System V shared memory, one flushed line per interval or, with --on-change, per change. \
        Never creates a key file or a segment: when none is there it says why on stderr and waits."
)]
pub struct Args {
    #[command(flatten)]
    pub key: KeyArgs,
    /// Time between readings (1s, 250ms; 0 = as fast as possible)
    #[arg(long, value_name = "DURATION", allow_hyphen_values = true, default_value = "1s", value_parser = parse_duration)]
    pub interval: Duration,
    /// Print N readings, then exit
    #[arg(long, value_name = "N", allow_hyphen_values = true, value_parser = clap::value_parser!(u64).range(1..), conflicts_with = "once")]
    pub count: Option<u64>,
    /// Take one reading; exit 0 only if a live writer answered (a healthcheck)
    #[arg(long)]
    pub once: bool,
    /// Give up after waiting this long for a live writer (default: wait forever; with --once: 0)
    #[arg(long, value_name = "DURATION", allow_hyphen_values = true, value_parser = parse_duration)]
    pub timeout: Option<Duration>,
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::C)]
    pub format: Format,
    /// Print each new time or value once, as soon as it is published, sleeping in between (--interval is ignored)
    #[arg(long)]
    pub on_change: bool,
    /// Copy the stream a `shm_write --stream` sends to standard output, exactly, until its end
    #[arg(long, conflicts_with_all = ["once", "count", "on_change", "list", "inspect"])]
    pub stream: bool,
    /// While waiting (following, --stream or --mqueue): when no writer is found, also say every way to share its IPC namespace (Docker, Podman, Compose, Kubernetes, --ipc host, a host shell, a restarted writer container)
    #[arg(long, conflicts_with_all = ["list", "inspect"])]
    pub explain: bool,
    /// List everything this IPC namespace holds (segments: what each holds, who is attached; message queues, semaphore sets, POSIX queues; /dev/shm files apart), leaks flagged with the ipcrm line that removes each
    #[arg(long, conflicts_with_all = ["inspect", "once", "count", "on_change", "timeout"])]
    pub list: bool,
    /// With --list: every IPC namespace of the machine (each container's, the host's), each with its processes; needs root with CAP_SYS_ADMIN in the host's PID namespace
    #[arg(long, requires = "list")]
    pub all_namespaces: bool,
    /// Show one segment field by field with byte offsets (the key file's, or --shmid / --key)
    #[arg(long, conflicts_with_all = ["once", "count", "on_change", "timeout"])]
    pub inspect: bool,
    /// With --inspect: the segment with this id
    #[arg(
        long,
        value_name = "N",
        allow_hyphen_values = true,
        value_parser = clap::value_parser!(i32).range(0..),
        requires = "inspect",
        conflicts_with = "sysv_key"
    )]
    pub shmid: Option<i32>,
    /// With --inspect: the segment with this key (0x%08x, as ipcs shows it)
    #[arg(long = "key", value_name = "0xKEY", requires = "inspect", value_parser = parse_key)]
    pub sysv_key: Option<Key>,
    /// With --inspect: hex-dump every byte, not only the first and last KiB
    #[arg(long, requires = "inspect")]
    pub full: bool,
    /// Receive the messages of this POSIX message queue (/NAME), as Docker in Action's consumer does, until the end marker
    #[arg(long, value_name = "/NAME", value_parser = parse_queue_name, conflicts_with_all = ["stream", "on_change", "list"])]
    pub mqueue: Option<QueueName>,
    /// With --mqueue: the message that ends the stream
    #[arg(long, value_name = "TEXT", default_value = END, requires = "mqueue")]
    pub end: String,
}

/// A key as `ipcs -m` shows it (`0x08000002`), or decimal.
fn parse_key(text: &str) -> Result<Key, String> {
    let parsed = match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(hex) => u32::from_str_radix(hex, 16).ok(),
        None => text.parse::<i64>().ok().and_then(|n| {
            u32::try_from(n)
                .ok()
                .or(i32::try_from(n).ok().map(|n| n as u32))
        }),
    };
    parsed.map(|k| Key(k as i32)).ok_or_else(|| {
        format!("`{text}` is not a key: write it as ipcs -m shows it, e.g. 0x08000002")
    })
}

/// What `shm_read` was asked to do, validated from the flags: each mode
/// gets only the settings it uses.
pub enum Mode {
    /// Print the latest time or value, per interval or per change.
    Follow(Follow),
    /// Copy a stream to stdout (`--stream`).
    Stream(Stream),
    /// List what the namespace holds (`--list`).
    List(Format),
    /// List every IPC namespace's objects (`--list --all-namespaces`).
    ListAll(Format),
    /// Show one segment (`--inspect`).
    Inspect(Inspect),
    /// Receive from a POSIX message queue (`--mqueue`).
    Mqueue(Mqueue),
    /// Show a POSIX message queue (`--inspect --mqueue`).
    InspectQueue(QueueName, Format),
}

/// The settings of [`Mode::Mqueue`].
pub struct Mqueue {
    pub name: QueueName,
    /// The message that ends the stream.
    pub end: String,
    pub format: Format,
    /// Take one message.
    pub once: bool,
    /// Take this many messages.
    pub count: Option<u64>,
    /// Give up after waiting this long for the queue or the next message.
    pub timeout: Option<Duration>,
    /// With the diagnosis of a missing queue, every way to share its IPC
    /// namespace.
    pub explain: bool,
}

/// The settings of [`Mode::Follow`].
pub struct Follow {
    pub key: KeyArgs,
    pub interval: Duration,
    /// Exit after this many lines.
    pub count: Option<u64>,
    /// One reading: exit after the first line.
    pub once: bool,
    /// How long to wait for a live writer before giving up, if at all.
    pub timeout: Option<Duration>,
    pub format: Format,
    pub on_change: bool,
    /// Explain every way to share the writer's IPC namespace (`--explain`).
    pub explain: bool,
}

/// The settings of [`Mode::Stream`].
pub struct Stream {
    pub key: KeyArgs,
    /// How long to wait for the producer's segment, if not forever.
    pub timeout: Option<Duration>,
    /// Explain every way to share the producer's IPC namespace (`--explain`).
    pub explain: bool,
}

/// The settings of [`Mode::Inspect`].
pub struct Inspect {
    pub target: Target,
    pub format: Format,
    /// Dump every byte, not only the first and last KiB.
    pub full: bool,
}

/// The segment `--inspect` shows.
pub enum Target {
    /// The key file's (`--key-file`, `--proj-id`).
    KeyFile(KeyArgs),
    /// `--shmid N`.
    Shmid(i32),
    /// `--key 0x…`.
    Key(Key),
}

impl Args {
    /// The mode the flags ask for (clap has refused every conflicting
    /// combination already).
    pub fn mode(self) -> Mode {
        if let (Some(name), true) = (self.mqueue.clone(), self.inspect) {
            return Mode::InspectQueue(name, self.format);
        }
        if let Some(name) = self.mqueue.clone() {
            return Mode::Mqueue(Mqueue {
                name,
                end: self.end,
                format: self.format,
                once: self.once,
                count: self.count,
                timeout: self.timeout,
                explain: self.explain,
            });
        }
        if self.stream {
            Mode::Stream(Stream {
                key: self.key,
                timeout: self.timeout,
                explain: self.explain,
            })
        } else if self.list && self.all_namespaces {
            Mode::ListAll(self.format)
        } else if self.list {
            Mode::List(self.format)
        } else if self.inspect {
            let target = match (self.shmid, self.sysv_key) {
                (Some(shmid), _) => Target::Shmid(shmid),
                (None, Some(key)) => Target::Key(key),
                (None, None) => Target::KeyFile(self.key),
            };
            Mode::Inspect(Inspect {
                target,
                format: self.format,
                full: self.full,
            })
        } else {
            Mode::Follow(Follow {
                key: self.key,
                interval: self.interval,
                count: self.count,
                once: self.once,
                timeout: self.timeout.or(self.once.then_some(Duration::ZERO)),
                format: self.format,
                on_change: self.on_change,
                explain: self.explain,
            })
        }
    }
}
