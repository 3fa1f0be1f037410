//! The server certificate a TLS session records. Node forgets its own copy of the peer certificate
//! once the server sends session tickets, and a resumed handshake sends none at all (Node 20 to 26,
//! TLS 1.2 and 1.3: no public API has it then); the session that `getSession()` returns, OpenSSL's
//! SSL_SESSION in DER, keeps it in its `peer [3]` field. A small parser bounded by its input: definite
//! lengths only, nothing allocated, any bytes that are not this shape give `None`.
#![forbid(unsafe_code)]

/// Node 22 and later put a header before the DER: this tag, a format version, NUL, the server name
/// as a 16-bit big-endian length and its bytes.
const NODE_SESSION_TAG: &[u8] = b"\0nodejs:tls:session:";
const NODE_SESSION_FORMAT: &[u8] = b"1\0";

const SEQUENCE: u8 = 0x30;
/// `peer [3] EXPLICIT Certificate OPTIONAL` of OpenSSL's SSL_SESSION_ASN1.
const PEER_FIELD: u8 = 0xa3;

/// The DER of the peer certificate in a session as `getSession()` returns it, if it holds one.
pub fn certificate_of_session(session: &[u8]) -> Option<&[u8]> {
  let (tag, fields, after) = element(session_der(session)?)?;
  if tag != SEQUENCE || !after.is_empty() {
    return None;
  }
  let mut rest = fields;
  while !rest.is_empty() {
    let (tag, contents, after) = element(rest)?;
    if tag == PEER_FIELD {
      // exactly one SEQUENCE inside: the certificate
      let (inner, _, trailing) = element(contents)?;
      return (inner == SEQUENCE && trailing.is_empty()).then_some(contents);
    }
    rest = after;
  }
  None
}

/// The SSL_SESSION DER: the whole input (Node 20), or what follows Node's header (22 and later).
fn session_der(session: &[u8]) -> Option<&[u8]> {
  if session.first() == Some(&SEQUENCE) {
    return Some(session);
  }
  let rest = session
    .strip_prefix(NODE_SESSION_TAG)?
    .strip_prefix(NODE_SESSION_FORMAT)?;
  let (length, rest) = rest.split_first_chunk::<2>()?;
  rest.get(usize::from(u16::from_be_bytes(*length))..)
}

/// One DER element at the start of `input`: its tag, its contents and what follows it.
fn element(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
  let (&tag, rest) = input.split_first()?;
  // SSL_SESSION uses low tag numbers only; a multi-byte tag is not this shape
  if tag & 0x1f == 0x1f {
    return None;
  }
  let (&first, rest) = rest.split_first()?;
  let (length, rest) = if first < 0x80 {
    (usize::from(first), rest)
  } else {
    // 0x80 is the indefinite form (not DER); more than 4 length bytes cannot fit any input here
    let count = usize::from(first & 0x7f);
    if count == 0 || count > 4 {
      return None;
    }
    let (bytes, rest) = rest.split_at_checked(count)?;
    let length = bytes
      .iter()
      .fold(0usize, |length, &byte| (length << 8) | usize::from(byte));
    (length, rest)
  };
  let (contents, after) = rest.split_at_checked(length)?;
  Some((tag, contents, after))
}

#[cfg(test)]
mod tests;
