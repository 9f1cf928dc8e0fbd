//! Conditions reported on stderr while they last, without flooding it.

use std::any::TypeId;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::mem::{discriminant, Discriminant};
use std::time::{Duration, Instant};

use shm_common::cli::console::{self, OutputError};
use shm_common::session::find::Absence;

/// A condition reported on stderr is repeated this often while it lasts.
const REPEAT_REPORT: Duration = Duration::from_secs(10);

/// What a diagnosis is about: its kind only, so that a detail that changes
/// in its message (a sequence number, an age, the text found, the pid in a
/// beacon) does not make it a new one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Condition {
    /// No segment, and which kind of absence the key file tells.
    Absent(Discriminant<Absence>),
    /// No message queue by the name asked.
    NoQueue,
    /// The writer said it stopped.
    Stopped,
    /// No update for longer than the writer promised.
    Stale,
    /// A time ahead of this clock.
    Future,
    /// Caught mid-update.
    Unstable,
    /// A segment that holds nothing readable, by what is wrong: the
    /// reading error's type and (a hash of) its variant.
    Unreadable(TypeId, u64),
}

impl Condition {
    /// The condition of a key without a segment.
    pub fn absent(why: &Absence) -> Self {
        Condition::Absent(discriminant(why))
    }

    /// The condition of a segment that cannot be read, by the variant of
    /// `error` (a reading caught mid-update is [`Condition::Unstable`],
    /// which the caller knows).
    pub fn unreadable<E: 'static>(error: &E) -> Self {
        let mut variant = DefaultHasher::new();
        discriminant(error).hash(&mut variant);
        Condition::Unreadable(TypeId::of::<E>(), variant.finish())
    }
}

/// Prints a condition once, and again every [`REPEAT_REPORT`] while it
/// lasts.
#[derive(Default)]
pub struct Reporter {
    last: Option<(Condition, Instant)>,
}

impl Reporter {
    /// Report `message`, of condition `kind`, if it is new or due again.
    pub fn report(&mut self, kind: Condition, message: &str) -> Result<(), OutputError> {
        let repeat = match &self.last {
            Some((last, at)) => *last != kind || at.elapsed() >= REPEAT_REPORT,
            None => true,
        };
        if repeat {
            console::say(&format!("shm_read: {message}"))?;
            self.last = Some((kind, Instant::now()));
        }
        Ok(())
    }

    /// Whether a problem was reported since the last good reading.
    pub fn clear(&mut self) -> bool {
        self.last.take().is_some()
    }
}
