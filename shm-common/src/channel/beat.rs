//! The background thread that keeps a side's heartbeat while the program
//! that owns the side is busy elsewhere, or idle: stopped and joined when
//! the side closes.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use super::error::{Error, Result};
use crate::protocol::watch::keep_beating;

/// A thread calling a beat at a fixed period until stopped.
#[derive(Debug)]
pub(crate) struct Beater {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Beater {
    /// Call `beat` now and then every `period` (sooner when woken early:
    /// a beat too many is harmless) until [`Beater::stop`].
    pub(crate) fn spawn(period: Duration, beat: impl FnMut() + Send + 'static) -> Result<Self> {
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("shm-heartbeat".into())
            .spawn(move || keep_beating(&stopping, period, beat))
            .map_err(|e| Error::system("starting the heartbeat thread", e))?;
        Ok(Self {
            stop,
            thread: Some(thread),
        })
    }

    /// Stop the thread (at once: it is unparked) and wait for it.
    pub(crate) fn stop(&mut self) {
        if let Some(thread) = self.thread.take() {
            self.stop.store(true, Ordering::Release);
            thread.thread().unpark();
            let _ = thread.join();
        }
    }
}

impl Drop for Beater {
    fn drop(&mut self) {
        self.stop();
    }
}
