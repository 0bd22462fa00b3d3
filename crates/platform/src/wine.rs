//! Whether this Windows build runs under Wine, and which Wine. Wine implements most of the
//! Windows API, but not all: its performance counters (PDH) lack `PdhEnumObjectsW`, which sysinfo
//! calls for CPU load, and Wine turns a missing function into an abort rather than an error.
//! So the CPU sensor and the live monitor ask here first, and runs record "under Wine".

/// Wine's version ("8.0") when this process runs under Wine; None on Windows itself and on
/// every other OS.
pub fn version() -> Option<&'static str> {
    #[cfg(windows)]
    {
        static VERSION: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
        VERSION.get_or_init(ask_ntdll).as_deref()
    }
    #[cfg(not(windows))]
    None
}

/// Why CPU load cannot be read under Wine (sysinfo's reading would abort the process).
pub fn no_cpu_load(wine: &str) -> String {
    format!(
        "running under Wine {wine}, which does not implement the Windows performance counters \
         (PdhEnumObjectsW) that CPU load is read from"
    )
}

/// Wine's ntdll exports `const char *wine_get_version(void)`; Windows' does not. This is the
/// check the Wine project recommends.
#[cfg(windows)]
#[allow(unsafe_code)]
fn ask_ntdll() -> Option<String> {
    use std::ffi::{CStr, c_char};
    use windows::Win32::System::LibraryLoader::{GetModuleHandleA, GetProcAddress};
    use windows::core::s;

    // SAFETY: ntdll.dll is mapped into every Windows process for its whole life, so the module
    // handle stays valid. GetProcAddress returns None or the address of Wine's
    // `wine_get_version`, whose C signature is `const char *(void)`: the transmute gives it that
    // type. It returns a pointer to a static NUL-terminated string (or null, checked).
    unsafe {
        let ntdll = GetModuleHandleA(s!("ntdll.dll")).ok()?;
        let found = GetProcAddress(ntdll, s!("wine_get_version"))?;
        let wine_get_version: extern "C" fn() -> *const c_char = std::mem::transmute(found);
        let text = wine_get_version();
        Some(if text.is_null() {
            "unknown".to_owned()
        } else {
            CStr::from_ptr(text).to_string_lossy().into_owned()
        })
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn wine_is_named_only_under_wine() {
        match std::env::var("DUPLEX_EXPECT_WINE").ok().as_deref() {
            // scripts/check-windows.sh runs the Windows tests under Wine and says so here.
            Some("1") => assert!(super::version().is_some_and(|v| !v.is_empty())),
            _ => assert_eq!(super::version(), None),
        }
    }
}
