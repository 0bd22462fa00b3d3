//! Run history in SQLite, web-view samples merged into a run, and two runs compared.

use duplex_core::clients::Transport;
use duplex_core::export::{ReportFiles, write_report_files};
use duplex_core::record::{BlockTiming, ClientKind, ClientPart, RunRecord, RunStatus, Sample, WebviewInfo};
use duplex_core::stats::{AnalysisOptions, analyze};
use duplex_core::storage::{History, StorageError};

use crate::util::{run_embedded, small_plan};

/// Web-view samples as the UI sends them: `n` per set at `latency_us`.
fn webview_part(record: &RunRecord, transport: Transport, latency_us: u64, n: u64) -> ClientPart {
    let mut samples = Vec::new();
    for set in 1..=record.plan.sets {
        for seq in 1..=n {
            samples.push(Sample {
                transport,
                client: ClientKind::Webview,
                client_id: 0,
                set,
                seq,
                sent_at_unix_ns: 1_700_000_000_000_000_000 + (seq as i64) * 1000,
                latency_ns: latency_us * 1000 + seq,
                send_delay_ns: 0,
                server_time_unix_ns: Some(1_700_000_000_000_000_500),
                bytes_out: 300,
                bytes_in: 250,
                error: None,
            });
        }
    }
    ClientPart {
        client: ClientKind::Webview,
        status: RunStatus::Complete,
        error: None,
        info: Some(WebviewInfo {
            user_agent: "TestKit/1.0".into(),
            timer_resolution_us: 5.0,
            cross_origin_isolated: None,
            unavailable: vec![],
        }),
        blocks: (1..=record.plan.sets)
            .map(|set| BlockTiming {
                transport,
                client: ClientKind::Webview,
                set,
                started_at_unix_ns: 0,
                elapsed_ns: 1_000_000,
            })
            .collect(),
        samples,
        connections: Vec::new(),
    }
}

#[tokio::test]
async fn webview_samples_join_the_run_and_its_statistics() {
    let mut record = run_embedded(
        small_plan(&[Transport::Ws, Transport::Http, Transport::Xhr])
            .for_client(ClientKind::Native)
            .expect("native part"),
    )
    .await;
    // The app merges into a record whose plan names every transport of both kinds.
    record.plan.transports.push(Transport::Xhr);
    let native = record.samples.len();
    record.merge(webview_part(&record, Transport::Ws, 200, 20)).expect("ws part fits");
    assert_eq!(record.samples.len(), native + 40);
    assert_eq!(record.webview.as_ref().map(|w| w.user_agent.as_str()), Some("TestKit/1.0"));

    let report = analyze(&record, &AnalysisOptions::default());
    let webview_ws = report.transport(Transport::Ws, ClientKind::Webview).expect("webview ws group");
    assert_eq!(webview_ws.overall.count, 40);
    assert!((webview_ws.overall.p50_us - 200.0).abs() < 0.1, "{}", webview_ws.overall.p50_us);
    assert_eq!(webview_ws.overall.bytes_out_per_msg, 300.0);
    assert!(report.notes.iter().any(|n| n.contains("performance.now()") && n.contains("TestKit/1.0")));
}

#[tokio::test]
async fn a_part_that_does_not_fit_the_plan_is_refused_whole() {
    let record = run_embedded(small_plan(&[Transport::Ws, Transport::Http])).await;
    let before = record.clone();
    type Spoil = Box<dyn Fn(&mut ClientPart)>;
    let cases: Vec<(Spoil, &str)> = vec![
        (Box::new(|p| p.samples[3].set = 99), "sample 4 has set 99"),
        (Box::new(|p| p.samples[0].transport = Transport::HttpNew), "does not measure"),
        (Box::new(|p| p.samples[1].client = ClientKind::Native), "is labelled native"),
        (Box::new(|p| p.samples[2].client_id = 7), "has client 7"),
        (
            Box::new(|p| {
                let extra = p.samples.clone();
                p.samples.extend(extra);
            }),
            "but the plan has 40 calls",
        ),
        (Box::new(|p| p.blocks[0].transport = Transport::Poll), "does not belong"),
    ];
    for (spoil, expected) in cases {
        let mut r = record.clone();
        let mut part = webview_part(&r, Transport::Ws, 100, 20);
        spoil(&mut part);
        let err = r.merge(part).expect_err(expected);
        assert!(err.to_string().contains(expected), "{err} should say {expected:?}");
        assert_eq!(r, before, "a refused part changes nothing");
    }
    // The same kind of client twice is refused too.
    let mut r = record.clone();
    r.merge(webview_part(&r, Transport::Ws, 100, 5)).expect("first part");
    assert!(r.merge(webview_part(&r, Transport::Http, 100, 5)).is_err());
}

