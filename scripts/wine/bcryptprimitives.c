/* Wine-only shim: Debian's wine 8.0 has no ProcessPrng in bcryptprimitives.dll, which the Rust
 * standard library (>= 1.78) imports on Windows; programs then exit with code 53 before main.
 * This DLL exports ProcessPrng and forwards it to RtlGenRandom (advapi32!SystemFunction036).
 * Real Windows (10 and later) has the function: this is never shipped, only placed next to test
 * executables run under wine (scripts/wine/runner). */
#include <windows.h>

typedef BOOLEAN(WINAPI *rtl_gen_random_fn)(PVOID, ULONG);

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len) {
    static rtl_gen_random_fn gen = NULL;
    if (gen == NULL) {
        HMODULE advapi = LoadLibraryA("advapi32.dll");
        if (advapi == NULL) return FALSE;
        gen = (rtl_gen_random_fn)(void *)GetProcAddress(advapi, "SystemFunction036");
        if (gen == NULL) return FALSE;
    }
    /* RtlGenRandom takes a ULONG length: feed large requests in pieces. */
    while (len > 0) {
        ULONG chunk = len > 0x40000000 ? 0x40000000 : (ULONG)len;
        if (!gen(data, chunk)) return FALSE;
        data += chunk;
        len -= chunk;
    }
    return TRUE;
}

BOOL WINAPI DllMain(HINSTANCE inst, DWORD reason, LPVOID reserved) {
    (void)inst; (void)reason; (void)reserved;
    return TRUE;
}
