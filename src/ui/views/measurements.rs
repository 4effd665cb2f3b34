//! Measured times: the wall time of every step a lesson labels with `measure`, as bars, and a
//! chart of the speedup by workers, each point labelled, against the ideal on these cores.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget, Wrap};

use crate::app::{App, Measured};
use crate::ui::text::{block, wrap_text};
use crate::ui::theme::Theme;

/// Rows the chart needs at least: its legend, two rows of plot, the x axis and its labels.
const CHART_ROWS: u16 = 5;
/// Columns the chart needs at least, so neighbouring worker counts keep their labels apart.
const CHART_COLS: u16 = 32;
/// Columns right of the most workers: room for that point's value and for "workers".
const RIGHT_MARGIN: u16 = 10;
/// Dots per cell of the measured line (braille has 2 across and 4 down), so the line can
/// slope between rows where cells would make it jump a whole row.
const SUB_X: usize = 2;
const SUB_Y: usize = 4;

pub struct Measurements<'a> {
    pub app: &'a App,
    pub theme: Theme,
}

/// How many workers ran a measured step, when the lesson says.
fn workers(m: &Measured) -> Option<f64> {
    m.measure.workers.map(|n| n as f64)
}

/// The ideal speedup of `n` workers over `base` workers: a core more for each worker, until
/// the cores run out.
fn ideal(n: f64, base: f64, cores: f64) -> f64 {
    n.min(cores) / base.min(cores).max(1.0)
}

/// Whether two counts of workers or cores, whole numbers held as `f64`, are the same.
fn same(a: f64, b: f64) -> bool {
    (a - b).abs() < 0.5
}

/// A speedup as the bars and the y axis write it: `×2`, `×1.97`.
fn times(v: f64, decimals: usize) -> String {
    format!("×{v:.decimals$}")
}

/// Writes `text` at (x, y) in exactly `style`: a cell keeps none of what was drawn before.
fn put(buf: &mut Buffer, x: u16, y: u16, text: &str, style: Style) {
    for (i, ch) in text.chars().enumerate() {
        if let Some(cell) = buf.cell_mut((x + i as u16, y)) {
            cell.reset();
            cell.set_char(ch).set_style(style);
        }
    }
}

/// A measured step on the chart: its workers, and its speedup as measured and ideally.
#[derive(Clone, Copy)]
struct Point {
    n: f64,
    measured: f64,
    ideal: f64,
}

/// A round step between y ticks (×1, ×2, ×5, ×10 ...) that gives every tick a row of its own.
fn y_step(peak: f64, rows: u16) -> f64 {
    (0..12)
        .flat_map(|k| [1.0, 2.0, 5.0].map(|m| m * 10f64.powi(k)))
        .find(|step| (peak / step).ceil() <= f64::from(rows))
        .unwrap_or(1e12)
}

/// Where values land on the chart's cells: worker counts across, speedup up from the x axis.
struct Plot {
    /// The whole chart: legend on top, x axis and its labels at the bottom.
    area: Rect,
    /// The cells above the x axis and right of the y axis.
    cells: Rect,
    /// The columns of the fewest and of the most workers.
    x0: u16,
    x1: u16,
    lo: f64,
    hi: f64,
    /// The speedup of the top row, and between y ticks.
    top: f64,
    step: f64,
}

impl Plot {
    /// Lays the chart out at the bottom of `area`, its ticks evenly spaced in rows, or None
    /// when it has no room or fewer than two worker counts to compare.
    fn new(area: Rect, points: &[Point]) -> Option<Plot> {
        let (first, last) = (points.first()?, points.last()?);
        if area.height < CHART_ROWS || area.width < CHART_COLS || last.n <= first.n {
            return None;
        }
        let peak = points
            .iter()
            .map(|p| p.measured.max(p.ideal))
            .fold(1.0, f64::max);
        // Noise takes a measured speedup a little past the ideal (×2.03 on 2 cores): within
        // 5% it sits on the top row, its label saying how far, rather than cost a tick.
        let peak = peak * 0.95;
        let rows = area.height - 3;
        let step = y_step(peak, rows);
        let ticks = (peak / step).ceil();
        let height = (f64::from(rows) / ticks).floor() as u16 * ticks as u16;
        let gutter = times(ticks * step, 0).chars().count() as u16 + 2;
        let cells = Rect::new(
            area.x + gutter,
            area.bottom() - 2 - height,
            area.width - gutter,
            height,
        );
        let (x0, x1) = (cells.x + 1, cells.right() - RIGHT_MARGIN);
        (x1 >= x0 + 2 * points.len() as u16).then_some(Plot {
            area,
            cells,
            x0,
            x1,
            lo: first.n,
            hi: last.n,
            top: ticks * step,
            step,
        })
    }

