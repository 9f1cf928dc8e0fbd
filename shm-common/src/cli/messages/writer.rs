//! What a writer says about its segment: the start-up line, sizes that do
//! not fit, and a segment removed from outside.

use std::path::Path;

use crate::protocol::adopt::Previous;
use crate::session::claim::{Claim, Origin};
use crate::transport::key::Key;

/// The writer's start-up line: everything needed to match the segment in `ipcs -m`.
pub fn startup(tool: &str, claim: &Claim) -> String {
    let info = claim.segment().info();
    format!(
        "{tool}: key {} shmid {} size {} mode {:04o} key-file {} ipc-ns {} pid {}: segment {}",
        claim.key(),
        info.id,
        info.size,
        info.mode,
        claim.options().key_file.display(),
        claim.beacon().ipc_ns,
        std::process::id(),
        origin(claim.origin())
    )
}

fn origin(origin: Origin) -> &'static str {
    match origin {
        Origin::Created => "created",
        Origin::Adopted(Previous::Ours) => "reused (left by a shm_write that did not stop cleanly)",
        Origin::Adopted(Previous::C) => "reused (left by a C writer that no longer updates it)",
        Origin::Adopted(Previous::Empty) => "reused (it was empty)",
    }
}

/// `--size` below what the protocol needs; `room` is the size that also
/// holds what this run publishes (a value may need more than the layout).
pub fn too_small(size: usize, min_size: usize, room: usize) -> String {
    let holds = if room > min_size {
        ", which also holds the value"
    } else {
        ""
    };
    format!("--size {size} is smaller than the {min_size} bytes the segment layout needs (128 bytes of C text and the header); use --size {room} or more{holds}")
}

/// A value larger than the segment holds.
pub fn value_too_large(len: usize, capacity: usize, size: usize) -> String {
    format!(
        "a value of {len} bytes does not fit a segment of {size} bytes (it holds {capacity} bytes of value); use --size {} or more",
        crate::protocol::value::layout::size_for(len)
    )
}

/// The writer noticed its segment was removed from outside.
pub fn removed_from_outside(tool: &str, key: Key, id: i32) -> String {
    format!(
        "{tool}: segment {key} (shmid {id}) was removed from outside (ipcrm?): creating a new one"
    )
}

/// Standard input went on past the `capacity` bytes of value a segment of
/// `size` bytes holds, and was not read further: `seen` bytes of one
/// `line`, or of a `--binary` value. Its full length is unknown.
pub fn input_too_large(line: bool, seen: usize, capacity: usize, size: usize) -> String {
    let (what, end) = if line {
        ("a line of standard input", "before its newline")
    } else {
        ("standard input", "without reading the rest")
    };
    format!(
        "{what} is longer than the {capacity} bytes of value a segment of {size} bytes holds (refused at {seen} bytes, {end}); use --size {} or more: 256 bytes plus its length, rounded up to a multiple of 8",
        crate::protocol::value::layout::size_for(seen)
    )
}

/// `--stdin` found its input empty: nothing was published.
pub fn empty_input(tool: &str, key_file: &Path) -> String {
    format!(
        "{tool}: standard input was empty: no value to publish, so no segment was created; readers of key file {} keep waiting for a writer",
        key_file.display()
    )
}
