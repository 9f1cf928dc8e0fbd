//! The three output formats of a reading.

use std::time::Duration;

use chrono::{DateTime, SecondsFormat};
use shm_common::protocol::latest::record::Reading;
use shm_common::transport::segment::SegmentInfo;

/// How each reading is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// `now time: <unix seconds>`, exactly as the C shm_read prints it
    C,
    /// `now time: <RFC 3339 UTC time with nanoseconds>`
    Rfc3339,
    /// One JSON object per line: seq, time, writer pid, age, key, shmid
    Json,
}

/// The line for one reading.
pub fn line(format: Format, reading: &Reading, age: Duration, segment: &SegmentInfo) -> String {
    match format {
        Format::C => format!("now time: {}", reading.secs()),
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
                "{{\"seq\":{seq},\"secs\":{},\"nanos\":{nanos},\"time\":\"{}\",\"writer_pid\":{pid},\"age_ms\":{:.3},\"key\":\"{}\",\"shmid\":{},\"source\":\"{source}\"}}",
                reading.secs(),
                rfc3339(reading),
                age.as_secs_f64() * 1e3,
                segment.key,
                segment.id,
            )
        }
    }
}

fn rfc3339(reading: &Reading) -> String {
    let (secs, nanos, precision) = match reading {
        Reading::Record(r) => (r.time.secs, r.time.nanos, SecondsFormat::Nanos),
        Reading::Text(secs) => (*secs, 0, SecondsFormat::Secs),
    };
    DateTime::from_timestamp(secs, nanos).map_or_else(
        || format!("{secs} (out of range)"),
        |t| t.to_rfc3339_opts(precision, true),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use shm_common::transport::key::Key;

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
    fn formats() {
        let r = Reading::Text(1_700_000_000);
        let age = Duration::from_millis(5);
        assert_eq!(line(Format::C, &r, age, &segment()), "now time: 1700000000");
        assert_eq!(
            line(Format::Rfc3339, &r, age, &segment()),
            "now time: 2023-11-14T22:13:20Z"
        );
        assert_eq!(
            line(Format::Json, &r, age, &segment()),
            r#"{"seq":null,"secs":1700000000,"nanos":0,"time":"2023-11-14T22:13:20Z","writer_pid":null,"age_ms":5.000,"key":"0x08010203","shmid":3,"source":"c-text"}"#
        );
    }
}
