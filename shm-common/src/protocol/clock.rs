//! Wall-clock points in time as records carry them.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A point in Unix time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Timestamp {
    /// Seconds since the epoch (negative before it).
    pub secs: i64,
    /// Nanoseconds within the second.
    pub nanos: u32,
}

impl Timestamp {
    /// The wall clock now (`time(0)` of the C writer, with nanoseconds).
    pub fn now() -> Self {
        match SystemTime::now().duration_since(UNIX_EPOCH) {
            Ok(d) => Self {
                secs: d.as_secs() as i64,
                nanos: d.subsec_nanos(),
            },
            Err(before) => {
                let d = before.duration();
                let (secs, nanos) = match d.subsec_nanos() {
                    0 => (-(d.as_secs() as i64), 0),
                    n => (-(d.as_secs() as i64) - 1, 1_000_000_000 - n),
                };
                Self { secs, nanos }
            }
        }
    }

    /// Whole seconds.
    pub fn from_secs(secs: i64) -> Self {
        Self { secs, nanos: 0 }
    }

    /// How long before `now` this was: `Ok(age)`, or `Err(ahead)` when it
    /// lies in the future (a clock ahead, or a torn or forged reading).
    pub fn age(self, now: Timestamp) -> Result<Duration, Duration> {
        let ns = |t: Timestamp| i128::from(t.secs) * 1_000_000_000 + i128::from(t.nanos);
        let diff = ns(now) - ns(self);
        let clamp = |d: i128| Duration::from_nanos(d.clamp(0, i128::from(u64::MAX)) as u64);
        if diff >= 0 {
            Ok(clamp(diff))
        } else {
            Err(clamp(-diff))
        }
    }

    /// Nanoseconds since the epoch, as one word (two's complement).
    pub fn to_word(self) -> u64 {
        (i128::from(self.secs) * 1_000_000_000 + i128::from(self.nanos)) as i64 as u64
    }

    /// The inverse of [`Timestamp::to_word`].
    pub fn from_word(word: u64) -> Self {
        let ns = word as i64;
        Self {
            secs: ns.div_euclid(1_000_000_000),
            nanos: ns.rem_euclid(1_000_000_000) as u32,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_and_words() {
        let t = Timestamp { secs: 10, nanos: 5 };
        let later = Timestamp { secs: 12, nanos: 5 };
        assert_eq!(t.age(later), Ok(Duration::from_secs(2)));
        assert_eq!(later.age(t), Err(Duration::from_secs(2)));
        for t in [t, Timestamp { secs: -3, nanos: 7 }, Timestamp::now()] {
            assert_eq!(Timestamp::from_word(t.to_word()), t);
        }
    }
}