#[tokio::test]
async fn a_cancelled_webview_part_marks_the_run_and_keeps_its_samples() {
    let mut record = run_embedded(small_plan(&[Transport::Ws])).await;
    let mut part = webview_part(&record, Transport::Ws, 100, 3);
    part.status = RunStatus::Cancelled;
    part.error = Some("x".repeat(2000));
    part.samples[0].error = Some("y".repeat(2000));
    record.merge(part).expect("fits");
    assert_eq!(record.status, RunStatus::Cancelled);
    assert!(record.error.as_deref().is_some_and(|e| e.starts_with("webview clients: xxx")));
    let stored_error = record.samples.iter().find_map(|s| s.error.as_ref()).expect("error kept");
    assert_eq!(stored_error.chars().count(), duplex_core::record::MAX_ERROR_CHARS);
}

#[tokio::test]
async fn history_saves_lists_loads_and_deletes_runs_exactly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("nested").join("history.sqlite");
    let mut record = run_embedded(small_plan(&[Transport::Ws, Transport::Http])).await;
    record.merge(webview_part(&record, Transport::Ws, 150, 10)).expect("fits");
    record.samples[5].error = Some("connection closed: reset".into());
    let older = {
        let mut r = run_embedded(small_plan(&[Transport::Ws])).await;
        r.started_at_unix_ns = record.started_at_unix_ns - 1_000_000_000;
        r
    };
    {
        let mut history = History::open(&path).expect("open creates the folder and schema");
        history.save(&older, None).expect("save older");
        history.save(&record, Some("ws is 1.5× faster than http")).expect("save");
    }
    // Reopened from disk: the same runs, newest first, every sample back bit for bit.
    let mut history = History::open(&path).expect("reopen");
    let list = history.list().expect("list");
    assert_eq!(
        list.iter().map(|i| i.id.as_str()).collect::<Vec<_>>(),
        [record.id.as_str(), older.id.as_str()]
    );
    assert_eq!(list[0].samples, record.samples.len() as u64);
    assert_eq!(list[0].transports, ["ws", "http"]);
    assert_eq!(list[0].clients, ["native", "webview"]);
    assert_eq!(list[0].headline.as_deref(), Some("ws is 1.5× faster than http"));
    assert_eq!(history.load(&record.id).expect("load"), record);

    // Saving again replaces, never duplicates.
    history.save(&record, None).expect("save again");
    assert_eq!(history.list().expect("list").len(), 2);
    assert!(history.delete(&older.id).expect("delete"));
    assert!(!history.delete(&older.id).expect("second delete is a no-op"));
    assert!(matches!(history.load(&older.id), Err(StorageError::NotFound(_))));
    assert!(history.contains(&record.id).expect("contains"));

    // A note names a run; it survives the run being saved again, is cut, loses any token,
    // and goes with the run.
    history
        .set_note(&record.id, "  office Wi-Fi, http://h/?token=0123456789abcdef0123456789abcdef  ")
        .expect("note");
    history.save(&record, None).expect("saved again");
    let note = history.list().expect("list")[0].note.clone().expect("kept");
    assert!(note.starts_with("office Wi-Fi, http://h/") && !note.contains("0123456789abcdef"), "{note}");
    history.set_note(&record.id, &"x".repeat(1000)).expect("long note");
    assert_eq!(history.list().expect("list")[0].note.as_ref().map(|n| n.chars().count()), Some(200));
    history.set_note(&record.id, " ").expect("cleared");
    assert_eq!(history.list().expect("list")[0].note, None);
    assert!(matches!(history.set_note("no-such-run", "x"), Err(StorageError::NotFound(_))));

    // A run that failed before http ran is listed with the transports it measured only.
    let mut failed = record.clone();
    failed.samples.retain(|s| s.transport == Transport::Ws);
    failed.status = duplex_core::record::RunStatus::Failed;
    history.save(&failed, None).expect("save failed run");
    let listed = history.list().expect("list");
    let item = listed.iter().find(|i| i.id == failed.id).expect("listed");
    assert_eq!(item.transports, ["ws"]);
    assert_eq!(item.measured, "ws · native, webview");
    // One that measured nothing says so, not an empty cell.
    let mut nothing = record.clone();
    nothing.id = "nothing-measured".into();
    nothing.samples.clear();
    history.save(&nothing, None).expect("saved");
    let listed = history.list().expect("list");
    assert_eq!(listed.iter().find(|i| i.id == nothing.id).expect("listed").measured, "nothing measured");
}

