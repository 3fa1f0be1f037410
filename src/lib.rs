//! `authentication_openid_connect_client` for Node.js: the auth-switch response that logs in to
//! MySQL Enterprise, Percona Server and StarRocks with an OpenID Connect ID token.
#![deny(clippy::all)]
// No unsafe code of ours. napi-derive's generated FFI glue carries its own allow(unsafe_code), which
// a crate-wide forbid refuses to compile; so deny here (the glue's allow is local to it) and forbid
// in every module that has no #[napi] item.
#![deny(unsafe_code)]

pub mod errors;
pub mod exports;
mod js_bytes;
mod js_json;
mod options;
pub mod responder;
pub mod tls_session;
pub mod token;
pub mod wire;
