use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use proptest::prelude::*;

use super::*;

const NOW: f64 = 1_800_000_000.0;

fn b64(text: &str) -> String {
  URL_SAFE_NO_PAD.encode(text)
}

fn jwt(header: &str, payload: &str) -> String {
  format!("{}.{}.c2lnbmF0dXJl", b64(header), b64(payload))
}

fn good() -> String {
  jwt(
    r#"{"alg":"RS256","typ":"JWT"}"#,
    r#"{"sub":"alice","exp":1800000600}"#,
  )
}

fn refused(token: &[u8], rules: &TokenRules) -> OidcError {
  check_token(token, rules, NOW).expect_err("must be refused")
}

fn code_of(token: &str) -> ErrorCode {
  refused(token.as_bytes(), &TokenRules::default()).code
}

#[test]
fn accepts_a_well_formed_unexpired_jwt() {
  let token = good();
  assert_eq!(
    check_token(token.as_bytes(), &TokenRules::default(), NOW),
    Ok(token.as_bytes())
  );
}

#[test]
fn removes_surrounding_whitespace_only() {
  let token = good();
  let padded = format!(" \t{token}\r\n");
  assert_eq!(
    check_token(padded.as_bytes(), &TokenRules::default(), NOW),
    Ok(token.as_bytes())
  );
}

#[test]
fn refuses_empty_and_blank() {
  assert_eq!(code_of(""), ErrorCode::TokenEmpty);
  assert_eq!(code_of(" \n\t"), ErrorCode::TokenEmpty);
}

#[test]
fn refuses_whitespace_and_control_characters_inside() {
  let token = good();
  for bad in [" ", "\n", "\t", "\0", "\x7f"] {
    let inside = format!("{}{bad}{}", &token[..10], &token[10..]);
    let err = refused(inside.as_bytes(), &TokenRules::default());
    assert_eq!(err.code, ErrorCode::TokenMalformed);
    assert!(err.message.contains("byte 10"), "{}", err.message);
  }
}

#[test]
fn size_limit_counts_the_trimmed_token() {
  let token = good();
  let rules = TokenRules {
    max_token_bytes: token.len(),
    ..TokenRules::default()
  };
  assert!(check_token(format!("{token}\n").as_bytes(), &rules, NOW).is_ok());
  let rules = TokenRules {
    max_token_bytes: token.len() - 1,
    ..TokenRules::default()
  };
  let err = refused(token.as_bytes(), &rules);
  assert_eq!(err.code, ErrorCode::TokenTooLarge);
  assert!(err.message.contains(&format!("{} bytes", token.len())));
}

#[test]
fn refuses_wrong_part_counts_and_empty_parts() {
  for token in ["abc", "abc.def", "a.b.c.d", "a..c", ".b.c", "a.b."] {
    assert_eq!(code_of(token), ErrorCode::TokenMalformed, "{token}");
  }
  let message = refused(b"abc.def", &TokenRules::default()).message;
  assert!(message.contains("2 dot-separated part(s)"), "{message}");
}

#[test]
fn refuses_non_base64url_and_padding() {
  let token = good();
  let padded = token.replacen('.', "=.", 1);
  assert!(refused(padded.as_bytes(), &TokenRules::default())
    .message
    .contains("padding"));
  let plus = format!("{}+{}", &token[..4], &token[5..]);
  assert!(refused(plus.as_bytes(), &TokenRules::default())
    .message
    .contains("outside base64url"));
  // a part of 4n+1 characters cannot be base64url at all
  assert!(
    refused(b"eyJhbGciOiJSUzI1NiJ9.e30.abcde", &TokenRules::default())
      .message
      .contains("truncated")
  );
}