    fn col(&self, n: f64) -> u16 {
        let f = (n - self.lo) / (self.hi - self.lo);
        self.x0 + (f * f64::from(self.x1 - self.x0)).round() as u16
    }

    /// The workers a column stands for, so the ideal is drawn at every column.
    fn workers_at(&self, x: u16) -> f64 {
        let f = f64::from(x - self.x0) / f64::from(self.x1 - self.x0);
        self.lo + f * (self.hi - self.lo)
    }

    /// Rows down from the top of the plot to speedup `v`, in fractions of a row so a line
    /// can slope within one; speedup 0 is the x axis, a row below the plot.
    fn down(&self, v: f64) -> f64 {
        let h = f64::from(self.cells.height);
        (h * (1.0 - v / self.top)).clamp(0.0, h - 1.0)
    }

    fn row(&self, v: f64) -> u16 {
        self.cells.y + self.down(v).round() as u16
    }

    fn axis_row(&self) -> u16 {
        self.cells.bottom()
    }

    fn shows_cores(&self, cores: f64) -> bool {
        (self.lo..=self.hi).contains(&cores)
    }
}

/// A grid of dots finer than the cells (`SUB_X` across and `SUB_Y` down each), for a line
/// that slopes instead of stepping a whole cell at a time.
struct Dots {
    width: usize,
    height: usize,
    on: Vec<bool>,
}

impl Dots {
    fn new(cells: Rect) -> Self {
        let (width, height) = (cells.width as usize * SUB_X, cells.height as usize * SUB_Y);
        Dots {
            width,
            height,
            on: vec![false; width * height],
        }
    }

    /// The dot of a point: the middle of its column, at its speedup within the row.
    fn dot(plot: &Plot, n: f64, v: f64) -> (f64, f64) {
        let x = (plot.col(n) - plot.cells.x) as usize * SUB_X + SUB_X / 2;
        let y = ((plot.down(v) + 0.5) * SUB_Y as f64).floor();
        (
            x as f64,
            y.min((plot.cells.height as usize * SUB_Y - 1) as f64),
        )
    }

    /// Turns on the dots along a straight line, one per dot it crosses.
    fn line(&mut self, (x0, y0): (f64, f64), (x1, y1): (f64, f64)) {
        let steps = (x1 - x0).abs().max((y1 - y0).abs()).ceil().max(1.0);
        for i in 0..=steps as usize {
            let f = i as f64 / steps;
            let (x, y) = (
                (x0 + f * (x1 - x0)).round() as usize,
                (y0 + f * (y1 - y0)).round() as usize,
            );
            if x < self.width && y < self.height {
                self.on[y * self.width + x] = true;
            }
        }
    }

    /// The braille character of a cell's dots, or None when it has none.
    fn glyph(&self, cx: usize, cy: usize) -> Option<char> {
        // Braille numbers the dots down the left column, then the right, the bottom row last.
        const BITS: [[u32; SUB_X]; SUB_Y] =
            [[0x01, 0x08], [0x02, 0x10], [0x04, 0x20], [0x40, 0x80]];
        let mut bits = 0;
        for (dy, row) in BITS.iter().enumerate() {
            for (dx, bit) in row.iter().enumerate() {
                if self.on[(cy * SUB_Y + dy) * self.width + cx * SUB_X + dx] {
                    bits |= bit;
                }
            }
        }
        char::from_u32(0x2800 + bits).filter(|_| bits != 0)
    }
}

