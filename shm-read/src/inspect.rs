//! `--inspect`: one segment field by field, with byte offsets, the way one
//! would look at it in a debugger: the kernel's facts, the C text, the
//! header, the record words as they are in memory (raw, not under the
//! seqlock), what they decode to, and a hex dump of what cannot be
//! decoded: its first and last KiB, or with `--full` all of it, written as
//! it is read, never built in memory. Read-only: the segment is attached
//! `SHM_RDONLY`, and its pages not resident in memory are not faulted in.

use std::fmt::Write as _;
use std::io::{self, Write};
use std::ops::Range;

use shm_common::cli::console;
use shm_common::cli::exit::Exit;
use shm_common::cli::messages;
use shm_common::protocol::clock::Timestamp;
use shm_common::protocol::describe::Holds;
use shm_common::protocol::fields::time_text;
use shm_common::protocol::header::{self, Content};
use shm_common::protocol::registry::spec_of;
use shm_common::protocol::text;
use shm_common::transport::key::Key;
use shm_common::transport::key_file::KeyFile;
use shm_common::transport::namespace::{self, Ns};
use shm_common::transport::segment::{OpenError, Segment};
use shm_common::transport::table::TableEntry;
use shm_common::transport::view::ReadView;

use crate::flags::{Inspect, Target};
use crate::output::{json_string, Format};
use crate::Failure;
use shm_common::cli::inventory::{kind, status, summary};
use shm_common::session::inventory::look;
use shm_common::transport::users::Users;

/// One word of the segment: offset, name, raw value, meaning.
struct Field {
    offset: usize,
    name: &'static str,
    raw: u64,
    meaning: String,
}

/// Show the segment.
pub fn run(args: &Inspect) -> Result<Exit, Failure> {
    let ns = Ns(namespace::ipc_namespace().unwrap_or(0));
    let entries = TableEntry::all()
        .map_err(|e| (Exit::Failure, messages::no_table("/proc/sysvipc/shm", &e)))?;
    let (entry, what) = match &args.target {
        Target::Shmid(shmid) => (
            entries.into_iter().find(|e| e.shmid == *shmid),
            format!("with shmid {shmid}"),
        ),
        Target::Key(key) => by_key(entries, *key),
        Target::KeyFile(k) => {
            let key_file = KeyFile::open_for_reader(&k.key_file, k.proj_id)?;
            by_key(entries, key_file.key())
        }
    };
    let entry = entry.ok_or_else(|| (Exit::NoWriter, messages::no_segment(&what)))?;
    let holds = look(&entry);
    let segment = match Segment::attach(entry.key, entry.shmid, true) {
        Ok(segment) => Some(segment),
        Err(OpenError::PermissionDenied { .. }) => None,
        Err(e) => return Err(e.into()),
    };
    // With nothing in swap, a page not resident is one nobody wrote: the
    // dump shows its zeros without faulting it in.
    let in_memory = entry.more.swap == 0;
    let (fields, dump) = match &segment {
        Some(s) => decode(s.view(), holds.as_ref(), in_memory),
        None => (Vec::new(), None),
    };
    let dump = dump.map(|dump| Shown::new(dump, args.full));
    let users = Users::load();
    console::print_streamed(|out| match args.format {
        Format::Json => json(out, ns, &entry, holds.as_ref(), &fields, dump.as_ref()),
        _ => human(
            out,
            ns,
            &entry,
            holds.as_ref(),
            &fields,
            dump.as_ref(),
            &users,
        ),
    })?;
    Ok(Exit::Ok)
}

/// The segment with `key`, and how a message names it.
fn by_key(entries: Vec<TableEntry>, key: Key) -> (Option<TableEntry>, String) {
    (
        entries.into_iter().find(|e| e.key == key),
        format!("with key {key}"),
    )
}

/// Bytes to hex-dump, read as they are printed.
enum Dump<'a> {
    /// The segment's own bytes; with `in_memory`, those on pages not
    /// resident are the zeros they hold, never read (nothing is in swap).
    Segment { view: ReadView<'a>, in_memory: bool },
    /// A copy made while decoding (a value's payload, under its seqlock).
    Copy(Vec<u8>),
}

impl Dump<'_> {
    fn len(&self) -> usize {
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
struct Shown<'a> {
    dump: Dump<'a>,
    head: Range<usize>,
    /// The last part, when bytes between are left out.
    tail: Option<Range<usize>>,
}

impl<'a> Shown<'a> {
    /// All of `dump` with `--full` or when it is at most 2 KiB, else its
    /// first KiB and its last (from the line at or before it, so lines
    /// keep the offsets they have in a full dump).
    fn new(dump: Dump<'a>, full: bool) -> Self {
        let len = dump.len();
        let (head, tail) = if full || len <= 2 * EDGE {
            (0..len, None)
        } else {
            (0..EDGE, Some((len - EDGE) / LINE * LINE..len))
        };
        Self { dump, head, tail }
    }
}

