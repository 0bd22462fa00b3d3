//! Every `duplex …` command shown in README.md and docs/*.md runs, as a reader would type it,
//! shrunk to small sizes and pointed at loopback. A command shown is a line of a `sh` code block
//! that starts with `duplex` (or `cargo run … -p duplex-cli --`), or a line of any code block that
//! starts with `$ duplex`. The test fails when one no longer parses (clap's exit code 2) or runs.
//!
//! What changes between the page and the run, and nothing else:
//! - sizes: one set of two calls, no warm-up, no idle baseline, no pause between calls, payloads
//!   of at most 64 KiB, energy runs of 0.6 s a transport; fan-out to 10 subscribers, 2 broadcasts; soak
//!   with 20 + 5 clients and monitor for 1 s;
//! - addresses: a server the page names elsewhere (`192.168.1.20:9000`, `echo.example`, port 9411)
//!   is a `duplex serve` this test started on 127.0.0.1 (in LAN mode, with its token, where the
//!   page shows one; a `--wt` URL is its plain WebTransport echo, taken with `--insecure`); a
//!   server the page starts listens on 127.0.0.1, port 0, and is stopped once it says where it
//!   listens;
//! - files: a run's history is one temporary folder for the whole test, files the page writes
//!   land in a temporary working folder, files it reads (a link profile, two bundles) are made
//!   first (the profile from the page's own `toml` block), k6 outputs are real ones
//!   (crates/core/tests/data/k6), and run ids are real ones.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// One command shown in the docs, where it is shown.
struct Shown {
    place: String,
    words: Vec<String>,
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn pages() -> Vec<PathBuf> {
    let mut pages: Vec<PathBuf> = std::fs::read_dir(root().join("docs"))
        .expect("docs/")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .collect();
    pages.sort();
    pages.insert(0, root().join("README.md"));
    pages
}

/// The line without its shell comment (a `#` after a blank, outside quotes) and without a
/// trailing `&`.
fn without_comment(line: &str) -> &str {
    let (mut quote, mut previous) = (None, ' ');
    for (i, c) in line.char_indices() {
        match (quote, c) {
            (None, '\'' | '"') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, '#') if previous.is_whitespace() => return line[..i].trim_end(),
            _ => {}
        }
        previous = c;
    }
    line.trim_end().trim_end_matches('&').trim_end()
}

/// Every command shown, in page order.
fn shown() -> Vec<Shown> {
    let mut out = Vec::new();
    for page in pages() {
        let text = std::fs::read_to_string(&page).expect("a page");
        let name = page.strip_prefix(root()).unwrap_or(&page).display().to_string();
        let mut block: Option<String> = None;
        for (n, line) in text.lines().enumerate() {
            if let Some(rest) = line.trim_start().strip_prefix("```") {
                block = if block.is_some() { None } else { Some(rest.trim().to_owned()) };
                continue;
            }
            let Some(lang) = &block else { continue };
            let line = line.trim_start();
            let command = match line.strip_prefix("$ ") {
                Some(c) => c,
                None if lang == "sh" => line,
                None => continue,
            };
            let command = without_comment(command);
            let args = if let Some(args) = command.strip_prefix("duplex ") {
                args
            } else if let Some((_, args)) =
                command.split_once(" -p duplex-cli -- ").filter(|_| command.starts_with("cargo run"))
            {
                args
            } else {
                continue;
            };
            let words = shlex::split(args).unwrap_or_else(|| panic!("{name}:{}: unbalanced quotes", n + 1));
            out.push(Shown { place: format!("{name}:{}", n + 1), words });
        }
    }
    out
}

/// A `duplex serve` this test started, and what it said.
struct Server {
    child: Child,
    /// `host:port` it listens on.
    address: String,
    /// Its access token, in LAN mode.
    token: Option<String>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn duplex(data: &Path, cwd: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_duplex"));
    c.env("DUPLEX_DATA_DIR", data).current_dir(cwd);
    c
}

/// Starts `duplex serve ARGS` and reads its output until it says where it listens (and, in LAN
/// mode, its token).
fn serve(data: &Path, cwd: &Path, args: &[String]) -> Result<Server, String> {
    let mut child = duplex(data, cwd)
        .arg("serve")
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| e.to_string())?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let lan = args.iter().any(|a| a == "--lan");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let (mut address, mut token, mut seen) = (None, None, String::new());
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline && (address.is_none() || (lan && token.is_none())) {
        let Ok(line) = rx.recv_timeout(Duration::from_millis(200)) else {
            if let Ok(Some(status)) = child.try_wait() {
                let mut err = String::new();
                if let Some(mut e) = child.stderr.take() {
                    let _ = std::io::Read::read_to_string(&mut e, &mut err);
                }
                return Err(format!("serve ended ({status}): {seen}{err}"));
            }
            continue;
        };
        seen.push_str(&line);
        seen.push('\n');
        if address.is_none()
            && let Some(rest) = line.split("server on ").nth(1)
        {
            address = rest.split_whitespace().next().map(str::to_owned);
        }
        if token.is_none()
            && let Some(rest) = line.split("token=").nth(1)
        {
            token = rest.split(|c: char| !c.is_ascii_alphanumeric()).next().map(str::to_owned);
        }
    }
    match address {
        Some(address) if !lan || token.is_some() => Ok(Server { child, address, token }),
        _ => {
            let _ = child.kill();
            Err(format!("serve did not say where it listens within 20 s: {seen}"))
        }
    }
}

