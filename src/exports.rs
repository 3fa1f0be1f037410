//! The functions and types exported to JavaScript. Arguments arrive as `unknown` and are checked
//! here, so a wrong type is an `ERR_OIDC_INVALID_ARGUMENT`, never napi's own error.

use std::time::{SystemTime, UNIX_EPOCH};

use napi::bindgen_prelude::{Buffer, BufferSlice, Env, JsObjectValue, Object, Unknown};
use napi::ValueType;
use napi_derive::napi;
use zeroize::Zeroizing;

use crate::errors::{napi_failure, ErrorCode, JsResult, OidcError};
use crate::js_bytes::{buffer_copy, copy_input, Input, OwnedBytes};
use crate::js_json::{data_property, object_from_map, value_property};
use crate::options::read_auth_response_options;
use crate::tls_session::certificate_of_session;
use crate::token::{check_token, decode_id_token};
use crate::wire::{decode_auth_response, encode_auth_response, MAX_TOKEN_BYTES_IN_PACKET};

/// Options of `openidConnectAuthResponse`.
#[napi(object)]
pub struct AuthResponseOptions {
  /// The capability byte, an integer from 0 to 255. Default 1, as MySQL's own clients send
  /// (StarRocks reads and ignores it).
  pub capability: Option<u32>,
  /// The largest token accepted, in bytes after surrounding whitespace is removed. Default 10 000,
  /// MySQL's client limit. At most 16 777 210, so that the response fits one MySQL packet.
  pub max_token_bytes: Option<u32>,
  /// Check that the token is a well-formed JWT (three base64url parts; a header and a payload that
  /// are UTF-8 JSON objects, nested at most 32 deep, with no key twice; a signing `alg` other than
  /// `none`), that it has not expired (`exp`), is already valid (`nbf`) and was not issued in the
  /// future (`iat`). `exp`, `nbf` and `iat` must be numbers when present. An `iat` ahead of this
  /// machine's clock by more than `clockSkewSeconds` throws `ERR_OIDC_TOKEN_NOT_YET_VALID`: this
  /// clock is behind the identity provider's, and Percona Server refuses any `iat` in the future
  /// (with no leeway): sync the clock (NTP). Default `true`. `false` is for servers that take other
  /// kinds of token; emptiness, whitespace and size are checked either way.
  pub validate: Option<bool>,
  /// Seconds of clock difference tolerated when checking `exp`, `nbf` and `iat`. Default 30.
  pub clock_skew_seconds: Option<f64>,
}

/// What `parseOpenidConnectAuthResponse` finds in a response.
#[napi(object, object_to_js = false, object_from_js = false)]
pub struct ParsedAuthResponse {
  /// The capability byte (0 to 255).
  pub capability: u32,
  /// The token bytes exactly as sent.
  pub token: Buffer,
}

/// What `inspectIdToken` finds in a token. Nothing in it is verified.
#[napi(object, object_to_js = false, object_from_js = false)]
pub struct IdTokenInfo {
  /// The JOSE header, e.g. `{ alg: 'RS256', kid: '...' }`.
  #[napi(ts_type = "Record<string, unknown>")]
  pub header: serde_json::Value,
  /// The claims, e.g. `{ iss, sub, aud, exp, iat }`.
  #[napi(ts_type = "Record<string, unknown>")]
  pub claims: serde_json::Value,
  /// `exp` as a Date, or `null` when the token has no `exp`.
  #[napi(ts_type = "Date | null")]
  pub expires_at: f64,
}

