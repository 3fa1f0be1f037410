//! `AuthResponseOptions` read from the JS object a caller passes, each option checked here so a
//! wrong type or range is an `ERR_OIDC_INVALID_ARGUMENT` that names it.

use std::ffi::CStr;
use std::ptr;

use napi::bindgen_prelude::{JsValue, Object, Unknown};
use napi::{sys, ValueType};

use crate::errors::{napi_failure, JsResult, OidcError};
use crate::exports::describe_type;
use crate::token::TokenRules;
use crate::wire::{DEFAULT_CAPABILITY, MAX_TOKEN_BYTES_IN_PACKET};

/// The capability byte and token rules that `options` asks for (defaults where it says nothing).
pub fn read_auth_response_options(options: Option<Unknown>) -> JsResult<(u8, TokenRules)> {
  let mut capability = DEFAULT_CAPABILITY;
  let mut rules = TokenRules::default();
  let Some(options) = options else {
    return Ok((capability, rules));
  };
  match options.get_type().map_err(napi_failure("options"))? {
    ValueType::Undefined | ValueType::Null => return Ok((capability, rules)),
    ValueType::Object => {}
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
  // SAFETY: the value was just checked to be an object
  let options: Object = unsafe { options.cast() }.map_err(napi_failure("options"))?;
  if let Some(n) = read_number(&options, c"capability")? {
    capability = integer_in(n, 0, 255).ok_or_else(|| {
      OidcError::invalid_argument("options.capability must be an integer from 0 to 255")
    })? as u8;
  }
  if let Some(n) = read_number(&options, c"maxTokenBytes")? {
    rules.max_token_bytes = integer_in(n, 1, MAX_TOKEN_BYTES_IN_PACKET as u64).ok_or_else(|| {
      OidcError::invalid_argument(format!(
        "options.maxTokenBytes must be an integer from 1 to {MAX_TOKEN_BYTES_IN_PACKET}: the response must fit one \
         MySQL packet (16 777 215 bytes)"
      ))
    })? as usize;
  }
  if let Some(n) = read_number(&options, c"clockSkewSeconds")? {
    if !(n.is_finite() && n >= 0.0) {
      return Err(
        OidcError::invalid_argument("options.clockSkewSeconds must be a finite number, 0 or more")
          .into(),
      );
    }
    rules.clock_skew_seconds = n;
  }
  if let Some(value) = read_option(&options, c"validate")? {
    if value.get_type().ok() != Some(ValueType::Boolean) {
      return Err(OidcError::invalid_argument("options.validate must be true or false").into());
    }
    // SAFETY: the value was just checked to be a boolean
    rules.validate = unsafe { value.cast::<bool>() }.map_err(napi_failure("options.validate"))?;
  }
  Ok((capability, rules))
}

/// `options[name]`, None when undefined; a named lookup skips building and interning a key string.
fn read_option<'env>(options: &Object<'env>, name: &CStr) -> JsResult<Option<Unknown<'env>>> {
  let env = options.value().env;
  let mut value = ptr::null_mut();
  // SAFETY: `options` is a live object of this call and `name` a NUL-terminated property name
  let status =
    unsafe { sys::napi_get_named_property(env, options.raw(), name.as_ptr(), &mut value) };
  if status != sys::Status::napi_ok {
    let name = name.to_string_lossy();
    return Err(OidcError::invalid_argument(format!("options.{name} could not be read")).into());
  }
  // SAFETY: Node-API just returned this value in the current scope
  let value = unsafe { Unknown::from_raw_unchecked(env, value) };
  Ok((value.get_type().ok() != Some(ValueType::Undefined)).then_some(value))
}

fn read_number(options: &Object, name: &CStr) -> JsResult<Option<f64>> {
  let Some(value) = read_option(options, name)? else {
    return Ok(None);
  };
  if value.get_type().ok() != Some(ValueType::Number) {
    return Err(
      OidcError::invalid_argument(format!(
        "options.{} must be a number, got {}",
        name.to_string_lossy(),
        describe_type(&value)
      ))
      .into(),
    );
  }
  // SAFETY: the value was just checked to be a number
  unsafe { value.cast::<f64>() }
    .map(Some)
    .map_err(napi_failure("options"))
}

fn integer_in(n: f64, min: u64, max: u64) -> Option<u64> {
  (n.fract() == 0.0 && n >= min as f64 && n <= max as f64).then_some(n as u64)
}
