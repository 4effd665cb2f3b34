//! The header: scenario, start method, pool state and live workers, elapsed time, the
//! phase, whose Python rules apply, and what the main process is doing right now.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use crate::app::{App, Phase};
use crate::ui::text::clock;
use crate::ui::theme::Theme;

pub struct Header<'a> {
    pub app: &'a App,
    pub theme: Theme,
}

impl Header<'_> {
    fn phase(&self) -> Span<'static> {
        let theme = self.theme;
        let (text, style) = match self.app.world.run.phase {
            Phase::Ready => ("ready", theme.warn()),
            Phase::Running => ("running", theme.good()),
            Phase::Paused => ("paused", theme.warn()),
            Phase::Finished => ("finished", theme.title()),
            Phase::DriverGone => ("driver gone", theme.error()),
        };
        Span::styled(text, style)
    }

    fn pool(&self) -> String {
        let world = &self.app.world;
        match world.newest_pool() {
            Some(p) => {
                let live = world.live_workers().count();
                let state = p.state.as_str();
                format!("{}: {state} · {live}/{} workers", p.name, p.processes)
            }
            None => match world.scenario.program.settings.workers {
                Some(w) => format!("no pool yet · pools get {w} workers"),
                None => "no pool yet".into(),
            },
        }
    }
}

impl Widget for &Header<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let (theme, world) = (self.theme, &self.app.world);
        let sep = || Span::styled(" │ ", theme.dim());
        let mut line1 = Line::from(vec![
            Span::styled(" pooltop", theme.key()),
            sep(),
            Span::styled(world.scenario.name.clone(), theme.title()),
            sep(),
            Span::raw(if world.scenario.watch.is_some() {
                "watching"
            } else {
                world.start_method().name()
            }),
            sep(),
            Span::raw(self.pool()),
            sep(),
            Span::raw(clock(world.run.elapsed())),
            sep(),
            self.phase(),
        ]);
        // Whose defaults a re-enacted program follows, and why those (a watched program
        // is its own Python).
        if world.scenario.watch.is_none() {
            let rules = &world.scenario.rules;
            let room = (area.width as usize).saturating_sub(line1.width() + 3);
            let (label, why) = (rules.label(), format!(" ({})", rules.why()));
            let short = format!("py{}", rules.version);
            let spans = if label.len() + why.chars().count() <= room {
                vec![Span::raw(label), Span::styled(why, theme.dim())]
            } else if label.len() <= room {
                vec![Span::raw(label)]
            } else if short.len() <= room {
                vec![Span::raw(short)]
            } else {
                Vec::new()
            };
            if !spans.is_empty() {
                line1.push_span(sep());
                line1.extend(spans);
            }
        }
        let line2 = Line::from(vec![
            Span::styled(" main: ", theme.dim()),
            Span::raw(world.main_doing()),
            Span::styled(format!("   {}", world.scenario.title), theme.dim()),
        ]);
        Paragraph::new(vec![line1, line2]).render(area, buf);
    }
}
