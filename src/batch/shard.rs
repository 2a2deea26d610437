//! `--shard K/N`: a deterministic share of the file list for one machine of N.

use std::fmt;
use std::str::FromStr;

/// Share `index` of `count` (0-based: `0/4` … `3/4`), as Slurm's `SLURM_ARRAY_TASK_ID` and
/// Kubernetes' `JOB_COMPLETION_INDEX` count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// Which share, in `0..count`.
    pub index: u64,
    /// How many shares.
    pub count: u64,
}

impl Shard {
    /// Whether the file whose path relative to its root is `relative` belongs to this share.
    /// The path is hashed with 64-bit FNV-1a over its `/`-separated UTF-8 form, so every machine
    /// agrees whatever its thread count, file system order or platform.
    pub fn contains(&self, relative: &str) -> bool {
        stable_hash(relative) % self.count == self.index
    }
}

/// 64-bit FNV-1a: stable across Rust versions and platforms (unlike `DefaultHasher`).
pub(crate) fn stable_hash(s: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in s.as_bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// Why a `--shard` value was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("--shard must be K/N with 0 <= K < N (0-based, e.g. 0/4), not {0:?}")]
pub struct ShardParseError(pub String);

impl FromStr for Shard {
    type Err = ShardParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || ShardParseError(s.to_string());
        let (k, n) = s.split_once('/').ok_or_else(bad)?;
        let index: u64 = k.trim().parse().map_err(|_| bad())?;
        let count: u64 = n.trim().parse().map_err(|_| bad())?;
        if count == 0 || index >= count {
            return Err(bad());
        }
        Ok(Self { index, count })
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a_known_values() {
        // Reference values of 64-bit FNV-1a.
        assert_eq!(stable_hash(""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(stable_hash("a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(stable_hash("foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn parses_and_refuses() {
        assert_eq!("2/5".parse::<Shard>(), Ok(Shard { index: 2, count: 5 }));
        for bad in ["5/5", "1/0", "x/2", "3", "-1/2", ""] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
    }

    #[test]
    fn every_path_is_in_exactly_one_share() {
        for n in 1..7u64 {
            for i in 0..500 {
                let p = format!("day{}/take_{i}.wav", i % 7);
                let hits = (0..n)
                    .filter(|&k| Shard { index: k, count: n }.contains(&p))
                    .count();
                assert_eq!(hits, 1, "{p} in {hits} of {n} shares");
            }
        }
    }
}
