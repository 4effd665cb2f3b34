//! A call's results as they arrive: packed integers while every result is one (a map of
//! `cube` over a million numbers is 16 MB, not a million boxed values), values otherwise.

use std::ops::Range;

use crate::engine::value::Value;

/// One result per item of a call, each filled once.
pub enum Slots {
    Ints {
        values: Vec<i128>,
        filled: Vec<bool>,
    },
    Values(Vec<Option<Result<Value, String>>>),
}

impl Slots {
    pub fn new(len: usize) -> Slots {
        Slots::Ints {
            values: vec![0; len],
            filled: vec![false; len],
        }
    }

    pub fn len(&self) -> usize {
        match self {
            Slots::Ints { values, .. } => values.len(),
            Slots::Values(v) => v.len(),
        }
    }

    pub fn filled(&self, i: usize) -> bool {
        match self {
            Slots::Ints { filled, .. } => filled.get(i).copied().unwrap_or(false),
            Slots::Values(v) => v.get(i).is_some_and(Option::is_some),
        }
    }

    /// Item `i`'s result, once it is in.
    pub fn get(&self, i: usize) -> Option<Result<Value, String>> {
        match self {
            Slots::Ints { values, filled } => filled
                .get(i)
                .copied()
                .unwrap_or(false)
                .then(|| Ok(Value::Int(values[i]))),
            Slots::Values(v) => v.get(i)?.clone(),
        }
    }

    /// Fills item `i` unless it is filled already (or out of range); whether it did.
    pub fn put(&mut self, i: usize, result: Result<Value, String>) -> bool {
        if i >= self.len() || self.filled(i) {
            return false;
        }
        if let (Slots::Ints { values, filled }, Ok(Value::Int(n))) = (&mut *self, &result) {
            values[i] = *n;
            filled[i] = true;
            return true;
        }
        let values = self.unpack();
        values[i] = Some(result);
        true
    }

    /// Fills items `first..` from packed integers, skipping any filled already; returns
    /// the indexes filled.
    #[cfg(test)]
    pub fn put_ints(&mut self, first: usize, ints: &[i128]) -> Vec<usize> {
        self.put_int_runs(first, ints)
            .into_iter()
            .flatten()
            .collect()
    }

    /// Fills items `first..` from packed integers, skipping any filled already; the indexes filled as runs: one run, copied in one go, when none of
    /// the items was filled before (nearly always).
    pub fn put_int_runs(&mut self, first: usize, ints: &[i128]) -> Vec<Range<usize>> {
        let end = (first + ints.len()).min(self.len());
        if first >= end {
            return Vec::new();
        }
        if let Slots::Ints { values, filled } = self
            && !filled[first..end].contains(&true)
        {
            values[first..end].copy_from_slice(&ints[..end - first]);
            filled[first..end].fill(true);
            return std::iter::once(first..end).collect();
        }
        let mut put: Vec<Range<usize>> = Vec::new();
        let mut add = |i: usize| match put.last_mut() {
            Some(run) if run.end == i => run.end += 1,
            _ => put.push(i..i + 1),
        };
        match self {
            Slots::Ints { values, filled } => {
                for (i, n) in (first..end).zip(ints) {
                    if !filled[i] {
                        values[i] = *n;
                        filled[i] = true;
                        add(i);
                    }
                }
            }
            Slots::Values(v) => {
                for (i, n) in (first..end).zip(ints) {
                    if v[i].is_none() {
                        v[i] = Some(Ok(Value::Int(*n)));
                        add(i);
                    }
                }
            }
        }
        put
    }

    /// Every value in item order, once all are in: a list, or the first missing one.
    pub fn list(&self) -> Result<Value, String> {
        match self {
            Slots::Ints { values, filled } => {
                if filled.iter().any(|f| !f) {
                    return Err("RuntimeError: result missing".into());
                }
                Ok(Value::Ints(std::sync::Arc::new(values.clone())))
            }
            Slots::Values(v) => v
                .iter()
                .map(|r| match r {
                    Some(Ok(v)) => Ok(v.clone()),
                    Some(Err(e)) => Err(e.clone()),
                    None => Err("RuntimeError: result missing".into()),
                })
                .collect::<Result<Vec<Value>, String>>()
                .map(Value::list),
        }
    }

    /// The list, moved out rather than copied (a large call's results are freed once
    /// they are taken).
    pub fn into_list(self) -> Result<Value, String> {
        match self {
            Slots::Ints { values, filled } => {
                if filled.iter().any(|f| !f) {
                    return Err("RuntimeError: result missing".into());
                }
                Ok(Value::Ints(std::sync::Arc::new(values)))
            }
            values @ Slots::Values(_) => values.list(),
        }
    }

    /// The values form, converting packed integers once a result is not one.
    fn unpack(&mut self) -> &mut Vec<Option<Result<Value, String>>> {
        if let Slots::Ints { values, filled } = self {
            let unpacked = values
                .iter()
                .zip(filled.iter())
                .map(|(n, f)| f.then(|| Ok(Value::Int(*n))))
                .collect();
            *self = Slots::Values(unpacked);
        }
        match self {
            Slots::Values(v) => v,
            Slots::Ints { .. } => unreachable!("unpacked just above"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_stay_packed_and_a_value_unpacks_them() {
        let mut s = Slots::new(4);
        assert_eq!(s.put_ints(1, &[8, 27]), vec![1, 2]);
        assert!(s.put(0, Ok(Value::Int(0))));
        assert!(!s.put(1, Ok(Value::Int(99))), "filled once");
        assert!(matches!(s, Slots::Ints { .. }));
        assert!(s.put(3, Err("ValueError: no".into())));
        assert!(matches!(s, Slots::Values(_)));
        assert_eq!(s.get(2), Some(Ok(Value::Int(27))));
        assert_eq!(s.list(), Err("ValueError: no".into()));
    }

    #[test]
    fn a_full_integer_list_comes_out_packed() {
        let mut s = Slots::new(3);
        s.put_ints(0, &[0, 1, 8]);
        let list = s.list().expect("full");
        assert!(matches!(list, Value::Ints(_)));
        assert_eq!(list.to_string(), "[0, 1, 8]");
    }
}
