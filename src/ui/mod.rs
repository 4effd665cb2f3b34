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
use ratatui::buffer::Buffer;
use ratatui::layout::{Alignment, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph, Wrap};

use crate::app::{App, Focus, Overlay, View};
use theme::Theme;

pub use hit::pointer;

pub fn view(app: &App, frame: &mut Frame) {
    let theme = Theme {
        color: app.ui.color,
        palette: app.ui.palette,
    };
    if layout::too_small(app) {
        too_small(app, frame, theme);
        return;
    }
    let a = layout::areas(app);
    frame.render_widget(&panes::Header { app, theme }, a.header);
    for pane in Focus::ALL {
        let area = a.pane(pane);
        if !area.is_empty() {
            draw_pane(app, pane, area, frame, theme);
        }
    }
    mark_focus(a.pane(app.ui.focus), frame.buffer_mut(), theme);
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

fn draw_pane(app: &App, pane: Focus, area: Rect, frame: &mut Frame, theme: Theme) {
    match pane {
        Focus::Cpu => frame.render_widget(&panes::CpuMeters { app, theme }, area),
        Focus::Processes => frame.render_widget(&panes::Processes { app, theme }, area),
        Focus::Queue if app.shows_code() => {
            frame.render_widget(&panes::Code { app, theme }, area);
        }
        Focus::Queue => frame.render_widget(&panes::Tasks { app, theme }, area),
        Focus::Output => match app.ui.view {
            View::Output => frame.render_widget(&panes::OutputPane { app, theme }, area),
            View::Tasks => frame.render_widget(&panes::Tasks { app, theme }, area),
            View::Timeline => frame.render_widget(&views::Timeline { app, theme }, area),
            View::Measurements => frame.render_widget(&views::Measurements { app, theme }, area),
            View::StartMethods => frame.render_widget(&views::StartMethods { app, theme }, area),
        },
        Focus::Events => frame.render_widget(&panes::Events { app, theme }, area),
    }
}

/// The focused pane's border in the focus style, drawn over whatever the pane drew, so
/// every pane and view shows the focus the same way.
fn mark_focus(area: Rect, buf: &mut Buffer, theme: Theme) {
    // The layout follows the size the app was told; the frame may still be the old one
    // for a moment after a resize.
    let area = area.intersection(buf.area);
    if area.width < 2 || area.height < 2 {
        return;
    }
    let style = theme.border(true);
    let (right, bottom) = (area.right() - 1, area.bottom() - 1);
    for x in area.left()..area.right() {
        for y in [area.top(), bottom] {
            let cell = &mut buf[(x, y)];
            // Titles on the border keep their own style.
            if is_border(cell.symbol()) {
                cell.set_style(style);
            }
        }
    }
    for y in area.top()..area.bottom() {
        for x in [area.left(), right] {
            let cell = &mut buf[(x, y)];
            if is_border(cell.symbol()) {
                cell.set_style(style);
            }
        }
    }
}

fn is_border(symbol: &str) -> bool {
    matches!(
        symbol,
        "─" | "│" | "┌" | "┐" | "└" | "┘" | "━" | "┃" | "┏" | "┓" | "┗" | "┛"
    )
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
