//! The auth-switch response decoder on arbitrary bytes: it never panics, and what it accepts is a
//! capability byte, a length header and exactly that many token bytes, which re-encode to the same
//! response (byte for byte when the header was the shortest form; MySQL also reads longer forms).
#![no_main]

use libfuzzer_sys::fuzz_target;
use mysql_openid_connect::wire::{decode_auth_response, encode_auth_response, lenenc_int_size};

fuzz_target!(|data: &[u8]| {
  if let Ok(decoded) = decode_auth_response(data) {
    let header = data.len() - 1 - decoded.token.len();
    assert!([1, 3, 4, 9].contains(&header));
    assert_eq!(decoded.token, &data[1 + header..]);
    let shortest = header == lenenc_int_size(decoded.token.len() as u64);
    let encoded = encode_auth_response(decoded.capability, decoded.token);
    assert_eq!(decode_auth_response(&encoded), Ok(decoded));
    if shortest {
      assert_eq!(encoded, data);
    }
  }
});
