//! The metric points of a run: an in-memory table of `(step, name, value, time)`
//! rows, its `metrics.csv` text (storage format 1) and its per-metric summary.
//!
//! This module owns the layout of `metrics.csv`: header `step,name,value,time`,
//! rows in logged order, values as the shortest text that reads back to the same
//! `f64` (`nan`, `inf`, `-inf` for the special values), times as unix seconds
//! with exactly three decimals. It does not parse events (see
//! `capture::events`) and knows nothing of git or terminals.

use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasherDefault, Hasher};
use std::io::Write as _;

use crate::store::format::{files, MetricSummary};

/// Errors reading `metrics.csv`.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The first line is not `step,name,value,time`.
    #[error("metrics.csv starts with `{found}` instead of the header `step,name,value,time`")]
    Header {
        /// The header that was found, fields joined by commas.
        found: String,
    },
    /// A row has a field that cannot be read.
    #[error("metrics.csv line {line}: {message}")]
    Row {
        /// 1-based line number of the row.
        line: u64,
        /// What is wrong with it.
        message: String,
    },
    /// The text is not valid CSV (or not UTF-8).
    #[error("metrics.csv is not valid CSV near line {line}")]
    Csv {
        /// 1-based line number where reading stopped.
        line: u64,
        /// What the CSV reader said.
        #[source]
        source: csv::Error,
    },
}

/// One logged value of one metric.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    /// The training step the value belongs to.
    pub step: u64,
    /// Index of the metric's name in [`Metrics::names`].
    pub name: u32,
    /// The value; may be NaN or infinite.
    pub value: f64,
    /// When it was logged, unix seconds.
    pub time: f64,
}

/// Each metric's `(step, value, time)` points, by name.
pub type TimedCurves = BTreeMap<String, Vec<(u64, f64, f64)>>;

/// All metric points of a run, in logged order, with their names interned.
#[derive(Debug, Clone, Default)]
pub struct Metrics {
    names: Vec<String>,
    index: HashMap<String, u32, BuildHasherDefault<FxHasher>>,
    points: Vec<Point>,
}

/// Rows are rendered into a string of about this size before each write.
const FLUSH_AT: usize = 64 * 1024;

impl Metrics {
    /// Appends a point, adding `name` to the names if it is new.
    pub fn push(&mut self, name: &str, step: u64, value: f64, time: f64) {
        let name = self.intern(name);
        self.points.push(Point { step, name, value, time });
    }

    /// Returns the index of `name` in [`Metrics::names`], adding it if new.
    pub(crate) fn intern(&mut self, name: &str) -> u32 {
        if let Some(&id) = self.index.get(name) {
            return id;
        }
        // Each name costs well over 32 bytes, so memory runs out long before 2^32 names.
        let id = u32::try_from(self.names.len()).expect("fewer than 2^32 metric names");
        self.names.push(name.to_owned());
        self.index.insert(name.to_owned(), id);
        id
    }

    /// Appends a point whose name index comes from [`Metrics::intern`].
    pub(crate) fn push_point(&mut self, point: Point) {
        self.points.push(point);
    }

    /// Replaces the value of the point at `index` (in logged order), if there is one.
    pub(crate) fn set_value(&mut self, index: usize, value: f64) {
        if let Some(p) = self.points.get_mut(index) {
            p.value = value;
        }
    }

    /// Renames metrics: `rename` returns a new name, or `None` to keep one.
    /// Metrics renamed alike become one metric.
    pub fn rename(&mut self, mut rename: impl FnMut(&str) -> Option<String>) {
        let old = std::mem::take(&mut self.names);
        self.index.clear();
        let ids: Vec<u32> = old
            .iter()
            .map(|name| match rename(name) {
                Some(new) => self.intern(&new),
                None => self.intern(name),
            })
            .collect();
        for p in &mut self.points {
            p.name = ids[p.name as usize];
        }
    }

    /// Returns the number of points.
    pub fn len(&self) -> usize {
        self.points.len()
    }