/// The value after `flag` (or one of its spellings), if given.
fn value_of<'a>(words: &'a [String], flags: &[&str]) -> Option<&'a str> {
    words.windows(2).find(|w| flags.contains(&w[0].as_str())).map(|w| w[1].as_str())
}

/// Sets `flags`' value to `value`, adding the first spelling when the command has none.
fn set(words: &mut Vec<String>, flags: &[&str], value: &str) {
    match words.iter().position(|w| flags.contains(&w.as_str())) {
        Some(i) if i + 1 < words.len() => words[i + 1] = value.to_owned(),
        _ => words.extend([flags[0].to_owned(), value.to_owned()]),
    }
}

/// A URL the page shows for a server elsewhere, pointed at the servers this test started.
fn local_url(url: &str, plain: &Server, lan: &Server) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("http", url));
    let path = rest.find('/').map_or("/", |i| &rest[i..]);
    if url.contains("token=") {
        let token = lan.token.as_deref().unwrap_or_default();
        let path = path.split("token=").next().unwrap_or("/?");
        return format!("{scheme}://{}{path}token={token}", lan.address);
    }
    // A foreign server over TLS becomes this test's plain one: its certificate is nobody's CA.
    let scheme = match scheme {
        "wss" => "ws",
        "https" => "http",
        other => other,
    };
    // Its plain echoes answer as anyone's echo server would.
    let path = if scheme == "ws" { "/ws/echo" } else { "/echo/plain" };
    format!("{scheme}://{}{path}", plain.address)
}

/// What the page shows, shrunk and pointed at loopback (see the module's comment).
fn shrunk(
    shown: &[String],
    plain: &Server,
    lan: &Server,
    runs: &[String],
    bundles: &[PathBuf],
) -> Vec<String> {
    let mut words = shown.to_vec();
    let command = words.first().cloned().unwrap_or_default();
    if words.iter().any(|w| w == "--help") {
        return words;
    }
    for flag in ["--target", "--ws", "--http"] {
        if let Some(i) = words.iter().position(|w| w == flag)
            && let Some(url) = words.get(i + 1).filter(|u| u.contains("://"))
        {
            words[i + 1] = local_url(url, plain, lan);
        }
    }
    // A WebTransport echo elsewhere becomes this test's server's plain one, whose certificate
    // was made at its start: taken unverified here, as the page says to trust yours.
    if let Some(i) = words.iter().position(|w| w == "--wt")
        && i + 1 < words.len()
    {
        words[i + 1] = format!("https://{}/wt/plain", plain.address);
        words.push("--insecure".into());
    }
    match command.as_str() {
        "bench" => {
            set(&mut words, &["-s", "--sets"], "1");
            set(&mut words, &["-n", "--calls"], "2");
            set(&mut words, &["--warmup"], "0");
            set(&mut words, &["--baseline-ms"], "0");
            if !words.iter().any(|w| w == "--sweep" || w == "--floor") {
                set(&mut words, &["-i", "--interval-ms"], "0");
            }
            if value_of(&words, &["--minutes"]).is_some() {
                set(&mut words, &["--minutes"], "0.01");
            }
            if value_of(&words, &["-p", "--payload"])
                .and_then(|p| p.parse::<u64>().ok())
                .is_some_and(|p| p > 65_536)
            {
                set(&mut words, &["-p", "--payload"], "65536");
            }
        }
        "fanout" => {
            set(&mut words, &["--subscribers"], "10");
            set(&mut words, &["--broadcasts"], "2");
        }
        "soak" => {
            // 20 + 5 clients: the defaults (1,000 + 100) pass a server's 1,024 connections per
            // address, as the page says of a server elsewhere.
            set(&mut words, &["--seconds"], "1");
            set(&mut words, &["--ws"], "20");
            set(&mut words, &["--http"], "5");
        }
        "monitor" => set(&mut words, &["--seconds"], "1"),
        "compare" => {
            // Run ids the page made up become the history's own, in order.
            let mut ids = runs.iter();
            for w in words.iter_mut().skip(1) {
                if w.len() == 4
                    && w.chars().all(|c| c.is_ascii_hexdigit())
                    && let Some(id) = ids.next()
                {
                    *w = id.clone();
                }
            }
        }
        "import" if words.iter().any(|w| w == "--k6") => {
            // k6's outputs the page names become real ones (tests/data/k6): a fan-out's pair of
            // segments, a run's pair, or a whole run.
            let data = root().join("crates/core/tests/data/k6");
            let given: Vec<usize> = (1..words.len()).filter(|&i| words[i].ends_with(".json")).collect();
            let fanout = given.iter().any(|&i| words[i].contains("fanout"));
            let real: Vec<&str> = match (fanout, given.len()) {
                (true, _) => vec!["fanout-1.json", "fanout-2.json"],
                (false, 2) => vec!["segment-1.json", "segment-2.json"],
                _ => vec!["whole.json"],
            };
            for (&i, name) in given.iter().zip(real) {
                words[i] = data.join(name).display().to_string();
            }
        }
        "import" => {
            let mut made = bundles.iter();
            for w in words.iter_mut().skip(1) {
                if w.ends_with("-bundle.json")
                    && let Some(b) = made.next()
                {
                    *w = b.display().to_string();
                }
            }
        }
        _ => {}
    }
    words
}

