//! The contract between a protocol and the session layer for taking over
//! an existing segment: a claim finds a segment already there for its key,
//! checks what is generic (owner, size) and asks the protocol the rest.

use std::time::{Duration, Instant};

use crate::transport::view::ReadView;

/// What an existing segment held before a writer took it over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Previous {
    /// Left behind by a writer of ours that did not stop cleanly.
    Ours,
    /// Left behind by a C writer that no longer updates it.
    C,
    /// Empty: made by a C reader's `IPC_CREAT`, or a writer that never wrote.
    Empty,
}

/// A protocol's answer.
#[derive(Debug)]
pub enum Verdict {
    /// Abandoned: the writer may take it over.
    Adopt(Previous),
    /// A live writer still uses it.
    Busy,
    /// It holds something this protocol must not overwrite.
    Refuse(Box<dyn std::error::Error + Send + Sync>),
}

/// A protocol's adoption rule: `others_attached` says whether any process
/// but the claiming one is attached, in which case a rule must not adopt
/// without probing for a live writer.
pub type Rule = fn(view: ReadView<'_>, others_attached: bool) -> Verdict;

/// How long a writer that should publish every second is watched before
/// its segment counts as abandoned.
pub const PROBE: Duration = Duration::from_millis(1500);

/// Whether what `look` sees in the segment changes within `window`.
pub fn changes_within<T: PartialEq>(
    view: ReadView<'_>,
    window: Duration,
    look: impl Fn(ReadView<'_>) -> T,
) -> bool {
    let first = look(view);
    let deadline = Instant::now() + window;
    while Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
        if look(view) != first {
            return true;
        }
    }
    false
}
