//! The output formats of a reading.

use std::fmt::Write as _;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat};
use shm_common::protocol::clock::Timestamp;
use shm_common::protocol::mqueue::Message;
use shm_common::protocol::time::record::Reading;
use shm_common::protocol::value::read::Value;
use shm_common::transport::segment::SegmentInfo;

/// How each reading is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// `now time: <unix seconds>` (a value: `now time: <value>`), exactly as the C shm_read prints it
    C,
    /// `now time: <RFC 3339 UTC time with nanoseconds>` (a value: as `c`)
    Rfc3339,
    /// One JSON object per line: seq, time or value, writer pid, age, skipped, key, shmid
    Json,
    /// The value as it is (a time: its Unix seconds), one per line
    Raw,
}

/// What a live writer published.
pub enum Latest {
    /// A time: our record, or a C writer's text.
    Time(Reading),
    /// A value.
    Value(Value),
}

/// The line for one reading, as bytes: `raw` prints a value's bytes as
/// they are, which need not be text. `skipped` counts publishes never
/// printed since the previous line (`--on-change` with a faster writer).
pub fn line(
    format: Format,
    latest: &Latest,
    age: Duration,
    segment: &SegmentInfo,
    skipped: u64,
) -> Vec<u8> {
    match latest {
        Latest::Time(reading) => time_line(format, reading, age, segment, skipped).into_bytes(),
        Latest::Value(value) => value_line(format, value, age, segment, skipped),
    }
}

fn time_line(
    format: Format,
    reading: &Reading,
    age: Duration,
    segment: &SegmentInfo,
    skipped: u64,
) -> String {
    match format {
        Format::C => format!("now time: {}", reading.secs()),
        Format::Raw => reading.secs().to_string(),
        Format::Rfc3339 => format!("now time: {}", rfc3339(reading)),
        Format::Json => {
            let (source, seq, nanos, pid) = match reading {
                Reading::Record(r) => (
                    "header",
                    r.seq.to_string(),
                    r.time.nanos,
                    r.writer.pid.to_string(),
                ),
                Reading::Text(_) => ("c-text", "null".into(), 0, "null".into()),
            };
            format!(
                "{{\"seq\":{seq},\"secs\":{},\"nanos\":{nanos},\"time\":\"{}\",\"writer_pid\":{pid},\"age_ms\":{:.3},\"key\":\"{}\",\"shmid\":{},\"source\":\"{source}\",\"skipped\":{skipped}}}",
                reading.secs(),
                rfc3339(reading),
                age.as_secs_f64() * 1e3,
                segment.key,
                segment.id,
            )
        }
    }
}

fn value_line(
    format: Format,
    value: &Value,
    age: Duration,
    segment: &SegmentInfo,
    skipped: u64,
) -> Vec<u8> {
    let text = String::from_utf8_lossy(&value.payload);
    let line = match format {
        Format::C | Format::Rfc3339 => format!("now time: {text}"),
        Format::Raw => return value.payload.clone(),
        Format::Json => {
            let payload = match std::str::from_utf8(&value.payload) {
                Ok(text) if !value.binary => format!("\"value\":{}", json_string(text)),
                _ => format!("\"value_base64\":\"{}\"", base64(&value.payload)),
            };
            format!(
                "{{\"kind\":\"value\",{payload},\"bytes\":{},\"seq\":{},\"count\":{},\"published\":\"{}\",\"writer_pid\":{},\"age_ms\":{:.3},\"skipped\":{skipped},\"key\":\"{}\",\"shmid\":{}}}",
                value.payload.len(),
                value.seq,
                value.counter,
                timestamp(value.published, SecondsFormat::Nanos),
                value.writer_pid,
                age.as_secs_f64() * 1e3,
                segment.key,
                segment.id,
            )
        }
    };
    line.into_bytes()
}

fn rfc3339(reading: &Reading) -> String {
    match reading {
        Reading::Record(r) => timestamp(r.time, SecondsFormat::Nanos),
        Reading::Text(secs) => timestamp(Timestamp::from_secs(*secs), SecondsFormat::Secs),
    }
}

fn timestamp(t: Timestamp, precision: SecondsFormat) -> String {
    DateTime::from_timestamp(t.secs, t.nanos).map_or_else(
        || format!("{} (out of range)", t.secs),
        |t| t.to_rfc3339_opts(precision, true),
    )
}