/// Whether a label at `r` keeps a column clear of everything in `taken`, so neighbouring
/// labels never read as one.
fn spaced(taken: &[Rect], r: Rect) -> bool {
    let wide = Rect::new(r.x.saturating_sub(1), r.y, r.width + 2, 1);
    !taken.iter().any(|t| t.intersects(wide))
}

/// The y axis, a tick and its speedup at each step, 0 where it meets the x axis.
fn y_axis(plot: &Plot, buf: &mut Buffer, theme: Theme) {
    let axis_x = plot.cells.x - 1;
    for y in plot.cells.y..plot.axis_row() {
        put(buf, axis_x, y, "│", theme.dim());
    }
    let mut v = plot.step;
    while v <= plot.top {
        let (y, label) = (plot.row(v), times(v, 0));
        put(buf, axis_x, y, "┤", theme.dim());
        let x = axis_x - 1 - label.chars().count() as u16;
        put(buf, x, y, &label, Style::default());
        v += plot.step;
    }
    put(buf, axis_x - 2, plot.axis_row(), "0", Style::default());
}

/// The x axis: a tick and a label at every worker count measured and at the core count,
/// which says "cores" where there is room; a label that would run into another is left
/// out (its tick stays), and the core count gives way to the worker counts.
fn x_axis(plot: &Plot, points: &[Point], cores: f64, buf: &mut Buffer, theme: Theme) {
    let (dim, y) = (theme.dim(), plot.axis_row());
    put(buf, plot.cells.x - 1, y, "└", dim);
    let line = "─".repeat((plot.area.right() - plot.cells.x) as usize);
    put(buf, plot.cells.x, y, &line, dim);
    let mut taken = vec![Rect::new(plot.x1 + 3, y + 1, 7, 1)];
    put(buf, plot.x1 + 3, y + 1, "workers", dim);
    let shows_cores = plot.shows_cores(cores).then_some(cores);
    for n in points.iter().map(|p| p.n).chain(shows_cores) {
        put(buf, plot.col(n), y, "┴", dim);
    }
    let mut label = |x: u16, text: &str, centred: bool, style: Style| {
        let w = text.chars().count() as u16;
        let start = if centred {
            x.saturating_sub((w - 1) / 2)
        } else {
            x
        };
        let r = Rect::new(start, y + 1, w, 1);
        let fits = spaced(&taken, r) && r.right() <= plot.area.right();
        if fits {
            put(buf, start, y + 1, text, style);
            taken.push(r);
        }
        fits.then_some(r.right())
    };
    let mut cores_end = None;
    for p in points {
        let end = label(plot.col(p.n), &format!("{}", p.n), true, Style::default());
        if same(p.n, cores) {
            cores_end = end;
        }
    }
    if shows_cores.is_some() {
        match cores_end {
            Some(end) => label(end + 1, "cores", false, dim),
            None => label(plot.col(cores), &format!("{cores} cores"), true, dim),
        };
    }
}

/// A dim vertical line at the core count: past it a worker has no core of its own to add.
fn cores_line(plot: &Plot, cores: f64, buf: &mut Buffer, theme: Theme) {
    if plot.shows_cores(cores) {
        let x = plot.col(cores);
        for y in plot.cells.y..plot.axis_row() {
            put(buf, x, y, "┊", theme.dim());
        }
    }
}

/// The ideal as a dim dotted line, worked out at every column so its bend sits at the
/// core count even when no step ran that many workers.
fn ideal_line(plot: &Plot, base: f64, cores: f64, buf: &mut Buffer, theme: Theme) {
    for x in plot.x0..=plot.x1 {
        let v = ideal(plot.workers_at(x), base, cores);
        put(buf, x, plot.row(v), "·", theme.dim());
    }
}

