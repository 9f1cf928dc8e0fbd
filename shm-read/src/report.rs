//! Conditions reported on stderr while they last, without flooding it,
//! and the last word when the reader gives up.

use std::any::TypeId;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::mem::{discriminant, Discriminant};
use std::time::{Duration, Instant};

use shm_common::cli::console::{self, OutputError};
use shm_common::cli::messages::{self, Diagnosis, Side};
use shm_common::session::find::{Absence, Absent};
use shm_common::session::queue::QueueAbsent;
use shm_common::transport::place::Place;

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
/// lasts; with `--explain`, the first absence it prints is followed by
/// every way to share the writer's IPC namespace.
pub struct Reporter {
    last: Option<(Condition, Instant)>,
    diagnosis: Diagnosis,
    /// `--explain`, until the explanation is printed.
    explain: bool,
}

impl Reporter {
    /// A reporter for `side`, in the place this process runs.
    pub fn new(side: Side, explain: bool) -> Self {
        Self {
            last: None,
            diagnosis: Diagnosis::new(side, Place::here()),
            explain,
        }
    }

    /// The diagnosis of a key without a segment.
    pub fn absent(&self, absent: &Absent) -> String {
        self.diagnosis.absent(absent)
    }

    /// The diagnosis of a missing message queue.
    pub fn queue_absent(&self, absent: &QueueAbsent) -> String {
        messages::mqueue::absent(absent, &self.diagnosis)
    }

    /// Report `message`, of condition `kind`, if it is new or due again.
    pub fn report(&mut self, kind: Condition, message: &str) -> Result<(), OutputError> {
        let repeat = match &self.last {
            Some((last, at)) => *last != kind || at.elapsed() >= REPEAT_REPORT,
            None => true,
        };
        if repeat {
            console::say(&format!("shm_read: {}", self.explained(kind, message)))?;
            self.last = Some((kind, Instant::now()));
        }
        Ok(())
    }

    /// The last word after waiting `limit`, on condition `kind` whose
    /// `message` is the latest: it points at the report above when that
    /// said it, and says it in full (explained, with `--explain`) when
    /// nothing did (`--once`, or a condition that has just begun).
    pub fn gave_up(&mut self, limit: Duration, kind: Condition, message: &str) -> String {
        let said = self.last.is_some_and(|(last, _)| last == kind);
        if said {
            self.diagnosis.gave_up(limit, None)
        } else {
            let message = self.explained(kind, message);
            self.diagnosis.gave_up(limit, Some(&message))
        }
    }

    /// `message`, followed by the explanation if it is due.
    fn explained(&mut self, kind: Condition, message: &str) -> String {
        if self.explain && matches!(kind, Condition::Absent(_)) {
            self.explain = false;
            format!("{message}\n{}", self.diagnosis.explanation())
        } else {
            message.to_owned()
        }
    }

    /// Whether a problem was reported since the last good reading.
    pub fn clear(&mut self) -> bool {
        self.last.take().is_some()
    }
}
