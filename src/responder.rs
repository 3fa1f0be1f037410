//! `AuthResponder`: the plugin's one native call per login. Built once from the options (which is
//! their check), it checks a token, frames it for the server's plugin and returns the response with
//! the claims the plugin acts on, all from one copy and one parse of the token.

use napi::bindgen_prelude::{Buffer, Env, JsObjectValue, Object, Unknown};
use napi::Property;
use napi_derive::napi;
use zeroize::Zeroizing;

use crate::errors::{napi_failure, ErrorCode, JsResult};
use crate::exports::{now_if, token_bytes};
use crate::js_bytes::buffer_copy;
use crate::js_json::value_property;
use crate::options::{read_auth_response_options, OptionName};
use crate::token::{check_login_token, LoginClaims, TokenRules};
use crate::wire::encode_auth_response;

/// What `AuthResponder` returns for a token that passed. Every key is an own property of the object
/// (`undefined` or `null` when the token has no such claim), so nothing on `Object.prototype` can
/// stand in for a claim.
#[napi(object, object_to_js = false, object_from_js = false)]
pub struct LoginAnswer {
  /// The bytes to send in the server's plugin's framing.
  pub response: Buffer,
  /// `exp` in milliseconds since 1970, or `null` (no `exp`, or `validate: false`).
  #[napi(ts_type = "number | null")]
  pub expires_at: f64,
  /// `iat` in milliseconds since 1970, or `null`.
  #[napi(ts_type = "number | null")]
  pub issued_at: f64,
  /// `iss` when it is a string.
  #[napi(ts_type = "string | undefined")]
  pub iss: String,
  /// `sub` when it is a string.
  #[napi(ts_type = "string | undefined")]
  pub sub: String,
  /// Whether `email` is a string (TiDB requires one); `null` when `validate: false` read no claims.
  #[napi(ts_type = "boolean | null")]
  pub has_email: bool,
}

/// Checks tokens against options given once, and builds the login's response with the token's
/// claims in one call. The constructor throws `ERR_OIDC_INVALID_ARGUMENT` for a bad option, as
/// `openidConnectAuthResponse` would.
#[napi]
pub struct AuthResponder {
  capability: u8,
  rules: TokenRules,
}

#[napi]
impl AuthResponder {
  #[napi(constructor, ts_args_type = "options?: AuthResponseOptions")]
  pub fn new(options: Option<Unknown>) -> napi::Result<Self, ErrorCode> {
    let (capability, rules) = read_auth_response_options(options)?;
    Ok(AuthResponder { capability, rules })
  }

  /// The names of the options (`AuthResponseOptions`' keys), from the list the check uses.
  #[napi(ts_return_type = "Array<keyof AuthResponseOptions>")]
  pub fn option_names() -> Vec<&'static str> {
    OptionName::ALL.iter().map(|option| option.name()).collect()
  }

  /// The `authentication_openid_connect_client` response (as `openidConnectAuthResponse`) and claims.
  #[napi(
    ts_args_type = "token: string | Uint8Array",
    ts_return_type = "LoginAnswer"
  )]
  pub fn openid_connect<'env>(
    &self,
    env: &'env Env,
    token: Unknown,
  ) -> napi::Result<Object<'env>, ErrorCode> {
    self.answer(env, &token, encode_auth_response)
  }

  /// The `mysql_clear_password` response (as `clearPasswordAuthResponse`) and claims.
  #[napi(
    ts_args_type = "token: string | Uint8Array",
    ts_return_type = "LoginAnswer"
  )]
  pub fn clear_password<'env>(
    &self,
    env: &'env Env,
    token: Unknown,
  ) -> napi::Result<Object<'env>, ErrorCode> {
    self.answer(env, &token, |_, token| [token, &[0]].concat())
  }
}

impl AuthResponder {
  fn answer<'env>(
    &self,
    env: &'env Env,
    token: &Unknown,
    frame: impl FnOnce(u8, &[u8]) -> Vec<u8>,
  ) -> JsResult<Object<'env>> {
    let raw = token_bytes(token)?;
    let checked = check_login_token(&raw, &self.rules, now_if(self.rules.validate))?;
    let response = Zeroizing::new(frame(self.capability, checked.token));
    let claims = checked.claims;
    let build = || -> napi::Result<Object<'env>> {
      let mut answer = Object::new(env)?;
      let mut properties = vec![value_property(
        env,
        "response",
        &buffer_copy(env, &response)?,
      )?];
      properties.extend(claim_properties(env, claims.as_ref())?);
      answer.define_properties(&properties)?;
      Ok(answer)
    };
    build().map_err(napi_failure("the login answer"))
  }
}

/// `expiresAt`, `issuedAt`, `iss`, `sub` and `hasEmail`, each an own property whatever the token holds.
fn claim_properties(env: &Env, claims: Option<&LoginClaims>) -> napi::Result<[Property; 5]> {
  let named = |key: &str| Property::new().with_name(env, key);
  let millis = |key: &str, seconds: Option<f64>| match seconds {
    Some(seconds) => named(key)?.with_napi_value(env, seconds * 1000.0),
    None => named(key)?.with_napi_value(env, napi::bindgen_prelude::Null),
  };
  let text = |key: &str, value: Option<&String>| match value {
    Some(value) => named(key)?.with_napi_value(env, value.as_str()),
    None => named(key)?.with_napi_value(env, ()),
  };
  Ok([
    millis("expiresAt", claims.and_then(|c| c.exp))?,
    millis("issuedAt", claims.and_then(|c| c.iat))?,
    text("iss", claims.and_then(|c| c.iss.as_ref()))?,
    text("sub", claims.and_then(|c| c.sub.as_ref()))?,
    match claims {
      Some(claims) => named("hasEmail")?.with_napi_value(env, claims.has_email)?,
      None => named("hasEmail")?.with_napi_value(env, napi::bindgen_prelude::Null)?,
    },
  ])
}
