//! The latest value's writer: a [`ValueWriter`] publishes any bytes, as
//! `shm_write --value`/`--stdin` does, on the same segments, for every
//! [`ValueReader`](super::ValueReader) (`value_reader.rs`).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use super::beat::Beater;
use super::error::{Error, Result};
use crate::protocol::value::layout::{size_for, MIN_SEGMENT_SIZE};
use crate::protocol::value::live::HEARTBEAT;
use crate::protocol::value::publish::{Publisher, TooLarge, Writer};
use crate::protocol::value::read::read;
use crate::protocol::value::spec::SPEC;
use crate::session::claim::Claim;
use crate::session::hand_over::hand_over;

self_cell::self_cell!(
    /// A claim and the publisher over its segment's memory.
    struct Published {
        owner: Claim,
        #[covariant]
        dependent: Publisher,
    }
    impl {Debug}
);

/// What the heartbeat thread and the owner share.
#[derive(Debug)]
struct Shared {
    /// The claim and its publisher; `None` once closed (or lost).
    published: Option<Published>,
    /// Why the heartbeat thread lost the claim, reported by the next call.
    lost: Option<Error>,
}

/// The writer of a latest value. It owns its key (the key file's lock and
/// the segment) until [`close`](Self::close) or drop, which remove the
/// segment; a background thread keeps its heartbeat, so readers see it
/// live while the program is idle, and re-creates the segment if it is
/// removed from outside (`ipcrm`), as `shm_write` does.
///
/// ```
/// # let dir = std::env::temp_dir().join(format!("doc-value-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir).unwrap();
/// use shm_common::channel::{ValueReader, ValueWriter};
///
/// let key_file = dir.join("key");
/// let mut writer = ValueWriter::open(&key_file, b'A', 0, 0o600)?;
/// writer.publish(b"temperature=21.5")?;
/// let mut reader = ValueReader::open(&key_file, b'A')?;
/// assert_eq!(reader.read()?, b"temperature=21.5");
/// writer.close()?;
/// # std::fs::remove_dir_all(&dir).unwrap();
/// # Ok::<(), shm_common::channel::Error>(())
/// ```
#[derive(Debug)]
pub struct ValueWriter {
    shared: Arc<Mutex<Shared>>,
    beater: Beater,
    key_file: PathBuf,
}

impl ValueWriter {
    /// Claim `key_file` and `proj_id` with a segment of `size` bytes (0:
    /// the default, 4096) and permission bits `mode` (e.g. `0o644` to let
    /// other users read). Until the first [`publish`](Self::publish),
    /// readers see an empty value.
    pub fn open(key_file: impl AsRef<Path>, proj_id: u8, size: usize, mode: u32) -> Result<Self> {
        let key_file = key_file.as_ref().to_path_buf();
        let claim = super::claim(&key_file, proj_id, size, mode, &SPEC)?;
        let published = publisher(claim, b"").map_err(too_large)?;
        let shared = Arc::new(Mutex::new(Shared {
            published: Some(published),
            lost: None,
        }));
        let beating = Arc::clone(&shared);
        let beater = Beater::spawn(HEARTBEAT, move || keep(&beating))?;
        Ok(Self {
            shared,
            beater,
            key_file,
        })
    }

    /// The key file this writer holds.
    pub fn key_file(&self) -> &Path {
        &self.key_file
    }

    /// Publish `data`, any bytes, as the new latest value and wake the
    /// readers waiting for a change. A value larger than the segment holds
    /// is refused whole ([`Error::TooLarge`]), never truncated.
    pub fn publish(&mut self, data: &[u8]) -> Result<()> {
        let binary = std::str::from_utf8(data).is_err();
        let mut shared = lock(&self.shared);
        if let Some(lost) = shared.lost.take() {
            return Err(lost);
        }
        let published = shared.published.as_mut().ok_or(Error::Closed)?;
        published.with_dependent_mut(|_, publisher| {
            publisher.publish(data, binary).map_err(too_large)?;
            publisher
                .wake()
                .map_err(|e| Error::system("waking the readers", e))
        })
    }

    /// Let the readers attached take the last value (waiting at most 2 s
    /// for those that do not sleep on it, as `shm_write --exit-at-eof`
    /// does), mark the value stopped, so that readers say so, and remove
    /// the segment (dropping the writer does the same, ignoring failures).
    pub fn close(mut self) -> Result<()> {
        self.shut()
    }

    fn shut(&mut self) -> Result<()> {
        self.beater.stop();
        let mut shared = lock(&self.shared);
        let Some(mut published) = shared.published.take() else {
            return Ok(());
        };
        // As shm_write --exit-at-eof: readers take the last value first.
        let _ = published.with_dependent(|claim, publisher| {
            hand_over(claim, publisher, |pause| {
                std::thread::sleep(pause);
                None::<()>
            })
        });
        published.with_dependent_mut(|_, publisher| {
            publisher.stop();
            let _ = publisher.wake();
        });
        published
            .into_owner()
            .finish(true)
            .map_err(|e| Error::system("removing the segment", std::io::Error::other(e)))
    }
}

impl Drop for ValueWriter {
    fn drop(&mut self) {
        let _ = self.shut();
    }
}

/// A publisher over `claim`'s segment, with `first` published.
fn publisher(claim: Claim, first: &[u8]) -> std::result::Result<Published, TooLarge> {
    let binary = std::str::from_utf8(first).is_err();
    Published::try_new(claim, |claim| {
        let writer = Writer {
            pid: claim.beacon().pid,
            ipc_ns: claim.beacon().ipc_ns.0,
        };
        Publisher::new(claim.view(), writer, first, binary)
    })
}

/// One heartbeat (the heartbeat thread's beat): say "still here", and
/// re-create a segment removed from outside with the latest value in it.
fn keep(shared: &Mutex<Shared>) {
    let mut shared = lock(shared);
    let Some(published) = shared.published.take() else {
        return;
    };
    published.borrow_dependent().heartbeat();
    if !published.borrow_owner().removed() {
        shared.published = Some(published);
        return;
    }
    // Still attached, the old segment still holds the latest value.
    let latest = read(published.borrow_owner().segment().view()).map(|v| v.payload);
    let mut claim = published.into_owner();
    let key_file = claim.options().key_file.clone();
    let renewed = latest
        .map_err(|e| Error::unusable(&key_file, e))
        .and_then(|latest| {
            claim.recreate().map_err(|e| Error::claim(&key_file, &e))?;
            publisher(claim, &latest).map_err(too_large)
        });
    match renewed {
        Ok(published) => shared.published = Some(published),
        Err(e) => shared.lost = Some(e),
    }
}

fn lock(shared: &Mutex<Shared>) -> MutexGuard<'_, Shared> {
    // A panic while holding the lock leaves nothing half-done worth refusing.
    shared
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn too_large(e: TooLarge) -> Error {
    Error::TooLarge {
        len: e.len,
        capacity: e.capacity,
        size: size_for(e.len).max(MIN_SEGMENT_SIZE),
    }
}
