//! The real terminal: raw mode, alternate screen, mouse capture, hidden cursor, and
//! their undoing on every way out (return, error, panic), plus the input threads.

use std::fs::File;
use std::io::{self, IsTerminal, Read, Stdout};
use std::os::fd::AsFd;
use std::time::{Duration, Instant};

use crossterm::event::{DisableMouseCapture, EnableMouseCapture, Event};
use crossterm::execute;
use crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use signal_hook::consts::SIGWINCH;

use crate::app::App;

use super::input;

/// How long an unfinished escape sequence waits for its next byte before it is given back
/// as keys (a lone ESC becomes the Esc key). A terminal writes a sequence in one go, a
/// person types slower; FTXUI waits 50 ms too.
const SEQUENCE_WAIT: Duration = Duration::from_millis(50);

/// What the terminal side tells the loop.
pub enum Input {
    /// A key, a mouse report or a new size.
    Event(Event),
    /// The terminal is gone: quit as on SIGHUP.
    Quit,
}

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

/// Reads keys and mouse reports on one thread and resizes (SIGWINCH) on another, onto one
/// channel.
pub fn spawn_input() -> io::Result<flume::Receiver<Input>> {
    let (tx, rx) = flume::unbounded();
    let tty = open_tty()?;
    let signals = signal_hook::iterator::Signals::new([SIGWINCH])?;
    let keys = tx.clone();
    std::thread::Builder::new()
        .name("input".into())
        .spawn(move || read_keys(&tty, &keys))?;
    std::thread::Builder::new()
        .name("resize".into())
        .spawn(move || {
            let mut signals = signals;
            for _ in signals.forever() {
                let Ok((w, h)) = crossterm::terminal::size() else {
                    continue;
                };
                if tx.send(Input::Event(Event::Resize(w, h))).is_err() {
                    return;
                }
            }
        })?;
    Ok(rx)
}

/// Where keys come from: standard input if it is the terminal, else the controlling
/// terminal (as crossterm's raw mode, which this reader's input depends on, picks it).
fn open_tty() -> io::Result<File> {
    let stdin = io::stdin();
    if stdin.is_terminal() {
        return Ok(File::from(stdin.as_fd().try_clone_to_owned()?));
    }
    File::options().read(true).write(true).open("/dev/tty")
}

fn read_keys(tty: &File, tx: &flume::Sender<Input>) {
    let mut parser = input::Parser::default();
    let mut buf = [0u8; 1024];
    let mut events = Vec::new();
    loop {
        if parser.is_pending() && !readable_within(tty, SEQUENCE_WAIT) {
            parser.flush(&mut events);
        } else {
            match (&*tty).read(&mut buf) {
                Ok(n) if n > 0 => parser.advance(&buf[..n], &mut events),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                // End of file or EIO on a terminal in raw mode: it hung up.
                _ => {
                    let _ = tx.send(Input::Quit);
                    return;
                }
            }
        }
        for event in events.drain(..) {
            if tx.send(Input::Event(event)).is_err() {
                return;
            }
        }
    }
}

/// Whether a byte arrives within `wait` (a signal does not cut the wait short).
fn readable_within(tty: &File, wait: Duration) -> bool {
    let deadline = Instant::now() + wait;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let timeout = PollTimeout::try_from(left).unwrap_or(PollTimeout::ZERO);
        let mut fds = [PollFd::new(tty.as_fd(), PollFlags::POLLIN)];
        match poll(&mut fds, timeout) {
            Ok(n) => return n > 0,
            // Once the time is up, the next poll does not wait.
            Err(nix::errno::Errno::EINTR) => {}
            // Let the read find out what is wrong.
            Err(_) => return true,
        }
    }
}
