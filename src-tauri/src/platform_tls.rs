//! What each platform needs for TLS once the app's window exists.
//!
//! - **The web view's TLS to the embedded server.** A web page uses TLS only with servers its
//!   browser trusts, and the embedded server's certificate is made at its start, so the app tells
//!   its own web view to trust exactly that certificate for the server's own host names. Then the
//!   page's clients measure `wss` and `https` as the native ones do. Built for WebKitGTK (Linux),
//!   which can trust one certificate for one host. WebView2 (`ServerCertificateErrorDetected`)
//!   and Android's WebView (`onReceivedSslError`) could do the same with a check of the
//!   fingerprint, but neither can be built on the machine Duplex is developed on; there the web
//!   view keeps [`WebTrust::Untrusted`] and the plan form and the report say why.
//! - **Android's platform verifier** (remote servers' certificates, checked by Android's own
//!   trust store) calls into its Java component, which needs the app's context: handed over here.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use duplex_core::clients::WebTrust;

/// Whether the app's web view trusts the embedded server's certificate (set once the web view
/// has been told to).
#[derive(Debug, Default, Clone)]
pub struct WebviewTrust(Arc<AtomicBool>);

impl WebviewTrust {
    pub fn get(&self) -> WebTrust {
        if self.0.load(Ordering::Acquire) { WebTrust::Trusted } else { WebTrust::Untrusted }
    }

    #[cfg(target_os = "linux")]
    fn set(&self) {
        self.0.store(true, Ordering::Release);
    }
}

/// Host names the page reaches the embedded server by.
#[cfg(target_os = "linux")]
const HOSTS: [&str; 2] = ["127.0.0.1", "localhost"];

/// Sets up TLS for the platform: on Linux, tells the main window's web view to trust the
/// embedded server's certificate (WebKitGTK's allow-certificate-for-host); on Android, hands the
/// platform verifier the app's context.
pub fn set_up<R: tauri::Runtime>(app: &tauri::App<R>) {
    #[cfg(target_os = "linux")]
    {
        use tauri::Manager;
        let state = app.state::<crate::DuplexState>();
        let Some(tls) = state.server.as_ref().ok().and_then(|s| s.tls()) else { return };
        let Some(window) = app.get_webview_window("main") else {
            tracing::warn!("no main window: its web view measures no TLS transport");
            return;
        };
        let pem = pem::encode(&pem::Pem::new("CERTIFICATE", tls.certificate().to_vec()));
        let trust = state.webview_trust.clone();
        let done = window.with_webview(move |webview| {
            use webkit2gtk::WebContextExt;
            use webkit2gtk::WebViewExt;
            let Some(context) = webview.inner().context() else {
                tracing::warn!("the web view has no context: its clients measure no TLS transport");
                return;
            };
            match webkit2gtk::gio::TlsCertificate::from_pem(&pem) {
                Ok(certificate) => {
                    for host in HOSTS {
                        context.allow_tls_certificate_for_host(&certificate, host);
                    }
                    trust.set();
                    tracing::info!("the web view trusts the embedded server's certificate for {HOSTS:?}");
                }
                Err(e) => tracing::warn!("the web view cannot read the server's certificate: {e}"),
            }
        });
        if let Err(e) = done {
            tracing::warn!("cannot reach the web view to trust the server's certificate: {e}");
        }
    }
    #[cfg(target_os = "android")]
    {
        use tauri::Manager;
        let Some(window) = app.get_webview_window("main") else { return };
        let done = window.with_webview(|webview| {
            webview.jni_handle().exec(|env, activity, _webview| {
                let context = env.new_local_ref(activity);
                match context.and_then(|c| rustls_platform_verifier::android::init_with_env(env, c)) {
                    Ok(()) => tracing::info!("Android's certificate verifier is ready"),
                    Err(e) => tracing::warn!("Android's certificate verifier cannot start: {e}"),
                }
            })
        });
        if let Err(e) = done {
            tracing::warn!("cannot reach the activity to start Android's certificate verifier: {e}");
        }
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    let _ = app;
}
