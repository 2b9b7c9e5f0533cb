//! Charts as SVG text, readable without JavaScript: metric curves (one line per
//! run) with axes, ticks and a legend. Large curves are reduced for display by
//! Largest-Triangle-Three-Buckets, which keeps the shape (peaks, drops) that
//! plain averaging or striding would flatten. Output is deterministic.

use std::fmt::Write as _;

use crate::text::html as html_escape;

/// One line of a chart.
#[derive(Debug, Clone)]
pub struct Series<'a> {
    /// Legend text (escaped on output).
    pub name: &'a str,
    /// `(x, y)` points in x order; non-finite points are left out.
    pub points: &'a [(f64, f64)],
}

/// Size and labels of a chart.
#[derive(Debug, Clone)]
pub struct Options<'a> {
    /// Width in px.
    pub width: u32,
    /// Height in px.
    pub height: u32,
    /// Label under the x axis.
    pub x_label: &'a str,
    /// Most points drawn per series.
    pub max_points: usize,
    /// Draw points as dots instead of joining them (overviews, scatter plots).
    pub dots: bool,
}

impl Default for Options<'_> {
    fn default() -> Self {
        Options { width: 640, height: 320, x_label: "step", max_points: 600, dots: false }
    }
}

/// Line colours, distinguishable and readable on white.
const COLORS: [&str; 8] =
    ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2"];

/// Reduces `points` (in x order) to at most `threshold` points, keeping the
/// first and the last and, from each bucket between, the point that makes the
/// largest triangle with the previously kept point and the next bucket's mean.
pub fn lttb(points: &[(f64, f64)], threshold: usize) -> Vec<(f64, f64)> {
    let n = points.len();
    if threshold >= n || threshold < 3 {
        return points.to_vec();
    }
    let mut out = Vec::with_capacity(threshold);
    out.push(points[0]);
    // Buckets over the points between the first and the last.
    let every = (n - 2) as f64 / (threshold - 2) as f64;
    let mut kept = 0usize;
    for bucket in 0..threshold - 2 {
        let start = (bucket as f64 * every) as usize + 1;
        let end = (((bucket + 1) as f64 * every) as usize + 1).min(n - 1);
        // The mean of the next bucket (the last point for the last bucket).
        let next_start = end;
        let next_end = (((bucket + 2) as f64 * every) as usize + 1).min(n);
        let next = &points[next_start..next_end.max(next_start + 1).min(n)];
        let (mx, my) = next.iter().fold((0.0, 0.0), |(x, y), p| (x + p.0, y + p.1));
        let (mx, my) = (mx / next.len() as f64, my / next.len() as f64);
        let (ax, ay) = points[kept];
        let mut best = start;
        let mut best_area = -1.0;
        for (i, &(x, y)) in points.iter().enumerate().take(end.max(start + 1)).skip(start) {
            let area = ((ax - mx) * (y - ay) - (ax - x) * (my - ay)).abs();
            if area > best_area {
                best_area = area;
                best = i;
            }
        }
        out.push(points[best]);
        kept = best;
    }
    out.push(points[n - 1]);
    out
}

/// "Nice" tick values covering `[lo, hi]`: about `count` steps of 1, 2 or 5 x 10^k.
pub fn ticks(lo: f64, hi: f64, count: usize) -> Vec<f64> {
    if !(lo.is_finite() && hi.is_finite()) || count == 0 {
        return Vec::new();
    }
    if hi <= lo {
        return vec![lo];
    }
    let raw = (hi - lo) / count as f64;
    let magnitude = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * magnitude)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * magnitude);
    let first = (lo / step).ceil() as i64;
    let last = (hi / step).floor() as i64;
    (first..=last).map(|i| i as f64 * step).collect()
}

fn tick_label(v: f64) -> String {
    let text = crate::report::model::format_number(v);
    if text == "-0" {
        "0".into()
    } else {
        text
    }
}

