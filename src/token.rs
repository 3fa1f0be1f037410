//! Token rules: what must hold of an ID token before it is sent, as the official client checks
//! (non-empty, bounded, three base64url parts) and stricter where it saves the user a round trip.

use std::time::{Duration, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::Deserialize;
use serde_json::Value;

use crate::errors::{ErrorCode, OidcError};

/// MySQL's client refuses token files over 10 000 bytes.
pub const DEFAULT_MAX_TOKEN_BYTES: usize = 10_000;
pub const DEFAULT_CLOCK_SKEW_SECONDS: f64 = 30.0;

/// What to check of a token; `validate: false` keeps only emptiness, whitespace and size.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TokenRules {
  pub max_token_bytes: usize,
  pub validate: bool,
  pub clock_skew_seconds: f64,
}

impl Default for TokenRules {
  fn default() -> Self {
    TokenRules {
      max_token_bytes: DEFAULT_MAX_TOKEN_BYTES,
      validate: true,
      clock_skew_seconds: DEFAULT_CLOCK_SKEW_SECONDS,
    }
  }
}

const PART_NAMES: [&str; 3] = ["header", "payload", "signature"];

/// Removes surrounding ASCII whitespace, such as the trailing newline of a token file.
pub fn trim_token(raw: &[u8]) -> &[u8] {
  raw.trim_ascii()
}

/// Applies the rules to a raw token and returns the trimmed token to send.
pub fn check_token<'a>(raw: &'a [u8], rules: &TokenRules, now: f64) -> Result<&'a [u8], OidcError> {
  let token = check_shape(raw, rules.max_token_bytes)?;
  if rules.validate {
    let parts = split_jwt(token)?;
    check_header(&decode_part(parts[0], 0)?)?;
    check_times(
      &read_time_claims(&decode_part(parts[1], 1)?)?,
      rules.clock_skew_seconds,
      now,
    )?;
  }
  Ok(token)
}

/// Emptiness, size and stray bytes: the rules that hold even with `validate: false`.
pub fn check_shape(raw: &[u8], max_token_bytes: usize) -> Result<&[u8], OidcError> {
  let token = trim_token(raw);
  if token.is_empty() {
    return Err(OidcError::new(
      ErrorCode::TokenEmpty,
      "the ID token is empty (or only whitespace): pass the token your identity provider issued",
    ));
  }
  if token.len() > max_token_bytes {
    return Err(OidcError::new(
      ErrorCode::TokenTooLarge,
      format!(
        "the ID token is {} bytes, over the limit of {max_token_bytes} bytes: ask the identity provider for a \
         smaller token (fewer claims) or raise maxTokenBytes if your server accepts it",
        token.len()
      ),
    ));
  }
  if let Some(at) = scan::first_space_or_control(token) {
    return Err(OidcError::malformed(format!(
      "the ID token contains whitespace or a control character at byte {at}: a token is one line of text; \
       check how it was read or pasted"
    )));
  }
  Ok(token)
}

/// Splits a compact JWS into its three non-empty base64url parts.
pub fn split_jwt(token: &[u8]) -> Result<[&[u8]; 3], OidcError> {
  if let Some((first, second)) = scan::well_formed_jwt_dots(token) {
    return Ok([
      &token[..first],
      &token[first + 1..second],
      &token[second + 1..],
    ]);
  }
  // the slow path only explains what is wrong: it accepts exactly what the fast path accepts
  let mut parts = token.split(|&b| b == b'.');
  let (Some(header), Some(payload), Some(signature), None) =
    (parts.next(), parts.next(), parts.next(), parts.next())
  else {
    let count = token.split(|&b| b == b'.').count();
    return Err(OidcError::malformed(format!(
      "the ID token has {count} dot-separated part(s); a JWT has 3 (header.payload.signature)"
    )));
  };
  let parts = [header, payload, signature];
  for (index, part) in parts.iter().enumerate() {
    let name = PART_NAMES[index];
    if part.is_empty() {
      return Err(OidcError::malformed(format!(
        "the ID token's {name} is empty"
      )));
    }
    if let Some(&bad) = part.iter().find(|&&b| !scan::is_base64url(b)) {
      let why = if bad == b'=' {
        "'=' padding, which JWTs leave out"
      } else {
        "a character outside base64url (A-Z a-z 0-9 - _)"
      };
      return Err(OidcError::malformed(format!(
        "the ID token's {name} contains {why}"
      )));
    }
    if part.len() % 4 == 1 {
      return Err(OidcError::malformed(format!(
        "the ID token's {name} has a length no base64url text can have: it looks truncated"
      )));
    }
  }
  Ok(parts)
}

