//! The real terminal: raw mode, alternate screen, mouse capture, hidden cursor, and
//! their undoing on every way out (return, error, panic), plus the input thread.

use std::io::{self, Stdout};

use crossterm::event::{self, DisableMouseCapture, EnableMouseCapture, Event};
use crossterm::execute;
use crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;

use crate::app::App;

pub struct Term {
    terminal: Terminal<CrosstermBackend<Stdout>>,
    size: (u16, u16),
}

/// Leaves raw mode and the alternate screen and shows the cursor; safe to call twice.
pub fn restore() {
    let _ = disable_raw_mode();
    let _ = execute!(
        io::stdout(),
        DisableMouseCapture,
        LeaveAlternateScreen,
        crossterm::cursor::Show
    );
}

impl Term {
    pub fn enter() -> io::Result<Term> {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            restore();
            previous(info);
        }));
        enable_raw_mode()?;
        if let Err(e) = execute!(
            io::stdout(),
            EnterAlternateScreen,
            EnableMouseCapture,
            crossterm::cursor::Hide
        ) {
            restore();
            return Err(e);
        }
        let terminal = Terminal::new(CrosstermBackend::new(io::stdout()))?;
        let size = terminal.size().map_or((80, 24), |s| (s.width, s.height));
        Ok(Term { terminal, size })
    }

    pub fn size(&self) -> (u16, u16) {
        self.size
    }

    /// The new size if the terminal changed size since the last look.
    pub fn resized(&mut self) -> Option<(u16, u16)> {
        let now = self.terminal.size().ok().map(|s| (s.width, s.height))?;
        if now == self.size {
            return None;
        }
        self.size = now;
        Some(now)
    }

    pub fn draw(&mut self, app: &App) -> io::Result<()> {
        if self.resized().is_some() {
            self.terminal.autoresize()?;
        }
        self.terminal.draw(|f| crate::ui::view(app, f))?;
        Ok(())
    }
}

impl Drop for Term {
    fn drop(&mut self) {
        restore();
    }
}

/// Reads keys, mouse and resizes on a thread of its own.
pub fn spawn_input() -> io::Result<flume::Receiver<Event>> {
    let (tx, rx) = flume::unbounded();
    std::thread::Builder::new()
        .name("input".into())
        .spawn(move || {
            while let Ok(input) = event::read() {
                if tx.send(input).is_err() {
                    return;
                }
            }
        })?;
    Ok(rx)
}
