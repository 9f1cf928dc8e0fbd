//! The latest value of anything: a writer publishes a payload of any bytes
//! (text from the command line, each line of stdin, or a binary blob) and
//! readers copy the newest one, or sleep until it changes.
//!
//! - [`layout`]: where the words sit;
//! - [`publish`]: the writer's side (payload under the seqlock, C text,
//!   heartbeat, wake-ups);
//! - [`read`]: the reader's side, bounded and safe against hostile lengths;
//! - [`live`]: the heartbeat, by which readers and adoption judge the writer;
//! - [`adopt`]: when a value writer may take over an existing segment;
//! - [`spec`]: what generic code needs to know of it.

pub mod adopt;
pub mod layout;
pub mod live;
pub mod publish;
pub mod read;
pub mod spec;