    /// Returns whether no point was logged.
    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }

    /// Returns the metric names in order of first appearance; [`Point::name`] indexes it.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Returns the points in logged order.
    pub fn points(&self) -> &[Point] {
        &self.points
    }

    /// Writes `metrics.csv`: the header `step,name,value,time`, then one row per
    /// point in logged order.
    ///
    /// Values are written as the shortest text that reads back to the same `f64`
    /// (`nan`, `inf`, `-inf` for the special values, exponent notation below 1e-5
    /// and from 1e16 on); times as unix seconds with exactly three decimals; names
    /// are quoted when they contain a comma, a quote or a line break.
    pub fn write_csv(&self, w: &mut dyn std::io::Write) -> std::io::Result<()> {
        let names: Vec<String> = self.names.iter().map(|n| csv_field(n)).collect();
        let mut out = Vec::with_capacity(FLUSH_AT + 256);
        out.extend_from_slice(files::METRICS_HEADER.as_bytes());
        for p in &self.points {
            push_u64(&mut out, p.step, 0);
            out.push(b',');
            // Every name index comes from `intern`, so it is in range.
            out.extend_from_slice(names.get(p.name as usize).map_or(&[][..], |n| n.as_bytes()));
            out.push(b',');
            push_value(&mut out, p.value);
            out.push(b',');
            push_time(&mut out, p.time);
            out.push(b'\n');
            if out.len() >= FLUSH_AT {
                w.write_all(&out)?;
                out.clear();
            }
        }
        w.write_all(&out)
    }

    /// Reads `metrics.csv` as written by [`Metrics::write_csv`].
    ///
    /// Rejects a header other than `step,name,value,time`; errors name the line.
    pub fn read_csv(bytes: &[u8]) -> Result<Metrics, Error> {
        let mut reader = csv::ReaderBuilder::new().has_headers(true).from_reader(bytes);
        let header = reader.headers().map_err(|e| csv_error(e, 1))?;
        if header.iter().ne(["step", "name", "value", "time"]) {
            return Err(Error::Header { found: header.iter().collect::<Vec<_>>().join(",") });
        }
        let mut metrics = Metrics::default();
        let mut record = csv::StringRecord::new();
        let mut line = 1;
        loop {
            match reader.read_record(&mut record) {
                Ok(true) => {}
                Ok(false) => break,
                Err(e) => return Err(csv_error(e, line + 1)),
            }
            line = record.position().map_or(line + 1, csv::Position::line);
            let row_error = |message: String| Error::Row { line, message };
            // The reader rejects rows whose field count differs from the header's 4.
            let field = |i| record.get(i).unwrap_or_default();
            let (step, name, value, time) = (field(0), field(1), field(2), field(3));
            let step = step
                .parse::<u64>()
                .map_err(|_| row_error(format!("step `{step}` is not a non-negative integer")))?;
            let value = value
                .parse::<f64>()
                .map_err(|_| row_error(format!("value `{value}` is not a number")))?;
            let time = time
                .parse::<f64>()
                .map_err(|_| row_error(format!("time `{time}` is not a number")))?;
            metrics.push(name, step, value, time);
        }
        Ok(metrics)
    }

    /// Reads only what a curve needs from `metrics.csv`: per metric name, its
    /// `(step, value, time)` points in file order. Rows are split on commas directly
    /// (the writer only quotes names that need it); a file with a quoted name is
    /// read with the full CSV reader instead.
    pub fn read_curves(bytes: &[u8]) -> Result<TimedCurves, Error> {
        let slow = || -> Result<TimedCurves, Error> {
            let metrics = Metrics::read_csv(bytes)?;
            let mut out: Vec<Vec<(u64, f64, f64)>> = vec![Vec::new(); metrics.names.len()];
            for p in &metrics.points {
                out[p.name as usize].push((p.step, p.value, p.time));
            }
            Ok(metrics.names.iter().cloned().zip(out).collect())
        };
        let Some(body) = bytes.strip_prefix(b"step,name,value,time\n") else { return slow() };
        if body.contains(&b'"') {
            return slow();
        }
        let mut index: HashMap<&[u8], usize, BuildHasherDefault<FxHasher>> = HashMap::default();
        let mut names: Vec<&[u8]> = Vec::new();
        let mut curves: Vec<Vec<(u64, f64, f64)>> = Vec::new();
        for line in body.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
            let mut fields = line.splitn(3, |b| *b == b',');
            let (Some(step), Some(name), Some(rest)) =
                (fields.next(), fields.next(), fields.next())
            else {
                return slow();
            };
            let mut rest = rest.splitn(2, |b| *b == b',');
            let (value, time) = (rest.next().unwrap_or_default(), rest.next().unwrap_or_default());
            let number = |b: &[u8]| std::str::from_utf8(b).ok().and_then(|s| s.parse::<f64>().ok());
            let (Some(step), Some(value), Some(time)) = (
                std::str::from_utf8(step).ok().and_then(|s| s.parse::<u64>().ok()),
                number(value),
                number(time),
            ) else {
                return slow();
            };
            // Files usually cycle through a few names: a short scan beats hashing.
            let known = if names.len() <= 8 { names.iter().position(|n| *n == name) } else { None };
            let i = match known {
                Some(i) => i,
                // A name the CSV reader would reject or read differently: use it.
                None if std::str::from_utf8(name).is_err() || name.contains(&b'\r') => {
                    return slow();
                }
                None => *index.entry(name).or_insert_with(|| {
                    names.push(name);
                    curves.push(Vec::with_capacity(body.len() / 32 / names.len().max(1)));
                    curves.len() - 1
                }),
            };
            curves[i].push((step, value, time));
        }
        Ok(names.into_iter().map(|n| String::from_utf8_lossy(n).into_owned()).zip(curves).collect())
    }

    /// Returns per-metric statistics: the value at the highest step (on equal
    /// steps the later-logged one), min and max ignoring NaN (NaN when every value
    /// is NaN), the number of points and the step of the last value.
    pub fn summary(&self) -> BTreeMap<String, MetricSummary> {
        let mut stats: Vec<Option<MetricSummary>> = vec![None; self.names.len()];
        for p in &self.points {
            let Some(slot) = stats.get_mut(p.name as usize) else { continue };
            let s = slot.get_or_insert(MetricSummary {
                last: p.value,
                min: f64::NAN,
                max: f64::NAN,
                count: 0,
                last_step: p.step,
            });
            if p.step >= s.last_step {
                s.last = p.value;
                s.last_step = p.step;
            }
            // `f64::min`/`max` return the other operand when one is NaN.
            s.min = s.min.min(p.value);
            s.max = s.max.max(p.value);
            s.count += 1;
        }
        self.names.iter().cloned().zip(stats).filter_map(|(n, s)| Some((n, s?))).collect()
    }
}

