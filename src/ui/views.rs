//! The lesson panes and concept views: the code pane with the running line highlighted,
//! the task timeline, measured times and speedup, start methods side by side, and the
//! lesson picker.

use std::collections::HashMap;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};

use crate::app::{App, Phase, ProcRow};
use crate::engine::program::{Measure, StartMethod};
use crate::engine::protocol::Role;

use super::theme::Theme;

fn block(title: String, theme: Theme) -> Block<'static> {
    Block::default()
        .borders(Borders::ALL)
        .border_style(theme.dim())
        .title(Span::styled(format!(" {title} "), theme.title()))
}

/// The step the code pane points at: the one running, else the next to run.
fn highlighted(app: &App) -> (Option<usize>, bool) {
    match &app.current {
        Some((Some(i), _)) => (Some(*i), true),
        Some((None, _)) => (None, true),
        None if app.phase == Phase::Finished => (None, false),
        None => (Some(app.steps_done), false),
    }
}

fn wrap_text(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    for para in text.split("\n\n") {
        let mut line = String::new();
        for word in para.split_whitespace() {
            if !line.is_empty() && line.chars().count() + word.chars().count() + 1 > width {
                lines.push(std::mem::take(&mut line));
            }
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
        }
        if !line.is_empty() {
            lines.push(line);
        }
    }
    lines
}

/// The lesson: its explanation, then its Python, the line being executed highlighted,
/// with what the lesson says about it and any exception it raised.
pub fn code(app: &App, f: &mut Frame, area: Rect, theme: Theme) {
    let question = app
        .lesson
        .as_ref()
        .map_or(String::new(), |l| format!("{} · ", l.question));
    let b = block(
        format!(
            "{question}{} · n next line · s run · r restart",
            app.scenario
        ),
        theme,
    );
    let inner = b.inner(area);
    f.render_widget(b, area);
    let width = inner.width.max(10) as usize;
    let mut lines: Vec<Line> = Vec::new();
    let explanation = app
        .lesson
        .as_ref()
        .map_or(app.about.as_str(), |l| l.explanation.as_str());
    let budget = (inner.height as usize / 3).max(2);
    for l in wrap_text(explanation, width).into_iter().take(budget) {
        lines.push(Line::from(Span::styled(l, theme.dim())));
    }
    lines.push(Line::from(""));
    let header = lines.len();
    let (mark, running) = highlighted(app);
    let mut mark_line = None;
    for (i, step) in app.program.steps.iter().enumerate() {
        let here = mark == Some(i);
        if here {
            mark_line = Some(lines.len());
        }
        for (k, text) in step.python.lines().enumerate() {
            let gutter = match (here, k, running) {
                (true, 0, true) => "▶ ".to_string(),
                (true, 0, false) => "› ".to_string(),
                _ => "  ".to_string(),
            };
            let number = if k == 0 {
                format!("{:>2} ", i + 1)
            } else {
                "   ".into()
            };
            let style = if here {
                theme.selected()
            } else if i < app.steps_done {
                theme.dim()
            } else {
                Style::default()
            };
            lines.push(Line::from(vec![
                Span::styled(gutter, theme.key()),
                Span::styled(number, theme.dim()),
                Span::styled(text.to_string(), style),
            ]));
        }
        if here && let Some(say) = &step.say {
            for l in wrap_text(say, width.saturating_sub(6)) {
                lines.push(Line::from(Span::styled(
                    format!("     {l}"),
                    theme.good().add_modifier(Modifier::ITALIC),
                )));
            }
        }
        if let Some(err) = app.step_errors.get(&i) {
            lines.push(Line::from(Span::styled(
                format!("     ✗ {err}"),
                theme.error(),
            )));
        }
    }
    // Keep the highlighted line in view below the explanation.
    let room = (inner.height as usize).saturating_sub(header);
    let code_lines = lines.split_off(header);
    let at = mark_line.map_or(0, |m| m - header);
    let skip = at
        .saturating_sub(room / 3)
        .min(code_lines.len().saturating_sub(room));
    lines.extend(code_lines.into_iter().skip(skip));
    f.render_widget(Paragraph::new(lines), inner);
}

