//! Command-line pieces both tools share: the key options and the parsers
//! for durations, sizes and modes, each with an error that says what is
//! accepted.

use std::path::PathBuf;
use std::time::Duration;

use super::exit::{Exit, Tool};
use super::{console, generate, messages};

use crate::transport::key::{DEFAULT_KEY_FILE, DEFAULT_PROJ_ID};
use crate::transport::mqueue::QueueName;

/// Which key the tools meet on: `ftok(key_file, proj_id)`.
#[derive(Debug, Clone, clap::Args)]
pub struct KeyArgs {
    /// Key file whose inode (with --proj-id) makes the System V key
    #[arg(long, value_name = "PATH", default_value = DEFAULT_KEY_FILE)]
    pub key_file: PathBuf,
    /// Project id passed to ftok, 1..=255
    #[arg(long, value_name = "N", default_value_t = DEFAULT_PROJ_ID, allow_hyphen_values = true,
          value_parser = clap::value_parser!(u8).range(1..=255))]
    pub proj_id: u8,
}

/// `tool`'s command line as clap knows it: the flags of `T`, the version
/// with the `commit` it was built from, the exit statuses after `--help`,
/// and `--generate` (the man page and completions are made from this).
pub fn command<T: clap::CommandFactory>(tool: Tool, commit: &str) -> clap::Command {
    T::command()
        .version(messages::manual::version(commit))
        .after_help(Exit::help(tool))
        .arg(generate::arg())
}

/// Parse the command line of `tool`, built from `commit`, or end the
/// process as clap would, but with the tool's name before an error
/// (`shm_read: error: ...`, exit 2), with `--help` and `--version` failing
/// with [`Exit::Output`] when stdout cannot take them (clap ignores that
/// failure), and with `--generate` printing what it names.
pub fn parse<T: clap::Parser>(tool: Tool, commit: &str) -> T {
    let mut command = command::<T>(tool, commit);
    let e = match command.try_get_matches_from_mut(std::env::args_os()) {
        Ok(mut matches) => {
            if let Some(what) = generate::asked(&matches) {
                std::process::exit(generate::run(command, tool, what).code().into())
            }
            match T::from_arg_matches_mut(&mut matches) {
                Ok(args) => return args,
                Err(e) => e.format(&mut command),
            }
        }
        Err(e) => e,
    };
    let exit = if e.use_stderr() {
        let _ = console::say(&format!(
            "{}: {}",
            tool.name(),
            e.render().to_string().trim_end()
        ));
        Exit::Usage
    } else {
        match console::print(&e.render().to_string()) {
            Ok(()) => Exit::Ok,
            Err(_) => Exit::Output,
        }
    };
    std::process::exit(exit.code().into())
}

/// Parse a duration: `0`, or a number with a unit `ns`, `us`, `ms`, `s`,
/// `m` or `h` (`250ms`, `1.5s`).
///
/// ```
/// use std::time::Duration;
/// use shm_common::cli::flags::parse_duration;
/// assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
/// assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
/// assert!(parse_duration("10").is_err());
/// ```
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if text == "0" {
        return Ok(Duration::ZERO);
    }
    if text.starts_with('-') {
        return Err(format!("`{text}` is negative: a duration is 0 or more"));
    }
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .ok_or_else(|| format!("`{text}` has no unit: write e.g. `1s`, `250ms` or `0`"))?;
    let (number, unit) = text.split_at(split);
    let nanos_per_unit: f64 = match unit {
        "ns" => 1.0,
        "us" | "µs" => 1e3,
        "ms" => 1e6,
        "s" => 1e9,
        "m" => 60e9,
        "h" => 3600e9,
        _ => {
            return Err(format!(
                "unknown unit `{unit}` in `{text}`: use ns, us, ms, s, m or h"
            ))
        }
    };
    let value: f64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a duration: write e.g. `1s`, `250ms` or `0`"))?;
    let nanos = value * nanos_per_unit;
    if !nanos.is_finite() || nanos >= u64::MAX as f64 {
        return Err(format!(
            "`{text}` is too long: at most {}h",
            u64::MAX / 3_600_000_000_000
        ));
    }
    Ok(Duration::from_nanos(nanos.round() as u64))
}

/// Parse a permission mode in octal (`0600`, `660`, `0o666`), at most `0777`.
pub fn parse_mode(text: &str) -> Result<u16, String> {
    let digits = text.trim().trim_start_matches("0o");
    u16::from_str_radix(digits, 8)
        .ok()
        .filter(|m| *m <= 0o777 && !digits.is_empty())
        .ok_or_else(|| format!("`{text}` is not an octal permission mode from 0000 to 0777 (e.g. 0600, 0660, 0666)"))
}

/// Parse a POSIX message queue name (`/ch6_ipc`).
pub fn parse_queue_name(text: &str) -> Result<QueueName, String> {
    QueueName::parse(text).map_err(|e| super::messages::mqueue::bad_name(&e))
}

/// Parse a byte count with an optional `k`/`K` (1024) or `M` (1024²) suffix.
pub fn parse_size(text: &str) -> Result<usize, String> {
    let text = text.trim();
    let (digits, factor) = match text.char_indices().last() {
        Some((i, 'k' | 'K')) => (&text[..i], 1024),
        Some((i, 'm' | 'M')) => (&text[..i], 1024 * 1024),
        _ => (text, 1),
    };
    digits
        .parse::<usize>()
        .ok()
        .and_then(|n| n.checked_mul(factor))
        .ok_or_else(|| format!("`{text}` is not a size in bytes (e.g. 4096, 64k, 1M)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        assert_eq!(parse_duration("1s"), Ok(Duration::from_secs(1)));
        assert_eq!(parse_duration("500us"), Ok(Duration::from_micros(500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        for bad in [
            "",
            "-1s",
            "1x",
            "s",
            "1..2s",
            "99999999999999999999h",
            "18446744073709551616ns",
            "1e3s",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn modes_and_sizes() {
        assert_eq!(parse_mode("0600"), Ok(0o600));
        assert_eq!(parse_mode("666"), Ok(0o666));
        for bad in ["", "0800", "1777", "-1", "rw"] {
            assert!(parse_mode(bad).is_err(), "{bad:?} accepted");
        }
        assert_eq!(parse_size("4096"), Ok(4096));
        assert_eq!(parse_size("64k"), Ok(65536));
        for bad in ["", "-1", "1G", "k", "99999999999999999999"] {
            assert!(parse_size(bad).is_err(), "{bad:?} accepted");
        }
    }
}
