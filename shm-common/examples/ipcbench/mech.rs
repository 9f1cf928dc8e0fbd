//! The mechanisms compared: a bare atomic word (the floor), the seqlock
//! record, a pipe pair and a Unix socket pair; the parent's round of
//! ping-pongs and the child process that answers them.

#[allow(unused_imports)]
use super::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mech {
    Floor,
    Record,
    Pipe,
    Socket,
}

impl Mech {
    pub(crate) const ALL: [Mech; 4] = [Mech::Floor, Mech::Record, Mech::Pipe, Mech::Socket];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Mech::Floor => "atomic word (floor)",
            Mech::Record => "seqlock record",
            Mech::Pipe => "pipe pair",
            Mech::Socket => "unix socket pair",
        }
    }

    pub(crate) fn tag(self) -> &'static str {
        match self {
            Mech::Floor => "floor",
            Mech::Record => "record",
            Mech::Pipe => "pipe",
            Mech::Socket => "socket",
        }
    }

    pub(crate) fn from_tag(tag: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.tag() == tag)
    }

    /// Round trips per round: the shared-memory ones are ~100x faster.
    pub(crate) fn iters(self, scale: f64) -> u64 {
        let base = match self {
            Mech::Floor | Mech::Record => 100_000.0,
            Mech::Pipe | Mech::Socket => 10_000.0,
        };
        ((base * scale) as u64).max(1_000)
    }
}

/// A child process that is killed if it is still running when dropped.
pub(crate) struct Guard(pub(crate) Child);

