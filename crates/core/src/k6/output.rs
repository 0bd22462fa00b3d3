//! Reading k6's JSON output (`k6 run --out json=FILE`): its points, each line checked, and the
//! execution segments of a test split over processes, which must cover it once.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::K6Error;

/// One k6 output: its name (for messages) and its text.
pub struct K6File {
    pub name: String,
    pub text: String,
}

impl K6File {
    /// A refusal of this file, with the line where it went wrong.
    pub(super) fn bad(&self, line: usize, reason: impl std::fmt::Display) -> K6Error {
        K6Error::File { file: self.name.clone(), reason: format!("line {line}: {reason}") }
    }

    /// A file that ends cleanly without the plan point is not a Duplex script's output.
    pub(super) fn no_plan(&self, metric: &str) -> K6Error {
        K6Error::File {
            file: self.name.clone(),
            reason: format!(
                "no {metric} point: not the output (k6 run --out json=FILE) of a script `duplex k6 export` wrote"
            ),
        }
    }

    /// Its points, in order; a line that is not k6's JSON (a file cut short ends in one) is an
    /// error with its number.
    pub(super) fn points(&self) -> impl Iterator<Item = Result<Point<'_>, K6Error>> {
        self.text.lines().enumerate().filter(|(_, text)| !text.trim().is_empty()).filter_map(|(i, text)| {
            let line = i + 1;
            let parsed: Line = match serde_json::from_str(text) {
                Ok(parsed) => parsed,
                Err(e) => return Some(Err(self.bad(line, format!("not a line of k6's JSON output ({e})")))),
            };
            if parsed.kind != "Point" {
                return None;
            }
            Some(match parsed.data {
                Some(data) => {
                    Ok(Point { file: self, line, metric: parsed.metric, value: data.value, tags: data.tags })
                }
                None => Err(self.bad(line, "a point without data")),
            })
        })
    }
}

/// A line of k6's JSON output: a metric's declaration or one point of it.
#[derive(Deserialize)]
struct Line {
    #[serde(rename = "type")]
    kind: String,
    metric: String,
    #[serde(default)]
    data: Option<PointData>,
}

#[derive(Deserialize)]
struct PointData {
    #[serde(default)]
    value: f64,
    #[serde(default)]
    tags: BTreeMap<String, String>,
}

/// One point of a metric, with its tags.
pub(super) struct Point<'a> {
    file: &'a K6File,
    pub line: usize,
    pub metric: String,
    pub value: f64,
    tags: BTreeMap<String, String>,
}

impl Point<'_> {
    pub fn bad(&self, reason: impl std::fmt::Display) -> K6Error {
        self.file.bad(self.line, reason)
    }

    pub fn tag(&self, name: &str) -> Result<&str, K6Error> {
        self.tags
            .get(name)
            .map(String::as_str)
            .ok_or_else(|| self.bad(format!("{} point without its {name} tag", self.metric)))
    }

    pub fn optional_tag(&self, name: &str) -> Option<&str> {
        self.tags.get(name).map(String::as_str)
    }

    pub fn number(&self, name: &str) -> Result<u64, K6Error> {
        self.tag(name)?.parse().map_err(|_| self.bad(format!("its {name} tag is not a whole number")))
    }

    /// A tag that is a whole number below 2³².
    pub fn small(&self, name: &str) -> Result<u32, K6Error> {
        u32::try_from(self.number(name)?).map_err(|_| self.bad(format!("its {name} tag is out of range")))
    }

    /// The process's share of the test, from its `segment` tag (`FROM:TO`).
    pub fn segment(&self) -> Result<Segment, K6Error> {
        let text = self.tag("segment")?;
        text.split_once(':')
            .and_then(|(a, b)| Some(Segment(Fraction::parse(a)?, Fraction::parse(b)?)))
            .filter(|s| s.0 < s.1)
            .ok_or_else(|| self.bad(format!("execution segment {text:?} is not FROM:TO")))
    }
}

/// `a/b`, kept exact so that segments join without rounding; ordered by value (1/2 = 2/4).
#[derive(Debug, Clone, Copy)]
struct Fraction(u64, u64);

impl Ord for Fraction {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (u128::from(self.0) * u128::from(other.1)).cmp(&(u128::from(other.0) * u128::from(self.1)))
    }
}
impl PartialOrd for Fraction {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl PartialEq for Fraction {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other).is_eq()
    }
}
impl Eq for Fraction {}

impl Fraction {
    fn parse(text: &str) -> Option<Fraction> {
        let (n, d) = match text.split_once('/') {
            Some((n, d)) => (n.trim().parse().ok()?, d.trim().parse().ok()?),
            None => (text.trim().parse().ok()?, 1),
        };
        (d > 0 && n <= d).then_some(Fraction(n, d))
    }
}

/// A process's execution segment: from, to.
#[derive(Debug, Clone, Copy)]
pub(super) struct Segment(Fraction, Fraction);

/// Reads every file with `read` and checks that they are the outputs of one test: each the
/// `same` test as the first (else it ran another `what`), their segments covering it once.
pub(super) fn read_one_test<P>(
    files: &[K6File],
    read: impl Fn(&K6File) -> Result<P, K6Error>,
    same: impl Fn(&P, &P) -> bool,
    what: &str,
    segment: impl Fn(&P) -> Segment,
) -> Result<Vec<P>, K6Error> {
    if files.is_empty() {
        return Err(K6Error::Mismatch("no k6 output given".into()));
    }
    let parts = files.iter().map(read).collect::<Result<Vec<_>, _>>()?;
    if let Some((f, _)) = files.iter().zip(&parts).find(|(_, p)| !same(p, &parts[0])) {
        return Err(K6Error::Mismatch(format!(
            "{} ran another {what} than {}: outputs of one test only",
            f.name, files[0].name
        )));
    }
    check_segments(files, &parts.iter().map(segment).collect::<Vec<_>>())?;
    Ok(parts)
}

/// The files' segments, sorted, must run from 0 to 1 without a gap or an overlap.
fn check_segments(files: &[K6File], segments: &[Segment]) -> Result<(), K6Error> {
    let mut order: Vec<usize> = (0..segments.len()).collect();
    order.sort_by_key(|&i| segments[i].0);
    let mut at = Fraction(0, 1);
    for &i in &order {
        let Segment(from, to) = segments[i];
        if from != at {
            return Err(K6Error::Mismatch(format!(
                "{}: its execution segment starts at {}/{} where the others leave off at {}/{}: give every segment of the test once",
                files[i].name, from.0, from.1, at.0, at.1
            )));
        }
        at = to;
    }
    if at != Fraction(1, 1) {
        return Err(K6Error::Mismatch(format!(
            "the execution segments end at {}/{}, not at 1: a segment's output is missing",
            at.0, at.1
        )));
    }
    Ok(())
}