/// The measured speedups joined by a thin line, each a `●` with its value beside it.
fn measured_line(plot: &Plot, points: &[Point], buf: &mut Buffer, theme: Theme) {
    let mut dots = Dots::new(plot.cells);
    for pair in points.windows(2) {
        let [a, b] = [pair[0], pair[1]].map(|p| Dots::dot(plot, p.n, p.measured));
        dots.line(a, b);
    }
    for cy in 0..plot.cells.height {
        for cx in 0..plot.cells.width {
            if let Some(g) = dots.glyph(cx as usize, cy as usize) {
                let (x, y) = (plot.cells.x + cx, plot.cells.y + cy);
                put(buf, x, y, &g.to_string(), theme.good());
            }
        }
    }
    let marker = theme.good().add_modifier(Modifier::BOLD);
    for p in points {
        put(buf, plot.col(p.n), plot.row(p.measured), "●", marker);
    }
    value_labels(plot, points, buf, marker);
}

/// Writes each point's speedup beside it: to its right, else its left, else above or
/// below, wherever it keeps clear of the other points and labels.
fn value_labels(plot: &Plot, points: &[Point], buf: &mut Buffer, style: Style) {
    let marks: Vec<Rect> = points
        .iter()
        .map(|p| Rect::new(plot.col(p.n), plot.row(p.measured), 1, 1))
        .collect();
    let mut taken = marks.clone();
    for (p, m) in points.iter().zip(&marks) {
        let text = times(p.measured, 1);
        let w = text.chars().count() as u16;
        let (x, y) = (m.x, m.y);
        let left = x.checked_sub(w);
        let spots = [
            Some((x + 1, Some(y))),
            left.map(|l| (l, Some(y))),
            Some((x + 1, y.checked_sub(1))),
            Some((x + 1, Some(y + 1))),
            left.map(|l| (l, y.checked_sub(1))),
            left.map(|l| (l, Some(y + 1))),
        ];
        // Its own point is the one thing a label may touch.
        let others: Vec<Rect> = taken.iter().filter(|t| *t != m).copied().collect();
        let spot = spots
            .into_iter()
            .filter_map(|s| Some(Rect::new(s?.0, s?.1?, w, 1)))
            .find(|r| plot.cells.intersection(*r) == *r && spaced(&others, *r));
        if let Some(r) = spot {
            put(buf, r.x, r.y, &text, style);
            taken.push(r);
        }
    }
}

/// The legend on the chart's top row, what each mark means and the core count, shortened
/// until it fits so it never disappears.
fn legend(plot: &Plot, cores: f64, buf: &mut Buffer, theme: Theme) {
    let noun = if same(cores, 1.0) { "core" } else { "cores" };
    let cores = if plot.shows_cores(cores) {
        format!("┊ {cores} {noun}")
    } else {
        format!("{cores} {noun}")
    };
    let title = (String::from("speedup"), theme.title());
    let measured = (String::from("● measured"), theme.good());
    let long = (String::from("··· ideal: min(workers, cores)"), theme.dim());
    let short = (String::from("··· ideal"), theme.dim());
    let cores = (cores, theme.dim());
    let choices = [
        vec![title.clone(), measured.clone(), long, cores.clone()],
        vec![title, measured.clone(), short.clone(), cores.clone()],
        vec![measured.clone(), short.clone(), cores],
        vec![measured, short],
    ];
    let width = |items: &[(String, Style)]| {
        items
            .iter()
            .map(|(t, _)| t.chars().count() + 2)
            .sum::<usize>()
            - 2
    };
    let items = choices
        .iter()
        .find(|items| width(items) <= plot.area.width as usize)
        .unwrap_or(&choices[3]);
    let mut x = plot.area.x;
    for (text, style) in items {
        put(buf, x, plot.cells.y - 1, text, *style);
        x += text.chars().count() as u16 + 2;
    }
}

