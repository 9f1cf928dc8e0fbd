//! The hex dump of `--inspect`: `xxd`-style lines, or one JSON string,
//! of the bytes a segment's layout does not decode, read a bounded chunk at
//! a time as they are printed (never the whole segment in memory), and
//! without `--full` only the first and last KiB of a longer one.

use std::io::{self, Write};
use std::ops::Range;

use shm_common::transport::view::ReadView;

/// Bytes to hex-dump, read as they are printed.
pub(crate) enum Dump<'a> {
    /// The segment's own bytes; with `in_memory`, those on pages not
    /// resident are the zeros they hold, never read (nothing is in swap).
    Segment { view: ReadView<'a>, in_memory: bool },
    /// A copy made while decoding (a value's payload, under its seqlock).
    Copy(Vec<u8>),
}

impl Dump<'_> {
    pub(crate) fn len(&self) -> usize {
        match self {
            Dump::Segment { view, .. } => view.bytes(),
            Dump::Copy(bytes) => bytes.len(),
        }
    }

    /// Fill `out` with the bytes from `at` on (`at` a multiple of 8).
    fn read(&self, at: usize, out: &mut [u8]) {
        match self {
            Dump::Segment {
                view,
                in_memory: true,
            } => view.copy_bytes_in_memory(at / 8, out),
            Dump::Segment { view, .. } => view.copy_bytes(at / 8, out),
            Dump::Copy(bytes) => out.copy_from_slice(&bytes[at..at + out.len()]),
        }
    }

    /// Call `f` on the bytes `part`, a bounded chunk at a time.
    fn each_chunk(
        &self,
        part: Range<usize>,
        mut f: impl FnMut(usize, &[u8]) -> io::Result<()>,
    ) -> io::Result<()> {
        /// Bytes read at a time: a multiple of a line.
        const CHUNK: usize = 64 << 10;
        let mut buf = vec![0u8; CHUNK.min(part.len())];
        let mut at = part.start;
        while at < part.end {
            let chunk = &mut buf[..CHUNK.min(part.end - at)];
            self.read(at, chunk);
            f(at, chunk)?;
            at += chunk.len();
        }
        Ok(())
    }
}

/// Bytes a hex dump shows at each end without `--full`.
const EDGE: usize = 1024;
/// Bytes per line of a hex dump.
const LINE: usize = 16;
/// Hex digits, by value.
const DIGITS: &[u8; 16] = b"0123456789abcdef";

/// A dump and the parts of it shown.
pub(crate) struct Shown<'a> {
    pub(crate) dump: Dump<'a>,
    pub(crate) head: Range<usize>,
    /// The last part, when bytes between are left out.
    pub(crate) tail: Option<Range<usize>>,
}

impl<'a> Shown<'a> {
    /// All of `dump` with `--full` or when it is at most 2 KiB, else its
    /// first KiB and its last (from the line at or before it, so lines
    /// keep the offsets they have in a full dump).
    pub(crate) fn new(dump: Dump<'a>, full: bool) -> Self {
        let len = dump.len();
        let (head, tail) = if full || len <= 2 * EDGE {
            (0..len, None)
        } else {
            (0..EDGE, Some((len - EDGE) / LINE * LINE..len))
        };
        Self { dump, head, tail }
    }
}

/// The bytes `part` of `dump` as one JSON string of hex digits.
pub(crate) fn hex_string(
    out: &mut dyn Write,
    dump: &Dump<'_>,
    part: Range<usize>,
) -> io::Result<()> {
    out.write_all(b"\"")?;
    let mut hex = Vec::new();
    dump.each_chunk(part, |_, chunk| {
        hex.clear();
        hex.extend(
            chunk
                .iter()
                .flat_map(|&b| [DIGITS[usize::from(b >> 4)], DIGITS[usize::from(b & 15)]]),
        );
        out.write_all(&hex)
    })?;
    out.write_all(b"\"")
}

/// The hex dump: `xxd`-style lines of 16 bytes, runs of all-zero lines shown
/// once as `*`; without `--full`, only the first and last KiB of a longer
/// one, with a line saying what is left out.
pub(crate) fn hex_dump(out: &mut dyn Write, shown: &Shown<'_>) -> io::Result<()> {
    let Shown { dump, head, tail } = shown;
    writeln!(out, "hex dump ({} bytes):", dump.len())?;
    hex_lines(out, dump, head.clone())?;
    if let Some(tail) = tail {
        writeln!(
            out,
            "... {} bytes left out ({:08x}..{:08x}): --full shows every byte",
            tail.start - head.end,
            head.end,
            tail.start
        )?;
        hex_lines(out, dump, tail.clone())?;
    }
    Ok(())
}

