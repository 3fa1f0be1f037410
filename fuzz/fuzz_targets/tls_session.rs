//! The TLS session reader on arbitrary bytes (what `getSession()` returned, Node's header or not):
//! it never panics, and what it finds is one DER SEQUENCE inside the input, found again when the
//! session is wrapped in Node 22's header.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mysql_openid_connect::tls_session::certificate_of_session;

fuzz_target!(|data: &[u8]| {
  if let Some(certificate) = certificate_of_session(data) {
    let start = certificate.as_ptr() as usize - data.as_ptr() as usize;
    assert!(start + certificate.len() <= data.len());
    assert_eq!(certificate[0], 0x30);
    if data[0] == 0x30 {
      let mut wrapped = b"\0nodejs:tls:session:1\0\0\x09localhost".to_vec();
      wrapped.extend_from_slice(data);
      assert_eq!(certificate_of_session(&wrapped), Some(certificate));
    }
  }
});
