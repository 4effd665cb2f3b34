//! Colours by theme (`--theme dark|light|high-contrast`), and none at all when `NO_COLOR`
//! is set (then emphasis comes from bold, dim and reverse video only).

use ratatui::style::{Color, Modifier, Style};

/// Which colours: the default reads on dark and light backgrounds alike; `light` is darker
/// for a white background; `high-contrast` is for a projector: bright colours, no dim grey
/// text, bold borders.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Palette {
    #[default]
    Dark,
    Light,
    HighContrast,
}

impl Palette {
    /// Process colours, one per row in order of appearance.
    fn processes(self) -> &'static [u8] {
        match self {
            // Mid-intensity 256-colour indexes: legible on black and on white.
            Palette::Dark => &[33, 166, 35, 127, 31, 130, 99, 160, 28, 132],
            Palette::Light => &[25, 130, 22, 90, 24, 94, 55, 124, 28, 89],
            Palette::HighContrast => &[39, 208, 46, 201, 51, 214, 141, 196, 118, 213],
        }
    }

    /// (dim text, good, warning, error, key and focus)
    fn roles(self) -> (u8, u8, u8, u8, u8) {
        match self {
            Palette::Dark => (244, 28, 166, 160, 33),
            Palette::Light => (240, 22, 130, 124, 25),
            Palette::HighContrast => (252, 46, 214, 196, 51),
        }
    }
}

#[derive(Clone, Copy, Debug)]
pub struct Theme {
    pub color: bool,
    pub palette: Palette,
}

impl Theme {
    fn fg(self, c: u8) -> Style {
        if self.color {
            Style::default().fg(Color::Indexed(c))
        } else {
            Style::default()
        }
    }

    fn high_contrast(self) -> bool {
        self.palette == Palette::HighContrast
    }

    pub fn process(self, index: usize) -> Style {
        let colours = self.palette.processes();
        let style = self.fg(colours[index % colours.len()]);
        if self.high_contrast() {
            style.add_modifier(Modifier::BOLD)
        } else {
            style
        }
    }

    pub fn title(self) -> Style {
        Style::default().add_modifier(Modifier::BOLD)
    }

    /// Secondary text. High contrast has none: it is as bright as the rest.
    pub fn dim(self) -> Style {
        match (self.color, self.high_contrast()) {
            (_, true) => Style::default(),
            (true, false) => self.fg(self.palette.roles().0),
            (false, false) => Style::default().add_modifier(Modifier::DIM),
        }
    }

    pub fn error(self) -> Style {
        self.fg(self.palette.roles().3).add_modifier(Modifier::BOLD)
    }

    pub fn good(self) -> Style {
        self.fg(self.palette.roles().1)
    }

    pub fn warn(self) -> Style {
        self.fg(self.palette.roles().2)
    }

    pub fn key(self) -> Style {
        self.fg(self.palette.roles().4).add_modifier(Modifier::BOLD)
    }

    pub fn selected(self) -> Style {
        Style::default().add_modifier(Modifier::REVERSED)
    }

    pub fn border(self, focused: bool) -> Style {
        match (focused, self.color, self.high_contrast()) {
            (true, true, _) => self.fg(self.palette.roles().4).add_modifier(Modifier::BOLD),
            (true, false, _) | (false, _, true) => Style::default().add_modifier(Modifier::BOLD),
            _ => self.dim(),
        }
    }

    /// Borders drawn with heavy lines: high contrast, for a projector.
    pub fn heavy_borders(self) -> bool {
        self.high_contrast()
    }

    /// A core's load: green, then orange, then red.
    pub fn load(self, pct: f32) -> Style {
        let (_, good, warn, error, _) = self.palette.roles();
        match pct {
            p if p >= 85.0 => self.fg(error),
            p if p >= 50.0 => self.fg(warn),
            _ => self.fg(good),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn high_contrast_has_no_dim_text_and_no_colour_wins() {
        let hc = Theme {
            color: true,
            palette: Palette::HighContrast,
        };
        assert_eq!(hc.dim(), Style::default(), "no grey text on a projector");
        assert!(hc.border(false).add_modifier.contains(Modifier::BOLD));
        assert!(hc.heavy_borders());
        let no_colour = Theme {
            color: false,
            palette: Palette::HighContrast,
        };
        assert_eq!(no_colour.good().fg, None, "NO_COLOR still wins");
        assert_eq!(no_colour.process(3).fg, None);
        let dark = Theme {
            color: true,
            palette: Palette::Dark,
        };
        assert_eq!(dark.dim().fg, Some(Color::Indexed(244)));
        let light = Theme {
            color: true,
            palette: Palette::Light,
        };
        assert_eq!(light.dim().fg, Some(Color::Indexed(240)), "darker on white");
        assert_ne!(light.process(0), dark.process(0));
        assert!(!light.heavy_borders() && !dark.heavy_borders());
    }
}
