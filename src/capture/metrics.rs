//! The metric points of a run while it logs: an in-memory table of
//! `(step, name, value, time)` rows with interned names.
//!
//! This module owns building the table (interning names, replacing a value logged
//! twice at one step, renaming metrics before they are stored). The file format,
//! `metrics.csv`, and the per-metric summary belong to `store::metrics`, which
//! these methods call. It does not parse events (see `capture::events`) and
//! knows nothing of git or terminals.

use std::collections::{BTreeMap, HashMap};

use crate::store::format::MetricSummary;
use crate::store::metrics::{self as format, FxBuildHasher};
pub use crate::store::metrics::{Point, TimedCurves};

/// All metric points of a run, in logged order, with their names interned.
#[derive(Debug, Clone, Default)]
pub struct Metrics {
    names: Vec<String>,
    index: HashMap<String, u32, FxBuildHasher>,
    points: Vec<Point>,
}

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

    /// Writes `metrics.csv` (see [`store::metrics::write_csv`](format::write_csv)).
    pub fn write_csv(&self, w: &mut dyn std::io::Write) -> std::io::Result<()> {
        format::write_csv(&self.names, &self.points, w)
    }

    /// Reads `metrics.csv` (see [`store::metrics::read_csv`](format::read_csv)).
    pub fn read_csv(bytes: &[u8]) -> Result<Metrics, format::Error> {
        let table = format::read_csv(bytes)?;
        let index = table.names.iter().cloned().zip(0..).collect();
        Ok(Metrics { names: table.names, index, points: table.points })
    }

    /// Returns per-metric statistics (see [`store::metrics::summary`](format::summary)).
    pub fn summary(&self) -> BTreeMap<String, MetricSummary> {
        format::summary(&self.names, &self.points)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::format::MetricSummary;
    use crate::store::metrics::Error;

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
        let curves = format::read_curves(&csv).unwrap();
        assert_eq!(curves["a,b"], [(0, 1.0, 1.0)]);
        assert_eq!(curves["loss"][0], (0, 2.5, 1.0));
        assert!(curves["loss"][1].1.is_nan());
        assert_eq!(curves["loss"][2], (1, 1.5, 3.0));
        // Without a quoted name the fast path reads the same points.
        let plain: Vec<u8> =
            b"step,name,value,time\n0,loss,2.5,1\n1,acc,0.5,1\n2,loss,1,2\n".to_vec();
        let curves = format::read_curves(&plain).unwrap();
        assert_eq!(curves["loss"], [(0, 2.5, 1.0), (2, 1.0, 2.0)]);
        assert_eq!(curves["acc"], [(1, 0.5, 1.0)]);
        assert!(format::read_curves(b"step,name,value,time\nx,loss,1,1\n").is_err());
        // Names the CSV reader would not read the same way go through it.
        assert!(format::read_curves(b"step,name,value,time\n0,a\rb,1,1\n").is_err());
        assert!(format::read_curves(b"step,name,value,time\n0,a\xffb,1,1\n").is_err());
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
