//! Token rules: what must hold of an ID token before it is sent, as the official client checks
//! (non-empty, bounded, three base64url parts) and stricter where it saves the user a round trip.
#![forbid(unsafe_code)]

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{Map, Value};

use crate::errors::{ErrorCode, OidcError};
use json::parse_object;
use times::check_times;

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
  check_login_token(raw, rules, now).map(|checked| checked.token)
}

/// The few claims a login acts on (cache lifetime, events, TiDB's rules), read from the same parse
/// that checked the token.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LoginClaims {
  pub exp: Option<f64>,
  pub iat: Option<f64>,
  /// `iss` and `sub` when they are strings.
  pub iss: Option<String>,
  pub sub: Option<String>,
  /// Whether `email` is a string, as TiDB requires.
  pub has_email: bool,
}

/// A token that passed the rules: the trimmed bytes to send, and its claims unless `validate` is off.
#[derive(Debug, PartialEq)]
pub struct CheckedToken<'a> {
  pub token: &'a [u8],
  pub claims: Option<LoginClaims>,
}

/// Applies the rules to a raw token, and reads the claims a login needs in the same pass.
pub fn check_login_token<'a>(
  raw: &'a [u8],
  rules: &TokenRules,
  now: f64,
) -> Result<CheckedToken<'a>, OidcError> {
  if !rules.validate {
    let token = check_shape(raw, rules.max_token_bytes)?;
    return Ok(CheckedToken {
      token,
      claims: None,
    });
  }
  let jwt = read_jwt(raw, rules.max_token_bytes)?;
  check_alg(&jwt.header)?;
  let times = TimeClaims::read(&jwt.claims)?;
  check_times(&times, rules.clock_skew_seconds, now)?;
  let text = |claim: &str| match jwt.claims.get(claim) {
    Some(Value::String(value)) => Some(value.clone()),
    _ => None,
  };
  let claims = LoginClaims {
    exp: times.exp,
    iat: times.iat,
    iss: text("iss"),
    sub: text("sub"),
    has_email: matches!(jwt.claims.get("email"), Some(Value::String(_))),
  };
  Ok(CheckedToken {
    token: jwt.token,
    claims: Some(claims),
  })
}

/// A token read as a JWT: what validation checks and inspection shows, read the same way.
struct Jwt<'a> {
  token: &'a [u8],
  header: Map<String, Value>,
  claims: Map<String, Value>,
}

fn read_jwt(raw: &[u8], max_token_bytes: usize) -> Result<Jwt<'_>, OidcError> {
  let token = trimmed_within(raw, max_token_bytes)?;
  // `{"id_token": "eyJ..."}` pasted whole: said before its spaces are
  if token.first() == Some(&b'{') {
    return Err(OidcError::malformed(
      "the ID token looks like a JSON token response, not a token: pass its \"id_token\" field",
    ));
  }
  check_one_line(token)?;
  let [header, payload, _] = split_jwt(token)?;
  Ok(Jwt {
    token,
    header: parse_object(&decode_part(header, 0)?, "header")?,
    claims: parse_object(&decode_part(payload, 1)?, "payload")?,
  })
}

/// Emptiness, size and stray bytes: the rules that hold even with `validate: false`.
pub fn check_shape(raw: &[u8], max_token_bytes: usize) -> Result<&[u8], OidcError> {
  let token = trimmed_within(raw, max_token_bytes)?;
  check_one_line(token)?;
  Ok(token)
}

/// The token without surrounding whitespace, refused when empty or over `max_token_bytes`.
fn trimmed_within(raw: &[u8], max_token_bytes: usize) -> Result<&[u8], OidcError> {
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
  Ok(token)
}

fn check_one_line(token: &[u8]) -> Result<(), OidcError> {
  match scan::first_space_or_control(token) {
    None => Ok(()),
    Some(at) => Err(OidcError::malformed(format!(
      "the ID token contains whitespace or a control character at byte {at}: a token is one line of text; \
       check how it was read or pasted"
    ))),
  }
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
      // `header.payload.` is how an unsigned token looks: say that, not "signature is empty"
      if index == 2 && is_unsigned(header) {
        return Err(OidcError::malformed(UNSIGNED));
      }
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

/// Decodes the header or payload from base64url.
fn decode_part(part: &[u8], index: usize) -> Result<Vec<u8>, OidcError> {
  URL_SAFE_NO_PAD.decode(part).map_err(|_| {
    OidcError::malformed(format!(
      "the ID token's {} is not valid base64url",
      PART_NAMES[index]
    ))
  })
}

const UNSIGNED: &str =
  "the ID token is unsigned (alg \"none\"): servers refuse it; use a token signed by your identity provider";

fn alg_is_none(alg: &str) -> bool {
  alg.eq_ignore_ascii_case("none")
}

/// Whether an encoded header reads as `{"alg": "none", ...}`.
fn is_unsigned(header: &[u8]) -> bool {
  let Ok(json) = decode_part(header, 0) else {
    return false;
  };
  let Ok(header) = parse_object(&json, "header") else {
    return false;
  };
  matches!(header.get("alg"), Some(Value::String(alg)) if alg_is_none(alg))
}

fn check_alg(header: &Map<String, Value>) -> Result<(), OidcError> {
  match header.get("alg") {
    None => Err(OidcError::malformed("the ID token's header has no \"alg\"")),
    Some(Value::String(alg)) if alg_is_none(alg) => Err(OidcError::malformed(UNSIGNED)),
    Some(Value::String(_)) => Ok(()),
    Some(_) => Err(OidcError::malformed(
      "the ID token's header \"alg\" is not a string",
    )),
  }
}

/// A token decoded without verifying its signature.
#[derive(Debug, PartialEq)]
pub struct DecodedToken {
  pub header: Map<String, Value>,
  pub claims: Map<String, Value>,
  pub expires_at: Option<f64>,
}

/// Decodes header and claims for inspection: the same reading as `check_token`, which therefore
/// never accepts a token this refuses; any `alg` is reported (refusing "none" is the sender's rule)
/// and times are not compared with the clock.
pub fn decode_id_token(raw: &[u8], max_token_bytes: usize) -> Result<DecodedToken, OidcError> {
  let jwt = read_jwt(raw, max_token_bytes)?;
  let times = TimeClaims::read(&jwt.claims)?;
  Ok(DecodedToken {
    header: jwt.header,
    claims: jwt.claims,
    expires_at: times.exp,
  })
}

mod json;
mod scan;
mod times;

pub use json::MAX_NESTING;
pub use times::{describe_time, TimeClaims};

#[cfg(test)]
mod agreement_tests;
#[cfg(test)]
mod tests;