#[tokio::test]
async fn a_damaged_history_row_is_an_error_not_a_panic() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("h.sqlite");
    let record = run_embedded(small_plan(&[Transport::Ws])).await;
    History::open(&path).expect("open").save(&record, None).expect("save");
    let conn = rusqlite::Connection::open(&path).expect("raw");
    conn.execute("UPDATE samples SET transport = 'carrier-pigeon' WHERE rowid = 3", []).expect("spoil");
    let err = History::open(&path).expect("open").load(&record.id).expect_err("damaged");
    assert!(err.to_string().contains("carrier-pigeon"), "{err}");
    conn.execute("UPDATE runs SET meta = '{not json'", []).expect("spoil meta");
    assert!(matches!(
        History::open(&path).expect("open").load(&record.id),
        Err(StorageError::Corrupt { .. })
    ));
    conn.pragma_update(None, "user_version", 99).expect("future schema");
    assert!(matches!(History::open(&path), Err(StorageError::TooNew(99))));
}

#[tokio::test]
async fn a_report_saved_where_a_person_chose_keeps_its_siblings_beside_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let record = run_embedded(small_plan(&[Transport::Ws, Transport::Http])).await;
    let report = analyze(&record, &AnalysisOptions::default());
    let files = ReportFiles::beside(&dir.path().join("my run.csv"));
    write_report_files(&files, &record, &report).expect("written");
    assert_eq!(files.samples, dir.path().join("my run.csv"));
    assert_eq!(files.summary, dir.path().join("my run-summary.csv"));
    let samples = std::fs::read_to_string(&files.samples).expect("samples");
    assert_eq!(samples.lines().count(), record.samples.len() + 1);
    for f in [&files.summary, &files.comparisons, &files.run] {
        assert!(std::fs::metadata(f).expect("exists").len() > 0, "{}", f.display());
    }
}

/// The id of a process that has ended.
fn dead_pid() -> u32 {
    let program = if cfg!(windows) { ["cmd", "/C", "exit"] } else { ["sh", "-c", "exit"] };
    let mut child = std::process::Command::new(program[0]).args(&program[1..]).spawn().expect("a shell runs");
    let pid = child.id();
    child.wait().expect("ended");
    pid
}

#[tokio::test]
async fn a_run_written_while_measured_survives_its_process_dying() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("history.sqlite");
    let record = run_embedded(small_plan(&[Transport::Ws, Transport::Http])).await;
    let (first, rest) = record.samples.split_at(25);
    {
        let mut history = History::open(&path).expect("open");
        history.begin(&RunRecord { samples: Vec::new(), ..record.clone() }).expect("begin");
        history.append(&record.id, first).expect("first batch");
        history.append(&record.id, &rest[..10]).expect("second batch");
        // Being written by a live process (this one): not listed, not recovered.
        assert!(history.list().expect("list").is_empty());
        assert!(history.recover().expect("recover").is_empty());
        // Then the writer "dies": its process id is one that has ended.
        rusqlite::Connection::open(&path)
            .expect("raw")
            .execute("UPDATE live_runs SET pid = ?1", [dead_pid()])
            .expect("pid");
    } // dropped without save: the crash
    let mut history = History::open(&path).expect("reopen");
    assert_eq!(history.recover().expect("recover"), vec![record.id.clone()]);
    let listed = history.list().expect("list");
    assert_eq!((listed.len(), listed[0].status, listed[0].samples), (1, RunStatus::Failed, 35));
    let back = history.load(&record.id).expect("load");
    assert_eq!(back.samples, record.samples[..35].to_vec(), "every written sample, in order");
    assert!(back.error.as_deref().unwrap_or_default().contains("interrupted"), "{:?}", back.error);
    assert_eq!(back.plan, record.plan);
    // It exports and analyses like any other run.
    let report = analyze(&back, &AnalysisOptions::default());
    assert!(!report.transports.is_empty());
    write_report_files(&ReportFiles::beside(&dir.path().join("r.csv")), &back, &report).expect("export");
    assert!(history.recover().expect("again").is_empty(), "recovered once");
}

