use proptest::prelude::*;

use super::*;

/// A DER element with the shortest length form.
fn der(tag: u8, contents: &[u8]) -> Vec<u8> {
  let length = contents.len();
  let mut out = vec![tag];
  if length < 0x80 {
    out.push(length as u8);
  } else {
    let bytes: Vec<u8> = length
      .to_be_bytes()
      .into_iter()
      .skip_while(|&b| b == 0)
      .collect();
    out.push(0x80 | bytes.len() as u8);
    out.extend(bytes);
  }
  out.extend_from_slice(contents);
  out
}

fn certificate() -> Vec<u8> {
  // big enough for a two-byte length, as real certificates have
  der(SEQUENCE, &der(0x04, &[7; 300]))
}

/// An SSL_SESSION shaped as OpenSSL writes it: version, TLS version, cipher, session id, master
/// key, time and timeout, then the peer certificate, then more fields.
fn session(peer: Option<&[u8]>) -> Vec<u8> {
  let mut fields = [
    der(0x02, &[1]),
    der(0x02, &[3, 4]),
    der(0x04, &[0x13, 0x02]),
    der(0x04, &[9; 32]),
    der(0x04, &[8; 48]),
    der(0xa1, &der(0x02, &[0x65, 0, 0, 0])),
    der(0xa2, &der(0x02, &[0x1c, 0x20])),
  ]
  .concat();
  if let Some(peer) = peer {
    fields.extend(der(PEER_FIELD, peer));
  }
  fields.extend(der(0xa4, &der(0x04, &[1, 2, 3])));
  der(SEQUENCE, &fields)
}

fn node_header(name: &[u8]) -> Vec<u8> {
  let mut out = b"\0nodejs:tls:session:1\0".to_vec();
  out.extend((name.len() as u16).to_be_bytes());
  out.extend_from_slice(name);
  out
}

#[test]
fn finds_the_certificate_in_a_bare_session_as_node_20_returns_it() {
  let certificate = certificate();
  assert_eq!(
    certificate_of_session(&session(Some(&certificate))),
    Some(&certificate[..])
  );
  assert_eq!(certificate_of_session(&session(None)), None);
}

#[test]
fn finds_it_after_the_header_of_node_22_and_later_whatever_the_server_name() {
  let certificate = certificate();
  // a name with bytes that look like DER (a '0' is 0x30, a SEQUENCE tag) changes nothing
  for name in [
    &b""[..],
    b"localhost",
    b"127.0.0.1",
    b"db0.example.test",
    &[b'0'; 253],
  ] {
    let wrapped = [node_header(name), session(Some(&certificate))].concat();
    assert_eq!(
      certificate_of_session(&wrapped),
      Some(&certificate[..]),
      "{name:?}"
    );
  }
}

#[test]
fn anything_else_is_no_certificate() {
  let certificate = certificate();
  let whole = session(Some(&certificate));
  let wrapped = [node_header(b"localhost"), whole.clone()].concat();
  let another_format = [
    b"\0nodejs:tls:session:2\0\0\x09localhost".to_vec(),
    whole.clone(),
  ]
  .concat();
  let mut trailing = whole.clone();
  trailing.push(0);
  let mut indefinite = whole.clone();
  indefinite[1] = 0x80;
  let not_a_certificate = session(Some(&der(0x04, b"x")));
  let two_in_one = session(Some(&[certificate.clone(), certificate.clone()].concat()));
  for (what, bytes) in [
    ("empty", Vec::new()),
    ("another header format", another_format),
    ("bytes after the session", trailing),
    ("an indefinite length", indefinite),
    ("a peer field that holds no SEQUENCE", not_a_certificate),
    ("a peer field with two elements", two_in_one),
    ("a truncated session", whole[..whole.len() - 1].to_vec()),
    ("a truncated header", wrapped[..25].to_vec()),
    (
      "a length past the end",
      vec![SEQUENCE, 0x84, 0xff, 0xff, 0xff, 0xff],
    ),
    (
      "too many length bytes",
      vec![SEQUENCE, 0x89, 0, 0, 0, 0, 0, 0, 0, 0, 0],
    ),
  ] {
    assert_eq!(certificate_of_session(&bytes), None, "{what}");
  }
}

proptest! {
  #[test]
  fn any_bytes_give_none_or_a_slice_of_the_input(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
    if let Some(found) = certificate_of_session(&bytes) {
      let start = found.as_ptr() as usize - bytes.as_ptr() as usize;
      prop_assert!(start + found.len() <= bytes.len());
      prop_assert_eq!(found[0], SEQUENCE);
    }
  }

  #[test]
  fn a_session_cut_anywhere_never_yields_a_certificate(cut in 0usize..400) {
    let whole = [node_header(b"localhost"), session(Some(&certificate()))].concat();
    let cut = cut.min(whole.len() - 1);
    prop_assert_eq!(certificate_of_session(&whole[..cut]), None);
  }
}