impl Measurements<'_> {
    /// The sampled core count, so what is drawn matches the CPU meters.
    fn cores(&self) -> f64 {
        let sampled = self.app.world.cpu.cores.len();
        (if sampled == 0 {
            crate::engine::cpu_count()
        } else {
            sampled
        }) as f64
    }

    fn bars(&self, width: u16, cores: f64) -> Vec<Line<'static>> {
        let (measures, theme) = (&self.app.world.run.measures, self.theme);
        let first = &measures[0];
        let longest = measures
            .iter()
            .map(|m| m.secs)
            .fold(0.0, f64::max)
            .max(1e-9);
        let label_w = measures
            .iter()
            .map(|m| m.measure.label.chars().count())
            .max()
            .unwrap_or(8)
            .min(28);
        let bar_w = (width as usize).saturating_sub(label_w + 36).max(4);
        let mut lines = vec![Line::from(Span::styled(
            format!("{:label_w$}  {:>8}  {:<bar_w$}  speedup", "", "time", ""),
            theme.dim(),
        ))];
        for m in measures {
            let (label, secs) = (&m.measure.label, m.secs);
            let filled = ((secs / longest) * bar_w as f64).round() as usize;
            let speedup = first.secs.max(1e-9) / secs.max(1e-9);
            let ideal = workers(m).map(|n| {
                let base = workers(first).unwrap_or(1.0);
                format!(" (ideal {})", times(ideal(n, base, cores), 1))
            });
            lines.push(Line::from(vec![
                Span::raw(format!("{label:label_w$}  {secs:>7.2}s  ")),
                Span::styled(format!("{:<bar_w$}", "█".repeat(filled)), theme.good()),
                Span::raw(format!("  {}", times(speedup, 2))),
                Span::styled(ideal.unwrap_or_default(), theme.dim()),
            ]));
        }
        lines
    }

    /// The steps that name their workers, fewest workers first, with their speedup over
    /// the first of them as measured and as ideal.
    fn points(&self, cores: f64) -> (f64, Vec<Point>) {
        let named: Vec<(f64, f64)> = self
            .app
            .world
            .run
            .measures
            .iter()
            .filter_map(|m| Some((workers(m)?, m.secs)))
            .collect();
        let Some(&(base, t1)) = named.first() else {
            return (1.0, Vec::new());
        };
        let mut points: Vec<Point> = named
            .iter()
            .map(|&(n, t)| Point {
                n,
                measured: t1.max(1e-9) / t.max(1e-9),
                ideal: ideal(n, base, cores),
            })
            .collect();
        points.sort_by(|a, b| a.n.total_cmp(&b.n));
        (base, points)
    }

    /// Measured speedup against the ideal, each worker count a labelled point.
    fn speedup_chart(&self, plot: &Plot, base: f64, points: &[Point], buf: &mut Buffer) {
        let (theme, cores) = (self.theme, self.cores());
        y_axis(plot, buf, theme);
        x_axis(plot, points, cores, buf, theme);
        cores_line(plot, cores, buf, theme);
        ideal_line(plot, base, cores, buf, theme);
        measured_line(plot, points, buf, theme);
        legend(plot, cores, buf, theme);
    }
}

impl Widget for &Measurements<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let (measures, theme) = (&self.app.world.run.measures, self.theme);
        let b = block("Measured times · v next view", theme, false);
        let inner = b.inner(area);
        b.render(area, buf);
        if measures.is_empty() {
            let text = "steps of a lesson with `measure` appear here with their wall time";
            Paragraph::new(Span::styled(text, theme.dim()))
                .wrap(Wrap { trim: true })
                .render(inner, buf);
            return;
        }
        let cores = self.cores();
        let mut lines = self.bars(inner.width, cores);
        let used = lines.len() as u16;
        let below = Rect::new(
            inner.x,
            inner.y + used,
            inner.width,
            inner.height.saturating_sub(used),
        );
        let (base, points) = self.points(cores);
        let plot = Plot::new(below, &points);
        if plot.is_none() {
            lines.push(Line::from(""));
            let note = format!(
                "this machine has {cores} cores: past {cores} workers there is no core left to add"
            );
            for l in wrap_text(&note, inner.width as usize) {
                lines.push(Line::from(Span::styled(l, theme.dim())));
            }
        }
        Paragraph::new(lines).render(inner, buf);
        if let Some(plot) = plot {
            self.speedup_chart(&plot, base, &points, buf);
        }
    }
}