/// One lane per pool worker, time flowing left to right, each task a span in the colour
/// of its call (alternating shades mark where one task ends and the next begins).
pub fn timeline(app: &App, f: &mut Frame, area: Rect, theme: Theme) {
    let b = block("Timeline · one lane per worker · v next view".into(), theme);
    let inner = b.inner(area);
    f.render_widget(b, area);
    let workers: Vec<&ProcRow> = app
        .procs
        .iter()
        .filter(|p| p.role == Role::PoolWorker)
        .collect();
    if workers.is_empty() || app.spans.is_empty() {
        f.render_widget(
            Paragraph::new(Span::styled(
                "tasks of a pool appear here as they run",
                theme.dim(),
            )),
            inner,
        );
        return;
    }
    let t0 = app
        .spans
        .iter()
        .map(|s| s.start)
        .fold(f64::INFINITY, f64::min);
    let t1 = app
        .now
        .max(app.spans.iter().filter_map(|s| s.end).fold(t0, f64::max))
        .max(t0 + 1e-3);
    let label_w = 18usize;
    let cols = (inner.width as usize).saturating_sub(label_w).max(4);
    let dt = (t1 - t0) / cols as f64;
    let mut by_pid: HashMap<i32, Vec<&crate::app::TaskSpan>> = HashMap::new();
    for s in &app.spans {
        by_pid.entry(s.pid).or_default().push(s);
    }
    let lanes = (inner.height as usize).saturating_sub(1);
    let skip = workers.len().saturating_sub(lanes);
    let mut lines = Vec::new();
    for w in workers.iter().skip(skip) {
        let name: String = w.name.chars().take(label_w - 1).collect();
        let mut spans = vec![Span::styled(
            format!("{name:<label_w$}"),
            theme.process(w.color),
        )];
        let mine = by_pid.get(&w.pid).map(Vec::as_slice).unwrap_or(&[]);
        for c in 0..cols {
            let (a, z) = (t0 + c as f64 * dt, t0 + (c + 1) as f64 * dt);
            let hit = mine
                .iter()
                .find(|s| s.start < z && s.end.unwrap_or(app.now) >= a);
            spans.push(match hit {
                Some(s) if !s.ok => Span::styled("✗", theme.error()),
                Some(s) => Span::styled(
                    if s.task % 2 == 0 { "█" } else { "▓" },
                    theme.process(s.call as usize + 1),
                ),
                None => Span::styled("·", theme.dim()),
            });
        }
        lines.push(Line::from(spans));
    }
    let axis = format!(
        "{:<label_w$}0s{:>width$}",
        "",
        format!("{:.2}s", t1 - t0),
        width = cols.saturating_sub(2)
    );
    lines.push(Line::from(Span::styled(axis, theme.dim())));
    f.render_widget(Paragraph::new(lines), inner);
}

/// How many workers ran a measured step, when the lesson says.
fn workers(measure: &Measure) -> Option<f64> {
    measure.workers.map(|n| n as f64)
}

/// Measured step times as bars, with the speedup over the first and, when the label
/// names a worker count, the ideal on this machine's cores.
pub fn measurements(app: &App, f: &mut Frame, area: Rect, theme: Theme) {
    let b = block("Measured times · v next view".into(), theme);
    let inner = b.inner(area);
    f.render_widget(b, area);
    if app.measures.is_empty() {
        let text = "steps of a lesson with `measure` appear here with their wall time";
        f.render_widget(
            Paragraph::new(Span::styled(text, theme.dim())).wrap(Wrap { trim: true }),
            inner,
        );
        return;
    }
    // The sampled core count, so what is drawn matches the CPU meters.
    let cores = if app.cpu.cores.is_empty() {
        crate::engine::cpu_count()
    } else {
        app.cpu.cores.len()
    } as f64;
    let first = app.measures[0].1.max(1e-9);
    let longest = app
        .measures
        .iter()
        .map(|m| m.1)
        .fold(0.0, f64::max)
        .max(1e-9);
    let label_w = app
        .measures
        .iter()
        .map(|m| m.0.label.chars().count())
        .max()
        .unwrap_or(8)
        .min(28);
    let bar_w = (inner.width as usize).saturating_sub(label_w + 36).max(4);
    let mut lines = vec![Line::from(Span::styled(
        format!("{:label_w$}  {:>8}  {:<bar_w$}  speedup", "", "time", ""),
        theme.dim(),
    ))];
    for (measure, secs) in &app.measures {
        let label = &measure.label;
        let filled = ((secs / longest) * bar_w as f64).round() as usize;
        let speedup = first / secs.max(1e-9);
        let ideal = workers(measure).map(|n| {
            format!(
                " (ideal ×{:.1})",
                n.min(cores) / workers(&app.measures[0].0).unwrap_or(1.0)
            )
        });
        lines.push(Line::from(vec![
            Span::raw(format!("{label:label_w$}  {secs:>7.2}s  ")),
            Span::styled(format!("{:<bar_w$}", "█".repeat(filled)), theme.good()),
            Span::raw(format!("  ×{speedup:.2}")),
            Span::styled(ideal.unwrap_or_default(), theme.dim()),
        ]));
    }
    lines.push(Line::from(""));
    let charted = app
        .measures
        .iter()
        .filter(|(m, _)| m.workers.is_some())
        .count()
        >= 2
        && inner.height as usize >= lines.len() + 6;
    if !charted {
        let note = format!(
            "this machine has {cores} cores: past {cores} workers there is no core left to add"
        );
        for l in wrap_text(&note, inner.width as usize) {
            lines.push(Line::from(Span::styled(l, theme.dim())));
        }
    }
    let used = lines.len() as u16;
    f.render_widget(Paragraph::new(lines), inner);
    let below = Rect::new(
        inner.x,
        inner.y + used,
        inner.width,
        inner.height.saturating_sub(used),
    );
    speedup_chart(app, f, below, theme, cores);
}

