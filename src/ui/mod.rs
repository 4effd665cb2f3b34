//! The dashboard's drawing: `view` is a pure function of `App` that fills a ratatui frame
//! with the panes, the view `v` picked and any overlay; layout, hit-testing, colours, SVG.

pub mod hit;
pub mod layout;
mod overlays;
mod panes;
pub mod svg;
mod text;
pub mod theme;
mod views;

use ratatui::Frame;
use ratatui::layout::{Alignment, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph, Wrap};

use crate::app::{App, Overlay, View};
use theme::Theme;

pub use hit::pointer;

pub fn view(app: &App, frame: &mut Frame) {
    let theme = Theme {
        color: app.ui.color,
    };
    if layout::too_small(app) {
        too_small(app, frame, theme);
        return;
    }
    let a = layout::areas(app);
    frame.render_widget(&panes::Header { app, theme }, a.header);
    frame.render_widget(&panes::CpuMeters { app, theme }, a.cpu);
    frame.render_widget(&panes::Processes { app, theme }, a.procs);
    if app.shows_code() {
        frame.render_widget(&panes::Code { app, theme }, a.queue);
    } else {
        frame.render_widget(&panes::Tasks { app, theme }, a.queue);
    }
    match app.ui.view {
        View::Output => frame.render_widget(&panes::OutputPane { app, theme }, a.output),
        View::Tasks => frame.render_widget(&panes::Tasks { app, theme }, a.output),
        View::Timeline => frame.render_widget(&views::Timeline { app, theme }, a.output),
        View::Measurements => frame.render_widget(&views::Measurements { app, theme }, a.output),
        View::StartMethods => frame.render_widget(&views::StartMethods { app, theme }, a.output),
    }
    frame.render_widget(&panes::Events { app, theme }, a.log);
    frame.render_widget(&panes::Footer { app, theme }, a.footer);
    let full = layout::screen(app);
    match app.ui.overlay {
        Overlay::Help => frame.render_widget(&overlays::Help { app, theme }, full),
        Overlay::Signals(cursor) => {
            frame.render_widget(&overlays::SignalMenu { app, cursor, theme }, full);
        }
        Overlay::Lessons(cursor) => {
            frame.render_widget(&overlays::LessonPicker { cursor, theme }, full);
        }
        Overlay::None => {}
    }
}

fn too_small(app: &App, frame: &mut Frame, theme: Theme) {
    let area = layout::screen(app);
    frame.render_widget(Clear, area);
    let (w, h) = app.ui.size;
    let text = vec![
        Line::from(Span::styled("pooltop: terminal too small", theme.title())),
        Line::from(format!(
            "{w}x{h} here, {}x{} needed",
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
