/* Test-only stand-in for bcryptprimitives.dll, which Wine 8 lacks. Rust's std imports ProcessPrng
 * from it (Windows 10+), so without it any Rust .node fails to load under Wine with "Module not
 * found". scripts/windows-check.sh builds this into the Wine prefix's system32; real Windows has
 * the real DLL. It forwards to RtlGenRandom (advapi32's SystemFunction036), Wine's OS randomness. */
#include <windows.h>
#include <ntsecapi.h>

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len) {
  while (len > 0) {
    ULONG chunk = len > 0x10000000 ? 0x10000000 : (ULONG)len;
    if (!RtlGenRandom(data, chunk)) return FALSE;
    data += chunk;
    len -= chunk;
  }
  return TRUE;
}
