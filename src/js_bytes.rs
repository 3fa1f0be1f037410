//! Bytes in and out of JavaScript. Caller bytes are copied into Rust-owned memory before anything
//! else runs, so no JavaScript (a getter, a replaced `Buffer.allocUnsafe`) can resize or detach
//! them under a borrow; results leave through napi-rs's own copy (`napi_create_buffer_copy`).
//! Copies that may hold a token are `Zeroizing`: wiped, spare capacity included, when dropped.
#![forbid(unsafe_code)]

use napi::bindgen_prelude::{BufferSlice, Env, FromNapiValue, Uint8ArraySlice, Unknown};
use napi::ValueType;
use zeroize::Zeroizing;

/// Bytes owned by Rust that are wiped when dropped.
pub type OwnedBytes = Zeroizing<Vec<u8>>;

/// What a token or response argument holds, copied out of JavaScript.
pub enum Input {
  /// A string, as UTF-8 (lone surrogates become U+FFFD, as Node-API writes them).
  Text(OwnedBytes),
  /// The bytes of a Buffer or Uint8Array.
  Bytes(OwnedBytes),
  /// Anything else: the caller reports its kind.
  Other,
}

/// Copies a string or a Uint8Array's bytes into Rust-owned memory.
pub fn copy_input(value: &Unknown) -> napi::Result<Input> {
  match value.get_type()? {
    ValueType::String => {
      let text = String::from_unknown(*value)?;
      Ok(Input::Text(Zeroizing::new(text.into_bytes())))
    }
    ValueType::Object => match Uint8ArraySlice::from_unknown(*value) {
      // the borrow ends in this expression: `to_vec` copies before any other Node-API call
      Ok(view) => Ok(Input::Bytes(Zeroizing::new(view.to_vec()))),
      Err(_) => Ok(Input::Other),
    },
    _ => Ok(Input::Other),
  }
}

/// A new Buffer holding a copy of `bytes`, made by Node-API without calling into JavaScript.
pub fn buffer_copy<'env>(env: &'env Env, bytes: &[u8]) -> napi::Result<BufferSlice<'env>> {
  BufferSlice::copy_from(env, bytes)
}