fn csv_error(source: csv::Error, fallback_line: u64) -> Error {
    let line = source.position().map_or(fallback_line, csv::Position::line);
    Error::Csv { line, source }
}

/// Returns `name` as a CSV field, quoted only when CSV requires it.
fn csv_field(name: &str) -> String {
    if name.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", name.replace('"', "\"\""))
    } else {
        name.to_owned()
    }
}

/// Appends the decimal digits of `n`, with a `.` before the last `decimals` digits
/// (at most 6) and at least one digit before it.
fn push_u64(out: &mut Vec<u8>, mut n: u64, decimals: usize) {
    let mut buf = [0u8; 28];
    let mut i = buf.len();
    if decimals > 0 {
        for _ in 0..decimals.min(6) {
            i -= 1;
            buf[i] = b'0' + (n % 10) as u8;
            n /= 10;
        }
        i -= 1;
        buf[i] = b'.';
    }
    // Two digits at a time: this is most of the time spent on `time`.
    while n >= 100 {
        let d = (n % 100) as usize * 2;
        n /= 100;
        i -= 2;
        buf[i..i + 2].copy_from_slice(&DIGIT_PAIRS[d..d + 2]);
    }
    if n >= 10 {
        let d = n as usize * 2;
        i -= 2;
        buf[i..i + 2].copy_from_slice(&DIGIT_PAIRS[d..d + 2]);
    } else {
        i -= 1;
        buf[i] = b'0' + n as u8;
    }
    out.extend_from_slice(&buf[i..]);
}

