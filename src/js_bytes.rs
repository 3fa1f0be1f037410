//! Bytes in and out of JavaScript at the least cost the Node-API allows: a token string is
//! transcoded once into a reused buffer, and a response is copied once into a Buffer taken from
//! Node's own Buffer pool (`napi_create_buffer` allocates a fresh ArrayBuffer: several times slower;
//! napi-rs's `Buffer` adds an external buffer whose finalizers pile up in a busy loop).

use std::cell::RefCell;
#[cfg(not(target_family = "wasm"))]
use std::ffi::c_void;
use std::ptr;

use napi::bindgen_prelude::{Env, JsValue, Unknown};
use napi::{sys, Status};

/// The reused buffer is dropped after a call that grew it past this, so a huge token is not kept.
const SCRATCH_KEPT_BYTES: usize = 256 * 1024;

/// Strings up to this many UTF-16 units are read in one pass into room for three bytes a unit.
const BOUND_BY_UNITS_UP_TO: usize = 64 * 1024;

thread_local! {
  static SCRATCH: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

fn status(code: sys::napi_status, what: &str) -> napi::Result<()> {
  if code == sys::Status::napi_ok {
    Ok(())
  } else {
    Err(napi::Error::new(Status::from(code), what.to_owned()))
  }
}

/// Runs `f` on the UTF-8 of a JS string (lone surrogates become U+FFFD, as Node-API writes them).
/// The bytes live in a per-thread buffer that is wiped after `f`, so no copy of a token outlives it.
pub fn with_string_utf8<T>(
  env: &Env,
  value: &Unknown,
  f: impl FnOnce(&[u8]) -> T,
) -> napi::Result<T> {
  SCRATCH.with(|cell| match cell.try_borrow_mut() {
    Ok(mut scratch) => {
      let result = read_utf8_into(env, value, &mut scratch).map(|()| f(&scratch));
      scratch.fill(0);
      scratch.clear();
      if scratch.capacity() > SCRATCH_KEPT_BYTES {
        *scratch = Vec::new();
      }
      result
    }
    // only if `f` re-entered through JS: a fresh buffer keeps it correct
    Err(_) => {
      let mut own = Vec::new();
      read_utf8_into(env, value, &mut own).map(|()| f(&own))
    }
  })
}

/// One transcoding pass: the UTF-16 length (free to ask) bounds the UTF-8 length at three bytes a
/// unit, so the buffer is sized once and `napi_get_value_string_utf8` runs once. A long string is
/// measured exactly instead, so a huge one never asks for three times its size.
fn read_utf8_into(env: &Env, value: &Unknown, out: &mut Vec<u8>) -> napi::Result<()> {
  let raw = value.value().value;
  let mut units = 0usize;
  // SAFETY: a null buffer asks only for the length, in UTF-16 code units
  status(
    unsafe { sys::napi_get_value_string_utf16(env.raw(), raw, ptr::null_mut(), 0, &mut units) },
    "the string's length could not be read",
  )?;
  let most_bytes = if units <= BOUND_BY_UNITS_UP_TO {
    units * 3
  } else {
    let mut exact = 0usize;
    // SAFETY: a null buffer asks only for the length, in UTF-8 bytes
    status(
      unsafe { sys::napi_get_value_string_utf8(env.raw(), raw, ptr::null_mut(), 0, &mut exact) },
      "the string's length could not be read",
    )?;
    exact
  };
  // room for the terminating NUL that Node-API always writes
  let room = most_bytes
    .checked_add(1)
    .ok_or_else(|| napi::Error::new(Status::InvalidArg, "the string is too long".to_owned()))?;
  out.clear();
  out.reserve(room);
  let mut written = 0usize;
  // SAFETY: `out` has `room` writable bytes; Node-API writes at most `room` of them, NUL included
  status(
    unsafe {
      sys::napi_get_value_string_utf8(env.raw(), raw, out.as_mut_ptr().cast(), room, &mut written)
    },
    "the string could not be read",
  )?;
  // SAFETY: the first `written` bytes (< room) were just initialized by Node-API
  unsafe { out.set_len(written) };
  Ok(())
}

/// A new Buffer holding `parts` one after another, copied once.
pub fn buffer_from_parts<'env>(env: &'env Env, parts: &[&[u8]]) -> napi::Result<Unknown<'env>> {
  let size = parts.iter().map(|part| part.len()).sum();
  #[cfg(not(target_family = "wasm"))]
  if let Some((value, data)) = call_alloc_unsafe(env, size) {
    let mut at = 0;
    for part in parts {
      // SAFETY: `data` has `size` writable bytes and the parts add up to `size`
      unsafe { ptr::copy_nonoverlapping(part.as_ptr(), data.add(at), part.len()) };
      at += part.len();
    }
    // SAFETY: `value` is a live Buffer created in this call's scope
    return Ok(unsafe { Unknown::from_raw_unchecked(env.raw(), value) });
  }
  // without the pool, and under emnapi (where a Buffer's bytes are not wasm memory, so a write
  // through a pointer would be lost), Node-API copies the joined bytes in
  let joined = parts.concat();
  let mut value = ptr::null_mut();
  // SAFETY: `joined` is valid for `size` bytes for the duration of the call
  status(
    unsafe {
      sys::napi_create_buffer_copy(
        env.raw(),
        size,
        joined.as_ptr().cast(),
        ptr::null_mut(),
        &mut value,
      )
    },
    "a Buffer could not be allocated",
  )?;
  // SAFETY: as above
  Ok(unsafe { Unknown::from_raw_unchecked(env.raw(), value) })
}

