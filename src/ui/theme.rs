//! Colours that read on dark and light backgrounds alike, and none at all when
//! `NO_COLOR` is set (then emphasis comes from bold, dim and reverse video only).

use ratatui::style::{Color, Modifier, Style};

/// Mid-intensity 256-colour indexes: legible on black and on white.
const PALETTE: [u8; 10] = [33, 166, 35, 127, 31, 130, 99, 160, 28, 132];

#[derive(Clone, Copy, Debug)]
pub struct Theme {
    pub color: bool,
}

impl Theme {
    fn fg(self, c: Color) -> Style {
        if self.color {
            Style::default().fg(c)
        } else {
            Style::default()
        }
    }

    pub fn process(self, index: usize) -> Style {
        self.fg(Color::Indexed(PALETTE[index % PALETTE.len()]))
    }

    pub fn title(self) -> Style {
        Style::default().add_modifier(Modifier::BOLD)
    }

    pub fn dim(self) -> Style {
        if self.color {
            Style::default().fg(Color::Indexed(244))
        } else {
            Style::default().add_modifier(Modifier::DIM)
        }
    }

    pub fn error(self) -> Style {
        self.fg(Color::Indexed(160)).add_modifier(Modifier::BOLD)
    }

    pub fn good(self) -> Style {
        self.fg(Color::Indexed(28))
    }

    pub fn warn(self) -> Style {
        self.fg(Color::Indexed(166))
    }

    pub fn key(self) -> Style {
        self.fg(Color::Indexed(33)).add_modifier(Modifier::BOLD)
    }

    pub fn selected(self) -> Style {
        Style::default().add_modifier(Modifier::REVERSED)
    }

    pub fn border(self, focused: bool) -> Style {
        match (focused, self.color) {
            (true, true) => Style::default().fg(Color::Indexed(33)),
            (true, false) => Style::default().add_modifier(Modifier::BOLD),
            _ => self.dim(),
        }
    }

    /// A core's load: green, then orange, then red.
    pub fn load(self, pct: f32) -> Style {
        match pct {
            p if p >= 85.0 => self.fg(Color::Indexed(160)),
            p if p >= 50.0 => self.fg(Color::Indexed(166)),
            _ => self.fg(Color::Indexed(28)),
        }
    }
}