/// The line for one message of a POSIX message queue; `None` for the end
/// marker in `raw` (the bare texts are exactly the lines a sender sent).
/// `c` prints as Docker in Action's consumer does, the end marker included.
pub fn message_line(format: Format, message: &Message, end: bool) -> Option<Vec<u8>> {
    let text = message.text();
    match format {
        Format::C | Format::Rfc3339 => {
            let mut line = b"Consumed: ".to_vec();
            line.extend_from_slice(text);
            Some(line)
        }
        Format::Raw => (!end).then(|| text.to_vec()),
        Format::Json => {
            let payload = match std::str::from_utf8(text) {
                Ok(text) => format!("\"text\":{}", json_string(text)),
                Err(_) => format!("\"text_base64\":\"{}\"", base64(text)),
            };
            Some(
                format!(
                    "{{\"kind\":\"message\",{payload},\"text_bytes\":{},\"bytes\":{},\"priority\":{},\"end\":{end}}}",
                    text.len(),
                    message.bytes.len(),
                    message.priority
                )
                .into_bytes(),
            )
        }
    }
}

/// `text` as a JSON string literal.
pub fn json_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Standard base64 with padding (RFC 4648).
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use shm_common::transport::key::Key;

    /// The line as text, which every line here is but a raw binary value.
    fn line(
        format: Format,
        latest: &Latest,
        age: Duration,
        segment: &SegmentInfo,
        skipped: u64,
    ) -> String {
        String::from_utf8(super::line(format, latest, age, segment, skipped)).unwrap()
    }

    fn segment() -> SegmentInfo {
        SegmentInfo {
            id: 3,
            key: Key(0x0801_0203),
            size: 4096,
            mode: 0o600,
            uid: 0,
            gid: 0,
            cuid: 0,
            nattch: 2,
            cpid: 1,
            lpid: 1,
            atime: 0,
            dtime: 0,
            ctime: 0,
            removed: false,
        }
    }

    #[test]
    fn time_formats() {
        let r = Latest::Time(Reading::Text(1_700_000_000));
        let age = Duration::from_millis(5);
        assert_eq!(
            line(Format::C, &r, age, &segment(), 0),
            "now time: 1700000000"
        );
        assert_eq!(line(Format::Raw, &r, age, &segment(), 0), "1700000000");
        assert_eq!(
            line(Format::Rfc3339, &r, age, &segment(), 0),
            "now time: 2023-11-14T22:13:20Z"
        );
        assert_eq!(
            line(Format::Json, &r, age, &segment(), 2),
            r#"{"seq":null,"secs":1700000000,"nanos":0,"time":"2023-11-14T22:13:20Z","writer_pid":null,"age_ms":5.000,"key":"0x08010203","shmid":3,"source":"c-text","skipped":2}"#
        );
    }

    #[test]
    fn value_formats() {
        let value = |payload: &[u8], binary| {
            Latest::Value(Value {
                seq: 4,
                counter: 2,
                published: Timestamp::from_secs(1_700_000_000),
                binary,
                stopped: false,
                writer_pid: 9,
                writer_ipc_ns: 1,
                payload: payload.to_vec(),
            })
        };
        let age = Duration::ZERO;
        let pi = value(b"PI is defined as: 22/7==3.14286", false);
        assert_eq!(
            line(Format::C, &pi, age, &segment(), 0),
            "now time: PI is defined as: 22/7==3.14286"
        );
        assert_eq!(
            line(Format::Raw, &pi, age, &segment(), 0),
            "PI is defined as: 22/7==3.14286"
        );
        let json = line(Format::Json, &value(b"a\"b\n", false), age, &segment(), 1);
        assert!(
            json.starts_with(r#"{"kind":"value","value":"a\"b\n","bytes":4,"seq":4,"count":2,"#),
            "{json}"
        );
        let json = line(
            Format::Json,
            &value(&[0, 255, 1, 2], true),
            age,
            &segment(),
            0,
        );
        assert!(json.contains(r#""value_base64":"AP8BAg==""#), "{json}");
        let raw = super::line(
            Format::Raw,
            &value(&[0xff, 0xfe, 0, b'a'], true),
            age,
            &segment(),
            0,
        );
        assert_eq!(raw, [0xff, 0xfe, 0, b'a']);
    }

    #[test]
    fn base64_matches_rfc_4648() {
        for (plain, encoded) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(plain.as_bytes()), encoded);
        }
    }
}
