//! `cargo bench -p duplex-core --bench floor`: the floor benchmark (raw TCP, stock echo,
//! Duplex) with the ratios measured in this one run, as JSON (the schema `duplex schema floor`
//! prints). `duplex bench --floor` runs the same code and prints it as a table.

fn main() {
    let plan = duplex_core::runner::Plan::default();
    match duplex_core::floor::measure(&plan) {
        Ok(report) => match serde_json::to_string_pretty(&report) {
            Ok(json) => println!("{json}"),
            Err(e) => eprintln!("{e}"),
        },
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    }
}
