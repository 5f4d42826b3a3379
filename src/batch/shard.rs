//! Which part of a job a process runs: shard `I` of `N`.
//!
//! A job of `P` points of `B` blocks each is `P * B` units, point-major;
//! shard `I` runs units `[I * P * B / N, (I + 1) * P * B / N)`. The split
//! depends only on `(P, B, N)`, so any process can tell which shard is
//! missing from the files alone, and at most two points per shard are
//! split across shards.

use std::ops::Range;

/// Shard `index` of `count` (0-based).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    /// 0-based index.
    pub index: u64,
    /// Number of shards.
    pub count: u64,
}

impl Shard {
    /// The whole job as one shard.
    pub const WHOLE: Shard = Shard { index: 0, count: 1 };

    /// This shard's units out of `total`.
    pub fn units(&self, total: u64) -> Range<u64> {
        let at = |i: u64| (total as u128 * i as u128 / self.count as u128) as u64;
        at(self.index)..at(self.index + 1)
    }

    /// The shard that runs unit `u` of `total`.
    pub fn of_unit(u: u64, total: u64, count: u64) -> u64 {
        // The largest i with i * total / count <= u.
        let mut i = (u as u128 * count as u128 / total.max(1) as u128) as u64;
        while i + 1 < count
            && (Shard {
                index: i + 1,
                count,
            })
            .units(total)
            .start
                <= u
        {
            i += 1;
        }
        while i > 0 && (Shard { index: i, count }).units(total).start > u {
            i -= 1;
        }
        i
    }

    /// The shard given by a Slurm array task, when this process is one:
    /// `SLURM_ARRAY_TASK_ID - SLURM_ARRAY_TASK_MIN` of
    /// `SLURM_ARRAY_TASK_COUNT`.
    pub fn from_slurm_env() -> Option<Result<Shard, String>> {
        let get = |k: &str| std::env::var(k).ok();
        let id = get("SLURM_ARRAY_TASK_ID")?;
        let parse = |k: &str, v: Option<String>| -> Result<u64, String> {
            let v = v.ok_or_else(|| format!("SLURM_ARRAY_TASK_ID is set but {k} is not"))?;
            v.trim()
                .parse()
                .map_err(|_| format!("{k}={v} is not a whole number"))
        };
        let result = (|| {
            let id = parse("SLURM_ARRAY_TASK_ID", Some(id))?;
            let count = parse("SLURM_ARRAY_TASK_COUNT", get("SLURM_ARRAY_TASK_COUNT"))?;
            let min = get("SLURM_ARRAY_TASK_MIN")
                .map_or(Ok(0), |v| parse("SLURM_ARRAY_TASK_MIN", Some(v)))?;
            let index = id.checked_sub(min).ok_or_else(|| {
                format!("SLURM_ARRAY_TASK_ID {id} is below SLURM_ARRAY_TASK_MIN {min}")
            })?;
            let s = Shard { index, count };
            s.check()?;
            Ok(s)
        })();
        Some(result)
    }

    fn check(&self) -> Result<(), String> {
        if self.count == 0 {
            return Err("the number of shards must be at least 1".into());
        }
        if self.index >= self.count {
            return Err(format!(
                "shard {} does not exist: shards of {} are numbered 0 to {}",
                self.index,
                self.count,
                self.count - 1
            ));
        }
        Ok(())
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl std::str::FromStr for Shard {
    type Err = String;
    fn from_str(s: &str) -> Result<Shard, String> {
        let (i, n) = s
            .split_once('/')
            .ok_or_else(|| format!("`{s}` is not I/N (e.g. 0/4: the first of four shards)"))?;
        let index = i
            .trim()
            .parse()
            .map_err(|_| format!("`{i}` is not a shard index (0, 1, ...)"))?;
        let count = n
            .trim()
            .parse()
            .map_err(|_| format!("`{n}` is not a number of shards"))?;
        let s = Shard { index, count };
        s.check()?;
        Ok(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_tile_the_units_and_find_their_owner() {
        for total in [0u64, 1, 7, 64, 1000] {
            for count in 1..12 {
                let mut at = 0;
                for index in 0..count {
                    let r = Shard { index, count }.units(total);
                    assert_eq!(r.start, at);
                    for u in r.clone() {
                        assert_eq!(Shard::of_unit(u, total, count), index);
                    }
                    at = r.end;
                }
                assert_eq!(at, total);
            }
        }
        assert!("3/3".parse::<Shard>().is_err());
        assert!("1/0".parse::<Shard>().is_err());
        assert_eq!("2/5".parse::<Shard>(), Ok(Shard { index: 2, count: 5 }));
    }
}
