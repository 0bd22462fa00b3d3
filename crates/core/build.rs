//! Takes the UI's built report page (ui/dist/report.html) into the engine, for HTML reports.
//! Without it (the UI not built yet) the engine still builds, and says how to get reports.

fn main() {
    let page = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../ui/dist/report.html");
    println!("cargo::rerun-if-changed={}", page.display());
    let code = match std::fs::canonicalize(&page) {
        Ok(path) if path.is_file() => format!("Some(include_str!({:?}))", path.display().to_string()),
        _ => "None".to_owned(),
    };
    let out = std::path::Path::new(&std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"))
        .join("report_template.rs");
    std::fs::write(out, code).expect("OUT_DIR is writable");
}
