//! Windows drawn over the dashboard: the help, the signal menu and the lesson picker.

mod help;
mod lesson_picker;
mod menu;
mod signal_menu;

pub use help::Help;
pub use lesson_picker::LessonPicker;
pub use signal_menu::SignalMenu;
