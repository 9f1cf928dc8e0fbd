//! Every sentence the tools say to a person that is not an error's (those
//! are in [`super::failure`]), by subject. The library below returns data;
//! these turn it into words.

mod diagnosis;
mod listing;
pub mod manual;
pub mod mqueue;
pub mod namespaces;
mod signals;
mod stream;
mod writer;

pub use diagnosis::{future, resumed, stale, unreadable, writer_stopped, Diagnosis, Side};
pub use listing::{no_segment, no_table};
pub use signals::{signals_failed, signals_setup, stopping};
pub use stream::{
    stream_consumer_ended, stream_delivered, stream_futex_failed, stream_needs_write,
    stream_output_failed, stream_producer_ended, stream_refused,
};
pub use writer::{
    empty_input, input_too_large, removed_from_outside, startup, too_small, value_too_large,
};
