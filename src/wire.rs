//! The auth-switch response of `authentication_openid_connect_client`:
//! one capability byte, the token length as a MySQL length-encoded integer, the token bytes.
#![forbid(unsafe_code)]

use bytes::{Buf, BufMut};

use crate::errors::{ErrorCode, OidcError};

/// The capability byte the official clients send.
pub const DEFAULT_CAPABILITY: u8 = 0x01;

/// Largest payload of one MySQL packet; the response is sent as a single packet.
pub const MAX_PACKET_PAYLOAD: usize = 0xFF_FFFF;

/// Largest token that fits one packet: capability byte plus a 4-byte length header.
pub const MAX_TOKEN_BYTES_IN_PACKET: usize = MAX_PACKET_PAYLOAD - 1 - 4;

/// Bytes a MySQL length-encoded integer takes for `len`.
pub const fn lenenc_int_size(len: u64) -> usize {
  match len {
    0..=250 => 1,
    251..=0xFFFF => 3,
    0x1_0000..=0xFF_FFFF => 4,
    _ => 9,
  }
}

/// Appends `len` as a MySQL length-encoded integer.
pub fn put_lenenc_int(out: &mut impl BufMut, len: u64) {
  match len {
    0..=250 => out.put_u8(len as u8),
    251..=0xFFFF => {
      out.put_u8(0xFC);
      out.put_u16_le(len as u16);
    }
    0x1_0000..=0xFF_FFFF => {
      out.put_u8(0xFD);
      out.put_uint_le(len, 3);
    }
    _ => {
      out.put_u8(0xFE);
      out.put_u64_le(len);
    }
  }
}

/// Longest capability byte plus length header: 1 + 9.
pub const MAX_HEAD_BYTES: usize = 10;

/// The capability byte and length header that precede a token of `len` bytes, and their size.
pub fn auth_response_head(capability: u8, len: usize) -> ([u8; MAX_HEAD_BYTES], usize) {
  let mut head = [0u8; MAX_HEAD_BYTES];
  let mut free = &mut head[..];
  free.put_u8(capability);
  put_lenenc_int(&mut free, len as u64);
  let used = MAX_HEAD_BYTES - free.len();
  (head, used)
}

/// Builds the auth-switch response payload in one allocation of the exact size.
pub fn encode_auth_response(capability: u8, token: &[u8]) -> Vec<u8> {
  let (head, head_len) = auth_response_head(capability, token.len());
  let mut out = Vec::with_capacity(head_len + token.len());
  out.put_slice(&head[..head_len]);
  out.put_slice(token);
  out
}

/// A decoded auth-switch response; `token` borrows from the input.
#[derive(Debug, PartialEq, Eq)]
pub struct AuthResponse<'a> {
  pub capability: u8,
  pub token: &'a [u8],
}

fn malformed(message: &str) -> OidcError {
  OidcError::new(ErrorCode::ResponseMalformed, message)
}

/// Reads a MySQL length-encoded integer, refusing the two first bytes that never start one.
fn get_lenenc_int(input: &mut &[u8]) -> Result<u64, OidcError> {
  let truncated = |_| malformed("the length header is cut short: the response ends inside it");
  match input.try_get_u8().map_err(truncated)? {
    first @ 0..=250 => Ok(u64::from(first)),
    0xFC => input.try_get_u16_le().map(u64::from).map_err(truncated),
    0xFD => input.try_get_uint_le(3).map_err(truncated),
    0xFE => input.try_get_u64_le().map_err(truncated),
    0xFB => Err(malformed(
      "the length header starts with 0xFB (NULL), which is not a valid token length",
    )),
    _ => Err(malformed(
      "the length header starts with 0xFF (an error marker), which is not a valid token length",
    )),
  }
}

/// Parses an auth-switch response: exactly a capability byte, a length and that many token bytes.
pub fn decode_auth_response(mut input: &[u8]) -> Result<AuthResponse<'_>, OidcError> {
  let capability = input.try_get_u8().map_err(|_| {
    malformed("the response is empty: expected a capability byte, a length and a token")
  })?;
  let declared = get_lenenc_int(&mut input)?;
  let available = input.len() as u64;
  if declared > available {
    return Err(malformed(
      format!("the length header says {declared} bytes but only {available} follow").as_str(),
    ));
  }
  if declared < available {
    return Err(malformed(
      format!(
        "{} unexpected bytes follow the {declared}-byte token",
        available - declared
      )
      .as_str(),
    ));
  }
  Ok(AuthResponse {
    capability,
    token: input,
  })
}

#[cfg(test)]
mod tests;
