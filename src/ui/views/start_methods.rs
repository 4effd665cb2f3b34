//! Start methods side by side: how many processes each method started, their mean start
//! latency and memory right after the start, and who their parent is.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use crate::app::{App, ProcRow};
use crate::engine::program::StartMethod;
use crate::ui::text::{block, wrap_text};
use crate::ui::theme::Theme;

const WHY: &str = "fork copies the running parent (fast; unsafe once the parent has threads). \
                   spawn runs a fresh program (slow, clean). forkserver forks from a clean \
                   server started once; Python 3.14 made it the default on Linux.";

pub struct StartMethods<'a> {
    pub app: &'a App,
    pub theme: Theme,
}

/// One method's row, or `None` when it started nothing.
fn method_row(method: StartMethod, rows: &[&ProcRow]) -> Option<Line<'static>> {
    if rows.is_empty() {
        return None;
    }
    let starts: Vec<f64> = rows.iter().filter_map(|p| p.start_ms).collect();
    let rss: Vec<u64> = rows.iter().filter_map(|p| p.rss_kib).collect();
    let mean_start = starts.iter().sum::<f64>() / starts.len().max(1) as f64;
    let mean_rss = rss.iter().sum::<u64>() as f64 / rss.len().max(1) as f64 / 1024.0;
    let parent = match method {
        StartMethod::Forkserver => "server",
        _ => "main",
    };
    let rss_text = if rss.is_empty() {
        "-".to_string()
    } else {
        format!("{mean_rss:.1} MiB")
    };
    Some(Line::from(format!(
        "{:<12} {:>9} {:>11.2} ms {:>14}  {parent}",
        method.name(),
        rows.len(),
        mean_start,
        rss_text
    )))
}

impl Widget for &StartMethods<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let (world, theme) = (&self.app.world, self.theme);
        let b = block("Start methods side by side · v next view", theme, false);
        let inner = b.inner(area);
        b.render(area, buf);
        let heading = format!(
            "{:<12} {:>9} {:>14} {:>14}  parent",
            "method", "processes", "mean start", "mean RSS"
        );
        let mut lines = vec![Line::from(Span::styled(
            heading,
            theme.dim().add_modifier(Modifier::BOLD),
        ))];
        for method in [
            StartMethod::Fork,
            StartMethod::Spawn,
            StartMethod::Forkserver,
        ] {
            let rows: Vec<&ProcRow> = world
                .procs
                .iter()
                .filter(|p| p.method == Some(method))
                .collect();
            lines.extend(method_row(method, &rows));
        }
        if lines.len() == 1 {
            let none = Span::styled("no processes started yet", theme.dim());
            lines.push(Line::from(none));
        }
        lines.push(Line::from(""));
        for l in wrap_text(WHY, inner.width as usize) {
            lines.push(Line::from(Span::styled(l, theme.dim())));
        }
        Paragraph::new(lines).render(inner, buf);
    }
}
