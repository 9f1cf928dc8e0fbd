//! Helpers for the hardening tests: segment images in the record layout,
//! planting bytes into a segment the way a hostile or crashed program would
//! (with the `tests/c/shm_plant.c` helper), reading the record back through
//! `shm_read --once --format json`, and a process's CPU time.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use crate::{bin, c_program, Sandbox};

/// `"SHMTIME\0"`: the header magic at byte 128.
pub const MAGIC: &[u8; 8] = b"SHMTIME\0";
/// Writer state values in the high half of the word at byte 208.
pub const RUNNING: u32 = 1;
pub const STOPPED: u32 = 2;

/// The fields of a segment image in the record layout (docs/layout.md).
#[derive(Debug, Clone)]
pub struct Image {
    pub size: usize,
    /// Bytes 0..128 (NUL-padded; longer text is cut at 128 bytes).
    pub text: Vec<u8>,
    /// `None`: no header at all, as a C writer leaves it.
    pub magic: Option<[u8; 8]>,
    pub version: u64,
    pub seq: u64,
    pub secs: i64,
    pub nanos: u32,
    pub state: u32,
    pub interval_ns: u64,
    pub pid: u64,
    pub ipc_ns: u64,
    pub started: i64,
}

impl Image {
    /// A record as a running writer publishing `secs` leaves it.
    pub fn record(secs: i64) -> Self {
        Self {
            size: 4096,
            text: secs.to_string().into_bytes(),
            magic: Some(*MAGIC),
            version: 1,
            seq: 8,
            secs,
            nanos: 123,
            state: RUNNING,
            interval_ns: 1_000_000_000,
            pid: 4242,
            ipc_ns: 1,
            started: secs - 10,
        }
    }

    /// A C writer's segment: the decimal text only.
    pub fn c_text(text: &[u8]) -> Self {
        Self {
            text: text.to_vec(),
            magic: None,
            ..Self::record(0)
        }
    }

    /// The segment's bytes.
    pub fn bytes(&self) -> Vec<u8> {
        let mut b = vec![0u8; self.size.max(256)];
        let n = self.text.len().min(128);
        b[..n].copy_from_slice(&self.text[..n]);
        if let Some(magic) = self.magic {
            b[128..136].copy_from_slice(&magic);
            b[136..144].copy_from_slice(&self.version.to_le_bytes());
            let words = [
                self.seq,
                self.secs as u64,
                u64::from(self.nanos) | u64::from(self.state) << 32,
                self.interval_ns,
                self.pid,
                self.ipc_ns,
                self.started as u64,
            ];
            for (i, w) in words.iter().enumerate() {
                b[192 + 8 * i..200 + 8 * i].copy_from_slice(&w.to_le_bytes());
            }
        }
        b.truncate(self.size);
        b
    }
}

/// Deterministic pseudo-random bytes (xorshift64*), never all zero.
pub fn noise(len: usize, mut seed: u64) -> Vec<u8> {
    seed |= 1;
    (0..len)
        .map(|_| {
            seed ^= seed >> 12;
            seed ^= seed << 25;
            seed ^= seed >> 27;
            (seed.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 56) as u8
        })
        .collect()
}

fn plant_command(sandbox: &Sandbox, uid: Option<(u32, u32)>) -> Command {
    let helper = c_program("shm_plant");
    match uid {
        Some((uid, gid)) => sandbox.command_as(uid, gid, helper),
        None => sandbox.command(helper),
    }
}

/// Create (or reuse) the segment for `ftok(key_file, 8)` with `size` bytes
/// and `mode`, as root, and write `bytes` to its start; its shmid.
pub fn plant(sandbox: &Sandbox, key_file: &str, mode: u32, bytes: &[u8]) -> i32 {
    plant_with(
        plant_command(sandbox, None),
        key_file,
        bytes.len(),
        mode,
        bytes,
    )
}

/// As [`plant`], as `uid`/`gid` (another user planting a segment).
pub fn plant_as(
    sandbox: &Sandbox,
    uid: u32,
    gid: u32,
    key_file: &str,
    mode: u32,
    bytes: &[u8],
) -> i32 {
    let cmd = plant_command(sandbox, Some((uid, gid)));
    plant_with(cmd, key_file, bytes.len(), mode, bytes)
}

/// Create (or reuse) the segment for `ftok(key_file, 8)` with `size` bytes
/// and `mode`, as root, and write `bytes` from byte `offset` on; the pages
/// not written stay untouched (not resident). Its shmid.
pub fn plant_at(
    sandbox: &Sandbox,
    key_file: &str,
    size: usize,
    mode: u32,
    offset: usize,
    bytes: &[u8],
) -> i32 {
    let mut cmd = plant_command(sandbox, None);
    cmd.args(["put", key_file, &size.to_string(), &format!("{mode:o}")])
        .arg(offset.to_string());
    put(cmd, bytes)
}

fn plant_with(mut cmd: Command, key_file: &str, size: usize, mode: u32, bytes: &[u8]) -> i32 {
    cmd.args(["put", key_file, &size.to_string(), &format!("{mode:o}")]);
    put(cmd, bytes)
}