/// Builds the auth-switch response that `authentication_openid_connect_client` sends: the
/// capability byte, the token length as a MySQL length-encoded integer, then the token.
///
/// Surrounding whitespace (such as a token file's trailing newline) is removed first. The token
/// must then pass the rules in `AuthResponseOptions`; a failure throws an `Error` whose `code` says
/// which rule (`ERR_OIDC_TOKEN_EXPIRED`, ...) and whose message never contains the token. An
/// option key that is not one of `AuthResponseOptions` throws `ERR_OIDC_INVALID_ARGUMENT`; only
/// the object's own properties are read.
#[napi(
  ts_args_type = "token: string | Uint8Array, options?: AuthResponseOptions",
  ts_return_type = "Buffer"
)]
pub fn openid_connect_auth_response<'env>(
  env: &'env Env,
  token: Unknown,
  options: Option<Unknown>,
) -> napi::Result<BufferSlice<'env>, ErrorCode> {
  checked_response(env, &token, options, |capability, token| {
    encode_auth_response(capability, token)
  })
}

/// Builds the `mysql_clear_password` response that TiDB's `tidb_auth_token` expects: the token, then
/// a NUL byte. The token and options pass the same rules as in `openidConnectAuthResponse`;
/// `capability` is not used. Send it only over TLS: the token travels as it is.
#[napi(
  ts_args_type = "token: string | Uint8Array, options?: AuthResponseOptions",
  ts_return_type = "Buffer"
)]
pub fn clear_password_auth_response<'env>(
  env: &'env Env,
  token: Unknown,
  options: Option<Unknown>,
) -> napi::Result<BufferSlice<'env>, ErrorCode> {
  checked_response(env, &token, options, |_, token| [token, &[0]].concat())
}

/// Reads the options (the only step that may run JavaScript: getters), then copies the token into
/// Rust-owned memory, checks it, frames it with `frame` and hands JavaScript a copy. Every Rust copy
/// of the token is wiped when dropped.
fn checked_response<'env>(
  env: &'env Env,
  token: &Unknown,
  options: Option<Unknown>,
  frame: impl FnOnce(u8, &[u8]) -> Vec<u8>,
) -> JsResult<BufferSlice<'env>> {
  let (capability, rules) = read_auth_response_options(options)?;
  let raw = token_bytes(token)?;
  let token = check_token(&raw, &rules, now_if(rules.validate))?;
  let response = Zeroizing::new(frame(capability, token));
  buffer_copy(env, &response).map_err(napi_failure("response"))
}

/// Reads an auth-switch response back into its capability byte and token: for proxies and test
/// servers. Throws `ERR_OIDC_RESPONSE_MALFORMED` when the framing is wrong (empty input, a length
/// that starts with 0xFB or 0xFF, a length past the end, bytes after the token). The token itself
/// is not checked.
#[napi(
  ts_args_type = "response: Uint8Array",
  ts_return_type = "ParsedAuthResponse"
)]
pub fn parse_openid_connect_auth_response<'env>(
  env: &'env Env,
  response: Unknown,
) -> napi::Result<Object<'env>, ErrorCode> {
  let invalid = || {
    OidcError::invalid_argument(format!(
      "response must be a Buffer or Uint8Array, got {}",
      describe_type(&response)
    ))
  };
  let bytes = match copy_input(&response).map_err(napi_failure("response"))? {
    Input::Bytes(bytes) => bytes,
    Input::Text(_) | Input::Other => return Err(invalid().into()),
  };
  let parsed = decode_auth_response(&bytes)?;
  let build = || -> napi::Result<Object<'env>> {
    let mut result = Object::new(env)?;
    let capability = env.create_uint32(u32::from(parsed.capability))?;
    result.define_properties(&[
      value_property(env, "capability", &capability)?,
      value_property(env, "token", &buffer_copy(env, parsed.token)?)?,
    ])?;
    Ok(result)
  };
  build().map_err(napi_failure("parseOpenidConnectAuthResponse"))
}

