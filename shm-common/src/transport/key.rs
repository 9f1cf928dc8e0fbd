//! The System V key a key file gives, derived with `ftok`, and the
//! defaults both originals use. The file itself is [`super::key_file`].

use std::fmt;

use nix::libc;

/// The key file both originals use.
pub const DEFAULT_KEY_FILE: &str = "/dev/shm/shm_file";
/// The project id both originals pass to `ftok`.
pub const DEFAULT_PROJ_ID: u8 = 8;

/// A System V IPC key, shown as `0x%08x` exactly as `ipcs -m` shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Key(pub libc::key_t);

impl Key {
    /// The key `ftok(3)` returns for a file with this `st_dev` and `st_ino`:
    /// glibc's formula, computed from the already opened file so that the
    /// key belongs to the file we checked, not to whatever the path names a
    /// moment later.
    ///
    /// ```
    /// use shm_common::transport::key::Key;
    /// let key = Key::from_file_ids(0x2d, 0x1_2345, 8);
    /// assert_eq!(key.to_string(), "0x082d2345");
    /// ```
    pub fn from_file_ids(dev: u64, ino: u64, proj_id: u8) -> Self {
        let raw = (ino & 0xffff) as u32 | ((dev & 0xff) as u32) << 16 | u32::from(proj_id) << 24;
        Key(raw as libc::key_t)
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{:08x}", self.0 as u32)
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::MetadataExt;

    use super::*;

    #[test]
    fn display_matches_ipcs() {
        assert_eq!(Key(0x0801_2345).to_string(), "0x08012345");
        assert_eq!(Key(-1).to_string(), "0xffffffff");
    }

    #[test]
    fn matches_glibc_ftok() {
        let dir = std::env::temp_dir().join(format!("shm-key-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("key");
        std::fs::write(&path, b"").unwrap();
        let meta = std::fs::metadata(&path).unwrap();
        let c_path = std::ffi::CString::new(path.to_str().unwrap()).unwrap();
        for proj in [1u8, 8, 255] {
            let ours = Key::from_file_ids(meta.dev(), meta.ino(), proj);
            assert_eq!(
                ours.0,
                crate::transport::sys::ftok(&c_path, proj).unwrap(),
                "proj {proj}"
            );
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