/// Decodes the header or payload and checks it is a JSON object.
fn decode_part(part: &[u8], index: usize) -> Result<Vec<u8>, OidcError> {
  let name = PART_NAMES[index];
  let json = URL_SAFE_NO_PAD
    .decode(part)
    .map_err(|_| OidcError::malformed(format!("the ID token's {name} is not valid base64url")))?;
  // serde would also read a JSON array into a struct; a JWT part must be an object
  if json.trim_ascii_start().first() != Some(&b'{') {
    return Err(OidcError::malformed(format!(
      "the ID token's {name} is not a JSON object"
    )));
  }
  Ok(json)
}

#[derive(Deserialize)]
struct Header<'a> {
  #[serde(borrow)]
  alg: Option<std::borrow::Cow<'a, str>>,
}

fn check_header(json: &[u8]) -> Result<(), OidcError> {
  // serde's own message may quote the input, so it is never passed on
  let header: Header = serde_json::from_slice(json).map_err(|_| {
    OidcError::malformed("the ID token's header is not a JSON object with a string \"alg\"")
  })?;
  match header.alg {
    None => Err(OidcError::malformed("the ID token's header has no \"alg\"")),
    Some(alg) if alg.eq_ignore_ascii_case("none") => Err(OidcError::malformed(
      "the ID token is unsigned (alg \"none\"): servers refuse it; use a token signed by your identity provider",
    )),
    Some(_) => Ok(()),
  }
}

/// The only claims the rules read; every other claim is skipped unparsed.
#[derive(Deserialize, Default)]
struct TimeClaims {
  exp: Option<Value>,
  nbf: Option<Value>,
}

/// Reads `exp` and `nbf` as NumericDates (seconds since the epoch).
fn read_time_claims(json: &[u8]) -> Result<(Option<f64>, Option<f64>), OidcError> {
  let claims: TimeClaims = serde_json::from_slice(json)
    .map_err(|_| OidcError::malformed("the ID token's payload is not a valid JSON object"))?;
  Ok((
    numeric_date(claims.exp, "exp")?,
    numeric_date(claims.nbf, "nbf")?,
  ))
}

fn numeric_date(value: Option<Value>, claim: &str) -> Result<Option<f64>, OidcError> {
  match value {
    None => Ok(None),
    Some(Value::Number(n)) => n
      .as_f64()
      .map(Some)
      .ok_or_else(|| OidcError::malformed(format!("the ID token's \"{claim}\" is out of range"))),
    Some(_) => Err(OidcError::malformed(format!(
      "the ID token's \"{claim}\" is not a number (seconds since 1970)"
    ))),
  }
}

fn check_times(times: &(Option<f64>, Option<f64>), skew: f64, now: f64) -> Result<(), OidcError> {
  let (exp, nbf) = *times;
  if let Some(exp) = exp {
    if now > exp + skew {
      return Err(OidcError::new(
        ErrorCode::TokenExpired,
        format!(
          "the ID token expired at {} ({} s ago, allowing {skew} s of clock skew): get a fresh token from \
           your identity provider",
          describe_time(exp),
          (now - exp).round()
        ),
      ));
    }
  }
  if let Some(nbf) = nbf {
    if nbf - skew > now {
      return Err(OidcError::new(
        ErrorCode::TokenNotYetValid,
        format!(
          "the ID token is not valid before {} ({} s from now, allowing {skew} s of clock skew): check this \
           machine's clock",
          describe_time(nbf),
          (nbf - now).round()
        ),
      ));
    }
  }
  Ok(())
}

/// RFC 3339 in UTC, or the raw NumericDate where it is out of the representable range.
pub fn describe_time(seconds: f64) -> String {
  match Duration::try_from_secs_f64(seconds) {
    Ok(since_epoch) => match UNIX_EPOCH.checked_add(since_epoch) {
      Some(at) if seconds < 253_402_300_800.0 => humantime::format_rfc3339_seconds(at).to_string(),
      _ => format!("NumericDate {seconds}"),
    },
    Err(_) => format!("NumericDate {seconds}"),
  }
}

/// A token decoded without verifying its signature.
#[derive(Debug, PartialEq)]
pub struct DecodedToken {
  pub header: Value,
  pub claims: Value,
  pub expires_at: Option<f64>,
}

/// Decodes header and claims for inspection; checks structure, not times or signature.
pub fn decode_id_token(raw: &[u8], max_token_bytes: usize) -> Result<DecodedToken, OidcError> {
  let token = check_shape(raw, max_token_bytes)?;
  let parts = split_jwt(token)?;
  // inspection reports any alg, "none" included: refusing it is the sender's rule
  let header_json = decode_part(parts[0], 0)?;
  let claims_json = decode_part(parts[1], 1)?;
  let (expires_at, _) = read_time_claims(&claims_json)?;
  let parse = |json: &[u8], name: &str| {
    serde_json::from_slice::<Value>(json).map_err(|_| {
      OidcError::malformed(format!("the ID token's {name} is not a valid JSON object"))
    })
  };
  Ok(DecodedToken {
    header: parse(&header_json, "header")?,
    claims: parse(&claims_json, "payload")?,
    expires_at,
  })
}

mod scan;

#[cfg(test)]
mod tests;
