/* Wine-only shim: Debian's wine 8.0 has no coremessaging.dll, which the Windows screen capture
 * (windows-capture, crates/video/src/capture.rs) imports for CreateDispatcherQueueController;
 * without it every program that links the capture exits with code 53 before main. This DLL
 * exports the function and answers E_NOTIMPL, so a capture started under wine fails with a clear
 * error instead (wine has no Windows.Graphics.Capture either). Real Windows (10 1709 and later)
 * has the DLL: this is never shipped, only placed next to executables run under wine
 * (scripts/wine/runner). */
#include <windows.h>

HRESULT WINAPI CreateDispatcherQueueController(void *options, void **controller) {
    (void)options;
    if (controller != NULL) *controller = NULL;
    return E_NOTIMPL;
}

BOOL WINAPI DllMain(HINSTANCE inst, DWORD reason, LPVOID reserved) {
    (void)inst; (void)reason; (void)reserved;
    return TRUE;
}
