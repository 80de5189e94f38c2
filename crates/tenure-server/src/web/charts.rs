//! SVG charts drawn on the server: stacked bars (MRR movements, health
//! bands), lines (retention, scores), plain bars (weekly active users),
//! horizontal bars (ARR and health per segment) and the journey funnel.
//!
//! Each chart is a self-contained `<svg role="img">` with a `<title>` and a
//! `<desc>` listing every value, so screen readers and text browsers get the
//! numbers. Colours come from CSS classes (`s-new`, `s-red`, ...) so that the
//! page's stylesheet, print included, decides them. Written by hand rather
//! than with a plotting crate: the charts are few and simple, and this keeps
//! full control of the markup (titles, classes, text) with no dependency.

use std::fmt::Write;

/// The site icon: a small rising bar chart.
pub const FAVICON: &str = r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect width="16" height="16" rx="3" fill="#1f4e79"/><rect x="3" y="9" width="2" height="4" fill="#fff"/><rect x="7" y="6" width="2" height="7" fill="#fff"/><rect x="11" y="3" width="2" height="10" fill="#fff"/></svg>"##;

const W: f64 = 640.0;
const H: f64 = 220.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 12.0;
const TOP: f64 = 12.0;
const BOTTOM: f64 = 30.0;

/// Escapes text for SVG/HTML.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// One named series of values; `class` picks its colour in the CSS.
#[derive(Debug, Clone)]
pub struct Series {
    pub name: String,
    pub class: &'static str,
    pub values: Vec<Option<f64>>,
}

impl Series {
    pub fn new(name: &str, class: &'static str, values: Vec<Option<f64>>) -> Series {
        Series {
            name: name.to_string(),
            class,
            values,
        }
    }
}

/// Round tick values covering `lo..hi`.
fn ticks(lo: f64, hi: f64) -> Vec<f64> {
    let span = (hi - lo).max(1e-9);
    let raw = span / 4.0;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| span / s <= 5.0)
        .unwrap_or(10.0 * mag);
    let first = (lo / step).floor() * step;
    let mut out = Vec::new();
    let mut t = first;
    // Up to and including the first tick at or above `hi`.
    loop {
        out.push(t);
        if t >= hi - step * 1e-9 || out.len() >= 12 {
            break;
        }
        t += step;
    }
    out
}

struct Frame {
    lo: f64,
    hi: f64,
    n: usize,
}

impl Frame {
    fn new(lo: f64, hi: f64, n: usize) -> Frame {
        let t = ticks(lo, hi);
        Frame {
            lo: t.first().copied().unwrap_or(lo).min(lo),
            hi: t.last().copied().unwrap_or(hi).max(hi),
            n: n.max(1),
        }
    }
    fn y(&self, v: f64) -> f64 {
        let h = H - TOP - BOTTOM;
        TOP + h - (v - self.lo) / (self.hi - self.lo).max(1e-9) * h
    }
    fn slot(&self) -> f64 {
        (W - LEFT - RIGHT) / self.n as f64
    }
    fn x_center(&self, i: usize) -> f64 {
        LEFT + self.slot() * (i as f64 + 0.5)
    }
}

fn open(out: &mut String, id: &str, title: &str, desc: &str) {
    open_sized(out, id, title, desc, (W, H), "chart");
}

/// Opens a chart of `size` (width, height) with CSS classes `class`.
fn open_sized(out: &mut String, id: &str, title: &str, desc: &str, size: (f64, f64), class: &str) {
    let (w, h) = size;
    let _ = write!(
        out,
        r#"<svg class="{class}" viewBox="0 0 {w} {h}" role="img" aria-labelledby="{id}-t {id}-d" xmlns="http://www.w3.org/2000/svg"><title id="{id}-t">{}</title><desc id="{id}-d">{}</desc>"#,
        esc(title),
        esc(desc)
    );
}