#[test]
fn header_must_be_an_object_with_a_string_alg_other_than_none() {
  let payload = r#"{"sub":"a"}"#;
  for header in [
    r#"["RS256"]"#,
    r#""RS256""#,
    r#"{"typ":"JWT"}"#,
    r#"{"alg":5}"#,
    "not json",
    r#"{"alg":"RS256""#,
  ] {
    assert_eq!(
      code_of(&jwt(header, payload)),
      ErrorCode::TokenMalformed,
      "{header}"
    );
  }
  for none in ["none", "None", "NONE"] {
    let message = refused(
      jwt(&format!(r#"{{"alg":"{none}"}}"#), payload).as_bytes(),
      &TokenRules::default(),
    )
    .message;
    assert!(message.contains("unsigned"), "{message}");
  }
}

#[test]
fn payload_must_be_an_object_with_numeric_times() {
  let header = r#"{"alg":"ES256"}"#;
  for payload in [
    "[]",
    "42",
    "nope",
    r#"{"exp":"tomorrow"}"#,
    r#"{"nbf":true}"#,
  ] {
    assert_eq!(
      code_of(&jwt(header, payload)),
      ErrorCode::TokenMalformed,
      "{payload}"
    );
  }
  assert!(check_token(jwt(header, "{}").as_bytes(), &TokenRules::default(), NOW).is_ok());
  assert!(check_token(
    jwt(header, r#"{"exp":1.9e9}"#).as_bytes(),
    &TokenRules::default(),
    NOW
  )
  .is_ok());
}

#[test]
fn expiry_allows_the_clock_skew_and_says_when() {
  let header = r#"{"alg":"RS256"}"#;
  let at = |exp: f64| jwt(header, &format!(r#"{{"exp":{exp}}}"#));
  assert!(check_token(at(NOW - 30.0).as_bytes(), &TokenRules::default(), NOW).is_ok());
  let err = refused(at(NOW - 31.0).as_bytes(), &TokenRules::default());
  assert_eq!(err.code, ErrorCode::TokenExpired);
  assert!(
    err.message.contains("2027-01-15T07:59:29Z"),
    "{}",
    err.message
  );
  assert!(err.message.contains("31 s ago"), "{}", err.message);
  let strict = TokenRules {
    clock_skew_seconds: 0.0,
    ..TokenRules::default()
  };
  assert_eq!(
    refused(at(NOW - 1.0).as_bytes(), &strict).code,
    ErrorCode::TokenExpired
  );
}

#[test]
fn not_before_allows_the_clock_skew() {
  let header = r#"{"alg":"RS256"}"#;
  let at = |nbf: f64| jwt(header, &format!(r#"{{"nbf":{nbf}}}"#));
  assert!(check_token(at(NOW + 30.0).as_bytes(), &TokenRules::default(), NOW).is_ok());
  let err = refused(at(NOW + 90.0).as_bytes(), &TokenRules::default());
  assert_eq!(err.code, ErrorCode::TokenNotYetValid);
  assert!(err.message.contains("90 s from now"), "{}", err.message);
}

#[test]
fn issued_in_the_future_means_this_clock_is_behind() {
  let at = |iat: f64| jwt(r#"{"alg":"RS256"}"#, &format!(r#"{{"iat":{iat}}}"#));
  assert!(check_token(at(NOW + 30.0).as_bytes(), &TokenRules::default(), NOW).is_ok());
  let err = refused(at(NOW + 95.0).as_bytes(), &TokenRules::default());
  assert_eq!(err.code, ErrorCode::TokenNotYetValid);
  for words in [
    "issued in the future",
    "behind the identity provider's by about 95 s",
    "Percona Server refuses any token whose iat is in the future",
    "(NTP)",
  ] {
    assert!(err.message.contains(words), "{}", err.message);
  }
  let strict = TokenRules {
    clock_skew_seconds: 0.0,
    ..TokenRules::default()
  };
  assert_eq!(
    refused(at(NOW + 1.0).as_bytes(), &strict).code,
    ErrorCode::TokenNotYetValid
  );
  let text = jwt(r#"{"alg":"RS256"}"#, r#"{"iat":"1800000000"}"#);
  assert!(refused(text.as_bytes(), &TokenRules::default())
    .message
    .contains(r#""iat" is not a number"#));
}

#[test]
fn a_pasted_json_token_response_gets_a_hint() {
  let pasted = format!(r#"{{"id_token": "{}", "token_type": "Bearer"}}"#, good());
  let err = refused(pasted.as_bytes(), &TokenRules::default());
  assert_eq!(err.code, ErrorCode::TokenMalformed);
  assert!(
    err.message.contains(r#"looks like a JSON token response"#) && err.message.contains("id_token"),
    "{}",
    err.message
  );
  assert_eq!(decode_id_token(pasted.as_bytes(), 100_000), Err(err));
}

#[test]
fn an_unsigned_token_without_signature_is_called_unsigned() {
  let token = format!("{}.{}.", b64(r#"{"alg":"none"}"#), b64(r#"{"sub":"a"}"#));
  assert!(refused(token.as_bytes(), &TokenRules::default())
    .message
    .contains("unsigned"));
  let signed = format!("{}.{}.", b64(r#"{"alg":"RS256"}"#), b64(r#"{"sub":"a"}"#));
  assert!(refused(signed.as_bytes(), &TokenRules::default())
    .message
    .contains("signature is empty"));
}

#[test]
fn validate_false_keeps_only_shape_rules() {
  let rules = TokenRules {
    validate: false,
    max_token_bytes: 20,
    ..TokenRules::default()
  };
  assert_eq!(
    check_token(b"opaque-token\n", &rules, NOW),
    Ok(&b"opaque-token"[..])
  );
  assert_eq!(refused(b"   ", &rules).code, ErrorCode::TokenEmpty);
  assert_eq!(
    refused(b"two words", &rules).code,
    ErrorCode::TokenMalformed
  );
  assert_eq!(refused(&[b'a'; 21], &rules).code, ErrorCode::TokenTooLarge);
}

#[test]
fn describes_times_in_and_out_of_range() {
  assert_eq!(describe_time(0.0), "1970-01-01T00:00:00Z");
  assert_eq!(describe_time(-5.0), "NumericDate -5");
  assert_eq!(describe_time(1e13), "NumericDate 10000000000000");
}

#[test]
fn decodes_for_inspection() {
  let decoded = decode_id_token(good().as_bytes(), 100_000).expect("decodes");
  assert_eq!(decoded.header["alg"], "RS256");
  assert_eq!(decoded.claims["sub"], "alice");
  assert_eq!(decoded.expires_at, Some(1_800_000_600.0));
  let unsigned = jwt(r#"{"alg":"none"}"#, r#"{"sub":"a","exp":1}"#);
  assert_eq!(
    decode_id_token(unsigned.as_bytes(), 100_000).map(|d| d.expires_at),
    Ok(Some(1.0))
  );
}

#[test]
fn messages_never_quote_the_token() {
  let secret = "SECRETSECRET";
  let cases = [
    jwt(r#"{"alg":"none"}"#, &format!(r#"{{"sub":"{secret}"}}"#)),
    jwt(&format!(r#"{{"alg":{secret}}}"#), "{}"),
    jwt(r#"{"alg":"RS256"}"#, &format!(r#"{{"exp":"{secret}"}}"#)),
    jwt(
      r#"{"alg":"RS256"}"#,
      &format!(r#"{{"sub":"{secret}","exp":5}}"#),
    ),
    format!("{secret}.{secret}"),
    format!("{secret} {secret}"),
    jwt(
      r#"{"alg":"RS256"}"#,
      &format!(r#"{{"{secret}":1,"{secret}":2}}"#),
    ),
    jwt(
      r#"{"alg":"RS256"}"#,
      &format!(r#"{{"sub":"{secret}","iat":1900000000}}"#),
    ),
    format!(r#"{{"id_token":"{secret}"}}"#),
    format!("{}.{}.", b64(r#"{"alg":"none"}"#), b64(secret)),
  ];
  for token in cases {
    let err = refused(token.as_bytes(), &TokenRules::default());
    assert!(
      !err.message.contains(secret) && !err.message.contains(&b64(secret)[..8]),
      "{}",
      err.message
    );
  }
}

proptest! {
  #[test]
  fn rules_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400), validate in any::<bool>()) {
    let rules = TokenRules { validate, ..TokenRules::default() };
    let _ = check_token(&bytes, &rules, NOW);
    let _ = decode_id_token(&bytes, 10_000);
  }

  #[test]
  fn rules_never_panic_on_near_jwts(header in "\\PC{0,40}", payload in "\\PC{0,60}", sig in "[A-Za-z0-9_-]{0,12}") {
    let token = format!("{}.{}.{sig}", b64(&header), b64(&payload));
    let _ = check_token(token.as_bytes(), &TokenRules::default(), NOW);
    let _ = decode_id_token(token.as_bytes(), 10_000);
  }

  #[test]
  fn accepted_tokens_come_back_trimmed(token in "[A-Za-z0-9_-]{1,30}", pad in "[ \\t\\r\\n]{0,3}") {
    let rules = TokenRules { validate: false, ..TokenRules::default() };
    let raw = format!("{pad}{token}{pad}");
    prop_assert_eq!(check_token(raw.as_bytes(), &rules, NOW), Ok(token.as_bytes()));
  }
}

#[test]
fn a_login_check_reads_the_claims_it_acts_on_from_the_same_parse() {
  let token = jwt(
    r#"{"alg":"RS256"}"#,
    r#"{"iss":"https://idp","sub":"alice","email":"a@b","exp":1800000600,"iat":1799999990}"#,
  );
  let checked = check_login_token(token.as_bytes(), &TokenRules::default(), NOW).expect("passes");
  assert_eq!(checked.token, token.as_bytes());
  assert_eq!(
    checked.claims,
    Some(LoginClaims {
      exp: Some(1_800_000_600.0),
      iat: Some(1_799_999_990.0),
      iss: Some("https://idp".to_owned()),
      sub: Some("alice".to_owned()),
      has_email: true,
    })
  );
  // claims of another type are not strings to act on; a missing email is said as such
  let odd = jwt(
    r#"{"alg":"RS256"}"#,
    r#"{"iss":1,"sub":["a"],"email":null}"#,
  );
  let claims = check_login_token(odd.as_bytes(), &TokenRules::default(), NOW)
    .expect("passes")
    .claims;
  assert_eq!(claims, Some(LoginClaims::default()));
  // validate: false reads no claims; a token refused by the rules is refused here too
  let rules = TokenRules {
    validate: false,
    ..TokenRules::default()
  };
  assert_eq!(
    check_login_token(b"opaque\n", &rules, NOW),
    Ok(CheckedToken {
      token: b"opaque",
      claims: None
    })
  );
  let expired = jwt(r#"{"alg":"RS256"}"#, r#"{"exp":1}"#);
  assert_eq!(
    check_login_token(expired.as_bytes(), &TokenRules::default(), NOW).map(|c| c.token),
    check_token(expired.as_bytes(), &TokenRules::default(), NOW)
  );
}
