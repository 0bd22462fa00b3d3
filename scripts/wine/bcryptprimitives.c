/* For running Duplex's Windows build under Wine 8 only: never ship it.
 *
 * Rust's standard library takes its random numbers from ProcessPrng in bcryptprimitives.dll
 * (Windows 10 and later). Wine 8 has no such export, so a Rust .exe dies at load with status
 * c0000135. This DLL exports ProcessPrng over RtlGenRandom (advapi32's SystemFunction036),
 * which Wine has. scripts/windows-under-wine.sh builds it with mingw and installs it into the
 * test Wine prefix only. Windows itself has the real one. */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length) {
    while (length > 0) {
        ULONG chunk = length > 0x7fffffff ? 0x7fffffff : (ULONG)length;
        if (!SystemFunction036(data, chunk)) return FALSE;
        data += chunk;
        length -= chunk;
    }
    return TRUE;
}