/// The lines of the bytes `part` of `dump`. The first line of a part and
/// the last of the dump are always shown, never folded into a `*`.
fn hex_lines(out: &mut dyn Write, dump: &Dump<'_>, part: Range<usize>) -> io::Result<()> {
    let len = dump.len();
    let first = part.start;
    let mut zeros = false;
    let mut text = Vec::with_capacity(80);
    dump.each_chunk(part, |at, chunk| {
        for (i, line) in chunk.chunks(LINE).enumerate() {
            let offset = at + i * LINE;
            if line.iter().all(|&b| b == 0) && offset > first && offset + LINE < len {
                if !zeros {
                    out.write_all(b"*\n")?;
                    zeros = true;
                }
                continue;
            }
            zeros = false;
            text.clear();
            let _ = write!(text, "{offset:08x}:");
            for &b in line {
                text.extend_from_slice(&[
                    b' ',
                    DIGITS[usize::from(b >> 4)],
                    DIGITS[usize::from(b & 15)],
                ]);
            }
            // The hex column is 47 wide (16 bytes), then two spaces.
            text.resize(text.len() + 3 * (LINE - line.len()) + 2, b' ');
            text.extend(
                line.iter()
                    .map(|&b| if (0x20..0x7f).contains(&b) { b } else { b'.' }),
            );
            text.push(b'\n');
            out.write_all(&text)?;
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fmt::Write as _;

    /// The dump as it was built before it was streamed: what a dump of up
    /// to 2 KiB, and any dump with `--full`, must still print.
    fn reference(bytes: &[u8]) -> String {
        let mut out = format!("hex dump ({} bytes):\n", bytes.len());
        let mut zeros = false;
        for (i, line) in bytes.chunks(16).enumerate() {
            if line.iter().all(|&b| b == 0) && i > 0 && (i + 1) * 16 < bytes.len() {
                if !zeros {
                    out += "*\n";
                    zeros = true;
                }
                continue;
            }
            zeros = false;
            let hex: Vec<String> = line.iter().map(|b| format!("{b:02x}")).collect();
            let ascii: String = line
                .iter()
                .map(|&b| {
                    if (0x20..0x7f).contains(&b) {
                        b as char
                    } else {
                        '.'
                    }
                })
                .collect();
            let _ = writeln!(out, "{:08x}: {:<47}  {ascii}", i * 16, hex.join(" "));
        }
        out
    }

    fn dumped(bytes: &[u8], full: bool) -> String {
        let mut out = Vec::new();
        hex_dump(&mut out, &Shown::new(Dump::Copy(bytes.to_vec()), full)).unwrap();
        String::from_utf8(out).unwrap()
    }

    fn pattern(len: usize) -> Vec<u8> {
        (0..len)
            .map(|i| match (i / 16) % 7 {
                2..=4 => 0,
                _ => (i * 37 % 251) as u8,
            })
            .collect()
    }

    #[test]
    fn small_and_full_dumps_are_as_before() {
        for len in [0, 1, 15, 16, 17, 47, 48, 100, 304, 1024, 2047, 2048] {
            let bytes = pattern(len);
            assert_eq!(dumped(&bytes, false), reference(&bytes), "{len}");
            let zeros = vec![0u8; len];
            assert_eq!(dumped(&zeros, false), reference(&zeros), "zeros {len}");
        }
        for len in [2049, 5000, 200_003] {
            let bytes = pattern(len);
            assert_eq!(dumped(&bytes, true), reference(&bytes), "{len}");
        }
    }

    #[test]
    fn a_longer_dump_shows_its_first_and_last_kib() {
        let bytes = pattern(5000);
        let text = dumped(&bytes, false);
        let full = reference(&bytes);
        // The tail starts at the line at or before 5000 - 1024 = 3976.
        let left_out = "... 2944 bytes left out (00000400..00000f80): --full shows every byte\n";
        let (head, tail) = text.split_once(left_out).expect(&text);
        assert!(full.starts_with(head), "{head}");
        // Its first line is shown even when all zeros, then folded as in
        // the full dump.
        let first = "00000f80: 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00  ................\n";
        assert!(tail.starts_with(first), "{tail}");
        assert!(full.ends_with(&tail[first.len()..]), "{tail}");
    }

    #[test]
    fn json_hex_is_bounded_the_same_way() {
        let json_of = |len: usize, full: bool| {
            let mut out = Vec::new();
            let shown = Shown::new(Dump::Copy(pattern(len)), full);
            hex_string(&mut out, &shown.dump, shown.head).unwrap();
            if let Some(tail) = shown.tail {
                hex_string(&mut out, &shown.dump, tail).unwrap();
            }
            String::from_utf8(out).unwrap()
        };
        let hex = |bytes: &[u8]| bytes.iter().map(|b| format!("{b:02x}")).collect::<String>();
        assert_eq!(json_of(2048, false), format!("\"{}\"", hex(&pattern(2048))));
        assert_eq!(json_of(5000, true), format!("\"{}\"", hex(&pattern(5000))));
        let bytes = pattern(5000);
        assert_eq!(
            json_of(5000, false),
            format!("\"{}\"\"{}\"", hex(&bytes[..1024]), hex(&bytes[3968..]))
        );
    }
}
