//! `cargo bench -p duplex-core`: the floor benchmark (raw TCP, stock echo, Duplex) with the
//! ratios measured in this one run. Same code as `duplex bench --floor`.

fn main() {
    let plan = duplex_core::runner::Plan::default();
    match duplex_core::floor::measure(&plan) {
        Ok(report) => print!("{}", report.to_text()),
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    }
}
