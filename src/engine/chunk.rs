//! A chunk of a pool's call as it travels: its items' arguments and its results, packed
//! when they are plain integers (a chunk of `range(...)` is two numbers, not a list).

use serde::{Deserialize, Serialize};

use crate::engine::value::Value;
use crate::workload::Raised;

/// The argument lists of a chunk's items.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ChunkArgs {
    /// Item `k`'s one argument is `start + k` (a chunk of `range(...)`).
    Range { start: i128, len: u32 },
    /// Each item's one argument, an integer.
    Ints(#[serde(with = "packed")] Vec<i128>),
    /// Each item's argument list.
    Lists(Vec<Vec<Value>>),
}

impl ChunkArgs {
    /// Packs the argument lists of items `first..first + len`, from `arg(i)`.
    pub fn pack(len: usize, args: impl Fn(usize) -> Vec<Value>) -> ChunkArgs {
        let lists: Vec<Vec<Value>> = (0..len).map(args).collect();
        let ints: Option<Vec<i128>> = lists
            .iter()
            .map(|a| match a.as_slice() {
                [Value::Int(n)] => Some(*n),
                _ => None,
            })
            .collect();
        match ints {
            Some(ints) => ChunkArgs::Ints(ints),
            None => ChunkArgs::Lists(lists),
        }
    }

