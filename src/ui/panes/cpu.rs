//! The CPU meters: one bar per core with its load and, when there is room, its history,
//! and how much of the machine pooltop's own processes use.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Sparkline, Widget};

use crate::app::App;
use crate::ui::text::block;
use crate::ui::theme::Theme;

pub struct CpuMeters<'a> {
    pub app: &'a App,
    pub theme: Theme,
}

fn bar(pct: f32, width: usize) -> String {
    let filled = ((pct.clamp(0.0, 100.0) / 100.0) * width as f32).round() as usize;
    format!(
        "{}{}",
        "█".repeat(filled),
        "░".repeat(width.saturating_sub(filled))
    )
}

impl CpuMeters<'_> {
    fn core(&self, i: usize, pct: f32, inner: Rect, y: u16, buf: &mut Buffer) {
        let bar_width = (inner.width as usize).saturating_sub(12).max(4);
        let line = Line::from(vec![
            Span::raw(format!("cpu{i:<2} ")),
            Span::styled(bar(pct, bar_width), self.theme.load(pct)),
            Span::raw(format!(" {pct:>3.0}%")),
        ]);
        Paragraph::new(line).render(Rect::new(inner.x, y, inner.width, 1), buf);
    }

    fn history(&self, i: usize, pct: f32, inner: Rect, y: u16, buf: &mut Buffer) {
        let hist: Vec<u64> = self
            .app
            .world
            .cpu
            .history
            .get(i)
            .map(|h| h.iter().copied().collect())
            .unwrap_or_default();
        let skip = hist.len().saturating_sub(inner.width as usize - 6);
        Sparkline::default()
            .data(&hist[skip..])
            .max(100)
            .style(self.theme.load(pct))
            .render(
                Rect::new(inner.x + 6, y, inner.width.saturating_sub(6), 1),
                buf,
            );
    }

    fn summary(&self, inner: Rect, buf: &mut Buffer) {
        let world = &self.app.world;
        // A fold from +0.0: an empty float sum is -0.0, which would print as "-0".
        let ours = world
            .procs
            .iter()
            .filter_map(|p| p.cpu)
            .fold(0.0, |a, b| a + b);
        let total = world.cpu.cores.len() * 100;
        let text = if inner.width >= 34 {
            format!("pooltop's processes: {ours:.0}% of {total}%")
        } else {
            format!("ours {ours:.0}%/{total}%")
        };
        let y = inner.y + inner.height.saturating_sub(1);
        Paragraph::new(Line::from(Span::styled(text, self.theme.dim())))
            .render(Rect::new(inner.x, y, inner.width, 1), buf);
    }
}

impl Widget for &CpuMeters<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let b = block("CPU · 100% = one core", self.theme, false);
        let inner = b.inner(area);
        b.render(area, buf);
        let cores = &self.app.world.cpu.cores;
        if cores.is_empty() {
            Paragraph::new(Span::styled("measuring...", self.theme.dim())).render(inner, buf);
            return;
        }
        let with_history = inner.height as usize > cores.len() * 2;
        let per_core = if with_history { 2 } else { 1 };
        for (i, pct) in cores.iter().enumerate() {
            let y = inner.y + (i * per_core) as u16;
            if y >= inner.y + inner.height.saturating_sub(1) {
                break;
            }
            self.core(i, *pct, inner, y, buf);
            if with_history {
                self.history(i, *pct, inner, y + 1, buf);
            }
        }
        self.summary(inner, buf);
    }
}