/// The fields of the segment, and the bytes to hex-dump (those not decoded):
/// the C text and the header, then the fields of the kind's spec that lie
/// within the segment.
fn decode<'a>(
    view: ReadView<'a>,
    holds: Option<&Holds>,
    in_memory: bool,
) -> (Vec<Field>, Option<Dump<'a>>) {
    let mut fields = Vec::new();
    let word = |i: usize| if i < view.len() { view.load(i) } else { 0 };
    let mut push = |offset: usize, name: &'static str, meaning: String| {
        fields.push(Field {
            offset,
            name,
            raw: word(offset / 8),
            meaning,
        });
    };
    let all = || Some(Dump::Segment { view, in_memory });
    if view.bytes() < header::HEADER_END {
        return (fields, all());
    }
    for field in header::FIELDS {
        push(
            field.word * 8,
            field.name,
            field.decode.meaning(word(field.word), view),
        );
    }
    match header::identify(view) {
        Ok(Content::Ours(kind)) => {
            let spec = spec_of(kind);
            for field in spec.fields {
                if let Some(raw) = field.raw(view) {
                    push(field.word * 8, field.name, field.decode.meaning(raw, view));
                }
            }
            if !spec.fits(view) {
                return (fields, all());
            }
            (
                fields,
                spec.dump.and_then(|dump| dump(view)).map(Dump::Copy),
            )
        }
        Ok(Content::Foreign) if matches!(holds, Some(Holds::CText { .. } | Holds::Empty)) => {
            (fields, None)
        }
        _ => (fields, all()),
    }
}

fn kernel_times(entry: &TableEntry) -> [(&'static str, i64); 3] {
    [
        ("attached", entry.more.atime),
        ("detached", entry.more.dtime),
        ("changed", entry.more.ctime),
    ]
}

fn human(
    out: &mut dyn Write,
    ns: Ns,
    entry: &TableEntry,
    holds: Option<&Holds>,
    fields: &[Field],
    dump: Option<&Shown<'_>>,
    users: &Users,
) -> io::Result<()> {
    let m = &entry.more;
    let mut text = format!(
        "segment {} (shmid {}) in IPC namespace {ns}\n",
        entry.key, entry.shmid
    );
    let _ = writeln!(
        text,
        "kernel: {} bytes, perms {:o}, owner {} (uid {}) gid {}, creator uid {} gid {}, nattch {}, status {}",
        entry.size, entry.mode, users.name(entry.uid), entry.uid, m.gid, m.cuid, m.cgid, entry.nattch,
        Some(status(entry).join(" ")).filter(|s| !s.is_empty()).unwrap_or_else(|| "-".into())
    );
    let times: Vec<String> = kernel_times(entry)
        .iter()
        .map(|(name, t)| {
            format!(
                "{name} {}",
                if *t == 0 {
                    "never".into()
                } else {
                    time_text(Timestamp::from_secs(*t))
                }
            )
        })
        .collect();
    let _ = writeln!(
        text,
        "        creator pid {}, last pid {}, {}",
        m.cpid,
        m.lpid,
        times.join(", ")
    );
    let _ = writeln!(text, "holds: {}", summary(holds));
    for f in fields {
        let _ = writeln!(
            text,
            "  {:>4}..{:<4} {:<22} 0x{:016x}  {}",
            f.offset,
            f.offset + if f.offset == 0 { text::TEXT_LEN } else { 8 },
            f.name,
            f.raw,
            f.meaning
        );
    }
    out.write_all(text.as_bytes())?;
    match dump {
        Some(shown) => hex_dump(out, shown),
        None => Ok(()),
    }
}

fn json(
    out: &mut dyn Write,
    ns: Ns,
    entry: &TableEntry,
    holds: Option<&Holds>,
    fields: &[Field],
    dump: Option<&Shown<'_>>,
) -> io::Result<()> {
    let m = &entry.more;
    let fields: Vec<String> = fields
        .iter()
        .map(|f| {
            format!(
                "{{\"offset\":{},\"name\":{},\"raw\":\"0x{:016x}\",\"meaning\":{}}}",
                f.offset,
                json_string(f.name),
                f.raw,
                json_string(&f.meaning)
            )
        })
        .collect();
    write!(
        out,
        "{{\"ipc_ns\":\"{ns}\",\"key\":\"{}\",\"shmid\":{},\"bytes\":{},\"perms\":\"{:o}\",\"uid\":{},\"gid\":{},\"cuid\":{},\"cgid\":{},\"nattch\":{},\"cpid\":{},\"lpid\":{},\"atime\":{},\"dtime\":{},\"ctime\":{},\"status\":[{}],\"kind\":\"{}\",\"holds\":{},\"fields\":[{}],\"hex\":",
        entry.key, entry.shmid, entry.size, entry.mode, entry.uid, m.gid, m.cuid, m.cgid, entry.nattch, m.cpid, m.lpid, m.atime, m.dtime, m.ctime,
        status(entry).iter().map(|s| json_string(s)).collect::<Vec<_>>().join(","),
        kind(holds),
        json_string(&summary(holds)),
        fields.join(",")
    )?;
    match dump {
        None => out.write_all(b"null")?,
        Some(shown) => {
            hex_string(out, &shown.dump, shown.head.clone())?;
            // Cut: "hex" holds the first KiB, "hex_tail" the last,
            // "hex_bytes" says how many the whole dump has.
            if let Some(tail) = &shown.tail {
                out.write_all(b",\"hex_tail\":")?;
                hex_string(out, &shown.dump, tail.clone())?;
                write!(out, ",\"hex_bytes\":{}", shown.dump.len())?;
            }
        }
    }
    out.write_all(b"}\n")
}

/// The bytes `part` of `dump` as one JSON string of hex digits.
fn hex_string(out: &mut dyn Write, dump: &Dump<'_>, part: Range<usize>) -> io::Result<()> {
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
fn hex_dump(out: &mut dyn Write, shown: &Shown<'_>) -> io::Result<()> {
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