/// The first `toml` block of docs/links.md: the link profile file the page shows.
fn profile_from_the_page() -> String {
    let text = std::fs::read_to_string(root().join("docs/links.md")).expect("docs/links.md");
    let start = text.find("```toml\n").expect("docs/links.md shows a profile file") + "```toml\n".len();
    let end = text[start..].find("```").expect("its block ends") + start;
    text[start..end].to_owned()
}

/// Runs one shrunk command: `serve` until it says where it listens, anything else to its end.
fn run(data: &Path, cwd: &Path, words: &[String]) -> Result<(), String> {
    if words.first().is_some_and(|w| w == "serve") && !words.iter().any(|w| w == "--help") {
        let mut words = words[1..].to_vec();
        set(&mut words, &["--bind"], "127.0.0.1:0");
        return serve(data, cwd, &words).map(drop);
    }
    let out = duplex(data, cwd).args(words).output().map_err(|e| e.to_string())?;
    if out.status.success() {
        return Ok(());
    }
    let kind = if out.status.code() == Some(2) { "no longer parses" } else { "fails" };
    Err(format!(
        "{kind} ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    ))
}

/// The history's run ids, newest first.
fn run_ids(data: &Path, cwd: &Path) -> Vec<String> {
    let out = duplex(data, cwd).args(["history", "--json"]).output().expect("history");
    let runs: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    runs["runs"]
        .as_array()
        .map(|a| a.iter().filter_map(|r| r["id"].as_str().map(str::to_owned)).collect())
        .unwrap_or_default()
}

#[test]
fn every_command_shown_in_the_readme_and_docs_runs() {
    if duplex_core::platform::wine::version().is_some() {
        eprintln!(
            "skipped under Wine: the pages' commands are Linux shell lines (pinning, files); the CLI's own tests run"
        );
        return;
    }
    let shown = shown();
    assert!(shown.len() >= 30, "only {} commands found in the pages: is the extraction broken?", shown.len());
    assert!(
        shown
            .iter()
            .any(|s| s.place.starts_with("README.md") && s.words.first().is_some_and(|w| w == "bench")),
        "the README shows the main job"
    );

    let (data, cwd) = (tempfile::tempdir().expect("tempdir"), tempfile::tempdir().expect("tempdir"));
    let (data, cwd) = (data.path(), cwd.path());
    std::fs::write(cwd.join("my-office.toml"), profile_from_the_page()).expect("profile file");
    // Two runs' bundles, for the page's `duplex import`, and two runs for its `compare ID ID`.
    let mut bundles = Vec::new();
    for folder in ["phone", "laptop"] {
        let reports = cwd.join(folder);
        run(
            data,
            cwd,
            &["bench", "-s", "1", "-n", "2", "--warmup", "0", "--baseline-ms", "0", "--csv"]
                .map(str::to_owned)
                .into_iter()
                .chain([reports.display().to_string()])
                .collect::<Vec<_>>(),
        )
        .expect("a run to import");
        let bundle = std::fs::read_dir(&reports)
            .expect("reports")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .find(|p| p.to_string_lossy().ends_with("-bundle.json"))
            .expect("a bundle");
        bundles.push(bundle);
    }
    let plain = serve(data, cwd, &["--bind".into(), "127.0.0.1:0".into()]).expect("a plain server");
    let lan =
        serve(data, cwd, &["--lan".into(), "--bind".into(), "127.0.0.1:0".into()]).expect("a LAN server");

    let mut failed = Vec::new();
    for s in &shown {
        let words = shrunk(&s.words, &plain, &lan, &run_ids(data, cwd), &bundles);
        let started = Instant::now();
        let outcome = run(data, cwd, &words);
        eprintln!(
            "{:<28} {:>5.1} s  duplex {}{}",
            s.place,
            started.elapsed().as_secs_f64(),
            words.join(" "),
            if outcome.is_ok() { "" } else { "  FAILED" }
        );
        if let Err(why) = outcome {
            failed.push(format!(
                "{}: duplex {}\n  as run: duplex {}\n  {why}",
                s.place,
                s.words.join(" "),
                words.join(" ")
            ));
        }
    }
    assert!(
        failed.is_empty(),
        "{} of {} commands shown do not run:\n{}",
        failed.len(),
        shown.len(),
        failed.join("\n")
    );
}
