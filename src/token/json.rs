//! The one JSON reading of a token's header and payload, shared by validation and inspection so
//! they accept the same parts: UTF-8 text, one JSON object, nesting at most `MAX_NESTING` deep,
//! and no key twice in any object (readers disagree on which of two `exp` counts).

use std::cell::Cell;
use std::fmt;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

use crate::errors::OidcError;

/// Objects and arrays nested deeper than this are refused; real ID tokens nest a few levels.
pub const MAX_NESTING: usize = 32;

/// Keys whose name a message may show: registered JOSE and JWT names, never a token's own text.
const REGISTERED_KEYS: [&str; 20] = [
  "alg",
  "typ",
  "cty",
  "kid",
  "jku",
  "jwk",
  "x5u",
  "x5c",
  "x5t",
  "crit",
  "iss",
  "sub",
  "aud",
  "exp",
  "nbf",
  "iat",
  "jti",
  "nonce",
  "azp",
  "auth_time",
];

/// Why the parser stopped, when it was our rule and not JSON syntax.
#[derive(Clone, Copy)]
enum Refusal {
  TooDeep,
  DuplicateKey(Option<&'static str>),
}

/// Parses a decoded header or payload (`part` names it in messages) into its JSON object.
pub fn parse_object(json: &[u8], part: &str) -> Result<Map<String, Value>, OidcError> {
  if std::str::from_utf8(json).is_err() {
    return Err(OidcError::malformed(format!(
      "the ID token's {part} is not UTF-8 text, as JSON must be"
    )));
  }
  // serde would also read a JSON array into a struct; a JWT part must be an object
  if json.trim_ascii_start().first() != Some(&b'{') {
    return Err(OidcError::malformed(format!(
      "the ID token's {part} is not a JSON object"
    )));
  }
  let refusal = Cell::new(None);
  let mut reader = serde_json::Deserializer::from_slice(json);
  let parsed = Strict {
    depth: 0,
    refusal: &refusal,
  }
  .deserialize(&mut reader)
  .and_then(|value| reader.end().map(|()| value));
  // serde's own message may quote the input, so it is never passed on
  match (parsed, refusal.get()) {
    (Ok(Value::Object(map)), _) => Ok(map),
    (_, Some(Refusal::TooDeep)) => Err(OidcError::malformed(format!(
      "the ID token's {part} nests objects and arrays more than {MAX_NESTING} deep"
    ))),
    (_, Some(Refusal::DuplicateKey(name))) => {
      let key = name.map_or_else(|| "a key".to_owned(), |name| format!("\"{name}\""));
      Err(OidcError::malformed(format!(
        "the ID token's {part} has {key} twice in one object: a token with a duplicate key is ambiguous"
      )))
    }
    _ => Err(OidcError::malformed(format!(
      "the ID token's {part} is not a valid JSON object"
    ))),
  }
}

/// A JSON value reader that counts its depth and refuses duplicate keys.
#[derive(Clone, Copy)]
struct Strict<'r> {
  depth: usize,
  refusal: &'r Cell<Option<Refusal>>,
}

impl Strict<'_> {
  fn refuse<E: de::Error>(self, refusal: Refusal) -> E {
    self.refusal.set(Some(refusal));
    E::custom("refused")
  }

  fn nested<E: de::Error>(self) -> Result<Self, E> {
    if self.depth >= MAX_NESTING {
      return Err(self.refuse(Refusal::TooDeep));
    }
    Ok(Strict {
      depth: self.depth + 1,
      ..self
    })
  }
}

impl<'de> DeserializeSeed<'de> for Strict<'_> {
  type Value = Value;

  fn deserialize<D: de::Deserializer<'de>>(self, reader: D) -> Result<Value, D::Error> {
    reader.deserialize_any(self)
  }
}

impl<'de> Visitor<'de> for Strict<'_> {
  type Value = Value;

  fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
    f.write_str("a JSON value")
  }

  fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
    Ok(Value::Null)
  }

  fn visit_bool<E: de::Error>(self, value: bool) -> Result<Value, E> {
    Ok(Value::Bool(value))
  }

  fn visit_i64<E: de::Error>(self, value: i64) -> Result<Value, E> {
    Ok(Value::Number(value.into()))
  }

  fn visit_u64<E: de::Error>(self, value: u64) -> Result<Value, E> {
    Ok(Value::Number(value.into()))
  }

  fn visit_f64<E: de::Error>(self, value: f64) -> Result<Value, E> {
    // JSON text has no NaN or infinity, so this refuses nothing serde_json produces
    Number::from_f64(value)
      .map(Value::Number)
      .ok_or_else(|| E::custom("not a finite number"))
  }

  fn visit_str<E: de::Error>(self, value: &str) -> Result<Value, E> {
    Ok(Value::String(value.to_owned()))
  }

  fn visit_string<E: de::Error>(self, value: String) -> Result<Value, E> {
    Ok(Value::String(value))
  }

  fn visit_seq<A: SeqAccess<'de>>(self, mut items: A) -> Result<Value, A::Error> {
    let inner = self.nested()?;
    let mut values = Vec::new();
    while let Some(value) = items.next_element_seed(inner)? {
      values.push(value);
    }
    Ok(Value::Array(values))
  }

  fn visit_map<A: MapAccess<'de>>(self, mut entries: A) -> Result<Value, A::Error> {
    let inner = self.nested()?;
    let mut map = Map::new();
    while let Some(key) = entries.next_key::<String>()? {
      if map.contains_key(&key) {
        let name = REGISTERED_KEYS.iter().copied().find(|&name| name == key);
        return Err(self.refuse(Refusal::DuplicateKey(name)));
      }
      let value = entries.next_value_seed(inner)?;
      map.insert(key, value);
    }
    Ok(Value::Object(map))
  }
}