fn axes(out: &mut String, f: &Frame, labels: &[String], fmt: &dyn Fn(f64) -> String) {
    for t in ticks(f.lo, f.hi) {
        if t < f.lo - 1e-9 || t > f.hi + 1e-9 {
            continue;
        }
        let y = f.y(t);
        let _ = write!(
            out,
            r#"<line class="grid" x1="{LEFT}" x2="{}" y1="{y:.1}" y2="{y:.1}"/><text class="tick" x="{}" y="{:.1}" text-anchor="end">{}</text>"#,
            W - RIGHT,
            LEFT - 6.0,
            y + 4.0,
            esc(&fmt(t))
        );
    }
    // At most about twelve labels, evenly spaced.
    let every = labels.len().div_ceil(12).max(1);
    for (i, l) in labels.iter().enumerate() {
        if i % every == 0 {
            let _ = write!(
                out,
                r#"<text class="tick" x="{:.1}" y="{}" text-anchor="middle">{}</text>"#,
                f.x_center(i),
                H - BOTTOM + 16.0,
                esc(l)
            );
        }
    }
}

fn describe(labels: &[String], series: &[Series], fmt: &dyn Fn(f64) -> String) -> String {
    let mut parts = Vec::new();
    for (i, l) in labels.iter().enumerate() {
        let vals: Vec<String> = series
            .iter()
            .map(|s| {
                let v = s.values.get(i).copied().flatten();
                format!("{} {}", s.name, v.map_or("n/a".to_string(), fmt))
            })
            .collect();
        parts.push(format!("{l}: {}", vals.join(", ")));
    }
    parts.join("; ")
}