/// `Buffer.allocUnsafe(size)`, or None if it is unavailable or returns something else.
#[cfg(not(target_family = "wasm"))]
fn call_alloc_unsafe(env: &Env, size: usize) -> Option<(sys::napi_value, *mut u8)> {
  let alloc = alloc_unsafe_function(env)?;
  let raw = env.raw();
  let length = u32::try_from(size).ok()?;
  let mut argument = ptr::null_mut();
  let mut receiver = ptr::null_mut();
  let mut value = ptr::null_mut();
  // SAFETY: plain Node-API calls on values of this scope; a JS exception is cleared below
  unsafe {
    if sys::napi_create_uint32(raw, length, &mut argument) != sys::Status::napi_ok
      || sys::napi_get_undefined(raw, &mut receiver) != sys::Status::napi_ok
    {
      return None;
    }
    if sys::napi_call_function(raw, receiver, alloc, 1, &argument, &mut value)
      != sys::Status::napi_ok
    {
      let mut ignored = ptr::null_mut();
      sys::napi_get_and_clear_last_exception(raw, &mut ignored);
      return None;
    }
    let mut data: *mut c_void = ptr::null_mut();
    let mut got = 0usize;
    // a replaced Buffer.allocUnsafe is trusted only if it gave a Buffer of the asked size
    let is_buffer =
      sys::napi_get_buffer_info(raw, value, &mut data, &mut got) == sys::Status::napi_ok;
    (is_buffer && got == size && (size == 0 || !data.is_null())).then_some((value, data.cast()))
  }
}

/// `Buffer.allocUnsafe` of this environment, looked up once and kept as the env's instance data.
#[cfg(not(target_family = "wasm"))]
fn alloc_unsafe_function(env: &Env) -> Option<sys::napi_value> {
  let raw = env.raw();
  // SAFETY: the instance data slot of this addon holds only the Box<napi_ref> set below
  unsafe {
    let mut data: *mut c_void = ptr::null_mut();
    if sys::napi_get_instance_data(raw, &mut data) != sys::Status::napi_ok {
      return None;
    }
    if data.is_null() {
      let reference = create_alloc_unsafe_reference(raw)?;
      data = Box::into_raw(Box::new(reference)).cast();
      if sys::napi_set_instance_data(raw, data, Some(drop_reference), ptr::null_mut())
        != sys::Status::napi_ok
      {
        drop(Box::from_raw(data.cast::<sys::napi_ref>()));
        return None;
      }
    }
    let mut function = ptr::null_mut();
    let reference = *data.cast::<sys::napi_ref>();
    (sys::napi_get_reference_value(raw, reference, &mut function) == sys::Status::napi_ok
      && !function.is_null())
    .then_some(function)
  }
}

#[cfg(not(target_family = "wasm"))]
unsafe fn create_alloc_unsafe_reference(raw: sys::napi_env) -> Option<sys::napi_ref> {
  let mut global = ptr::null_mut();
  let mut buffer = ptr::null_mut();
  let mut function = ptr::null_mut();
  let mut kind = sys::ValueType::napi_undefined;
  let mut reference = ptr::null_mut();
  // SAFETY: plain Node-API calls on values of the current scope
  let ok = unsafe {
    sys::napi_get_global(raw, &mut global) == sys::Status::napi_ok
      && sys::napi_get_named_property(raw, global, c"Buffer".as_ptr(), &mut buffer)
        == sys::Status::napi_ok
      && sys::napi_get_named_property(raw, buffer, c"allocUnsafe".as_ptr(), &mut function)
        == sys::Status::napi_ok
      && sys::napi_typeof(raw, function, &mut kind) == sys::Status::napi_ok
      && kind == sys::ValueType::napi_function
      && sys::napi_create_reference(raw, function, 1, &mut reference) == sys::Status::napi_ok
  };
  if !ok {
    // a failed lookup may leave a pending exception (a throwing getter): never let it escape
    let mut ignored = ptr::null_mut();
    // SAFETY: clearing is harmless when nothing is pending
    unsafe { sys::napi_get_and_clear_last_exception(raw, &mut ignored) };
  }
  ok.then_some(reference)
}

#[cfg(not(target_family = "wasm"))]
unsafe extern "C" fn drop_reference(env: sys::napi_env, data: *mut c_void, _hint: *mut c_void) {
  // SAFETY: `data` is the Box<napi_ref> made in alloc_unsafe_function, freed only here
  let reference = unsafe { Box::from_raw(data.cast::<sys::napi_ref>()) };
  // SAFETY: the env is still valid while its instance data is finalized
  unsafe { sys::napi_delete_reference(env, *reference) };
}
