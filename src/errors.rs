//! Error codes shared by every failure, and their one mapping to a JS `Error`.
#![forbid(unsafe_code)]

use std::fmt;

/// The stable `code` of every error this package throws.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
  TokenEmpty,
  TokenMalformed,
  TokenTooLarge,
  TokenExpired,
  TokenNotYetValid,
  InvalidArgument,
  ResponseMalformed,
}

impl ErrorCode {
  pub const fn as_str(self) -> &'static str {
    match self {
      ErrorCode::TokenEmpty => "ERR_OIDC_TOKEN_EMPTY",
      ErrorCode::TokenMalformed => "ERR_OIDC_TOKEN_MALFORMED",
      ErrorCode::TokenTooLarge => "ERR_OIDC_TOKEN_TOO_LARGE",
      ErrorCode::TokenExpired => "ERR_OIDC_TOKEN_EXPIRED",
      ErrorCode::TokenNotYetValid => "ERR_OIDC_TOKEN_NOT_YET_VALID",
      ErrorCode::InvalidArgument => "ERR_OIDC_INVALID_ARGUMENT",
      ErrorCode::ResponseMalformed => "ERR_OIDC_RESPONSE_MALFORMED",
    }
  }
}

impl AsRef<str> for ErrorCode {
  fn as_ref(&self) -> &str {
    self.as_str()
  }
}

/// A failure with its code and a message that never quotes the token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OidcError {
  pub code: ErrorCode,
  pub message: String,
}

impl OidcError {
  pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
    OidcError {
      code,
      message: message.into(),
    }
  }

  pub fn malformed(message: impl Into<String>) -> Self {
    Self::new(ErrorCode::TokenMalformed, message)
  }

  pub fn invalid_argument(message: impl Into<String>) -> Self {
    Self::new(ErrorCode::InvalidArgument, message)
  }
}

impl fmt::Display for OidcError {
  fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    write!(f, "{}: {}", self.code.as_str(), self.message)
  }
}

impl std::error::Error for OidcError {}

/// The result type of the binding layer: a thrown error carries `code` = the `ErrorCode` string.
pub type JsResult<T> = napi::Result<T, ErrorCode>;

impl From<OidcError> for napi::Error<ErrorCode> {
  fn from(err: OidcError) -> Self {
    napi::Error::new(err.code, err.message)
  }
}

/// A failure inside N-API itself (not from the caller's data): reported as a bad argument, without
/// napi's own text, which may describe the value.
pub fn napi_failure(context: &str) -> impl FnOnce(napi::Error) -> napi::Error<ErrorCode> + '_ {
  move |_| {
    napi::Error::new(
      ErrorCode::InvalidArgument,
      format!("{context}: the value could not be read"),
    )
  }
}
