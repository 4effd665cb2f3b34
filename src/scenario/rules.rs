//! Which CPython's rules a scenario follows: its version and platform, from the command
//! line, the scenario file, `POOLTOP_PYTHON_VERSION`, or the `python3` on PATH (asked once).

use std::fmt;
use std::sync::OnceLock;

use crate::engine::program::StartMethod;

/// The versions pooltop knows the defaults of.
pub const OLDEST: PyVersion = PyVersion(3, 8);
pub const NEWEST: PyVersion = PyVersion(3, 14);

/// A CPython release, `major.minor`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct PyVersion(pub u8, pub u8);

impl PyVersion {
    /// `3.14` (or `3.14.1`: the patch level does not change the rules); one of the
    /// versions pooltop knows.
    pub fn parse(text: &str) -> Result<PyVersion, String> {
        let mut parts = text.trim().split('.');
        let number = |p: Option<&str>| p.and_then(|n| n.parse::<u8>().ok());
        let v = match (number(parts.next()), number(parts.next())) {
            (Some(major), Some(minor)) => PyVersion(major, minor),
            _ => return Err(format!("Python version '{text}' is not X.Y, e.g. 3.14")),
        };
        if !(OLDEST..=NEWEST).contains(&v) {
            return Err(format!(
                "pooltop knows Python {OLDEST} to {NEWEST}, not {v}"
            ));
        }
        Ok(v)
    }
}

impl fmt::Display for PyVersion {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "{}.{}", self.0, self.1)
    }
}

/// The operating system whose defaults apply.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Platform {
    #[default]
    Linux,
    Macos,
    Windows,
}

impl Platform {
    pub fn name(self) -> &'static str {
        match self {
            Platform::Linux => "Linux",
            Platform::Macos => "macOS",
            Platform::Windows => "Windows",
        }
    }
}

/// Where the version came from, as the header says it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Why {
    Option,
    Scenario,
    Environment,
    OnPath,
    /// No `python3` answered: the newest pooltop knows.
    Newest,
}

impl Why {
    fn say(&self) -> &'static str {
        match self {
            Why::Option => "--python-version",
            Why::Scenario => "the scenario says so",
            Why::Environment => "POOLTOP_PYTHON_VERSION",
            Why::OnPath => "python3 on PATH",
            Why::Newest => "no python3 found: the newest known",
        }
    }
}

/// The rules a re-enacted program follows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rules {
    pub version: PyVersion,
    pub platform: Platform,
    pub why: Why,
}

impl Default for Rules {
    fn default() -> Rules {
        Rules {
            version: PyVersion(3, 11),
            platform: Platform::Linux,
            why: Why::Option,
        }
    }
}

impl Rules {
    /// `multiprocessing.get_start_method()` with nothing set: spawn on Windows and, since
    /// 3.8, on macOS; on Linux fork up to 3.13 and forkserver from 3.14 (CPython's
    /// `multiprocessing/context.py`, changed because fork is unsafe in a process with
    /// threads).
    pub fn default_start_method(&self) -> StartMethod {
        match self.platform {
            Platform::Windows | Platform::Macos => StartMethod::Spawn,
            Platform::Linux if self.version >= PyVersion(3, 14) => StartMethod::Forkserver,
            Platform::Linux => StartMethod::Fork,
        }
    }

    /// `Python 3.14 rules`, with the platform when it is not this machine's.
    pub fn label(&self) -> String {
        match self.platform {
            Platform::Linux => format!("Python {} rules", self.version),
            p => format!("Python {} {} rules", self.version, p.name()),
        }
    }

    /// Why these rules: where the version came from.
    pub fn why(&self) -> &'static str {
        self.why.say()
    }

    /// The rules from what was given, most specific first: the command line, the
    /// scenario file, the environment, the `python3` on PATH, else the newest known.
    pub fn choose(
        option: Option<PyVersion>,
        scenario: Option<PyVersion>,
        platform: Option<Platform>,
    ) -> Result<Rules, String> {
        let env = match std::env::var("POOLTOP_PYTHON_VERSION") {
            Ok(v) if !v.is_empty() => {
                Some(PyVersion::parse(&v).map_err(|e| format!("POOLTOP_PYTHON_VERSION: {e}"))?)
            }
            _ => None,
        };
        let (version, why) = if let Some(v) = option {
            (v, Why::Option)
        } else if let Some(v) = scenario {
            (v, Why::Scenario)
        } else if let Some(v) = env {
            (v, Why::Environment)
        } else if let Some(v) = python3_on_path() {
            (v, Why::OnPath)
        } else {
            (NEWEST, Why::Newest)
        };
        Ok(Rules {
            version,
            platform: platform.unwrap_or_default(),
            why,
        })
    }
}

