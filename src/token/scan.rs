//! Whole-token byte scans written so the compiler vectorizes them: a branch-free fold over the
//! bytes answers "is anything wrong", and only then is the token walked byte by byte.

/// Bytes per fold whose counts fit a u8; counting in u8 lanes is what lets the fold vectorize.
const CHUNK: usize = 64;

#[inline(always)]
fn is_space_or_control(b: u8) -> bool {
  (b <= b' ') | (b == 0x7F)
}

/// base64url's alphabet, A-Z a-z 0-9 - _, as branch-free range checks.
#[inline(always)]
pub fn is_base64url(b: u8) -> bool {
  ((b | 0x20).wrapping_sub(b'a') < 26) | (b.wrapping_sub(b'0') < 10) | (b == b'-') | (b == b'_')
}

/// Index of the first whitespace or control byte (<= 0x20 or 0x7F), if any.
pub fn first_space_or_control(bytes: &[u8]) -> Option<usize> {
  let any = bytes
    .iter()
    .fold(false, |acc, &b| acc | is_space_or_control(b));
  if !any {
    return None;
  }
  bytes.iter().position(|&b| is_space_or_control(b))
}

/// The two dots of a well-formed compact JWT: every other byte base64url, three non-empty parts of
/// lengths base64url can have. None for anything else, which the caller then explains slowly.
pub fn well_formed_jwt_dots(token: &[u8]) -> Option<(usize, usize)> {
  let mut dots = [0usize; 2];
  let mut found = 0;
  for (index, chunk) in token.chunks(CHUNK).enumerate() {
    let (chunk_dots, strays) = count_dots_and_strays(chunk);
    if strays != 0 || found + chunk_dots > 2 {
      return None;
    }
    // only the one or two chunks that hold a dot are walked byte by byte
    let positions = chunk.iter().enumerate().filter(|&(_, &b)| b == b'.');
    for (at, _) in positions.take(chunk_dots) {
      dots[found] = index * CHUNK + at;
      found += 1;
    }
  }
  let [first, second] = dots;
  let lengths = [
    first,
    second.wrapping_sub(first + 1),
    token.len().wrapping_sub(second + 1),
  ];
  (found == 2 && lengths.iter().all(|&len| len > 0 && len % 4 != 1)).then_some((first, second))
}

/// Dots in a chunk of at most 255 bytes, and whether any byte is neither a dot nor base64url.
#[inline(always)]
fn count_dots_and_strays(chunk: &[u8]) -> (usize, u8) {
  let (mut dots, mut strays) = (0u8, 0u8);
  for &b in chunk {
    let dot = b == b'.';
    dots += u8::from(dot);
    strays |= u8::from(!dot & !is_base64url(b));
  }
  (usize::from(dots), strays)
}

#[cfg(test)]
mod tests {
  use proptest::prelude::*;

  use super::*;

  /// The rules part by part, written the obvious way.
  fn slow_dots(token: &[u8]) -> Option<(usize, usize)> {
    let dots: Vec<usize> = (0..token.len()).filter(|&i| token[i] == b'.').collect();
    let parts: Vec<&[u8]> = token.split(|&b| b == b'.').collect();
    let alphabet = |b: &u8| b.is_ascii_alphanumeric() || *b == b'-' || *b == b'_';
    let good = parts.len() == 3
      && parts
        .iter()
        .all(|p| !p.is_empty() && p.len() % 4 != 1 && p.iter().all(alphabet));
    good.then(|| (dots[0], dots[1]))
  }

  #[test]
  fn alphabet_is_base64url_exactly() {
    for b in 0..=255u8 {
      assert_eq!(
        is_base64url(b),
        b.is_ascii_alphanumeric() || b == b'-' || b == b'_',
        "{b}"
      );
    }
  }

  #[test]
  fn dots_found_across_chunk_boundaries() {
    let token = format!("{}.{}.{}", "a".repeat(63), "b".repeat(64), "c".repeat(130));
    assert_eq!(well_formed_jwt_dots(token.as_bytes()), Some((63, 128)));
  }

  proptest! {
    #[test]
    fn fast_jwt_split_agrees_with_the_rules(token in "[A-Za-z0-9_.=+ -]{0,300}") {
      prop_assert_eq!(well_formed_jwt_dots(token.as_bytes()), slow_dots(token.as_bytes()));
    }

    #[test]
    fn fast_jwt_split_agrees_on_any_bytes(token in proptest::collection::vec(any::<u8>(), 0..200)) {
      prop_assert_eq!(well_formed_jwt_dots(&token), slow_dots(&token));
    }

    #[test]
    fn first_space_or_control_is_the_first(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
      let expected = bytes.iter().position(|&b| b <= b' ' || b == 0x7F);
      prop_assert_eq!(first_space_or_control(&bytes), expected);
    }
  }
}