fn put(mut cmd: Command, bytes: &[u8]) -> i32 {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run shm_plant");
    child.stdin.take().unwrap().write_all(bytes).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "shm_plant put failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}

/// Set the permission bits of the segment for `ftok(key_file, 8)`, as
/// `uid`/`gid` (its owner).
pub fn set_mode_as(sandbox: &Sandbox, uid: u32, gid: u32, key_file: &str, mode: u32) {
    let out = plant_command(sandbox, Some((uid, gid)))
        .args(["mode", key_file, &format!("{mode:o}")])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "shm_plant mode failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The bytes of the segment for `ftok(key_file, 8)`, read as root.
pub fn dump(sandbox: &Sandbox, key_file: &str) -> Vec<u8> {
    let out = plant_command(sandbox, None)
        .args(["dump", key_file])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "shm_plant dump failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Run a tool to completion inside the sandbox.
pub fn run(sandbox: &Sandbox, tool: &str, args: &[&str]) -> Output {
    sandbox.command(bin(tool)).args(args).output().unwrap()
}

/// Run a tool to completion inside the sandbox as `uid`/`gid`.
pub fn run_as(sandbox: &Sandbox, uid: u32, gid: u32, tool: &str, args: &[&str]) -> Output {
    sandbox
        .command_as(uid, gid, bin(tool))
        .args(args)
        .output()
        .unwrap()
}

/// Exit code and stderr of a finished tool, with the checks every refusal
/// must pass: no panic, no signal death, nothing printed as a time.
pub fn refusal(out: &Output) -> (i32, String) {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let code = out
        .status
        .code()
        .unwrap_or_else(|| panic!("killed by a signal: {:?}; stderr {stderr}", out.status));
    assert!(!stderr.contains("panicked"), "panic: {stderr}");
    assert_ne!(code, 101, "panic exit: {stderr}");
    assert!(
        out.stdout.is_empty(),
        "stdout {:?} on a refusal (stderr {stderr})",
        String::from_utf8_lossy(&out.stdout)
    );
    (code, stderr)
}

/// One JSON line of `shm_read --format json`, the fields the tests check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JsonReading {
    pub seq: Option<u64>,
    pub secs: i64,
    pub nanos: u32,
    pub writer_pid: Option<u32>,
    pub shmid: i32,
}

impl JsonReading {
    /// Parse one line; `None` when it is not a complete reading.
    pub fn parse(line: &str) -> Option<Self> {
        let line = line.strip_prefix('{')?.strip_suffix('}')?;
        let field = |name: &str| -> Option<&str> {
            let start = line.find(&format!("\"{name}\":"))? + name.len() + 3;
            let rest = &line[start..];
            Some(&rest[..rest.find(',').unwrap_or(rest.len())])
        };
        let opt = |v: &str| -> Option<Option<u64>> {
            if v == "null" {
                Some(None)
            } else {
                v.parse().ok().map(Some)
            }
        };
        Some(Self {
            seq: opt(field("seq")?)?,
            secs: field("secs")?.parse().ok()?,
            nanos: field("nanos")?.parse().ok()?,
            writer_pid: opt(field("writer_pid")?)?.map(|p| p as u32),
            shmid: field("shmid")?.parse().ok()?,
        })
    }
}

/// `shm_read --once --format json` for `key_file`: the reading, if a live
/// writer answered.
pub fn read_once(sandbox: &Sandbox, key_file: &str) -> Option<JsonReading> {
    let out = run(
        sandbox,
        "shm_read",
        &["--key-file", key_file, "--once", "--format", "json"],
    );
    if !out.status.success() {
        return None;
    }
    JsonReading::parse(String::from_utf8_lossy(&out.stdout).trim())
}

/// User plus system CPU time of process `pid` so far, in clock ticks.
pub fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // Fields after the parenthesised command name; utime and stime are 14 and 15.
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

/// The single-letter scheduler state of process `pid` (`R`, `S`, `T`, ...).
pub fn proc_state(pid: u32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat[stat.rfind(')')? + 2..].chars().next()
}

/// Whether process `pid` blocks SIGTERM, as the tools do once they read
/// stop signals from a signalfd: a SIGTERM sent earlier would kill it.
pub fn blocks_sigterm(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            let mask = status.lines().find_map(|l| l.strip_prefix("SigBlk:"))?;
            u64::from_str_radix(mask.trim(), 16).ok()
        })
        .is_some_and(|mask| mask & 1 << (nix::sys::signal::Signal::SIGTERM as u32 - 1) != 0)
}

/// Clock ticks per second for [`cpu_ticks`]: `USER_HZ`, fixed at 100 in
/// the Linux ABI for /proc on every architecture we run on.
pub const TICKS_PER_SECOND: u64 = 100;

/// CPU a process uses over `window`, in cores.
pub fn cpu_over(pid: u32, window: std::time::Duration) -> f64 {
    let (t0, start) = (cpu_ticks(pid), std::time::Instant::now());
    std::thread::sleep(window);
    let ticks = cpu_ticks(pid) - t0;
    ticks as f64 / TICKS_PER_SECOND as f64 / start.elapsed().as_secs_f64()
}

/// Whether `secs` is within a minute of this machine's clock.
pub fn plausible_now(secs: i64) -> bool {
    (secs - unix_now()).abs() <= 60
}

/// This machine's clock in whole Unix seconds.
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}
