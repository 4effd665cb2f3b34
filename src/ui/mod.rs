//! The dashboard's drawing: `view` is a pure function of `App` that fills a ratatui
//! frame; panes, layout, colours and SVG export live in the submodules.

pub mod layout;
mod panes;
pub mod svg;
pub mod theme;
mod views;

use ratatui::Frame;
use ratatui::layout::{Alignment, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph, Wrap};

use crate::app::{App, Overlay, View};
use theme::Theme;

pub fn view(app: &App, frame: &mut Frame) {
    let theme = Theme { color: app.color };
    if layout::too_small(app) {
        too_small(app, frame, theme);
        return;
    }
    let a = layout::areas(app);
    panes::header(app, frame, a.header, theme);
    panes::cpu(app, frame, a.cpu, theme);
    panes::processes(app, frame, a.procs, theme);
    match app.lesson {
        Some(_) => views::code(app, frame, a.queue, theme),
        None => panes::queue(app, frame, a.queue, theme),
    }
    match app.view {
        View::Output => panes::output(app, frame, a.output, theme),
        View::Tasks => panes::queue(app, frame, a.output, theme),
        View::Timeline => views::timeline(app, frame, a.output, theme),
        View::Measurements => views::measurements(app, frame, a.output, theme),
        View::StartMethods => views::start_methods(app, frame, a.output, theme),
    }
    panes::events(app, frame, a.log, theme);
    panes::footer(app, frame, a.footer, theme);
    match app.overlay {
        Overlay::Help => panes::help(app, frame, theme),
        Overlay::Signals(cursor) => panes::signals(app, frame, cursor, theme),
        Overlay::Lessons(cursor) => views::lesson_picker(app, frame, cursor, theme),
        Overlay::None => {}
    }
}

fn too_small(app: &App, frame: &mut Frame, theme: Theme) {
    let area = Rect::new(0, 0, app.size.0, app.size.1);
    frame.render_widget(Clear, area);
    let text = vec![
        Line::from(Span::styled("pooltop: terminal too small", theme.title())),
        Line::from(format!(
            "{}x{} here, {}x{} needed",
            app.size.0,
            app.size.1,
            layout::MIN_WIDTH,
            layout::MIN_HEIGHT
        )),
        Line::from("enlarge the window, or q to quit"),
    ];
    let y = area.height.saturating_sub(3) / 2;
    let inner = Rect::new(0, y, area.width, area.height.saturating_sub(y));
    frame.render_widget(
        Paragraph::new(text)
            .alignment(Alignment::Center)
            .wrap(Wrap { trim: true }),
        inner,
    );
}
