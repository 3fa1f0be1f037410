//! JSON values as JavaScript values whose every key is an own data property. Objects are built
//! with `napi_define_properties` (define, not [[Set]]), so a `__proto__` claim is a plain property
//! instead of the object's prototype, and no setter on `Object.prototype` or `Array.prototype` runs.
#![forbid(unsafe_code)]

use napi::bindgen_prelude::{Array, Env, JsObjectValue, JsValue, Null, Object};
use napi::Property;
use serde_json::{Map, Value};

/// Properties defined per `napi_define_properties` call, so a huge array never needs a huge Vec.
const PROPERTIES_PER_CALL: usize = 1024;

/// A new plain object (prototype `Object.prototype`) with `entries` as own data properties.
pub fn object_from_map<'env>(
  env: &'env Env,
  map: &Map<String, Value>,
) -> napi::Result<Object<'env>> {
  let mut object = Object::new(env)?;
  define_all(env, &mut object, map.iter())?;
  Ok(object)
}

fn array_from_values<'env>(env: &'env Env, values: &[Value]) -> napi::Result<Array<'env>> {
  let length = u32::try_from(values.len())
    .map_err(|_| napi::Error::from_reason("the array is too long for JavaScript"))?;
  let mut array = env.create_array(length)?;
  let indexed = values
    .iter()
    .enumerate()
    .map(|(index, value)| (index.to_string(), value));
  define_all(env, &mut array, indexed)?;
  Ok(array)
}

/// Defines each `(key, value)` on `target` as a writable, enumerable, configurable data property.
fn define_all<'env, 'a>(
  env: &'env Env,
  target: &mut impl JsObjectValue<'env>,
  entries: impl Iterator<Item = (impl AsRef<str>, &'a Value)>,
) -> napi::Result<()> {
  let mut batch = Vec::new();
  for (key, value) in entries {
    batch.push(data_property(env, key.as_ref(), value)?);
    if batch.len() == PROPERTIES_PER_CALL {
      target.define_properties(&batch)?;
      batch.clear();
    }
  }
  if !batch.is_empty() {
    target.define_properties(&batch)?;
  }
  Ok(())
}

/// A data property named by a JS string (so a key may hold any character, NUL included).
pub fn data_property(env: &Env, key: &str, value: &Value) -> napi::Result<Property> {
  let property = Property::new().with_name(env, key)?;
  match value {
    Value::Null => property.with_napi_value(env, Null),
    Value::Bool(flag) => property.with_napi_value(env, *flag),
    // without serde_json's arbitrary_precision every number has an f64 value, as JSON.parse reads it
    Value::Number(number) => property.with_napi_value(env, number.as_f64().unwrap_or(f64::NAN)),
    Value::String(text) => property.with_napi_value(env, text.as_str()),
    Value::Array(values) => Ok(property.with_value(&array_from_values(env, values)?)),
    Value::Object(map) => Ok(property.with_value(&object_from_map(env, map)?)),
  }
}

/// A data property holding an already built JS value.
pub fn value_property<'env>(
  env: &Env,
  key: &str,
  value: &impl JsValue<'env>,
) -> napi::Result<Property> {
  Ok(Property::new().with_name(env, key)?.with_value(value))
}
