//! Measured times: the wall time of every step a lesson labels with `measure`, as bars
//! with the speedup over the first, and a chart against the ideal on this machine's cores.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Axis, Block, Chart, Dataset, GraphType, Paragraph, Widget, Wrap};

use crate::app::{App, Measured};
use crate::ui::text::{block, wrap_text};
use crate::ui::theme::Theme;

pub struct Measurements<'a> {
    pub app: &'a App,
    pub theme: Theme,
}

/// How many workers ran a measured step, when the lesson says.
fn workers(m: &Measured) -> Option<f64> {
    m.measure.workers.map(|n| n as f64)
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
                format!(" (ideal ×{:.1})", n.min(cores) / base)
            });
            lines.push(Line::from(vec![
                Span::raw(format!("{label:label_w$}  {secs:>7.2}s  ")),
                Span::styled(format!("{:<bar_w$}", "█".repeat(filled)), theme.good()),
                Span::raw(format!("  ×{speedup:.2}")),
                Span::styled(ideal.unwrap_or_default(), theme.dim()),
            ]));
        }
        lines
    }

    /// Measured speedup against the ideal line, when the measurements name worker counts.
    fn speedup_chart(&self, area: Rect, buf: &mut Buffer, cores: f64) {
        let theme = self.theme;
        let points: Vec<(f64, f64)> = self
            .app
            .world
            .run
            .measures
            .iter()
            .filter_map(|m| Some((workers(m)?, m.secs)))
            .collect();
        if points.len() < 2 || area.height < 6 {
            return;
        }
        let (n1, t1) = points[0];
        let measured: Vec<(f64, f64)> =
            points.iter().map(|(n, t)| (*n, t1 / t.max(1e-9))).collect();
        let ideal: Vec<(f64, f64)> = points
            .iter()
            .map(|(n, _)| (*n, n.min(cores) / n1.min(cores)))
            .collect();
        let max_n = points.iter().map(|p| p.0).fold(1.0, f64::max);
        let max_y = measured
            .iter()
            .chain(&ideal)
            .map(|p| p.1)
            .fold(1.0, f64::max)
            .ceil();
        let datasets = vec![
            Dataset::default()
                .name("ideal")
                .marker(Marker::Braille)
                .graph_type(GraphType::Line)
                .style(theme.dim())
                .data(&ideal),
            Dataset::default()
                .name("measured")
                .marker(Marker::Braille)
                .graph_type(GraphType::Line)
                .style(theme.good())
                .data(&measured),
        ];
        let labels =
            |lo: f64, hi: f64| vec![Span::raw(format!("{lo:.0}")), Span::raw(format!("{hi:.0}"))];
        Chart::new(datasets)
            .block(Block::default().title(Span::styled(
                format!("speedup by workers, measured and ideal ({cores} cores)"),
                theme.dim(),
            )))
            .x_axis(
                Axis::default()
                    .title("workers")
                    .bounds([n1, max_n])
                    .labels(labels(n1, max_n))
                    .style(theme.dim()),
            )
            .y_axis(
                Axis::default()
                    .title("×")
                    .bounds([0.0, max_y])
                    .labels(labels(0.0, max_y))
                    .style(theme.dim()),
            )
            .render(area, buf);
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
        lines.push(Line::from(""));
        let with_workers = measures.iter().filter(|m| m.measure.workers.is_some());
        let charted = with_workers.count() >= 2 && inner.height as usize >= lines.len() + 6;
        if !charted {
            let note = format!(
                "this machine has {cores} cores: past {cores} workers there is no core left to add"
            );
            for l in wrap_text(&note, inner.width as usize) {
                lines.push(Line::from(Span::styled(l, theme.dim())));
            }
        }
        let used = lines.len() as u16;
        Paragraph::new(lines).render(inner, buf);
        let below = Rect::new(
            inner.x,
            inner.y + used,
            inner.width,
            inner.height.saturating_sub(used),
        );
        self.speedup_chart(below, buf, cores);
    }
}
