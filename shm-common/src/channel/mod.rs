//! Channels for programs: the value, the stream and the classic time
//! record, speaking exactly the bytes `shm_write` and `shm_read` speak, so
//! a program in one container and `shm_read` (or a C or Python program) in
//! another interoperate.
//!
//! A layer above [`crate::session`], beside the binaries: each channel is
//! a protocol's writer or reader side over a claimed or found key, owned
//! (the side and the segment it borrows travel together), with a
//! background thread that keeps its heartbeat while the program is idle.
//! Nothing here needs the `cli` feature, prints, or touches signals; every
//! wait is bounded by the timeout given (and by the peer's liveness).
//!
//! - [`ValueWriter`] / [`ValueReader`]: the latest value, any bytes;
//! - [`StreamWriter`] / [`StreamReader`]: the lossless stream, as
//!   [`std::io::Write`] and [`std::io::Read`];
//! - [`read_time`] / [`TimeReader`]: the classic time record's seconds.

mod beat;
mod error;
mod stream;
mod time;
mod value;
mod value_reader;

use std::path::Path;

pub use error::{Error, Result};
pub use stream::{StreamReader, StreamWriter};
pub use time::{read_time, TimeReader};
pub use value::ValueWriter;
pub use value_reader::ValueReader;

use crate::protocol::spec::Spec;
use crate::session::claim::{Claim, ClaimOptions};

/// `proj_id`, refused when it is 0: `ftok` takes only its low 8 bits, and
/// neither tool nor the classic pair can name a key made from 0.
fn checked(proj_id: u8) -> Result<u8> {
    if proj_id == 0 {
        return Err(Error::InvalidArgument(
            "proj_id 0 names no key the tools can reach: give 1 to 255, such as 8 (the classic pair's)"
                .to_string(),
        ));
    }
    Ok(proj_id)
}

/// Claim `key_file` and `proj_id` for a writer of `spec`'s protocol: a
/// segment of `size` bytes (0: the protocol's default) and `mode`.
fn claim(key_file: &Path, proj_id: u8, size: usize, mode: u32, spec: &Spec) -> Result<Claim> {
    let size = if size == 0 { spec.default_size } else { size };
    if size < spec.min_size {
        return Err(Error::InvalidArgument(format!(
            "a size of {size} bytes is too small for {}: give at least {} (or 0 for the default, {})",
            spec.phrase, spec.min_size, spec.default_size
        )));
    }
    let mode = u16::try_from(mode)
        .ok()
        .filter(|m| m & !0o777 == 0)
        .ok_or_else(|| {
            Error::InvalidArgument(format!(
                "mode {mode:#o} is not a set of permission bits: give one within 0o777, such as 0o600"
            ))
        })?;
    let options = ClaimOptions {
        key_file: key_file.to_path_buf(),
        proj_id: checked(proj_id)?,
        size,
        mode,
    };
    Claim::start(options, spec.adopt).map_err(|e| Error::claim(key_file, &e))
}

/// The Rust example of docs/programs.md, run as a doctest so that the doc
/// cannot drift from the code.
#[cfg(doctest)]
#[doc = include_str!("../../../docs/programs.md")]
pub struct ProgramsDoc;

// Every channel may move to another thread (a binding's objects do): a
// channel that stopped being `Send` fails to compile here.
const _: fn() = || {
    fn send<T: Send>() {}
    send::<ValueWriter>();
    send::<ValueReader>();
    send::<StreamWriter>();
    send::<StreamReader>();
    send::<TimeReader>();
    send::<Error>();
};

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn proj_id_zero_is_refused_before_any_key_is_made() {
        let err = ValueReader::open("/nonexistent/key", 0).err().unwrap();
        assert!(
            err.to_string().starts_with("proj_id 0 names no key"),
            "{err}"
        );
        let err = StreamWriter::open("/nonexistent/key", 0, 0).err().unwrap();
        assert!(matches!(err, Error::InvalidArgument(_)), "{err}");
    }

    #[test]
    fn read_into_if_changed_copies_only_a_value_not_returned_yet() {
        let dir = std::env::temp_dir().join(format!("channel-changed-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let key_file = dir.join("key");
        let mut writer = ValueWriter::open(&key_file, b'C', 0, 0o600).unwrap();
        writer.publish(b"one").unwrap();
        let mut reader = ValueReader::open(&key_file, b'C').unwrap();
        let mut buf = [0u8; 8];
        assert_eq!(reader.read_into_if_changed(&mut buf).unwrap(), Some(3));
        assert_eq!(&buf[..3], b"one");
        buf = [0; 8];
        assert_eq!(reader.read_into_if_changed(&mut buf).unwrap(), None);
        assert_eq!(buf, [0; 8], "nothing copied");
        // The same bytes published again are a new value.
        writer.publish(b"one").unwrap();
        assert_eq!(reader.read_into_if_changed(&mut buf).unwrap(), Some(3));
        // A value too large for `buf` counts as not returned.
        writer.publish(b"three").unwrap();
        let too_small = reader.read_into_if_changed(&mut buf[..2]);
        assert!(matches!(too_small, Err(Error::TooSmall { needed: 5 })));
        assert_eq!(reader.read_into_if_changed(&mut buf).unwrap(), Some(5));
        // Whatever returned it, a value returned is unchanged after.
        writer.publish(b"four").unwrap();
        assert_eq!(reader.read().unwrap(), b"four");
        assert_eq!(reader.read_into_if_changed(&mut buf).unwrap(), None);
        // A writer that stopped is no writer, however unchanged its value.
        writer.close().unwrap();
        let stopped = reader.read_into_if_changed(&mut buf);
        assert!(
            matches!(stopped, Err(Error::NoWriter { .. })),
            "{stopped:?}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_writer_off_its_cpu_mid_update_for_milliseconds_is_waited_for() {
        use crate::protocol::value::layout::word;
        use crate::transport::{key::Key, segment::Segment};
        use std::os::unix::fs::MetadataExt;

        let dir = std::env::temp_dir().join(format!("channel-mid-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let key_file = dir.join("key");
        let mut writer = ValueWriter::open(&key_file, b'M', 0, 0o600).unwrap();
        writer.publish(b"before").unwrap();
        let mut reader = ValueReader::open(&key_file, b'M').unwrap();
        let meta = std::fs::metadata(&key_file).unwrap();
        let key = Key::from_file_ids(meta.dev(), meta.ino(), b'M');
        let segment = Segment::open_writable(key).unwrap();
        let words = segment.write_view().unwrap();
        // A publish caught half-way, its writer off the CPU for longer
        // than the seqlock's own spins and yields last on an idle CPU.
        let seq = words.read().load(word::SEQ);
        words.store(word::SEQ, seq + 1);
        std::thread::scope(|s| {
            s.spawn(|| {
                std::thread::sleep(Duration::from_millis(20));
                words.store(word::SEQ, seq);
            });
            assert_eq!(reader.read().unwrap(), b"before");
        });
        drop(segment);
        writer.close().unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