/// Decodes an ID token's header and claims without verifying its signature, e.g. to log who a
/// connection logs in as or when its token expires. The token must be a well-formed JWT of at most
/// 16 777 210 bytes, read exactly as `openidConnectAuthResponse` reads it (so a token that passes
/// its checks always inspects); `exp`, `nbf` and `iat` must be numbers when present, but are not
/// compared with the clock. Every key, `__proto__` included, is an own data property of `header`
/// and `claims` (and of the objects inside them).
#[napi(
  ts_args_type = "token: string | Uint8Array",
  ts_return_type = "IdTokenInfo"
)]
pub fn inspect_id_token<'env>(
  env: &'env Env,
  token: Unknown,
) -> napi::Result<Object<'env>, ErrorCode> {
  let raw = token_bytes(&token)?;
  let decoded = decode_id_token(&raw, MAX_TOKEN_BYTES_IN_PACKET)?;
  drop(raw);
  let build = || -> napi::Result<Object<'env>> {
    let mut info = Object::new(env)?;
    let header = object_from_map(env, &decoded.header)?;
    let claims = object_from_map(env, &decoded.claims)?;
    let expires_at = match decoded.expires_at {
      Some(exp) => value_property(env, "expiresAt", &env.create_date(exp * 1000.0)?)?,
      None => data_property(env, "expiresAt", &serde_json::Value::Null)?,
    };
    info.define_properties(&[
      value_property(env, "header", &header)?,
      value_property(env, "claims", &claims)?,
      expires_at,
    ])?;
    Ok(info)
  };
  build().map_err(napi_failure("inspectIdToken"))
}

/// The DER of the server certificate recorded in a TLS session, as `tlsSocket.getSession()` returns
/// it (Node 20's bare SSL_SESSION, or Node 22 and later's with a header of Node's own), or `null`
/// when the bytes hold none or are not a session. For the peer check on resumed sessions, where
/// Node has no copy of the certificate left.
#[napi(
  ts_args_type = "session: Uint8Array | undefined",
  ts_return_type = "Buffer | null"
)]
pub fn certificate_of_tls_session<'env>(
  env: &'env Env,
  session: Unknown,
) -> napi::Result<Option<BufferSlice<'env>>, ErrorCode> {
  let bytes = match copy_input(&session).map_err(napi_failure("session"))? {
    Input::Bytes(bytes) => bytes,
    Input::Text(_) | Input::Other => return Ok(None),
  };
  certificate_of_session(&bytes)
    .map(|der| buffer_copy(env, der))
    .transpose()
    .map_err(napi_failure("session"))
}

/// The clock is read only when the rules look at `exp` and `nbf`.
pub(crate) fn now_if(needed: bool) -> f64 {
  if needed {
    unix_now()
  } else {
    0.0
  }
}

fn unix_now() -> f64 {
  SystemTime::now()
    .duration_since(UNIX_EPOCH)
    .map(|d| d.as_secs_f64())
    .unwrap_or(0.0)
}

/// The token's bytes copied into Rust-owned memory: a string as UTF-8, a Uint8Array as it is.
pub(crate) fn token_bytes(token: &Unknown) -> JsResult<OwnedBytes> {
  match copy_input(token).map_err(napi_failure("token"))? {
    Input::Text(bytes) | Input::Bytes(bytes) => Ok(bytes),
    Input::Other => Err(
      OidcError::invalid_argument(format!(
        "token must be a string, Buffer or Uint8Array, got {}",
        describe_type(token)
      ))
      .into(),
    ),
  }
}

/// A value's kind for an error message; never the value itself, which may be a token.
pub(crate) fn describe_type(value: &Unknown) -> &'static str {
  match value.get_type() {
    Ok(ValueType::Undefined) => "undefined",
    Ok(ValueType::Null) => "null",
    Ok(ValueType::Boolean) => "a boolean",
    Ok(ValueType::Number) => "a number",
    Ok(ValueType::String) => "a string",
    Ok(ValueType::Symbol) => "a symbol",
    Ok(ValueType::Object) => "an object of another kind",
    Ok(ValueType::Function) => "a function",
    Ok(ValueType::BigInt) => "a bigint",
    _ => "a value of another kind",
  }
}
