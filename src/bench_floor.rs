//! Baselines for `npm run bench`, built only with the `bench-floor` feature so they never ship:
//! native functions with `openidConnectAuthResponse`'s shape that frame and check nothing.

use napi::bindgen_prelude::{Buffer, Env, Unknown};
use napi_derive::napi;

use crate::js_bytes::{buffer_from_parts, with_string_utf8};
use crate::wire::lenenc_int_size;

fn response_size(token_len: usize) -> usize {
  1 + lenenc_int_size(token_len as u64) + token_len
}

/// The floor: the same string in and Buffer out as `openidConnectAuthResponse`, nothing between.
#[napi(ts_args_type = "token: string", ts_return_type = "Buffer")]
pub fn bench_floor<'env>(env: &'env Env, token: Unknown) -> napi::Result<Unknown<'env>> {
  with_string_utf8(env, &token, |bytes| {
    let head = [0u8; crate::wire::MAX_HEAD_BYTES];
    let head_len = response_size(bytes.len()) - bytes.len();
    buffer_from_parts(env, &[&head[..head_len], bytes])
  })?
}

/// For comparison only: napi-rs's own conversions, a `String` argument and a `Buffer` result,
/// which copy the token twice and hand V8 an external buffer to finalize.
#[napi]
pub fn bench_napi_rs_default(token: String) -> Buffer {
  let size = response_size(token.len());
  let mut bytes = token.into_bytes();
  bytes.resize(size, 0);
  bytes.into()
}
