//! The lossless stream: a [`StreamWriter`] is `shm_write --stream`'s
//! producer and a [`StreamReader`] `shm_read --stream`'s consumer, on the
//! same ring, so either end may be a program or a tool.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::beat::Beater;
use super::error::{absence, Error, Result};
use crate::protocol::stream::consumer::Consumer;
use crate::protocol::stream::end::{Outcome, StreamEnd};
use crate::protocol::stream::producer::Producer;
use crate::protocol::stream::shared::{Heartbeat, StreamError, BEAT};
use crate::protocol::stream::spec::SPEC;
use crate::protocol::stream::wait::Backoff;
use crate::session::claim::Claim;
use crate::session::find::{Access, Finder};
use crate::transport::coarse;
use crate::transport::segment::Segment;

/// How often a writer waiting for room asks whether the consumer has gone
/// (by the coarse clock): against the liveness bound of a second, often.
const PEER_CHECK: Duration = Duration::from_millis(10);

/// The segment mode of a stream writer: the owner's alone, as
/// `shm_write`'s default.
const MODE: u32 = 0o600;

self_cell::self_cell!(
    /// A claim and the producer's side of the ring in its segment.
    struct Producing {
        owner: Arc<Claim>,
        #[covariant]
        dependent: Producer,
    }
    impl {Debug}
);

self_cell::self_cell!(
    /// A segment and the consumer's side of the ring in it.
    struct Consuming {
        owner: Arc<Segment>,
        #[covariant]
        dependent: Consumer,
    }
    impl {Debug}
);

/// The producer of a stream: bytes written go to the one consumer, in
/// order, none lost; a write blocks while the ring is full.
/// [`close`](Self::close) is the clean end the consumer sees (it returns
/// once the consumer has everything); dropping the writer without it ends
/// the stream as interrupted. Either removes the segment.
///
/// ```
/// # let dir = std::env::temp_dir().join(format!("doc-stream-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir).unwrap();
/// use std::io::{Read, Write};
/// use shm_common::channel::{StreamReader, StreamWriter};
///
/// let key_file = dir.join("key");
/// let mut writer = StreamWriter::open(&key_file, b'S', 0)?;
/// let mut reader = StreamReader::open(&key_file, b'S')?;
/// let consumer = std::thread::spawn(move || {
///     let mut all = Vec::new();
///     reader.read_to_end(&mut all).map(|_| all)
/// });
/// writer.write_all(b"line one\nline two\n")?;
/// writer.close()?;
/// assert_eq!(consumer.join().unwrap()?, b"line one\nline two\n");
/// # std::fs::remove_dir_all(&dir).unwrap();
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct StreamWriter {
    producing: Option<Producing>,
    beater: Beater,
    backoff: Backoff,
    /// The end is recorded: no byte may follow it.
    finished: bool,
}

impl StreamWriter {
    /// Claim `key_file` and `proj_id` with a ring segment of `size` bytes
    /// (0: the default, 256 KiB) and set up an empty stream.
    pub fn open(key_file: impl AsRef<Path>, proj_id: u8, size: usize) -> Result<Self> {
        let claim = Arc::new(super::claim(key_file.as_ref(), proj_id, size, MODE, &SPEC)?);
        let beating = Arc::clone(&claim);
        let producing = Producing::new(claim, |claim| {
            Producer::create(claim.view(), claim.beacon().pid)
        });
        let beater = Beater::spawn(BEAT, move || Heartbeat::producer(beating.view()).beat())?;
        Ok(Self {
            producing: Some(producing),
            beater,
            backoff: Backoff::default(),
            finished: false,
        })
    }

    /// Write some of `data` (at least one byte, unless `data` is empty),
    /// waiting while the ring is full; the count written.
    /// [`Error::TimedOut`] when no byte went within `timeout` (`None`: no
    /// limit), [`Error::BrokenStream`] when the consumer has gone.
    pub fn write_timeout(&mut self, data: &[u8], timeout: Option<Duration>) -> Result<usize> {
        if self.finished {
            return Err(Error::Closed);
        }
        let deadline = timeout.map(|t| Instant::now() + t);
        let backoff = &mut self.backoff;
        let producing = self.producing.as_mut().ok_or(Error::Closed)?;
        producing.with_dependent_mut(|_, producer| {
            let mut checked: Option<Duration> = None;
            loop {
                let n = producer.write(data).map_err(broken)?;
                if n > 0 || data.is_empty() {
                    backoff.reset();
                    return Ok(n);
                }
                // The ring is full: has the consumer gone? Asked once per
                // PEER_CHECK, not on every spin of the wait (the answer
                // reads the clock).
                let now = coarse::now();
                if checked.is_none_or(|at| now.saturating_sub(at) >= PEER_CHECK) {
                    checked = Some(now);
                    if let Some(Outcome::Interrupted(end)) = producer.outcome().map_err(broken)? {
                        return Err(consumer_ended(end, producer.tail()));
                    }
                }
                producer
                    .wait_for_space(backoff, slice(deadline)?)
                    .map_err(broken)?;
            }
        })
    }