#[tokio::test]
async fn a_run_written_then_saved_whole_is_one_ordinary_run() {
    let record = run_embedded(small_plan(&[Transport::Ws])).await;
    let mut writer = duplex_core::storage::RunWriter::new(History::open_in_memory().expect("second"));
    writer.begin(&record);
    writer.append(&record.samples[..5]);
    assert_eq!(writer.problem(), None);
    let back = writer.finish(&record, Some("headline")).expect("saved");
    assert_eq!(back.load(&record.id).expect("load").samples, record.samples, "saved whole, not doubled");
    assert_eq!(back.list().expect("list")[0].samples, record.samples.len() as u64);
    // A write that fails stops the writing and says why; the run itself goes on.
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("h.sqlite");
    let mut broken = duplex_core::storage::RunWriter::new(History::open(&path).expect("open"));
    broken.begin(&record);
    History::open(&path).expect("another connection").delete(&record.id).expect("pulled away");
    broken.append(&record.samples[..5]);
    assert!(broken.problem().is_some_and(|p| p.contains("FOREIGN KEY")), "{:?}", broken.problem());
    broken.append(&record.samples[5..]); // no further attempts, no panic
    let mut again = broken.finish(&record, None).expect("saved whole at the end");
    assert_eq!(again.load(&record.id).expect("load").samples.len(), record.samples.len());
    assert!(again.recover().expect("recover").is_empty());
}

#[tokio::test]
async fn texts_from_outside_are_clipped_before_they_are_kept() {
    let mut record = run_embedded(small_plan(&[Transport::Ws])).await;
    let mut part = webview_part(&record, Transport::Xhr, 900, 3);
    record.plan.transports.extend([Transport::Xhr, Transport::Wt]);
    let unavailable = |transport| duplex_core::record::Unavailable { transport, reason: "w".repeat(10_000) };
    part.info = Some(WebviewInfo {
        user_agent: "A".repeat(10_000),
        timer_resolution_us: 1.0,
        cross_origin_isolated: None,
        unavailable: vec![unavailable(Transport::H2)],
    });
    // A transport the run does not have cannot be unavailable: the part is refused whole.
    let refused = record.clone().merge(part.clone()).expect_err("h2 is not in the plan");
    assert!(refused.to_string().contains("h2 is not a transport of this run"), "{refused}");
    part.info.as_mut().expect("info").unavailable = vec![unavailable(Transport::Wt)];
    part.error = Some("é".repeat(10_000));
    part.samples[0].error = Some("x".repeat(10_000));
    record.merge(part).expect("merged");
    assert_eq!(record.webview.as_ref().map(|w| w.user_agent.chars().count()), Some(500));
    assert_eq!(record.webview.as_ref().map(|w| w.unavailable[0].reason.chars().count()), Some(500));
    assert!(
        record.error.as_deref().is_some_and(|e| e.chars().count() < 600),
        "{:?}",
        record.error.as_ref().map(String::len)
    );
    assert!(record.samples.iter().filter_map(|s| s.error.as_ref()).all(|e| e.chars().count() <= 500));
    record.validate().expect("what is kept is valid");
}

/// Several writers opening a history that does not exist yet (a CI matrix; the app and the
/// command line on first use): the schema is made once, and every run is stored.
#[tokio::test]
async fn several_writers_on_a_new_history_all_store_their_runs() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("fresh").join("history.sqlite");
    let template = run_embedded(small_plan(&[Transport::Ws])).await;
    let writers: Vec<_> = (0..6)
        .map(|i| {
            let (path, mut record) = (path.clone(), template.clone());
            record.id = format!("run-{i}");
            std::thread::spawn(move || {
                let mut history = History::open(&path).map_err(|e| e.to_string())?;
                history.save(&record, None).map_err(|e| e.to_string())
            })
        })
        .collect();
    for (i, writer) in writers.into_iter().enumerate() {
        writer.join().expect("a writer").unwrap_or_else(|e| panic!("writer {i}: {e}"));
    }
    let stored = History::open(&path).expect("history").list().expect("runs");
    assert_eq!(stored.len(), 6, "{:?}", stored.iter().map(|r| &r.id).collect::<Vec<_>>());
}
