//! The token rules on arbitrary bytes, raw and dressed as a JWT (base64url of the input's halves
//! as header and payload): they never panic, an accepted token comes back trimmed and is a
//! well-formed JWT that inspection reads (as exactly the JSON its parts hold), and the fast
//! one-pass JWT split agrees with the part-by-part rules.
#![no_main]

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value};
use mysql_openid_connect::token::{
  check_shape, check_token, decode_id_token, split_jwt, TokenRules,
};

const NOW: f64 = 1_800_000_000.0;

fn check(raw: &[u8]) {
  for validate in [true, false] {
    let rules = TokenRules {
      validate,
      ..TokenRules::default()
    };
    if let Ok(token) = check_token(raw, &rules, NOW) {
      assert_eq!(token, raw.trim_ascii());
      if validate {
        let parts = split_jwt(token).expect("an accepted token splits");
        let decoded = decode_id_token(raw, usize::MAX).expect("an accepted token inspects");
        // inspection refuses duplicate keys, so serde_json's last-wins reading is the same JSON
        let json = |part: &[u8]| {
          let text = URL_SAFE_NO_PAD.decode(part).expect("base64url");
          serde_json::from_slice::<Map<String, Value>>(&text).expect("JSON")
        };
        assert_eq!(decoded.header, json(parts[0]));
        assert_eq!(decoded.claims, json(parts[1]));
      }
    }
  }
  if let Ok(token) = check_shape(raw, usize::MAX) {
    if let Ok(parts) = split_jwt(token) {
      // the three parts are the token's own bytes around its two dots
      assert_eq!(
        parts.iter().map(|p| p.len()).sum::<usize>() + 2,
        token.len()
      );
      assert!(parts.iter().all(|p| !p.is_empty() && p.len() % 4 != 1));
    }
  }
}

fuzz_target!(|data: &[u8]| {
  check(data);
  let (header, payload) = data.split_at(data.len() / 2);
  let dressed = format!(
    "{}.{}.c2ln",
    URL_SAFE_NO_PAD.encode(header),
    URL_SAFE_NO_PAD.encode(payload)
  );
  check(dressed.as_bytes());
  // and a payload that is JSON for sure, so the claim readers see objects with odd values
  if let Ok(text) = std::str::from_utf8(payload) {
    let json = serde_json::json!({ "exp": text, "nbf": data.len(), "x": text }).to_string();
    let token = format!("eyJhbGciOiJSUzI1NiJ9.{}.c2ln", URL_SAFE_NO_PAD.encode(json));
    check(token.as_bytes());
  }
});