    /// End the stream cleanly and wait until the consumer has received
    /// every byte and seen the end (at most `timeout`: then
    /// [`Error::TimedOut`], and the stream ends as interrupted), then
    /// remove the segment.
    pub fn close_timeout(mut self, timeout: Option<Duration>) -> Result<()> {
        let delivered = self.finish_timeout(timeout);
        self.shut(delivered.is_ok()).and(delivered)
    }

    /// End the stream cleanly and wait until the consumer has received
    /// every byte and seen the end, keeping the segment: at most `timeout`,
    /// then [`Error::TimedOut`] with nothing lost, so a caller that must
    /// stay responsive (Python's Ctrl-C) waits in slices by calling again,
    /// then [`close`](Self::close) removes the segment at once.
    pub fn finish_timeout(&mut self, timeout: Option<Duration>) -> Result<()> {
        let deadline = timeout.map(|t| Instant::now() + t);
        let backoff = &mut self.backoff;
        let producing = self.producing.as_mut().ok_or(Error::Closed)?;
        self.finished = true;
        producing.with_dependent_mut(|_, producer| {
            producer.finish().map_err(broken)?;
            loop {
                match producer.outcome().map_err(broken)? {
                    Some(Outcome::Complete) => return Ok(()),
                    Some(Outcome::Interrupted(end)) => {
                        return Err(consumer_ended(end, producer.tail()))
                    }
                    None => producer
                        .wait_for_space(backoff, slice(deadline)?)
                        .map_err(broken)?,
                }
            }
        })
    }

    /// [`close_timeout`](Self::close_timeout) with no limit: the
    /// consumer's liveness bounds it (one that dies ends it at once).
    pub fn close(self) -> Result<()> {
        self.close_timeout(None)
    }

    /// Stop the heartbeat and remove the segment, as complete or (after
    /// telling the consumer) interrupted.
    fn shut(&mut self, complete: bool) -> Result<()> {
        let Some(producing) = self.producing.take() else {
            return Ok(());
        };
        if !complete {
            let _ = producing.borrow_dependent().abort();
        }
        self.beater.stop();
        match Arc::try_unwrap(producing.into_owner()) {
            Ok(claim) => claim
                .finish(complete)
                .map_err(|e| Error::system("removing the segment", io::Error::other(e))),
            // Not reached: the heartbeat thread held the other and has ended.
            Err(_) => Ok(()),
        }
    }
}

impl io::Write for StreamWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_timeout(buf, None).map_err(io_error)
    }

    fn flush(&mut self) -> io::Result<()> {
        let producing = self
            .producing
            .as_ref()
            .ok_or_else(|| io_error(Error::Closed))?;
        producing
            .borrow_dependent()
            .flush()
            .map_err(|e| io_error(broken(e)))
    }
}

impl Drop for StreamWriter {
    fn drop(&mut self) {
        let _ = self.shut(false);
    }
}

/// The consumer of a stream, written by a [`StreamWriter`] or by
/// `shm_write --stream`. A read returns what has arrived (waiting for the
/// first byte), 0 at the producer's clean end, and
/// [`Error::BrokenStream`] when the producer stopped before it or died.
#[derive(Debug)]
pub struct StreamReader {
    consuming: Option<Consuming>,
    beater: Beater,
    backoff: Backoff,
    /// The clean end was seen: every read returns 0.
    ended: bool,
}

impl StreamReader {
    /// Find the stream of `key_file` and `proj_id` and take its consumer's
    /// side ([`Error::NoWriter`] when no producer holds the key; one
    /// consumer per stream).
    pub fn open(key_file: impl AsRef<Path>, proj_id: u8) -> Result<Self> {
        let key_file: PathBuf = key_file.as_ref().to_path_buf();
        let mut finder = Finder::new(
            key_file.clone(),
            super::checked(proj_id)?,
            Access::PreferWritable,
        );
        match finder.look() {
            Ok(Ok(_)) => {}
            Ok(Err(absent)) => return Err(Error::no_writer(absent.key_file, absence(&absent.why))),
            Err(e) => return Err(Error::find(key_file, &e)),
        }
        let segment = Arc::new(finder.take().ok_or(Error::Closed)?);
        let info = *segment.info();
        if segment.write_view().is_none() {
            return Err(Error::unusable(
                key_file,
                format!(
                    "segment {} has mode {:04o} and belongs to uid {}, so this user may only read it, and a consumer must write its side: have the writer run as this user",
                    info.key, info.mode, info.uid
                ),
            ));
        }
        let beating = Arc::clone(&segment);
        let consuming = Consuming::try_new(segment, |segment| {
            let view = segment.write_view().ok_or(StreamError::NotReady)?;
            Consumer::attach_when_ready(view, std::process::id())
        })
        .map_err(|e| Error::unusable(&key_file, e))?;
        let beater = Beater::spawn(BEAT, move || {
            if let Some(view) = beating.write_view() {
                Heartbeat::consumer(view).beat();
            }
        })?;
        Ok(Self {
            consuming: Some(consuming),
            beater,
            backoff: Backoff::default(),
            ended: false,
        })
    }