fn legend(series: &[Series]) -> String {
    let mut out = String::from(r#"<ul class="legend">"#);
    for s in series {
        let _ = write!(
            out,
            r#"<li><span class="key {}"></span>{}</li>"#,
            s.class,
            esc(&s.name)
        );
    }
    out.push_str("</ul>");
    out
}

/// Stacked columns: `up` stacked above zero, `down` (positive amounts)
/// stacked below it, e.g. MRR gained and lost per month.
pub fn stacked(
    id: &str,
    title: &str,
    labels: &[String],
    up: &[Series],
    down: &[Series],
    fmt: &dyn Fn(f64) -> String,
) -> String {
    let n = labels.len();
    let sum = |ss: &[Series], i: usize| -> f64 {
        ss.iter()
            .map(|s| s.values.get(i).copied().flatten().unwrap_or(0.0).max(0.0))
            .sum()
    };
    let hi = (0..n).map(|i| sum(up, i)).fold(0.0, f64::max);
    let lo = -(0..n).map(|i| sum(down, i)).fold(0.0, f64::max);
    let f = Frame::new(lo, if hi == 0.0 && lo == 0.0 { 1.0 } else { hi }, n);
    let all: Vec<Series> = up.iter().chain(down).cloned().collect();
    let mut out = String::new();
    open(&mut out, id, title, &describe(labels, &all, fmt));
    axes(&mut out, &f, labels, fmt);
    let bw = (f.slot() * 0.6).clamp(2.0, 48.0);
    for (i, label) in labels.iter().enumerate() {
        let x = f.x_center(i) - bw / 2.0;
        for (group, sign) in [(up, 1.0), (down, -1.0)] {
            let mut base = 0.0;
            for s in group {
                let v = s.values.get(i).copied().flatten().unwrap_or(0.0).max(0.0);
                if v <= 0.0 {
                    continue;
                }
                let (a, b) = (f.y(base), f.y(base + sign * v));
                let _ = write!(
                    out,
                    r#"<rect class="{}" x="{x:.1}" y="{:.1}" width="{bw:.1}" height="{:.1}"><title>{}: {} {}</title></rect>"#,
                    s.class,
                    a.min(b),
                    (a - b).abs().max(0.5),
                    esc(label),
                    esc(&s.name),
                    esc(&fmt(v))
                );
                base += sign * v;
            }
        }
    }
    let z = f.y(0.0);
    let _ = write!(
        out,
        r#"<line class="zero" x1="{LEFT}" x2="{}" y1="{z:.1}" y2="{z:.1}"/></svg>"#,
        W - RIGHT
    );
    out + &legend(&all)
}

/// Line chart; `None` values break the line. `range` fixes the y axis.
pub fn lines(
    id: &str,
    title: &str,
    labels: &[String],
    series: &[Series],
    range: Option<(f64, f64)>,
    fmt: &dyn Fn(f64) -> String,
) -> String {
    let n = labels.len();
    let vals = || {
        series
            .iter()
            .flat_map(|s| s.values.iter().flatten().copied())
    };
    let (lo, hi) = match range {
        Some(r) => r,
        None => {
            let lo = vals().fold(f64::INFINITY, f64::min);
            let hi = vals().fold(f64::NEG_INFINITY, f64::max);
            if lo.is_finite() {
                (lo.min(0.0), if hi > lo { hi } else { lo + 1.0 })
            } else {
                (0.0, 1.0)
            }
        }
    };
    let f = Frame::new(lo, hi, n);
    let mut out = String::new();
    open(&mut out, id, title, &describe(labels, series, fmt));
    axes(&mut out, &f, labels, fmt);
    for s in series {
        let mut d = String::new();
        let mut pen = false;
        for (i, v) in s.values.iter().enumerate() {
            match v {
                Some(v) => {
                    let _ = write!(
                        d,
                        "{}{:.1},{:.1} ",
                        if pen { "L" } else { "M" },
                        f.x_center(i),
                        f.y(*v)
                    );
                    pen = true;
                }
                None => pen = false,
            }
        }
        let _ = write!(out, r#"<path class="line {}" d="{}"/>"#, s.class, d.trim());
        if n <= 60 {
            for (i, v) in s.values.iter().enumerate() {
                if let Some(v) = v {
                    let _ = write!(
                        out,
                        r#"<circle class="dot {}" cx="{:.1}" cy="{:.1}" r="2.5"><title>{}: {} {}</title></circle>"#,
                        s.class,
                        f.x_center(i),
                        f.y(*v),
                        esc(&labels[i]),
                        esc(&s.name),
                        esc(&fmt(*v))
                    );
                }
            }
        }
    }
    out.push_str("</svg>");
    if series.len() > 1 {
        out.push_str(&legend(series));
    }
    out
}

/// Plain columns of one series.
pub fn bars(
    id: &str,
    title: &str,
    labels: &[String],
    series: &Series,
    fmt: &dyn Fn(f64) -> String,
) -> String {
    let hi = series
        .values
        .iter()
        .flatten()
        .copied()
        .fold(0.0, f64::max)
        .max(1.0);
    let f = Frame::new(0.0, hi, labels.len());
    let mut out = String::new();
    open(
        &mut out,
        id,
        title,
        &describe(labels, std::slice::from_ref(series), fmt),
    );
    axes(&mut out, &f, labels, fmt);
    let bw = (f.slot() * 0.7).clamp(1.0, 48.0);
    for (i, v) in series.values.iter().enumerate() {
        let v = v.unwrap_or(0.0);
        let y = f.y(v);
        let _ = write!(
            out,
            r#"<rect class="{}" x="{:.1}" y="{y:.1}" width="{bw:.1}" height="{:.1}"><title>{}: {}</title></rect>"#,
            series.class,
            f.x_center(i) - bw / 2.0,
            (f.y(0.0) - y).max(0.0),
            esc(&labels[i]),
            esc(&fmt(v))
        );
    }
    out.push_str("</svg>");
    out
}

/// Height of a row of the horizontal charts.
const ROW: f64 = 30.0;
/// Width of the label column of the horizontal charts.
const LABEL: f64 = 128.0;
/// Width of [`hbars`], drawn in half-width cards.
const HBARS_W: f64 = 480.0;
/// Width of [`funnel`], drawn across the page (its CSS caps its width).
const FUNNEL_W: f64 = 900.0;

/// One bar of a horizontal chart: its label, value, CSS class and the text
/// written after it (the value formatted, or more).
#[derive(Debug, Clone)]
pub struct Bar {
    pub label: String,
    pub value: f64,
    pub class: &'static str,
    pub note: String,
}

/// Horizontal bars from a common baseline, one row per label, each with
/// its note after it: for a few categories with long names (segments).
pub fn hbars(id: &str, title: &str, bars: &[Bar]) -> String {
    let h = TOP + ROW * bars.len().max(1) as f64 + 4.0;
    let hi = bars.iter().map(|b| b.value).fold(0.0, f64::max);
    // Room for the note after the longest bar.
    let area = HBARS_W - LABEL - RIGHT - 96.0;
    let mut out = String::new();
    open_sized(
        &mut out,
        id,
        title,
        &describe_bars(bars),
        (HBARS_W, h),
        "chart hbars",
    );
    for (i, b) in bars.iter().enumerate() {
        let y = TOP + ROW * i as f64;
        let w = if hi > 0.0 {
            (b.value.max(0.0) / hi * area).max(if b.value > 0.0 { 1.0 } else { 0.0 })
        } else {
            0.0
        };
        let _ = write!(
            out,
            r#"<text class="label" x="{:.1}" y="{:.1}" text-anchor="end">{}</text><rect class="{}" x="{LABEL}" y="{:.1}" width="{w:.1}" height="{:.1}" rx="2"><title>{}: {}</title></rect><text class="value" x="{:.1}" y="{:.1}">{}</text>"#,
            LABEL - 8.0,
            y + ROW / 2.0 + 4.0,
            esc(&b.label),
            b.class,
            y + 5.0,
            ROW - 10.0,
            esc(&b.label),
            esc(&b.note),
            LABEL + w + 6.0,
            y + ROW / 2.0 + 4.0,
            esc(&b.note)
        );
    }
    let _ = write!(
        out,
        r#"<line class="zero" x1="{LABEL}" x2="{LABEL}" y1="{TOP}" y2="{:.1}"/></svg>"#,
        h - 4.0
    );
    out
}

/// A funnel: one centred bar per stage, in journey order, as wide as its
/// value, with the value on the bar and the note (conversion, median days)
/// to the right.
pub fn funnel(id: &str, title: &str, bars: &[Bar], value: &dyn Fn(f64) -> String) -> String {
    let h = TOP + ROW * bars.len().max(1) as f64 + 4.0;
    let hi = bars.iter().map(|b| b.value).fold(0.0, f64::max);
    let notes = 250.0;
    let area = FUNNEL_W - LABEL - RIGHT - notes;
    let centre = LABEL + area / 2.0;
    let mut out = String::new();
    open_sized(
        &mut out,
        id,
        title,
        &describe_bars(bars),
        (FUNNEL_W, h),
        "chart funnel",
    );
    for (i, b) in bars.iter().enumerate() {
        let y = TOP + ROW * i as f64;
        let w = if hi > 0.0 {
            (b.value.max(0.0) / hi * area).max(2.0)
        } else {
            2.0
        };
        let text_y = y + ROW / 2.0 + 4.0;
        // The value on the bar when it fits, else beside it.
        let (tx, anchor, class) = if w >= 44.0 {
            (centre, "middle", "value in")
        } else {
            (centre + w / 2.0 + 6.0, "start", "value")
        };
        let _ = write!(
            out,
            r#"<text class="label" x="{:.1}" y="{text_y:.1}" text-anchor="end">{}</text><rect class="{}" x="{:.1}" y="{:.1}" width="{w:.1}" height="{:.1}" rx="2"><title>{}: {} · {}</title></rect><text class="{class}" x="{tx:.1}" y="{text_y:.1}" text-anchor="{anchor}">{}</text><text class="note" x="{:.1}" y="{text_y:.1}">{}</text>"#,
            LABEL - 8.0,
            esc(&b.label),
            b.class,
            centre - w / 2.0,
            y + 4.0,
            ROW - 8.0,
            esc(&b.label),
            esc(&value(b.value)),
            esc(&b.note),
            esc(&value(b.value)),
            FUNNEL_W - RIGHT - notes + 10.0,
            esc(&b.note)
        );
    }
    out.push_str("</svg>");
    out
}

fn describe_bars(bars: &[Bar]) -> String {
    bars.iter()
        .map(|b| format!("{}: {}", b.label, b.note))
        .collect::<Vec<_>>()
        .join("; ")
}

/// One Kaplan–Meier curve: from day 0 at 1.0, each step `(day, survival,
/// lower, upper)` where the curve (or its band) changes; `last_day` the
/// longest lifetime observed, where the curve stops.
#[derive(Debug, Clone)]
pub struct StepCurve {
    pub name: String,
    /// `km0` to `km5`: its colour in the CSS.
    pub class: &'static str,
    pub steps: Vec<(f64, f64, f64, f64)>,
    pub last_day: f64,
}

/// Kaplan–Meier survival curves: step lines from 1.0 at day 0 over days
/// shown as months, each with its confidence band shaded, a legend, and
/// `desc` (the figures in words) as the text alternative.
pub fn survival(id: &str, title: &str, curves: &[StepCurve], desc: &str) -> String {
    const MONTH: f64 = 30.4375;
    let months = curves
        .iter()
        .map(|c| c.last_day / MONTH)
        .fold(1.0, f64::max);
    // Ticks every 3, 6 or 12 months, at most about eight of them.
    let step = [1.0, 3.0, 6.0, 12.0, 24.0]
        .into_iter()
        .find(|s| months / s <= 8.0)
        .unwrap_or(48.0);
    let span = (months / step).ceil() * step;
    let x = |day: f64| LEFT + day / MONTH / span * (W - LEFT - RIGHT);
    let f = Frame::new(0.0, 1.0, 1);
    let mut out = String::new();
    open(&mut out, id, title, desc);
    for t in ticks(0.0, 1.0) {
        let y = f.y(t);
        let _ = write!(
            out,
            r#"<line class="grid" x1="{LEFT}" x2="{}" y1="{y:.1}" y2="{y:.1}"/><text class="tick" x="{}" y="{:.1}" text-anchor="end">{:.0}%</text>"#,
            W - RIGHT,
            LEFT - 6.0,
            y + 4.0,
            t * 100.0
        );
    }
    let mut m = 0.0;
    while m <= span + 1e-9 {
        let _ = write!(
            out,
            r#"<text class="tick" x="{:.1}" y="{}" text-anchor="{}">{}</text>"#,
            x(m * MONTH),
            H - BOTTOM + 16.0,
            // The last label ends at the edge rather than past it.
            if m + step > span + 1e-9 {
                "end"
            } else {
                "middle"
            },
            if m == 0.0 {
                "0".to_string()
            } else {
                format!("{m:.0} mo")
            }
        );
        m += step;
    }
    for c in curves {
        // The band: the upper edge forward, the lower edge back.
        let edge = |upper: bool| -> Vec<(f64, f64)> {
            let mut level = f.y(1.0);
            let mut pts = vec![(x(0.0), level)];
            for s in &c.steps {
                pts.push((x(s.0), level));
                level = f.y(if upper { s.3 } else { s.2 });
                pts.push((x(s.0), level));
            }
            pts.push((x(c.last_day), level));
            pts
        };
        let upper = edge(true);
        let lower = edge(false);
        let mut d = String::new();
        for (i, (px, py)) in upper.iter().chain(lower.iter().rev()).enumerate() {
            let _ = write!(d, "{}{px:.1},{py:.1} ", if i == 0 { "M" } else { "L" });
        }
        let _ = write!(
            out,
            r#"<path class="band {}" d="{}Z"><title>{}: 95% band</title></path>"#,
            c.class,
            d.trim(),
            esc(&c.name)
        );
    }
    for c in curves {
        let mut d = format!("M{:.1},{:.1}", x(0.0), f.y(1.0));
        for s in &c.steps {
            let _ = write!(d, " H{:.1} V{:.1}", x(s.0), f.y(s.1));
        }
        let _ = write!(d, " H{:.1}", x(c.last_day));
        let _ = write!(
            out,
            r#"<path class="line km {}" d="{d}"><title>{}</title></path>"#,
            c.class,
            esc(&c.name)
        );
    }
    out.push_str("</svg>");
    out.push_str(r#"<ul class="legend">"#);
    for c in curves {
        let _ = write!(
            out,
            r#"<li><span class="key {}"></span>{}</li>"#,
            c.class,
            esc(&c.name)
        );
    }
    out.push_str("</ul>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round_and_cover_the_range() {
        assert_eq!(ticks(0.0, 100.0), vec![0.0, 20.0, 40.0, 60.0, 80.0, 100.0]);
        let t = ticks(-30.0, 1234.0);
        assert!(t[0] <= -30.0 && *t.last().unwrap() >= 1234.0);
    }

    #[test]
    fn survival_curves_step_down_with_a_band_and_a_legend() {
        let c = StepCurve {
            name: "Enterprise <1>".into(),
            class: "km0",
            steps: vec![(30.0, 0.9, 0.8, 0.95), (400.0, 0.5, 0.4, 0.6)],
            last_day: 700.0,
        };
        let svg = survival("km", "Survival", &[c], "Enterprise: median 400 days");
        assert!(svg.starts_with("<svg"));
        assert!(svg.contains(r#"<path class="band km0" d="M"#));
        assert!(svg.contains(r#"<path class="line km km0" d="M64.0,12.0 H"#));
        assert!(svg.contains("Enterprise &lt;1&gt;"));
        assert!(svg.contains(r#"<ul class="legend"><li><span class="key km0"></span>"#));
        assert!(svg.contains(">24 mo<"), "{svg}");
    }

    #[test]
    fn charts_have_a_title_a_description_and_escaped_text() {
        let labels = vec!["Jan <1>".to_string(), "Feb".to_string()];
        let s = Series::new("New & more", "s-new", vec![Some(5.0), None]);
        let svg = stacked("c", "MRR", &labels, std::slice::from_ref(&s), &[], &|v| {
            format!("{v}")
        });
        assert!(svg.contains(r#"role="img""#));
        assert!(svg.contains("<title id=\"c-t\">MRR</title>"));
        assert!(svg.contains("Jan &lt;1&gt;: New &amp; more 5"));
        assert!(!svg.contains("Jan <1>"));
        let l = lines(
            "l",
            "T",
            &labels,
            std::slice::from_ref(&s),
            Some((0.0, 10.0)),
            &|v| format!("{v}"),
        );
        assert!(l.contains("<path class=\"line s-new\" d=\"M"));
        let b = bars("b", "T", &labels, &s, &|v| format!("{v}"));
        assert_eq!(b.matches("<rect").count(), 2);
    }

    #[test]
    fn horizontal_bars_and_the_funnel_scale_to_the_largest_value() {
        let bar = |label: &str, value: f64| Bar {
            label: label.into(),
            value,
            class: "s-stage",
            note: format!("{value} <n>"),
        };
        let bars = [bar("a & b", 10.0), bar("c", 5.0), bar("d", 0.0)];
        let h = hbars("h", "ARR", &bars);
        assert!(h.contains(r#"viewBox="0 0 480 106""#), "{h}");
        assert!(h.contains(r#"width="244.0""#) && h.contains(r#"width="122.0""#));
        assert!(h.contains("a &amp; b: 10 &lt;n&gt;; c: 5 &lt;n&gt;"));
        let f = funnel("f", "Funnel", &bars, &|v| format!("{v:.0}"));
        assert_eq!(f.matches("<rect").count(), 3);
        // The widest bar carries its value; a narrow one has it beside.
        assert!(f.contains(r#"class="value in""#));
        assert!(f.contains(r#"<text class="value" "#));
        assert!(!f.contains("<n>"));
    }
}
