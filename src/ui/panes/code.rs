//! A lesson's code pane: its explanation, then its Python with the line being executed
//! highlighted, what the lesson says about it, and any exception a line raised.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use crate::app::{App, CurrentStep, Phase};
use crate::engine::program::Step;
use crate::ui::text::{block, wrap_text};
use crate::ui::theme::Theme;

pub struct Code<'a> {
    pub app: &'a App,
    pub theme: Theme,
}

/// Where the pointer is: on a step running now, or on the next one to run.
#[derive(Clone, Copy)]
struct Mark {
    step: Option<usize>,
    running: bool,
}

impl Code<'_> {
    /// The step the code pane points at: the one running, else the next to run.
    fn mark(&self) -> Mark {
        let run = &self.app.world.run;
        // A watched script runs by itself: only a line in a call is marked.
        if self.app.world.scenario.watch.is_some() && run.current.is_none() {
            return Mark {
                step: None,
                running: false,
            };
        }
        match &run.current {
            Some(CurrentStep { index, .. }) => Mark {
                step: *index,
                running: true,
            },
            None if run.phase == Phase::Finished => Mark {
                step: None,
                running: false,
            },
            None => Mark {
                step: Some(run.steps_done),
                running: false,
            },
        }
    }

    fn step_lines(&self, i: usize, step: &Step, mark: Mark, width: usize) -> Vec<Line<'static>> {
        let (run, theme) = (&self.app.world.run, self.theme);
        let here = mark.step == Some(i);
        let watched = self.app.world.scenario.watch.is_some();
        let mut lines = Vec::new();
        for (k, text) in step.python.lines().enumerate() {
            let gutter = match (here, k, mark.running) {
                (true, 0, true) => "▶ ",
                (true, 0, false) => "› ",
                _ => "  ",
            };
            let number = if k == 0 {
                format!("{:>2} ", i + 1)
            } else {
                "   ".into()
            };
            let style = if here {
                theme.selected()
            } else if i < run.steps_done && !watched {
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
            let note = theme.good().add_modifier(Modifier::ITALIC);
            for l in wrap_text(say, width.saturating_sub(6)) {
                lines.push(Line::from(Span::styled(format!("     {l}"), note)));
            }
        }
        if watched
            && !run.step_errors.contains_key(&i)
            && let Some(outcome) = run.step_outcomes.get(&i).filter(|o| !o.is_empty())
        {
            lines.push(Line::from(Span::styled(
                format!("     → {outcome}"),
                theme.good(),
            )));
        }
        if let Some(err) = run.step_errors.get(&i) {
            lines.push(Line::from(Span::styled(
                format!("     ✗ {err}"),
                theme.error(),
            )));
        }
        lines
    }
}

impl Widget for &Code<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let (scenario, theme) = (&self.app.world.scenario, self.theme);
        let question = scenario
            .lesson
            .as_ref()
            .map_or(String::new(), |l| format!("{} · ", l.question));
        let title = if scenario.watch.is_some() {
            format!(
                "{} · ▶ the main process's line · r runs again",
                scenario.name
            )
        } else {
            format!(
                "{question}{} · n next line · s run · r restart",
                scenario.name
            )
        };
        let b = block(&title, theme, false);
        let inner = b.inner(area);
        b.render(area, buf);
        let width = inner.width.max(10) as usize;
        let explanation = scenario
            .lesson
            .as_ref()
            .map_or(scenario.about.as_str(), |l| l.explanation.as_str());
        let budget = (inner.height as usize / 3).max(2);
        let mut lines: Vec<Line> = wrap_text(explanation, width)
            .into_iter()
            .take(budget)
            .map(|l| Line::from(Span::styled(l, theme.dim())))
            .collect();
        lines.push(Line::from(""));
        let mark = self.mark();
        let mut code: Vec<Line> = Vec::new();
        let mut mark_line = None;
        for (i, step) in scenario.program.steps.iter().enumerate() {
            if mark.step == Some(i) {
                mark_line = Some(code.len());
            }
            code.extend(self.step_lines(i, step, mark, width));
        }
        // Keep the highlighted line in view below the explanation.
        let room = (inner.height as usize).saturating_sub(lines.len());
        let at = mark_line.unwrap_or(0);
        let skip = at
            .saturating_sub(room / 3)
            .min(code.len().saturating_sub(room));
        lines.extend(code.into_iter().skip(skip));
        Paragraph::new(lines).render(inner, buf);
    }
}
