//! `AuthResponseOptions` read from the JS object a caller passes: own properties only (nothing a
//! prototype adds, such as a polluted `Object.prototype.validate`), every key known, each option
//! checked here so a wrong key, type or range is an `ERR_OIDC_INVALID_ARGUMENT` that names it.
#![forbid(unsafe_code)]

use napi::bindgen_prelude::{
  FromNapiValue, JsObjectValue, JsValue, KeyCollectionMode, KeyConversion, KeyFilter, Object,
  Unknown,
};
use napi::ValueType;

use crate::errors::{napi_failure, JsResult, OidcError};
use crate::exports::describe_type;
use crate::token::TokenRules;
use crate::wire::{DEFAULT_CAPABILITY, MAX_TOKEN_BYTES_IN_PACKET};

/// The options, the one list of their names: the error message, the plugin's own list (through
/// `AuthResponder.optionNames()`) and a test of the TypeScript declarations all come from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OptionName {
  Capability,
  MaxTokenBytes,
  Validate,
  ClockSkewSeconds,
}

impl OptionName {
  pub const ALL: [OptionName; 4] = [
    OptionName::Capability,
    OptionName::MaxTokenBytes,
    OptionName::Validate,
    OptionName::ClockSkewSeconds,
  ];

  pub const fn name(self) -> &'static str {
    match self {
      OptionName::Capability => "capability",
      OptionName::MaxTokenBytes => "maxTokenBytes",
      OptionName::Validate => "validate",
      OptionName::ClockSkewSeconds => "clockSkewSeconds",
    }
  }

  fn named(name: &str) -> Option<OptionName> {
    OptionName::ALL
      .into_iter()
      .find(|option| option.name() == name)
  }
}

/// "a, b, c and d", for the unknown-option message.
fn known_names() -> String {
  let names: Vec<&str> = OptionName::ALL.iter().map(|option| option.name()).collect();
  match names.split_last() {
    Some((last, [])) => (*last).to_owned(),
    Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
    None => String::new(),
  }
}

/// The capability byte and token rules that `options` asks for (defaults where it says nothing).
pub fn read_auth_response_options(options: Option<Unknown>) -> JsResult<(u8, TokenRules)> {
  let mut capability = DEFAULT_CAPABILITY;
  let mut rules = TokenRules::default();
  let Some(options) = options else {
    return Ok((capability, rules));
  };
  match options.get_type().map_err(napi_failure("options"))? {
    ValueType::Undefined | ValueType::Null => return Ok((capability, rules)),
    ValueType::Object if !options.is_array().unwrap_or(false) => {}
    ValueType::Object => {
      return Err(OidcError::invalid_argument("options must be an object, got an array").into())
    }
    _ => {
      return Err(
        OidcError::invalid_argument(format!(
          "options must be an object, got {}",
          describe_type(&options)
        ))
        .into(),
      )
    }
  }
  let options = Object::from_unknown(options).map_err(napi_failure("options"))?;
  let keys = options
    .get_all_property_names(
      KeyCollectionMode::OwnOnly,
      KeyFilter::SkipSymbols,
      KeyConversion::NumbersToStrings,
    )
    .map_err(napi_failure("options"))?;
  for index in 0..keys.get_array_length().map_err(napi_failure("options"))? {
    let key: Unknown = keys.get_element(index).map_err(napi_failure("options"))?;
    let name = String::from_unknown(key).map_err(napi_failure("options"))?;
    // an own key: [[Get]] finds it on the object itself, never on a prototype
    let value: Unknown = options
      .get_property_unchecked(key)
      .map_err(|_| OidcError::invalid_argument(format!("options.{name} could not be read")))?;
    let Some(option) = OptionName::named(&name) else {
      return Err(
        OidcError::invalid_argument(format!(
          "unknown option {}: the options are {}",
          quoted(&name),
          known_names()
        ))
        .into(),
      );
    };
    // a known option given as undefined takes its default
    if value.get_type().ok() == Some(ValueType::Undefined) {
      continue;
    }
    match option {
      OptionName::Capability => {
        capability = integer_in(number(&value, &name)?, 0, 255).ok_or_else(|| {
          OidcError::invalid_argument("options.capability must be an integer from 0 to 255")
        })? as u8;
      }
      OptionName::MaxTokenBytes => {
        let max = MAX_TOKEN_BYTES_IN_PACKET as u64;
        rules.max_token_bytes = integer_in(number(&value, &name)?, 1, max).ok_or_else(|| {
          OidcError::invalid_argument(format!(
            "options.maxTokenBytes must be an integer from 1 to {MAX_TOKEN_BYTES_IN_PACKET}: the response must \
             fit one MySQL packet (16 777 215 bytes)"
          ))
        })? as usize;
      }
      OptionName::ClockSkewSeconds => {
        let skew = number(&value, &name)?;
        if !(skew.is_finite() && skew >= 0.0) {
          return Err(
            OidcError::invalid_argument(
              "options.clockSkewSeconds must be a finite number, 0 or more",
            )
            .into(),
          );
        }
        rules.clock_skew_seconds = skew;
      }
      OptionName::Validate => {
        if value.get_type().ok() != Some(ValueType::Boolean) {
          return Err(OidcError::invalid_argument("options.validate must be true or false").into());
        }
        rules.validate = bool::from_unknown(value).map_err(napi_failure("options.validate"))?;
      }
    }
  }
  Ok((capability, rules))
}

/// A key as a JSON string, so an odd one (quotes, newlines) reads unambiguously.
fn quoted(name: &str) -> String {
  serde_json::to_string(name).unwrap_or_else(|_| "(a key)".to_owned())
}

fn number(value: &Unknown, name: &str) -> JsResult<f64> {
  if value.get_type().ok() != Some(ValueType::Number) {
    return Err(
      OidcError::invalid_argument(format!(
        "options.{name} must be a number, got {}",
        describe_type(value)
      ))
      .into(),
    );
  }
  f64::from_unknown(*value).map_err(napi_failure("options"))
}

fn integer_in(n: f64, min: u64, max: u64) -> Option<u64> {
  (n.fract() == 0.0 && n >= min as f64 && n <= max as f64).then_some(n as u64)
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn every_option_is_found_by_its_name_and_listed_in_the_message() {
    for option in OptionName::ALL {
      assert_eq!(OptionName::named(option.name()), Some(option));
    }
    assert_eq!(OptionName::named("__proto__"), None);
    assert_eq!(
      known_names(),
      "capability, maxTokenBytes, validate and clockSkewSeconds"
    );
  }
}
