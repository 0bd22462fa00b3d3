//! CSV report: samples round trip exactly; broken files are clear errors, never panics.

use duplex_core::clients::Transport;
use duplex_core::export::csv::{SAMPLE_COLUMNS, read_samples, write_samples};
use duplex_core::export::{ExportError, write_report};
use duplex_core::record::RunStatus;
use duplex_core::stats::{AnalysisOptions, analyze};

use crate::util::{run_embedded, small_plan};

#[tokio::test]
async fn report_files_round_trip_and_open_as_tables() {
    let mut record = run_embedded(small_plan(&[Transport::Ws, Transport::Http])).await;
    assert_eq!(record.status, RunStatus::Complete);
    // An error text with a comma, a quote and a newline must survive too.
    record.samples[3].error = Some("closed, \"abruptly\"\nby peer".into());
    let report = analyze(&record, &AnalysisOptions { interval_us: Some((1.0, 100.0)) });
    let dir = tempfile::tempdir().expect("tempdir");
    let files = write_report(dir.path(), &record, &report).expect("write");

    let (run_id, samples) =
        read_samples(std::fs::File::open(&files.samples).expect("open")).expect("read back");
    assert_eq!(run_id, record.id);
    assert_eq!(samples, record.samples);

    let mut summary = csv::Reader::from_path(&files.summary).expect("summary");
    let headers = summary.headers().expect("headers").clone();
    for column in [
        "transport",
        "client",
        "set",
        "count",
        "p50_us",
        "p999_us",
        "ci95_low_us",
        "per_ms",
        "p_interval_normal",
    ] {
        assert!(headers.iter().any(|h| h == column), "summary lacks {column}: {headers:?}");
    }
    // Per transport: one overall row and one per set. Microseconds have three decimals
    // (nanoseconds, nothing lost, no float noise such as 788.2750299999997).
    let rows: Vec<_> = summary.records().collect::<Result<_, _>>().expect("rows");
    assert_eq!(rows.len(), 2 * (1 + 2));
    for (h, value) in rows.iter().flat_map(|r| headers.iter().zip(r.iter())) {
        if h.ends_with("_us") && !value.is_empty() {
            let decimals = value.split_once('.').map(|(_, d)| d.len());
            assert_eq!(decimals, Some(3), "{h} = {value}");
        } else if let Some((_, d)) = value.split_once('.').filter(|_| value.parse::<f64>().is_ok()) {
            assert!(d.len() <= 12, "{h} = {value}");
        }
    }

    let mut comparisons = csv::Reader::from_path(&files.comparisons).expect("comparisons");
    let rows: Vec<_> = comparisons.records().collect::<Result<_, _>>().expect("rows");
    assert_eq!(rows.len(), 1);
    let verdict =
        comparisons.headers().expect("headers").iter().position(|h| h == "verdict").expect("verdict column");
    // The report's own verdict, whichever it is (under Wine ws and http may not differ).
    assert_eq!(&rows[0][verdict], report.comparisons[0].verdict.as_str());
    assert!(rows[0][verdict].starts_with("ws"), "{:?}", &rows[0][verdict]);

    let meta: serde_json::Value =
        serde_json::from_reader(std::fs::File::open(&files.run).expect("run.json")).expect("json");
    assert_eq!(meta["id"], record.id.as_str());
    assert!(meta["platform"]["os"].is_string());
    assert_eq!(meta["plan"]["sets"], 2);
}

#[test]
fn empty_samples_file_still_has_its_header() {
    let mut out = Vec::new();
    write_samples(&mut out, "r", &[]).expect("write");
    assert_eq!(String::from_utf8(out).expect("utf8").trim_end(), SAMPLE_COLUMNS.join(","));
}

#[test]
fn broken_csv_files_are_clear_errors() {
    let header = SAMPLE_COLUMNS.join(",");
    let good = "r,ws,native,0,1,1,1764000000000000000,12000,0,1764000000000006000,80,60,";
    let cases = [
        ("a,b,c\n1,2,3\n".to_owned(), "not a Duplex samples file"),
        (format!("{header}\n{good}\nr,ws,native,0,1,2,notanumber,1,0,,1,1,\n"), "line 3"),
        (format!("{header}\n{good}\nr,tcp,native,0,1,2,1,1,0,,1,1,\n"), "line 3: unknown variant `tcp`"),
        (format!("{header}\n{good}\nr,ws,native,0,1\n"), "line 3"),
        (format!("{header}\n{good}\nother,ws,native,0,1,2,1,1,0,,1,1,\n"), "two runs"),
        ("\u{feff}\u{0}\u{1}garbage".to_owned(), "not a Duplex samples file"),
    ];
    for (text, want) in cases {
        let err = read_samples(text.as_bytes()).expect_err(want);
        assert!(matches!(err, ExportError::Csv(_) | ExportError::Format(_)));
        assert!(err.to_string().contains(want), "{err} should mention {want:?}");
    }
    let (_, ok) = read_samples(format!("{header}\n{good}\n").as_bytes()).expect("good file");
    assert_eq!(ok.len(), 1);
    assert_eq!(ok[0].latency_ns, 12_000);
    assert_eq!(ok[0].error, None);
}