/// `00`, `01`, ... `99`, concatenated.
const DIGIT_PAIRS: [u8; 200] = {
    let mut pairs = [0u8; 200];
    let mut i = 0;
    while i < 100 {
        pairs[2 * i] = b'0' + (i / 10) as u8;
        pairs[2 * i + 1] = b'0' + (i % 10) as u8;
        i += 1;
    }
    pairs
};

/// Powers of ten for the decimals tried by the fast path of [`push_value`].
const POW10: [f64; 7] = [1.0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6];

fn push_value(out: &mut Vec<u8>, v: f64) {
    let a = v.abs();
    if v.is_nan() {
        out.extend_from_slice(b"nan");
    } else if a == f64::INFINITY {
        out.extend_from_slice(if v > 0.0 { b"inf" } else { b"-inf" });
    } else if a == 0.0 || (1e-5..1e16).contains(&a) {
        // Fast path for values with at most 6 decimals and 15 significant digits (which
        // read back exactly): the shortest text is `m / 10^k` for the smallest k that
        // reads back to `a`. One multiplication rules out most other values; the
        // (correctly rounded) division checks each candidate exactly.
        let top = if a < 1e9 { 6 } else { 0 };
        if a < 1e15 && is_near_integer(a * POW10[top]) {
            for (k, p) in POW10[..=top].iter().enumerate() {
                let m = (a * p).round();
                if m / p == a {
                    if v.is_sign_negative() {
                        out.push(b'-');
                    }
                    push_u64(out, m as u64, k);
                    return;
                }
            }
        }
        // Writing to a Vec cannot fail.
        let _ = write!(out, "{v}");
    } else {
        let _ = write!(out, "{v:e}");
    }
}

/// Whether `s` is within its own rounding error (2^-51 relative) of an integer.
fn is_near_integer(s: f64) -> bool {
    (s - s.round()).abs() <= s * 4.5e-16
}

fn push_time(out: &mut Vec<u8>, t: f64) {
    let millis = (t * 1000.0).round();
    if !millis.is_finite() || millis.abs() >= 9e15 {
        // Not finite, or too far from now for integer milliseconds.
        push_value(out, t);
        return;
    }
    if millis < 0.0 {
        out.push(b'-');
    }
    push_u64(out, millis.abs() as u64, 3);
}

/// The multiply-rotate hash of rustc (FxHash): metric names are short and come
/// from the user's own process, so hash flooding is not a concern, and it is
/// several times faster than SipHash on the ingestion path.
#[derive(Debug, Clone, Copy, Default)]
struct FxHasher {
    hash: u64,
}