/// Measured speedup against the ideal line, when the measurements name worker counts.
fn speedup_chart(app: &App, f: &mut Frame, area: Rect, theme: Theme, cores: f64) {
    use ratatui::symbols::Marker;
    use ratatui::widgets::{Axis, Chart, Dataset, GraphType};
    let points: Vec<(f64, f64)> = app
        .measures
        .iter()
        .filter_map(|(measure, secs)| Some((workers(measure)?, *secs)))
        .collect();
    if points.len() < 2 || area.height < 6 {
        return;
    }
    let (n1, t1) = points[0];
    let measured: Vec<(f64, f64)> = points.iter().map(|(n, t)| (*n, t1 / t.max(1e-9))).collect();
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
    let chart = Chart::new(datasets)
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
        );
    f.render_widget(chart, area);
}

/// Start latency and memory of the workers each start method made.
pub fn start_methods(app: &App, f: &mut Frame, area: Rect, theme: Theme) {
    let b = block("Start methods side by side · v next view".into(), theme);
    let inner = b.inner(area);
    f.render_widget(b, area);
    let mut lines = vec![Line::from(Span::styled(
        format!(
            "{:<12} {:>9} {:>14} {:>14}  parent",
            "method", "processes", "mean start", "mean RSS"
        ),
        theme.dim().add_modifier(Modifier::BOLD),
    ))];
    for method in [
        StartMethod::Fork,
        StartMethod::Spawn,
        StartMethod::Forkserver,
    ] {
        let rows: Vec<&ProcRow> = app
            .procs
            .iter()
            .filter(|p| p.method == Some(method))
            .collect();
        if rows.is_empty() {
            continue;
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
        lines.push(Line::from(format!(
            "{:<12} {:>9} {:>11.2} ms {:>14}  {parent}",
            method.name(),
            rows.len(),
            mean_start,
            rss_text
        )));
    }
    if lines.len() == 1 {
        lines.push(Line::from(Span::styled(
            "no processes started yet",
            theme.dim(),
        )));
    }
    lines.push(Line::from(""));
    for l in wrap_text(
        "fork copies the running parent (fast; unsafe once the parent has threads). spawn runs a fresh \
         program (slow, clean). forkserver forks from a clean server started once; Python 3.14 made it \
         the default on Linux.",
        inner.width as usize,
    ) {
        lines.push(Line::from(Span::styled(l, theme.dim())));
    }
    f.render_widget(Paragraph::new(lines), inner);
}

pub fn lesson_picker(app: &App, f: &mut Frame, cursor: usize, theme: Theme) {
    let rows = crate::scenario::lessons()
        .into_iter()
        .map(|(name, question, title)| {
            vec![
                (format!(" {question:<3} "), true),
                (format!("{name:<24} "), false),
                (format!("{title} "), false),
            ]
        })
        .collect();
    let m = super::panes::Menu {
        title: "Lessons".into(),
        rows,
        cursor,
        hint: "↑↓ + Enter opens a lesson · Esc cancels",
        width: 100,
    };
    super::panes::menu(app, f, m, theme);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_wraps_at_words() {
        assert_eq!(
            wrap_text("one two three four", 9),
            vec!["one two", "three", "four"]
        );
    }
}