    /// Read what has arrived into `buf`, waiting for at least one byte;
    /// the count, 0 at the clean end. [`Error::TimedOut`] when nothing
    /// came within `timeout` (`None`: no limit; a timeout loses nothing),
    /// [`Error::BrokenStream`] when the producer ended before its end.
    pub fn read_timeout(&mut self, buf: &mut [u8], timeout: Option<Duration>) -> Result<usize> {
        if self.ended || buf.is_empty() {
            return Ok(0);
        }
        let deadline = timeout.map(|t| Instant::now() + t);
        let backoff = &mut self.backoff;
        let consuming = self.consuming.as_mut().ok_or(Error::Closed)?;
        let outcome = consuming.with_dependent_mut(|segment, consumer| loop {
            let n = consumer.read(buf).map_err(broken)?;
            if n > 0 {
                backoff.reset();
                return Ok(Ok(n));
            }
            match consumer.outcome().map_err(broken)? {
                Some(outcome) => {
                    let _ = consumer.conclude(outcome, || {
                        let _ = segment.mark_for_removal();
                    });
                    return Ok(Err((outcome, consumer.tail())));
                }
                None => consumer
                    .wait_for_data(backoff, slice(deadline)?)
                    .map_err(broken)?,
            }
        });
        match outcome? {
            Ok(n) => Ok(n),
            Err((Outcome::Complete, _)) => {
                self.ended = true;
                self.shut();
                Ok(0)
            }
            Err((Outcome::Interrupted(end), received)) => {
                self.shut();
                Err(producer_ended(end, received))
            }
        }
    }

    /// Let go of the ring: stop the heartbeat and detach (the side's end
    /// is already recorded, or recorded here as stopped early).
    fn shut(&mut self) {
        if let Some(consuming) = self.consuming.take() {
            if !self.ended {
                let _ = consuming.borrow_dependent().abort();
            }
            self.beater.stop();
        }
    }
}

impl io::Read for StreamReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.read_timeout(buf, None).map_err(io_error)
    }
}

impl Drop for StreamReader {
    fn drop(&mut self) {
        self.shut();
    }
}

/// The next wait's bound: a heartbeat period, or less before `deadline`;
/// [`Error::TimedOut`] once it has passed.
fn slice(deadline: Option<Instant>) -> Result<Duration> {
    let Some(deadline) = deadline else {
        return Ok(BEAT);
    };
    match deadline.checked_duration_since(Instant::now()) {
        Some(left) if !left.is_zero() => Ok(left.min(BEAT)),
        _ => Err(Error::TimedOut),
    }
}

fn broken(e: StreamError) -> Error {
    match e {
        StreamError::Futex(errno) => Error::system("a futex call on the stream", errno),
        e => Error::BrokenStream(e.to_string()),
    }
}

fn consumer_ended(end: StreamEnd, received: u64) -> Error {
    Error::BrokenStream(format!(
        "the consumer {} after receiving {received} bytes",
        ended(end)
    ))
}

fn producer_ended(end: StreamEnd, received: u64) -> Error {
    Error::BrokenStream(format!(
        "the producer {} after {received} bytes",
        ended(end)
    ))
}

fn ended(end: StreamEnd) -> &'static str {
    match end {
        StreamEnd::PeerDied => "stopped responding (killed, or frozen)",
        StreamEnd::PeerStopped | StreamEnd::Signal | StreamEnd::Timeout => "stopped before the end",
    }
}

/// An error for [`io::Read`] and [`io::Write`], keeping the channel's.
fn io_error(e: Error) -> io::Error {
    let kind = match e {
        Error::TimedOut => io::ErrorKind::TimedOut,
        Error::BrokenStream(_) => io::ErrorKind::BrokenPipe,
        _ => io::ErrorKind::Other,
    };
    io::Error::new(kind, e)
}