impl Guard {
    pub(crate) fn finish(mut self, what: &str) -> Result<()> {
        let status = wait_deadline(&mut self.0)?;
        if status.success() {
            Ok(())
        } else {
            Err(format!("{what} child failed: {status}"))
        }
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        if matches!(self.0.try_wait(), Ok(None)) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

pub(crate) fn wait_deadline(child: &mut Child) -> Result<ExitStatus> {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            return Ok(status);
        }
        if start.elapsed() > DEADLINE {
            return Err("child did not exit in time".into());
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

pub(crate) fn spawn_child(mech: Mech, iters: u64, extra: &str, cpu: Option<usize>) -> Command {
    let exe = std::env::current_exe().expect("own executable");
    let mut cmd = Command::new(exe);
    cmd.arg("child")
        .arg(mech.tag())
        .arg(iters.to_string())
        .arg(cpu.map_or("-".to_owned(), |c| c.to_string()))
        .arg(extra)
        .stderr(Stdio::inherit());
    cmd
}

/// One round of `iters` round trips; returns the round-trip times in ns,
/// warm-up (the first twentieth) left out.
pub(crate) fn round(
    mech: Mech,
    iters: u64,
    seg: &Segment,
    cpus: (Option<usize>, Option<usize>),
) -> Result<Vec<u64>> {
    let words = words(seg);
    let mut rtts = Vec::with_capacity(iters as usize);
    let shmid = seg.info().id.to_string();
    match mech {
        Mech::Floor => {
            words.clear();
            let guard = Guard(
                spawn_child(mech, iters, &shmid, cpus.1)
                    .spawn()
                    .map_err(|e| e.to_string())?,
            );
            spin_until(words.read(), FLOOR_PONG, READY, "floor child start")?;
            words.store(FLOOR_PONG, 0);
            let mut t0 = Instant::now();
            for i in 1..=iters {
                words.store_release(FLOOR_PING, i);
                spin_until(words.read(), FLOOR_PONG, i, "floor pong")?;
                let t1 = Instant::now();
                rtts.push((t1 - t0).as_nanos() as u64);
                t0 = t1;
            }
            guard.finish("floor")?;
        }
        Mech::Record => {
            words.clear();
            let (ping, pong) = (words.slice(PING), words.slice(PONG).read());
            let mut publisher = Publisher::new(ping, info(Duration::ZERO), stamp(0));
            let guard = Guard(
                spawn_child(mech, iters, &shmid, cpus.1)
                    .spawn()
                    .map_err(|e| e.to_string())?,
            );
            // The child's Publisher::new stores the magic last: then it is ready.
            spin_until(pong, MAGIC, 1, "record child start")?;
            let base = pong.load_acquire(word::SEQ);
            let mut t0 = Instant::now();
            for i in 1..=iters {
                publisher.publish(stamp(i));
                spin_until(pong, word::SEQ, base + 2 * i, "record pong")?;
                let r = read_record(pong)?;
                if r.time != stamp(i) {
                    return Err(format!("pong {i} carried {:?}", r.time));
                }
                let t1 = Instant::now();
                rtts.push((t1 - t0).as_nanos() as u64);
                t0 = t1;
            }
            guard.finish("record")?;
        }
        Mech::Pipe => {
            let mut child = spawn_child(mech, iters, "-", cpus.1)
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .spawn()
                .map_err(|e| e.to_string())?;
            let mut to = child.stdin.take().expect("piped stdin");
            let mut from = child.stdout.take().expect("piped stdout");
            let guard = Guard(child);
            stream_rounds(iters, &mut from, &mut to, &mut rtts)?;
            drop(to);
            guard.finish("pipe")?;
        }
        Mech::Socket => {
            let (mut ours, theirs) = UnixStream::pair().map_err(|e| e.to_string())?;
            let child = spawn_child(mech, iters, "-", cpus.1)
                .stdin(Stdio::from(OwnedFd::from(theirs)))
                .stdout(Stdio::null())
                .spawn()
                .map_err(|e| e.to_string())?;
            let guard = Guard(child);
            let mut reader = ours.try_clone().map_err(|e| e.to_string())?;
            stream_rounds(iters, &mut reader, &mut ours, &mut rtts)?;
            drop(ours);
            guard.finish("socket")?;
        }
    }
    let warm = rtts.len() / 20;
    Ok(rtts.split_off(warm))
}

pub(crate) fn stream_rounds(
    iters: u64,
    from: &mut impl Read,
    to: &mut impl Write,
    rtts: &mut Vec<u64>,
) -> Result<()> {
    let mut buf = [0u8; 8];
    let mut t0 = Instant::now();
    for i in 1..=iters {
        to.write_all(&i.to_le_bytes()).map_err(|e| e.to_string())?;
        from.read_exact(&mut buf).map_err(|e| e.to_string())?;
        if u64::from_le_bytes(buf) != i {
            return Err(format!("pong {i} carried {}", u64::from_le_bytes(buf)));
        }
        let t1 = Instant::now();
        rtts.push((t1 - t0).as_nanos() as u64);
        t0 = t1;
    }
    Ok(())
}

/// The child side of every mechanism: `child <tag> <iters> <cpu|-> <shmid|->`.
pub(crate) fn child(args: &[String]) -> Result<()> {
    let [tag, iters, cpu, shmid] = args else {
        return Err("child: bad arguments".into());
    };
    let mech = Mech::from_tag(tag).ok_or("child: unknown mechanism")?;
    let iters: u64 = iters.parse().map_err(|_| "child: bad count")?;
    pin(cpu.parse().ok());
    let attach = || -> Result<Segment> {
        let id: i32 = shmid.parse().map_err(|_| "child: bad shmid")?;
        Segment::attach(Key(0), id, false).map_err(|e| e.to_string())
    };
    match mech {
        Mech::Floor => {
            let seg = attach()?;
            let words = words(&seg);
            words.store_release(FLOOR_PONG, READY);
            for i in 1..=iters {
                spin_until(words.read(), FLOOR_PING, i, "floor ping")?;
                words.store_release(FLOOR_PONG, i);
            }
        }
        Mech::Record => {
            let seg = attach()?;
            let words = words(&seg);
            let (ping, pong) = (words.slice(PING).read(), words.slice(PONG));
            let base = ping.load_acquire(word::SEQ);
            let mut publisher = Publisher::new(pong, info(Duration::ZERO), stamp(0));
            for i in 1..=iters {
                spin_until(ping, word::SEQ, base + 2 * i, "record ping")?;
                publisher.publish(read_record(ping)?.time);
            }
        }
        Mech::Pipe | Mech::Socket => {
            let fd =
                |f: std::os::fd::BorrowedFd<'_>| f.try_clone_to_owned().map_err(|e| e.to_string());
            let input = fd(std::io::stdin().as_fd())?;
            let (mut from, mut to): (Box<dyn Read>, Box<dyn Write>) = if mech == Mech::Pipe {
                (
                    Box::new(File::from(input)),
                    Box::new(File::from(fd(std::io::stdout().as_fd())?)),
                )
            } else {
                let stream = UnixStream::from(input);
                (
                    Box::new(stream.try_clone().map_err(|e| e.to_string())?),
                    Box::new(stream),
                )
            };
            let mut buf = [0u8; 8];
            for _ in 0..iters {
                from.read_exact(&mut buf).map_err(|e| e.to_string())?;
                to.write_all(&buf).map_err(|e| e.to_string())?;
            }
        }
    }
    Ok(())
}
