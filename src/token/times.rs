//! The time claims `exp`, `nbf` and `iat`: NumericDates (seconds since 1970) checked against the
//! local clock with the caller's tolerance for clock skew.

use std::time::{Duration, UNIX_EPOCH};

use serde_json::{Map, Value};

use crate::errors::{ErrorCode, OidcError};

/// The time claims a token has, each a number when present.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct TimeClaims {
  pub exp: Option<f64>,
  pub nbf: Option<f64>,
  pub iat: Option<f64>,
}

impl TimeClaims {
  /// Reads the claims; one that is present but not a number is refused.
  pub fn read(claims: &Map<String, Value>) -> Result<Self, OidcError> {
    Ok(TimeClaims {
      exp: numeric_date(claims, "exp")?,
      nbf: numeric_date(claims, "nbf")?,
      iat: numeric_date(claims, "iat")?,
    })
  }
}

fn numeric_date(claims: &Map<String, Value>, claim: &str) -> Result<Option<f64>, OidcError> {
  match claims.get(claim) {
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

/// Refuses a token that expired, is not valid yet or was issued in the future, each beyond `skew`.
pub fn check_times(times: &TimeClaims, skew: f64, now: f64) -> Result<(), OidcError> {
  if let Some(exp) = times.exp {
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
  // before nbf: an IdP sets nbf = iat, and this message names the cause, a clock behind
  if let Some(iat) = times.iat {
    if iat > now + skew {
      let ahead = (iat - now).round();
      return Err(OidcError::new(
        ErrorCode::TokenNotYetValid,
        format!(
          "the ID token was issued in the future (iat {}, {ahead} s from now, allowing {skew} s of clock \
           skew): this machine's clock is behind the identity provider's by about {ahead} s, and Percona \
           Server refuses any token whose iat is in the future: sync this machine's clock (NTP)",
          describe_time(iat),
        ),
      ));
    }
  }
  if let Some(nbf) = times.nbf {
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
