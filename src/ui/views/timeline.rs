//! The timeline: one lane per pool worker, each task a span in its call's colour (shades
//! alternate where one task ends and the next begins), over a time axis ticked in seconds.

use std::collections::HashMap;

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use crate::app::{App, ProcRow, TaskSpan};
use crate::engine::protocol::Role;
use crate::ui::text::block;
use crate::ui::theme::Theme;

/// Columns for a worker's name at the start of its lane.
const LABEL: usize = 18;

pub struct Timeline<'a> {
    pub app: &'a App,
    pub theme: Theme,
}

/// The stretch of time the lanes show, cut into one slice per column.
struct Scale {
    t0: f64,
    t1: f64,
    cols: usize,
}

impl Scale {
    fn dt(&self) -> f64 {
        (self.t1 - self.t0) / self.cols as f64
    }

    fn slice(&self, col: usize) -> (f64, f64) {
        let dt = self.dt();
        (self.t0 + col as f64 * dt, self.t0 + (col + 1) as f64 * dt)
    }

    /// A round step between ticks (1, 2 or 5 times a power of ten seconds) and its decimals,
    /// the smallest that leaves at least a label's width blank between labels.
    fn tick_step(&self) -> (f64, usize) {
        (-4..6)
            .flat_map(|k| [1.0, 2.0, 5.0].map(|m| (m, k)))
            .map(|(m, k)| (m * 10f64.powi(k), (-k).max(0) as usize))
            .find(|&(step, decimals)| {
                let widest = secs(self.t1 - self.t0, decimals).chars().count();
                step / self.dt() >= (2 * widest + 2) as f64
            })
            .unwrap_or((1e6, 0))
    }

    /// The time axis: tick marks under the lanes (when `marks`) and the time of each tick
    /// from the first task's start, the first label from its tick, the others centred on it.
    fn axis(&self, marks: bool, theme: Theme) -> Vec<Line<'static>> {
        let (step, decimals) = self.tick_step();
        let mut ticks = vec!['─'; self.cols];
        let mut labels = vec![' '; self.cols];
        let span = self.t1 - self.t0;
        for (k, t) in (0..)
            .map(|k| (k, f64::from(k) * step))
            .take_while(|(_, t)| *t <= span)
        {
            let col = (t / self.dt()).floor() as usize;
            if col >= self.cols {
                break;
            }
            ticks[col] = '┬';
            let text: Vec<char> = secs(t, decimals).chars().collect();
            let start = if k == 0 {
                0
            } else {
                col.saturating_sub(text.len() / 2)
            };
            // A label that would run off the right edge is left out; its tick stays.
            if start + text.len() <= self.cols {
                labels[start..start + text.len()].copy_from_slice(&text);
            }
        }
        let pad = " ".repeat(LABEL);
        let row = |cells: Vec<char>| {
            let text: String = cells.into_iter().collect();
            Line::from(Span::styled(format!("{pad}{text}"), theme.dim()))
        };
        let mut lines = vec![row(labels)];
        if marks {
            lines.insert(0, row(ticks));
        }
        lines
    }
}

/// Seconds as a tick says them: `0s`, `0.5s`, `1.0s`, `0.25s`.
fn secs(t: f64, decimals: usize) -> String {
    if t > 0.0 {
        format!("{t:.decimals$}s")
    } else {
        String::from("0s")
    }
}

impl Timeline<'_> {
    fn scale(&self, width: u16) -> Scale {
        let (spans, now) = (&self.app.world.tasks.spans, self.app.world.run.now);
        let t0 = spans.iter().map(|s| s.start).fold(f64::INFINITY, f64::min);
        let ended = spans.iter().filter_map(|s| s.end).fold(t0, f64::max);
        Scale {
            t0,
            t1: now.max(ended).max(t0 + 1e-3),
            cols: (width as usize).saturating_sub(LABEL).max(4),
        }
    }

    fn lane(&self, worker: &ProcRow, mine: &[&TaskSpan], scale: &Scale) -> Line<'static> {
        let (theme, now) = (self.theme, self.app.world.run.now);
        let name: String = worker.name.chars().take(LABEL - 1).collect();
        let mut spans = vec![Span::styled(
            format!("{name:<LABEL$}"),
            theme.process(worker.id.0),
        )];
        for col in 0..scale.cols {
            let (a, z) = scale.slice(col);
            let hit = mine
                .iter()
                .find(|s| s.start < z && s.end.unwrap_or(now) >= a);
            spans.push(match hit {
                Some(s) if !s.ok => Span::styled("✗", theme.error()),
                Some(s) => Span::styled(
                    if s.task % 2 == 0 { "█" } else { "▓" },
                    theme.process(s.call as usize + 1),
                ),
                None => Span::styled("·", theme.dim()),
            });
        }
        Line::from(spans)
    }
}

impl Widget for &Timeline<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let (world, theme) = (&self.app.world, self.theme);
        let b = block("Timeline · one lane per worker · v next view", theme, false);
        let inner = b.inner(area);
        b.render(area, buf);
        let workers: Vec<&ProcRow> = world
            .procs
            .iter()
            .filter(|p| p.role == Role::PoolWorker)
            .collect();
        if workers.is_empty() || world.tasks.spans.is_empty() {
            let hint = Span::styled("tasks of a pool appear here as they run", theme.dim());
            Paragraph::new(hint).render(inner, buf);
            return;
        }
        let scale = self.scale(inner.width);
        let mut by_pid: HashMap<i32, Vec<&TaskSpan>> = HashMap::new();
        for s in &world.tasks.spans {
            by_pid.entry(s.pid).or_default().push(s);
        }
        // The tick marks take a row only when every lane still fits; the times always show.
        let marks = inner.height as usize >= workers.len() + 2;
        let room = (inner.height as usize).saturating_sub(1 + usize::from(marks));
        let skip = workers.len().saturating_sub(room);
        let mut lines: Vec<Line> = workers
            .iter()
            .skip(skip)
            .map(|w| {
                let mine = w.pid.and_then(|pid| by_pid.get(&pid));
                self.lane(w, mine.map_or(&[], Vec::as_slice), &scale)
            })
            .collect();
        lines.extend(scale.axis(marks, theme));
        Paragraph::new(lines).render(inner, buf);
    }
}
