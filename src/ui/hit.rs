//! Mouse hit-testing: what a click or a wheel turn landed on, resolved against the same
//! layout the frame was drawn with.

use crossterm::event::{MouseButton, MouseEvent, MouseEventKind};
use ratatui::layout::{Position, Rect};

use crate::app::{App, Focus, Pointer};

use super::layout;

/// Lines the wheel scrolls per notch.
const WHEEL_LINES: i32 = 3;

/// What a mouse event means on the current screen, if anything.
pub fn pointer(app: &App, m: &MouseEvent) -> Option<Pointer> {
    if layout::too_small(app) {
        return None;
    }
    let areas = layout::areas(app);
    let inside = |r: Rect| r.contains(Position::new(m.column, m.row));
    match m.kind {
        MouseEventKind::Down(MouseButton::Left) if inside(areas.procs) => {
            // The table's rows start below its border and its header line.
            let first_row = areas.procs.y + 2;
            let select = m
                .row
                .checked_sub(first_row)
                .and_then(|i| app.selectables().get(i as usize).copied());
            Some(Pointer::Click {
                focus: Focus::Processes,
                select,
            })
        }
        MouseEventKind::Down(MouseButton::Left) => {
            let focus = Focus::ALL.into_iter().find(|f| inside(areas.pane(*f)))?;
            Some(Pointer::Click {
                focus,
                select: None,
            })
        }
        MouseEventKind::ScrollUp if inside(areas.output) => Some(Pointer::Scroll(WHEEL_LINES)),
        MouseEventKind::ScrollDown if inside(areas.output) => Some(Pointer::Scroll(-WHEEL_LINES)),
        _ => None,
    }
}
