//! The file format of `metrics.csv` (storage format 1): writing it, reading it
//! back, reading only its curves, and the per-metric summary of its points.
//!
//! This module owns the layout of `metrics.csv`: header `step,name,value,time`,
//! rows in logged order, values as the shortest text that reads back to the same
//! `f64` (`nan`, `inf`, `-inf` for the special values), times as unix seconds
//! with exactly three decimals. The in-memory table a run builds while it logs
//! lives in `capture::metrics`; this module sees only names and points.

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
    /// Index of the metric's name in the list of names it comes with.
    pub name: u32,
    /// The value; may be NaN or infinite.
    pub value: f64,
    /// When it was logged, unix seconds.
    pub time: f64,
}

/// Each metric's `(step, value, time)` points, by name.
pub type TimedCurves = BTreeMap<String, Vec<(u64, f64, f64)>>;

/// The hasher of the metric-name indexes (see [`FxHasher`]).
pub(crate) type FxBuildHasher = BuildHasherDefault<FxHasher>;

/// The rows of a `metrics.csv` as read back: the names in order of first
/// appearance and the points, whose [`Point::name`] indexes `names`.
#[derive(Debug, Clone, Default)]
pub struct Table {
    /// The metric names in order of first appearance.
    pub names: Vec<String>,
    /// The points in file order.
    pub points: Vec<Point>,
}

/// Rows are rendered into a string of about this size before each write.
const FLUSH_AT: usize = 64 * 1024;

/// Writes `metrics.csv`: the header `step,name,value,time`, then one row per
/// point in the given order; each [`Point::name`] indexes `names`.
///
/// Values are written as the shortest text that reads back to the same `f64`
/// (`nan`, `inf`, `-inf` for the special values, exponent notation below 1e-5
/// and from 1e16 on); times as unix seconds with exactly three decimals; names
/// are quoted when they contain a comma, a quote or a line break.
pub fn write_csv(
    names: &[String],
    points: &[Point],
    w: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    let names: Vec<String> = names.iter().map(|n| csv_field(n)).collect();
    let mut out = Vec::with_capacity(FLUSH_AT + 256);
    out.extend_from_slice(files::METRICS_HEADER.as_bytes());
    for p in points {
        push_u64(&mut out, p.step, 0);
        out.push(b',');
        // Callers index names they were given, so the index is in range.
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

/// Reads `metrics.csv` as written by [`write_csv`].
///
/// Rejects a header other than `step,name,value,time`; errors name the line.
pub fn read_csv(bytes: &[u8]) -> Result<Table, Error> {
    let mut reader = csv::ReaderBuilder::new().has_headers(true).from_reader(bytes);
    let header = reader.headers().map_err(|e| csv_error(e, 1))?;
    if header.iter().ne(["step", "name", "value", "time"]) {
        return Err(Error::Header { found: header.iter().collect::<Vec<_>>().join(",") });
    }
    let mut table = Table::default();
    let mut index: HashMap<String, u32, FxBuildHasher> = HashMap::default();
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
        let time =
            time.parse::<f64>().map_err(|_| row_error(format!("time `{time}` is not a number")))?;
        let name = match index.get(name) {
            Some(&id) => id,
            None => {
                let id = u32::try_from(table.names.len()).expect("fewer than 2^32 metric names");
                table.names.push(name.to_owned());
                index.insert(name.to_owned(), id);
                id
            }
        };
        table.points.push(Point { step, name, value, time });
    }
    Ok(table)
}

/// Reads only what a curve needs from `metrics.csv`: per metric name, its
/// `(step, value, time)` points in file order. Rows are split on commas directly
/// (the writer only quotes names that need it); a file with a quoted name is
/// read with the full CSV reader instead.
pub fn read_curves(bytes: &[u8]) -> Result<TimedCurves, Error> {
    let slow = || -> Result<TimedCurves, Error> {
        let table = read_csv(bytes)?;
        let mut out: Vec<Vec<(u64, f64, f64)>> = vec![Vec::new(); table.names.len()];
        for p in &table.points {
            out[p.name as usize].push((p.step, p.value, p.time));
        }
        Ok(table.names.into_iter().zip(out).collect())
    };
    let Some(body) = bytes.strip_prefix(b"step,name,value,time\n") else { return slow() };
    if body.contains(&b'"') {
        return slow();
    }
    let mut index: HashMap<&[u8], usize, FxBuildHasher> = HashMap::default();
    let mut names: Vec<&[u8]> = Vec::new();
    let mut curves: Vec<Vec<(u64, f64, f64)>> = Vec::new();
    for line in body.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
        let mut fields = line.splitn(3, |b| *b == b',');
        let (Some(step), Some(name), Some(rest)) = (fields.next(), fields.next(), fields.next())
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
pub fn summary(names: &[String], points: &[Point]) -> BTreeMap<String, MetricSummary> {
    let mut stats: Vec<Option<MetricSummary>> = vec![None; names.len()];
    for p in points {
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
    names.iter().cloned().zip(stats).filter_map(|(n, s)| Some((n, s?))).collect()
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
pub(crate) struct FxHasher {
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
}
