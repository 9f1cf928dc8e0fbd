//! The time record: the classic clock. The writer keeps the C text area
//! (`%ld` of the Unix time) and, under a seqlock, a record with the time in
//! nanoseconds, the writer's state and facts about the writer; readers
//! wake on change through [`crate::protocol::notify`].
//!
//! - [`layout`]: where the words sit;
//! - [`record`]: the publisher and the reader;
//! - [`live`]: when its writer counts as alive, for readers and adoption;
//! - [`adopt`]: when a writer may take over an existing segment for the key;
//! - [`spec`]: what generic code needs to know of it.

pub mod adopt;
pub mod layout;
pub mod live;
pub mod record;
pub mod spec;
