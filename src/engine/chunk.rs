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
    Ints(Vec<i128>),
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
    Ints(Vec<i128>),
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
