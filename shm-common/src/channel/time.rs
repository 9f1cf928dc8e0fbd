//! The classic time record: the seconds a `shm_write` (or the classic C
//! writer, through its text) last published.

use std::path::Path;

use super::error::{absence, Error, Result};
use crate::protocol::time::record::read;
use crate::session::find::{Access, Finder};

/// The seconds of the time record of `key_file` and `proj_id`, read once
/// (a [`TimeReader`] keeps the segment attached between reads).
/// [`Error::NoWriter`] when no segment answers.
///
/// ```no_run
/// let secs = shm_common::channel::read_time("/dev/shm/shm_file", b'R')?;
/// println!("now time: {secs}");
/// # Ok::<(), shm_common::channel::Error>(())
/// ```
pub fn read_time(key_file: impl AsRef<Path>, proj_id: u8) -> Result<i64> {
    TimeReader::open(key_file, proj_id)?.read()
}

/// A reader of the time record that stays attached, for reading often.
#[derive(Debug)]
pub struct TimeReader {
    finder: Finder,
}

impl TimeReader {
    /// Find the record of `key_file` and `proj_id`; [`Error::NoWriter`]
    /// when no segment answers.
    pub fn open(key_file: impl AsRef<Path>, proj_id: u8) -> Result<Self> {
        let mut reader = Self {
            finder: Finder::new(
                key_file.as_ref().to_path_buf(),
                super::checked(proj_id)?,
                Access::ReadOnly,
            ),
        };
        reader.read()?;
        Ok(reader)
    }

    /// The record's seconds (the Unix time the writer last published),
    /// from its header or, for the classic C writer, its text.
    pub fn read(&mut self) -> Result<i64> {
        let segment = match self.finder.look() {
            Ok(Ok(segment)) => segment,
            Ok(Err(absent)) => return Err(Error::no_writer(absent.key_file, absence(&absent.why))),
            Err(e) => return Err(Error::find(self.finder.key_file(), &e)),
        };
        match read(segment.view()) {
            Ok(reading) => Ok(reading.secs()),
            Err(e) => {
                self.finder.suspect();
                Err(Error::unusable(self.finder.key_file(), e))
            }
        }
    }
}