impl FxHasher {
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.add(u64::from_le_bytes(w));
        }
        let rest = chunks.remainder();
        let mut w = [0u8; 8];
        w[..rest.len()].copy_from_slice(rest);
        self.add(u64::from_le_bytes(w) ^ ((rest.len() as u64) << 56));
    }

    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    fn finish(&self) -> u64 {
        self.hash
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn csv_of(m: &Metrics) -> String {
        let mut out = Vec::new();
        m.write_csv(&mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn curves_read_fast_and_with_quoted_names_alike() {
        let mut m = Metrics::default();
        m.push("loss", 0, 2.5, 1.0);
        m.push("a,b", 0, 1.0, 1.0);
        m.push("loss", 3, f64::NAN, 2.0);
        m.push("loss", 1, 1.5, 3.0);
        let mut csv = Vec::new();
        m.write_csv(&mut csv).unwrap();
        let curves = Metrics::read_curves(&csv).unwrap();
        assert_eq!(curves["a,b"], [(0, 1.0, 1.0)]);
        assert_eq!(curves["loss"][0], (0, 2.5, 1.0));
        assert!(curves["loss"][1].1.is_nan());
        assert_eq!(curves["loss"][2], (1, 1.5, 3.0));
        // Without a quoted name the fast path reads the same points.
        let plain: Vec<u8> =
            b"step,name,value,time\n0,loss,2.5,1\n1,acc,0.5,1\n2,loss,1,2\n".to_vec();
        let curves = Metrics::read_curves(&plain).unwrap();
        assert_eq!(curves["loss"], [(0, 2.5, 1.0), (2, 1.0, 2.0)]);
        assert_eq!(curves["acc"], [(1, 0.5, 1.0)]);
        assert!(Metrics::read_curves(b"step,name,value,time\nx,loss,1,1\n").is_err());
        // Names the CSV reader would not read the same way go through it.
        assert!(Metrics::read_curves(b"step,name,value,time\n0,a\rb,1,1\n").is_err());
        assert!(Metrics::read_curves(b"step,name,value,time\n0,a\xffb,1,1\n").is_err());
    }

    #[test]
    fn writes_header_rows_and_specials() {
        let mut m = Metrics::default();
        m.push("loss", 0, 0.5, 1_700_000_000.123_4);
        m.push("acc", 0, 1.0, 1_700_000_000.0);
        m.push("loss", 1, f64::NAN, 12.0005);
        m.push("loss", 2, f64::INFINITY, -1.5);
        m.push("loss", 3, f64::NEG_INFINITY, 0.0);
        m.push("tiny", 4, 1e-7, 0.0);
        m.push("huge", 5, 1.5e300, 0.0);
        m.push("third", 6, 0.1 + 0.2, 0.0);
        assert_eq!(
            csv_of(&m),
            "step,name,value,time\n0,loss,0.5,1700000000.123\n0,acc,1,1700000000.000\n\
             1,loss,nan,12.001\n2,loss,inf,-1.500\n3,loss,-inf,0.000\n4,tiny,1e-7,0.000\n\
             5,huge,1.5e300,0.000\n6,third,0.30000000000000004,0.000\n"
        );
    }

    #[test]
    fn csv_round_trip_with_specials_and_quoted_names() {
        let mut m = Metrics::default();
        let names = ["plain", "a,b", "say \"hi\"", "two\nlines", "cr\rhere", "", "ünï/cödé"];
        let values = [0.1, f64::NAN, f64::INFINITY, f64::NEG_INFINITY, -0.0, 1e-300, 123456789.0];
        for (i, (n, v)) in names.iter().zip(values).enumerate() {
            m.push(n, i as u64 * 7, v, 1_700_000_000.5 + i as f64);
        }
        m.push("plain", u64::MAX, 2.5, 0.001);
        let text = csv_of(&m);
        assert!(text.contains("\"a,b\"") && text.contains("\"say \"\"hi\"\"\""), "{text}");
        let back = Metrics::read_csv(text.as_bytes()).unwrap();
        assert_eq!(back.names(), m.names());
        assert_eq!(back.len(), m.len());
        for (a, b) in back.points().iter().zip(m.points()) {
            assert_eq!((a.step, a.name), (b.step, b.name));
            assert_eq!(a.value.to_bits(), b.value.to_bits(), "{} vs {}", a.value, b.value);
            assert_eq!(a.time, b.time);
        }
        assert_eq!(csv_of(&back), text);
    }

    #[test]
    fn read_rejects_bad_header_and_names_the_line() {
        let err = Metrics::read_csv(b"step,name,value\n0,a,1\n").unwrap_err();
        assert!(matches!(err, Error::Header { ref found } if found == "step,name,value"));
        assert!(matches!(Metrics::read_csv(b"").unwrap_err(), Error::Header { .. }));
        let err = Metrics::read_csv(b"step,name,value,time\n0,a,1,2\n1,a,x,2\n").unwrap_err();
        assert!(matches!(err, Error::Row { line: 3, .. }), "{err}");
        assert_eq!(err.to_string(), "metrics.csv line 3: value `x` is not a number");
        let err = Metrics::read_csv(b"step,name,value,time\n-1,a,1,2\n").unwrap_err();
        assert!(matches!(err, Error::Row { line: 2, .. }), "{err}");
        let err = Metrics::read_csv(b"step,name,value,time\n0,a,1,2\n0,a,1\n").unwrap_err();
        assert!(matches!(err, Error::Csv { line: 3, .. }), "{err}");
        let err = Metrics::read_csv(b"step,name,value,time\n0,\xff,1,2\n").unwrap_err();
        assert!(matches!(err, Error::Csv { line: 2, .. }), "{err}");
        assert!(Metrics::read_csv(b"step,name,value,time\n").unwrap().is_empty());
    }

    #[test]
    fn summary_last_min_max_with_nan_and_out_of_order_steps() {
        let mut m = Metrics::default();
        m.push("loss", 5, 0.5, 0.0);
        m.push("loss", 2, 0.1, 0.0);
        m.push("loss", 5, f64::NAN, 0.0);
        m.push("loss", 3, 0.9, 0.0);
        m.push("acc", 0, f64::NAN, 0.0);
        m.push("acc", 1, f64::NAN, 0.0);
        m.push("lr", 7, -1.0, 0.0);
        let s = m.summary();
        assert_eq!(s.keys().collect::<Vec<_>>(), ["acc", "loss", "lr"]);
        let loss = &s["loss"];
        assert!(loss.last.is_nan(), "later-logged value wins at equal steps");
        assert_eq!((loss.min, loss.max, loss.count, loss.last_step), (0.1, 0.9, 4, 5));
        let acc = &s["acc"];
        assert!(acc.min.is_nan() && acc.max.is_nan() && acc.last.is_nan());
        assert_eq!((acc.count, acc.last_step), (2, 1));
        assert_eq!(
            s["lr"],
            MetricSummary { last: -1.0, min: -1.0, max: -1.0, count: 1, last_step: 7 }
        );
    }

    #[test]
    fn value_text_is_std_shortest() {
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut values = vec![0.0, -0.0, 1.0, -2.5, 1e-5, 9.999e-6, 1e15, 1e16, 123456.789, 0.1];
        for i in 0..200_000u64 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let scale = POW10[(x % 7) as usize];
            values.push(match i % 4 {
                0 => f64::from_bits(x >> 1),
                1 => (x % 1_000_000_007) as f64 / scale,
                2 => (x >> 11) as f64 / (1u64 << 53) as f64 * 1e9 / scale,
                _ => -((x % 10_000) as f64) / scale,
            });
        }
        for v in values.into_iter().filter(|v| v.is_finite()) {
            let mut out = Vec::new();
            push_value(&mut out, v);
            let want = if v == 0.0 || (1e-5..1e16).contains(&v.abs()) {
                format!("{v}")
            } else {
                format!("{v:e}")
            };
            assert_eq!(String::from_utf8(out).unwrap(), want, "{v:e}");
        }
    }

    #[test]
    #[ignore = "timing; run with --release -- --ignored --nocapture"]
    #[allow(clippy::print_stdout)]
    fn write_speed() {
        let mut m = Metrics::default();
        let names = ["loss", "acc", "val/loss", "lr"];
        for i in 0..1_000_000u64 {
            let v = (i as f64 * 0.618_033_988_749).fract();
            m.push(names[(i % 4) as usize], i / 4, v, 1_700_000_000.0 + i as f64 * 0.001);
        }
        let mut out = std::io::BufWriter::new(std::io::sink());
        let start = std::time::Instant::now();
        m.write_csv(&mut out).unwrap();
        let took = start.elapsed();
        println!("write_csv: 1,000,000 points in {took:?}");
    }
}
