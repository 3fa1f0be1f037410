#![deny(clippy::all)]

//! `authentication_openid_connect_client` for Node.js: the auth-switch response that logs in to
//! MySQL Enterprise, Percona Server and StarRocks with an OpenID Connect ID token.

pub mod errors;
pub mod exports;
mod js_bytes;
mod js_json;
mod options;
pub mod token;
pub mod wire;
