use proptest::prelude::*;

use super::*;
use crate::errors::ErrorCode;

fn header_of(len: usize) -> Vec<u8> {
  let response = encode_auth_response(1, &vec![b'a'; len]);
  response[1..response.len() - len].to_vec()
}

#[test]
fn worked_example_from_protocol_md() {
  assert_eq!(
    encode_auth_response(1, b"aaa.bbb.ccc"),
    [0x01, 0x0B, b'a', b'a', b'a', b'.', b'b', b'b', b'b', b'.', b'c', b'c', b'c']
  );
}

#[test]
fn capability_byte_is_written_as_given() {
  assert_eq!(encode_auth_response(0, b"x")[0], 0);
  assert_eq!(encode_auth_response(255, b"x")[0], 255);
}

#[test]
fn length_header_at_every_boundary() {
  assert_eq!(header_of(0), [0x00]);
  assert_eq!(header_of(250), [0xFA]);
  assert_eq!(header_of(251), [0xFC, 0xFB, 0x00]);
  assert_eq!(header_of(65_535), [0xFC, 0xFF, 0xFF]);
  assert_eq!(header_of(65_536), [0xFD, 0x00, 0x00, 0x01]);
  assert_eq!(header_of(16_777_215), [0xFD, 0xFF, 0xFF, 0xFF]);
  assert_eq!(
    header_of(16_777_216),
    [0xFE, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00]
  );
}

#[test]
fn lenenc_size_matches_what_is_written() {
  for len in [
    0u64,
    250,
    251,
    65_535,
    65_536,
    16_777_215,
    16_777_216,
    u64::MAX,
  ] {
    let mut out = Vec::new();
    put_lenenc_int(&mut out, len);
    assert_eq!(out.len(), lenenc_int_size(len), "length {len}");
  }
}

#[test]
fn response_is_allocated_once_at_its_exact_size() {
  let response = encode_auth_response(1, &[b'a'; 300]);
  assert_eq!(response.len(), 1 + 3 + 300);
  assert_eq!(response.capacity(), response.len());
}

#[test]
fn largest_token_that_fits_one_packet() {
  assert_eq!(MAX_TOKEN_BYTES_IN_PACKET, 16_777_210);
  assert_eq!(
    encode_auth_response(1, &vec![0; MAX_TOKEN_BYTES_IN_PACKET]).len(),
    MAX_PACKET_PAYLOAD
  );
}

#[test]
fn decodes_every_length_form() {
  for len in [0usize, 1, 250, 251, 65_535, 65_536, 70_000] {
    let token = vec![b'z'; len];
    let response = encode_auth_response(7, &token);
    assert_eq!(
      decode_auth_response(&response),
      Ok(AuthResponse {
        capability: 7,
        token: &token
      })
    );
  }
  // the 9-byte form, written by hand to keep the test small
  let mut response = vec![1, 0xFE, 3, 0, 0, 0, 0, 0, 0, 0];
  response.extend_from_slice(b"abc");
  assert_eq!(
    decode_auth_response(&response).map(|r| r.token),
    Ok(&b"abc"[..])
  );
}

fn decode_error(bytes: &[u8]) -> String {
  let err = decode_auth_response(bytes).expect_err("must be refused");
  assert_eq!(err.code, ErrorCode::ResponseMalformed);
  err.message
}

#[test]
fn accepts_a_wider_length_form_than_needed_as_mysql_does() {
  assert_eq!(
    decode_auth_response(&[1, 0xFC, 2, 0, b'a', b'b']).map(|r| r.token),
    Ok(&b"ab"[..])
  );
}

#[test]
fn refuses_bad_framing() {
  assert!(decode_error(&[]).contains("empty"));
  assert!(decode_error(&[1]).contains("cut short"));
  assert!(decode_error(&[1, 0xFB]).contains("0xFB"));
  assert!(decode_error(&[1, 0xFF]).contains("0xFF"));
  assert!(decode_error(&[1, 0xFC, 0x01]).contains("cut short"));
  assert!(decode_error(&[1, 0xFD, 0, 0]).contains("cut short"));
  assert!(decode_error(&[1, 0xFE, 0, 0, 0, 0]).contains("cut short"));
  assert!(decode_error(&[1, 5, b'a', b'b']).contains("says 5 bytes but only 2 follow"));
  assert!(decode_error(&[1, 1, b'a', b'b']).contains("1 unexpected bytes"));
  assert!(
    decode_error(&[1, 0xFE, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF])
      .contains("only 0 follow")
  );
}

#[test]
fn raw_token_without_framing_is_refused() {
  // the StarRocks issue's mistake: 'e' of "eyJ" read as a length of 101
  let raw = b"\x01eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln";
  assert!(decode_error(raw).contains("says 101 bytes"));
}

#[test]
fn round_trips_lengths_around_every_boundary() {
  for boundary in [250usize, 65_535, 16_777_215] {
    for len in boundary - 1..=boundary + 1 {
      let token = vec![b'.'; len];
      let response = encode_auth_response(1, &token);
      assert_eq!(
        decode_auth_response(&response).map(|r| r.token.len()),
        Ok(len)
      );
    }
  }
}

proptest! {
  #[test]
  fn round_trips_any_token(capability in any::<u8>(), token in proptest::collection::vec(any::<u8>(), 0..70_000)) {
    let response = encode_auth_response(capability, &token);
    prop_assert_eq!(response.len(), 1 + lenenc_int_size(token.len() as u64) + token.len());
    let decoded = decode_auth_response(&response).map_err(|e| TestCaseError::fail(e.message))?;
    prop_assert_eq!(decoded.capability, capability);
    prop_assert_eq!(decoded.token, &token[..]);
  }

  #[test]
  fn decoder_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
    let _ = decode_auth_response(&bytes);
  }

  // MySQL also reads a wider-than-needed length form (FC 00 00 for 0), so only the layout is exact
  #[test]
  fn decoder_reads_capability_then_exactly_the_declared_token(bytes in proptest::collection::vec(any::<u8>(), 1..300)) {
    if let Ok(decoded) = decode_auth_response(&bytes) {
      prop_assert_eq!(decoded.capability, bytes[0]);
      let header = bytes.len() - decoded.token.len() - 1;
      prop_assert!(matches!((bytes[1], header), (0..=250, 1) | (0xFC, 3) | (0xFD, 4) | (0xFE, 9)));
      prop_assert_eq!(decoded.token, &bytes[1 + header..]);
    }
  }
}