    pub fn len(&self) -> usize {
        match self {
            ChunkArgs::Range { len, .. } => *len as usize,
            ChunkArgs::Ints(v) => v.len(),
            ChunkArgs::Lists(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Item `k`'s one integer argument, when the chunk is of integers.
    pub fn int(&self, k: usize) -> Option<i128> {
        match self {
            ChunkArgs::Range { start, len } => {
                (k < *len as usize).then(|| start.saturating_add(k as i128))
            }
            ChunkArgs::Ints(v) => v.get(k).copied(),
            ChunkArgs::Lists(_) => None,
        }
    }

    /// Item `k`'s argument list.
    pub fn args(&self, k: usize) -> Vec<Value> {
        match self {
            ChunkArgs::Lists(v) => v.get(k).cloned().unwrap_or_default(),
            _ => self.int(k).map(|n| vec![Value::Int(n)]).unwrap_or_default(),
        }
    }
}

/// A chunk's results, in item order; a chunk that raised ends with its exception (the
/// items after it never ran, as in Python's `list(map(f, chunk))`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ChunkResults {
    /// Every item returned an integer.
    Ints(#[serde(with = "packed")] Vec<i128>),
    Values(Vec<Result<Value, Raised>>),
}

impl Default for ChunkResults {
    fn default() -> ChunkResults {
        ChunkResults::Ints(Vec::new())
    }
}

impl ChunkResults {
    pub fn with_capacity(n: usize) -> ChunkResults {
        ChunkResults::Ints(Vec::with_capacity(n))
    }

    /// Appends `n ** exp` for each integer argument of items `items`, stopping before
    /// the first that overflows or is not an integer; returns how many were added (none
    /// once the results are no longer packed integers).
    pub fn extend_powers(
        &mut self,
        args: &ChunkArgs,
        items: std::ops::Range<usize>,
        exp: u32,
    ) -> usize {
        let ChunkResults::Ints(out) = self else {
            return 0;
        };
        match args {
            ChunkArgs::Range { start, len } => {
                let end = items.end.min(*len as usize);
                let ints = (items.start..end).map(|k| start.saturating_add(k as i128));
                push_powers(out, ints, exp)
            }
            ChunkArgs::Ints(v) => {
                push_powers(out, v.get(items).unwrap_or(&[]).iter().copied(), exp)
            }
            ChunkArgs::Lists(_) => 0,
        }
    }

    /// Adds the next item's result, unpacking once one is not an integer.
    pub fn push(&mut self, result: Result<Value, Raised>) {
        match (self, result) {
            (ChunkResults::Ints(v), Ok(Value::Int(n))) => v.push(n),
            (this @ ChunkResults::Ints(_), other) => {
                let ChunkResults::Ints(ints) = std::mem::take(this) else {
                    return;
                };
                let mut values: Vec<Result<Value, Raised>> =
                    ints.into_iter().map(|n| Ok(Value::Int(n))).collect();
                values.push(other);
                *this = ChunkResults::Values(values);
            }
            (ChunkResults::Values(v), other) => v.push(other),
        }
    }

    pub fn len(&self) -> usize {
        match self {
            ChunkResults::Ints(v) => v.len(),
            ChunkResults::Values(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The exception that ended the chunk, if one did.
    pub fn raised(&self) -> Option<&Raised> {
        match self {
            ChunkResults::Ints(_) => None,
            ChunkResults::Values(v) => v.iter().find_map(|r| r.as_ref().err()),
        }
    }

    /// Item `k`'s result.
    pub fn get(&self, k: usize) -> Option<Result<Value, Raised>> {
        match self {
            ChunkResults::Ints(v) => v.get(k).map(|n| Ok(Value::Int(*n))),
            ChunkResults::Values(v) => v.get(k).cloned(),
        }
    }
}

/// Pushes `n ** exp` for each `n` until one overflows; returns how many were pushed.
fn push_powers(out: &mut Vec<i128>, ints: impl Iterator<Item = i128>, exp: u32) -> usize {
    // Below this a power fits in 64 bits, where multiplying is cheap.
    let small: u128 = match exp {
        0 | 1 => i64::MAX as u128,
        2 => 3_037_000_499,
        3 => 2_097_151,
        _ => 0,
    };
    let before = out.len();
    for n in ints {
        let power = if n.unsigned_abs() <= small {
            Some(i128::from((n as i64).pow(exp)))
        } else {
            n.checked_pow(exp)
        };
        match power {
            Some(v) => out.push(v),
            None => break,
        }
    }
    out.len() - before
}

/// Integers travel as one byte string of little-endian words, 8 bytes each when every
/// one fits in 64 bits (nearly always) else 16: one copy each way, not a varint an item.
pub mod packed {
    use std::fmt;

    use serde::Serializer;
    use serde::de::{self, Deserializer, Visitor};

    pub fn serialize<S: Serializer>(ints: &[i128], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(&encode(ints))
    }

    pub fn encode(ints: &[i128]) -> Vec<u8> {
        let narrow = ints.iter().all(|n| i64::try_from(*n).is_ok());
        let width = if narrow { 8 } else { 16 };
        let mut bytes = Vec::with_capacity(1 + ints.len() * width);
        bytes.push(width as u8);
        for &n in ints {
            if narrow {
                bytes.extend_from_slice(&(n as i64).to_le_bytes());
            } else {
                bytes.extend_from_slice(&n.to_le_bytes());
            }
        }
        bytes
    }

    pub fn decode(bytes: &[u8]) -> Option<Vec<i128>> {
        let (&width, words) = bytes.split_first()?;
        match width {
            8 if words.len() % 8 == 0 => Some(
                words
                    .chunks_exact(8)
                    .map(|w| i128::from(i64::from_le_bytes(w.try_into().unwrap_or_default())))
                    .collect(),
            ),
            16 if words.len() % 16 == 0 => Some(
                words
                    .chunks_exact(16)
                    .map(|w| i128::from_le_bytes(w.try_into().unwrap_or_default()))
                    .collect(),
            ),
            _ => None,
        }
    }

    struct Packed;

    impl Visitor<'_> for Packed {
        type Value = Vec<i128>;

        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("packed integers")
        }

        fn visit_bytes<E: de::Error>(self, bytes: &[u8]) -> Result<Vec<i128>, E> {
            decode(bytes).ok_or_else(|| E::custom("packed integers of a bad length"))
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<i128>, D::Error> {
        d.deserialize_bytes(Packed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_stay_packed_until_one_is_not() {
        let mut r = ChunkResults::with_capacity(3);
        r.push(Ok(Value::Int(1)));
        r.push(Ok(Value::Int(8)));
        assert_eq!(r, ChunkResults::Ints(vec![1, 8]));
        r.push(Err(Raised("ValueError: no".into())));
        assert_eq!(r.len(), 3);
        assert_eq!(r.get(1), Some(Ok(Value::Int(8))));
        assert_eq!(r.raised(), Some(&Raised("ValueError: no".into())));
    }

    /// The quick path gives `n ** exp` exactly, at and past the 64-bit edges, and stops
    /// before the first that overflows 128 bits.
    #[test]
    fn powers_in_blocks_are_exact_and_stop_at_overflow() {
        for (n, exp) in [
            (2_097_151i128, 3u32),
            (2_097_152, 3),
            (-2_097_152, 3),
            (3_037_000_499, 2),
            (3_037_000_500, 2),
            (i128::from(i64::MIN), 2),
        ] {
            let mut r = ChunkResults::with_capacity(1);
            let args = ChunkArgs::Ints(vec![n]);
            assert_eq!(r.extend_powers(&args, 0..1, exp), 1);
            assert_eq!(r, ChunkResults::Ints(vec![n.pow(exp)]), "{n} ** {exp}");
        }
        let mut r = ChunkResults::with_capacity(3);
        let args = ChunkArgs::Ints(vec![2, i128::MAX / 2, 3]);
        assert_eq!(
            r.extend_powers(&args, 0..3, 2),
            1,
            "stops before the overflow"
        );
        let range = ChunkArgs::Range { start: 10, len: 3 };
        let mut r = ChunkResults::with_capacity(3);
        assert_eq!(r.extend_powers(&range, 1..9, 3), 2, "within the chunk only");
        assert_eq!(r, ChunkResults::Ints(vec![1331, 1728]));
    }

    #[test]
    fn packed_integers_round_trip_narrow_and_wide() {
        for ints in [
            vec![0, -1, 8, i128::from(i64::MAX)],
            vec![1, i128::MAX, i128::MIN],
        ] {
            let r = ChunkResults::Ints(ints.clone());
            let bytes = postcard::to_stdvec(&r).expect("encode");
            let back: ChunkResults = postcard::from_bytes(&bytes).expect("decode");
            assert_eq!(back, r);
        }
        let narrow = packed::encode(&[1, 2]);
        assert_eq!(narrow.len(), 1 + 2 * 8);
        assert_eq!(packed::decode(&narrow[..5]), None, "a cut word");
        assert_eq!(packed::decode(&[]), None);
    }

    #[test]
    fn arguments_pack_as_integers_or_lists() {
        let ints = ChunkArgs::pack(3, |i| vec![Value::Int(i as i128 * 2)]);
        assert_eq!(ints, ChunkArgs::Ints(vec![0, 2, 4]));
        let pairs = ChunkArgs::pack(2, |i| vec![Value::Int(i as i128), Value::Int(2)]);
        assert!(matches!(pairs, ChunkArgs::Lists(_)));
        assert_eq!(pairs.args(1), vec![Value::Int(1), Value::Int(2)]);
        let range = ChunkArgs::Range { start: 10, len: 3 };
        assert_eq!(range.int(2), Some(12));
        assert_eq!(range.int(3), None);
        assert_eq!(range.args(0), vec![Value::Int(10)]);
    }
}