/// The version of the `python3` on PATH: from the cache while nothing that picks the
/// interpreter changed, else asked (about 90 ms through a pyenv shim) and cached; at
/// start-up only, never while the dashboard draws. `None` when there is no `python3` or
/// it is outside what pooltop knows.
pub fn python3_on_path() -> Option<PyVersion> {
    static ASKED: OnceLock<Option<PyVersion>> = OnceLock::new();
    *ASKED.get_or_init(|| {
        let key = interpreter_key()?;
        let cache = cache_file();
        let cached = cache
            .as_ref()
            .and_then(|f| std::fs::read_to_string(f).ok())
            .and_then(|text| {
                let (k, v) = text.trim_end().rsplit_once('\t')?;
                (k == key).then(|| PyVersion::parse(v).ok()).flatten()
            });
        if cached.is_some() {
            return cached;
        }
        let version = ask_python3()?;
        if let Some(file) = cache {
            let _ = file.parent().map(std::fs::create_dir_all);
            let _ = std::fs::write(file, format!("{key}\t{version}\n"));
        }
        Some(version)
    })
}

fn ask_python3() -> Option<PyVersion> {
    let out = std::process::Command::new("python3")
        .args(["-c", "import sys; print('%d.%d' % sys.version_info[:2])"])
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    out.status
        .success()
        .then(|| PyVersion::parse(&text).ok())
        .flatten()
}

/// `~/.cache/pooltop/python3` (`XDG_CACHE_HOME` when set).
fn cache_file() -> Option<std::path::PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|d| !d.is_empty())
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| std::path::Path::new(&h).join(".cache")))?;
    Some(base.join("pooltop").join("python3"))
}

/// What picks the `python3` that would run: its file on PATH (resolved, with its change
/// time) and pyenv's choices (`PYENV_VERSION`, the global version file, the nearest
/// `.python-version`). The cached version holds while this is unchanged.
fn interpreter_key() -> Option<String> {
    let stamp = |p: &std::path::Path| {
        std::fs::metadata(p)
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos())
    };
    let on_path = std::env::var_os("PATH")?;
    let python3 = std::env::split_paths(&on_path)
        .map(|dir| dir.join("python3"))
        .find(|p| p.is_file())?;
    let real = std::fs::canonicalize(&python3).unwrap_or(python3);
    let pyenv_root = std::env::var_os("PYENV_ROOT")
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| std::path::Path::new(&h).join(".pyenv")))
        .unwrap_or_default();
    let global = pyenv_root.join("version");
    let local = std::env::current_dir().ok().and_then(|dir| {
        dir.ancestors()
            .map(|d| d.join(".python-version"))
            .find(|f| f.is_file())
    });
    Some(format!(
        "{}@{}|{}|{}|{}",
        real.display(),
        stamp(&real),
        std::env::var("PYENV_VERSION").unwrap_or_default(),
        stamp(&global),
        local.map_or(String::new(), |f| format!("{}@{}", f.display(), stamp(&f)))
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_parse_within_what_pooltop_knows() {
        assert_eq!(PyVersion::parse("3.14"), Ok(PyVersion(3, 14)));
        assert_eq!(PyVersion::parse("3.12.1"), Ok(PyVersion(3, 12)));
        assert!(PyVersion::parse("3.15").is_err());
        assert!(PyVersion::parse("2.7").is_err());
        assert!(PyVersion::parse("three").is_err());
    }

    #[test]
    fn the_default_start_method_follows_version_and_platform() {
        let rules = |v: (u8, u8), platform| Rules {
            version: PyVersion(v.0, v.1),
            platform,
            why: Why::Option,
        };
        assert_eq!(
            rules((3, 13), Platform::Linux).default_start_method(),
            StartMethod::Fork
        );
        assert_eq!(
            rules((3, 14), Platform::Linux).default_start_method(),
            StartMethod::Forkserver
        );
        assert_eq!(
            rules((3, 11), Platform::Macos).default_start_method(),
            StartMethod::Spawn
        );
        assert_eq!(
            rules((3, 14), Platform::Windows).default_start_method(),
            StartMethod::Spawn
        );
        assert_eq!(rules((3, 11), Platform::Linux).label(), "Python 3.11 rules");
        assert_eq!(
            rules((3, 12), Platform::Macos).label(),
            "Python 3.12 macOS rules"
        );
    }
}