/// A line chart of `series` as a standalone `<svg>` element.
pub fn line_chart(title: &str, series: &[Series<'_>], opts: &Options<'_>) -> String {
    let drawn: Vec<Vec<(f64, f64)>> = series
        .iter()
        .map(|s| {
            let finite: Vec<(f64, f64)> =
                s.points.iter().copied().filter(|(x, y)| x.is_finite() && y.is_finite()).collect();
            lttb(&finite, opts.max_points)
        })
        .collect();
    let all = drawn.iter().flatten();
    let (mut x0, mut x1, mut y0, mut y1) = all
        .fold((f64::INFINITY, f64::NEG_INFINITY, f64::INFINITY, f64::NEG_INFINITY), |b, p| {
            (b.0.min(p.0), b.1.max(p.0), b.2.min(p.1), b.3.max(p.1))
        });
    if !x0.is_finite() {
        (x0, x1, y0, y1) = (0.0, 1.0, 0.0, 1.0);
    }
    if x1 <= x0 {
        x1 = x0 + 1.0;
    }
    if y1 <= y0 {
        let pad = if y0 == 0.0 { 1.0 } else { y0.abs() * 0.1 };
        (y0, y1) = (y0 - pad, y1 + pad);
    }
    if opts.dots {
        // Dots on the frame are hard to see: leave a margin around them.
        let (px, py) = ((x1 - x0) * 0.05, (y1 - y0) * 0.08);
        (x0, x1, y0, y1) = (x0 - px, x1 + px, y0 - py, y1 + py);
    }
    let (w, h) = (f64::from(opts.width), f64::from(opts.height));
    let (left, right, top, bottom) = (56.0, 12.0, 28.0, 40.0);
    let legend_rows = if series.len() > 1 { series.len().min(8) } else { 0 };
    let plot_h = h - top - bottom - 16.0 * legend_rows as f64;
    let plot_w = w - left - right;
    let sx = |x: f64| left + (x - x0) / (x1 - x0) * plot_w;
    let sy = |y: f64| top + plot_h - (y - y0) / (y1 - y0) * plot_h;

    let mut s = String::new();
    let _ = write!(
        s,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {} {}\" width=\"{}\" height=\"{}\" \
         role=\"img\" aria-label=\"{}\" font-family=\"sans-serif\" font-size=\"11\">",
        opts.width,
        opts.height,
        opts.width,
        opts.height,
        html_escape(title)
    );
    let _ = write!(s, "<title>{}</title>", html_escape(title));
    let _ = write!(s, "<rect width=\"100%\" height=\"100%\" fill=\"#fff\"/>");
    let _ = write!(
        s,
        "<text x=\"{left}\" y=\"16\" font-size=\"13\" font-weight=\"bold\">{}</text>",
        html_escape(title)
    );
    for t in ticks(y0, y1, 5) {
        let y = sy(t);
        let _ = write!(
            s,
            "<line x1=\"{left}\" x2=\"{:.1}\" y1=\"{y:.1}\" y2=\"{y:.1}\" stroke=\"#eee\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" fill=\"#555\">{}</text>",
            left + plot_w,
            left - 4.0,
            y + 4.0,
            html_escape(&tick_label(t))
        );
    }
    for t in ticks(x0, x1, 6) {
        let x = sx(t);
        let _ = write!(
            s,
            "<line x1=\"{x:.1}\" x2=\"{x:.1}\" y1=\"{top}\" y2=\"{:.1}\" stroke=\"#f3f3f3\"/>\
             <text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"#555\">{}</text>",
            top + plot_h,
            top + plot_h + 14.0,
            html_escape(&tick_label(t))
        );
    }
    let _ = write!(
        s,
        "<rect x=\"{left}\" y=\"{top}\" width=\"{plot_w:.1}\" height=\"{plot_h:.1}\" fill=\"none\" stroke=\"#999\"/>\
         <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"#555\">{}</text>",
        left + plot_w / 2.0,
        top + plot_h + 30.0,
        html_escape(opts.x_label)
    );
    for (i, (points, serie)) in drawn.iter().zip(series).enumerate() {
        let color = COLORS[i % COLORS.len()];
        if points.len() == 1 || opts.dots {
            for &(x, y) in points {
                let _ = write!(
                    s,
                    "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"3\" fill=\"{color}\"><title>{}: {}</title></circle>",
                    sx(x),
                    sy(y),
                    html_escape(serie.name),
                    tick_label(y)
                );
            }
        } else if !points.is_empty() {
            let mut path = String::with_capacity(points.len() * 14);
            for (x, y) in points {
                let _ = write!(path, "{:.1},{:.1} ", sx(*x), sy(*y));
            }
            let _ = write!(
                s,
                "<polyline fill=\"none\" stroke=\"{color}\" stroke-width=\"1.5\" points=\"{}\"><title>{}</title></polyline>",
                path.trim_end(),
                html_escape(serie.name)
            );
        }
        if legend_rows > 0 && i < 8 {
            let y = top + plot_h + 44.0 + 16.0 * i as f64;
            let _ = write!(
                s,
                "<rect x=\"{left}\" y=\"{:.1}\" width=\"12\" height=\"3\" fill=\"{color}\"/>\
                 <text x=\"{:.1}\" y=\"{:.1}\">{}</text>",
                y - 4.0,
                left + 18.0,
                y,
                html_escape(serie.name)
            );
        }
    }
    s.push_str("</svg>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lttb_keeps_ends_count_and_spikes() {
        let mut points: Vec<(f64, f64)> = (0..10_000).map(|i| (f64::from(i), 1.0)).collect();
        points[5_000].1 = 100.0;
        let reduced = lttb(&points, 100);
        assert_eq!(reduced.len(), 100);
        assert_eq!(reduced[0], (0.0, 1.0));
        assert_eq!(reduced[99], (9_999.0, 1.0));
        assert!(reduced.contains(&(5_000.0, 100.0)), "the spike survives");
        assert!(reduced.windows(2).all(|w| w[0].0 < w[1].0), "x order kept");
        assert_eq!(lttb(&points[..50], 100).len(), 50);
    }

    #[test]
    fn ticks_are_round_numbers() {
        assert_eq!(ticks(0.0, 1.0, 5), [0.0, 0.2, 0.4, 0.6000000000000001, 0.8, 1.0]);
        assert_eq!(ticks(0.0, 1000.0, 4), [0.0, 500.0, 1000.0]);
        assert_eq!(ticks(3.0, 3.0, 5), [3.0]);
        assert!(ticks(f64::NAN, 1.0, 5).is_empty());
    }

    #[test]
    fn charts_escape_text_and_are_deterministic() {
        let a: Vec<(f64, f64)> =
            (0..5000).map(|i| (f64::from(i), 1.0 / f64::from(i + 1))).collect();
        let b = [(0.0, 0.5), (1.0, f64::NAN), (2.0, 0.25)];
        let series =
            [Series { name: "<b>run</b>", points: &a }, Series { name: "x&y", points: &b }];
        let opts = Options { max_points: 200, ..Options::default() };
        let svg = line_chart("loss \"val\"", &series, &opts);
        assert_eq!(svg, line_chart("loss \"val\"", &series, &opts));
        assert!(svg.starts_with("<svg ") && svg.ends_with("</svg>"));
        assert!(svg.contains("&lt;b&gt;run&lt;/b&gt;") && svg.contains("x&amp;y"));
        assert!(!svg.contains("<b>"));
        assert!(svg.contains("loss &quot;val&quot;"));
        let first = svg.split("points=\"").nth(1).unwrap().split('"').next().unwrap();
        assert_eq!(first.split(' ').count(), 200);
        assert_eq!(svg.matches("<polyline").count(), 2);
    }
}
