//! The values that flow through a scenario (arguments, results, variables), printed the
//! way Python's `repr` prints them and written to JSON as plain JSON values.

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize, Serializer};

/// A Python-like value. Integers are 128-bit so the demos' powers stay exact.
#[derive(Clone, Debug, Eq, Deserialize)]
pub enum Value {
    None,
    Bool(bool),
    Int(i128),
    Str(String),
    List(Vec<Value>),
    Tuple(Vec<Value>),
    /// A value a real Python process reported, as its `repr` (watch mode).
    Repr(String),
    /// A list whose every item is an integer, packed and shared: a map's results are
    /// 16 bytes an item, and copying the list (into a variable, an event) copies nothing.
    /// It equals the `List` of the same integers and prints as one.
    Ints(#[serde(deserialize_with = "packed_arc")] Arc<Vec<i128>>),
}

fn packed_arc<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Arc<Vec<i128>>, D::Error> {
    crate::engine::chunk::packed::deserialize(d).map(Arc::new)
}

/// Tagged form for the binary wire, where the reader needs the variant.
#[derive(Serialize)]
enum Tagged<'a> {
    None,
    Bool(bool),
    Int(i128),
    Str(&'a str),
    List(&'a [Value]),
    Tuple(&'a [Value]),
    Repr(&'a str),
    Ints(#[serde(serialize_with = "crate::engine::chunk::packed::serialize")] &'a [i128]),
}

impl Serialize for Value {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            return match self {
                Value::None => s.serialize_none(),
                Value::Bool(b) => s.serialize_bool(*b),
                Value::Int(i) => match i64::try_from(*i) {
                    Ok(small) => s.serialize_i64(small),
                    Err(_) => s.serialize_i128(*i),
                },
                Value::Str(text) | Value::Repr(text) => s.serialize_str(text),
                Value::List(items) | Value::Tuple(items) => items.serialize(s),
                Value::Ints(items) => s.collect_seq(items.iter().map(|n| Value::Int(*n))),
            };
        }
        let tagged = match self {
            Value::None => Tagged::None,
            Value::Bool(b) => Tagged::Bool(*b),
            Value::Int(i) => Tagged::Int(*i),
            Value::Str(text) => Tagged::Str(text),
            Value::List(items) => Tagged::List(items),
            Value::Tuple(items) => Tagged::Tuple(items),
            Value::Repr(text) => Tagged::Repr(text),
            Value::Ints(items) => Tagged::Ints(items),
        };
        tagged.serialize(s)
    }
}

impl PartialEq for Value {
    fn eq(&self, other: &Value) -> bool {
        match (self, other) {
            (Value::None, Value::None) => true,
            (Value::Bool(a), Value::Bool(b)) => a == b,
            (Value::Int(a), Value::Int(b)) => a == b,
            (Value::Str(a), Value::Str(b)) | (Value::Repr(a), Value::Repr(b)) => a == b,
            (Value::List(a), Value::List(b)) | (Value::Tuple(a), Value::Tuple(b)) => a == b,
            (Value::Ints(a), Value::Ints(b)) => a == b,
            (Value::Ints(ints), Value::List(items)) | (Value::List(items), Value::Ints(ints)) => {
                ints.len() == items.len()
                    && ints.iter().zip(items).all(|(n, v)| v.as_int() == Some(*n))
            }
            _ => false,
        }
    }
}

/// A list built one value at a time, packed while every value is an integer.
#[derive(Debug)]
pub enum ListBuilder {
    Ints(Vec<i128>),
    Values(Vec<Value>),
}

impl Default for ListBuilder {
    fn default() -> ListBuilder {
        ListBuilder::Ints(Vec::new())
    }
}

impl ListBuilder {
    pub fn push(&mut self, value: Value) {
        match (self, value) {
            (ListBuilder::Ints(ints), Value::Int(n)) => ints.push(n),
            (ListBuilder::Values(values), v) => values.push(v),
            (this @ ListBuilder::Ints(_), v) => {
                let ListBuilder::Ints(ints) = std::mem::take(this) else {
                    return;
                };
                let mut values: Vec<Value> = ints.into_iter().map(Value::Int).collect();
                values.push(v);
                *this = ListBuilder::Values(values);
            }
        }
    }

    pub fn finish(self) -> Value {
        match self {
            ListBuilder::Ints(ints) if !ints.is_empty() => Value::Ints(Arc::new(ints)),
            ListBuilder::Ints(_) => Value::List(Vec::new()),
            ListBuilder::Values(values) => Value::List(values),
        }
    }
}

impl Value {
    /// A list of these values, packed when every one is an integer.
    pub fn list(values: Vec<Value>) -> Value {
        let ints: Option<Vec<i128>> = values.iter().map(Value::as_int).collect();
        match ints {
            Some(ints) if !values.is_empty() => Value::Ints(Arc::new(ints)),
            _ => Value::List(values),
        }
    }

    /// The items of a list, unpacked (a packed list's integers as values).
    pub fn list_items(&self) -> Option<Vec<Value>> {
        match self {
            Value::List(items) => Some(items.clone()),
            Value::Ints(ints) => Some(ints.iter().map(|n| Value::Int(*n)).collect()),
            _ => None,
        }
    }

    pub fn as_int(&self) -> Option<i128> {
        match self {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }

    /// A value from its Python `repr`: small numbers, booleans and None as themselves,
    /// anything else kept as written.
    pub fn from_repr(text: &str) -> Value {
        match text {
            "None" => Value::None,
            "True" => Value::Bool(true),
            "False" => Value::Bool(false),
            _ => text
                .parse::<i128>()
                .map_or_else(|_| Value::Repr(text.to_string()), Value::Int),
        }
    }

    /// Converts a TOML value from a scenario file; arrays become lists.
    pub fn from_toml(value: &toml::Value) -> Result<Value, String> {
        Ok(match value {
            toml::Value::Integer(i) => Value::Int(i128::from(*i)),
            toml::Value::Boolean(b) => Value::Bool(*b),
            toml::Value::String(s) => Value::Str(s.clone()),
            toml::Value::Array(items) => Value::List(
                items
                    .iter()
                    .map(Value::from_toml)
                    .collect::<Result<_, _>>()?,
            ),
            other => return Err(format!("unsupported value {other}")),
        })
    }
}

fn write_seq(f: &mut fmt::Formatter<'_>, items: &[Value], open: &str, close: &str) -> fmt::Result {
    f.write_str(open)?;
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        write!(f, "{item}")?;
    }
    if close == ")" && items.len() == 1 {
        f.write_str(",")?;
    }
    f.write_str(close)
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::None => f.write_str("None"),
            Value::Bool(true) => f.write_str("True"),
            Value::Bool(false) => f.write_str("False"),
            Value::Int(i) => write!(f, "{i}"),
            Value::Str(s) => write!(f, "'{s}'"),
            Value::List(items) => write_seq(f, items, "[", "]"),
            Value::Tuple(items) => write_seq(f, items, "(", ")"),
            Value::Repr(text) => f.write_str(text),
            Value::Ints(ints) => {
                f.write_str("[")?;
                for (i, n) in ints.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{n}")?;
                }
                f.write_str("]")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prints_like_python_repr() {
        let v = Value::List(vec![Value::Int(1000), Value::Int(1331)]);
        assert_eq!(v.to_string(), "[1000, 1331]");
        assert_eq!(Value::Tuple(vec![Value::Int(2)]).to_string(), "(2,)");
        assert_eq!(Value::Str("a".into()).to_string(), "'a'");
        assert_eq!(Value::None.to_string(), "None");
    }

    #[test]
    fn a_built_list_stays_packed_until_a_value_is_not_an_integer() {
        let mut b = ListBuilder::default();
        b.push(Value::Int(1));
        b.push(Value::Int(8));
        assert!(matches!(b, ListBuilder::Ints(_)));
        b.push(Value::None);
        assert_eq!(b.finish().to_string(), "[1, 8, None]");
        assert_eq!(ListBuilder::default().finish().to_string(), "[]");
    }

    #[test]
    fn a_packed_list_is_the_list_of_its_integers() {
        let packed = Value::list(vec![Value::Int(1000), Value::Int(1331)]);
        assert!(matches!(packed, Value::Ints(_)));
        assert_eq!(
            packed,
            Value::List(vec![Value::Int(1000), Value::Int(1331)])
        );
        assert_eq!(packed.to_string(), "[1000, 1331]");
        assert_eq!(serde_json::to_string(&packed).expect("json"), "[1000,1331]");
        let bytes = postcard::to_stdvec(&packed).expect("encode");
        let back: Value = postcard::from_bytes(&bytes).expect("decode");
        assert_eq!(back, packed);
        assert!(matches!(Value::list(vec![Value::None]), Value::List(_)));
        assert_eq!(Value::list(Vec::new()).to_string(), "[]");
    }

    #[test]
    fn json_is_plain_and_wire_round_trips() {
        let v = Value::List(vec![Value::Int(27), Value::Int(i128::from(u64::MAX) * 4)]);
        let json = serde_json::to_string(&v).expect("json");
        assert_eq!(json, "[27,73786976294838206460]");
        let bytes = postcard::to_stdvec(&v).expect("encode");
        let back: Value = postcard::from_bytes(&bytes).expect("decode");
        assert_eq!(back, v);
    }
}
