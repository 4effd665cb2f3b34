//! The Python hook's side of watching: its private directory and socket, one connection
//! per Python process, and its records (`assets/python/hook/PROTOCOL.md`) turned into events.

use std::collections::HashMap;
use std::io::{self, Read};
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};

use nix::sys::socket::{getsockopt, sockopt::PeerCredentials};

use crate::engine::program::{StartMethod, SubmitKind};
use crate::engine::protocol::{EventKind, LostCause, PoolStateName, Role};
use crate::engine::value::Value;

/// The hook, as written to `sitecustomize.py` in the private directory.
const HOOK: &str = include_str!("../../../assets/python/hook/sitecustomize.py");

/// A connection's unread bytes beyond which it is dropped (a record is a line).
const MAX_PENDING: usize = 1 << 20;

/// The private directory holding the hook and its socket; removed when dropped.
pub struct HookDir {
    dir: PathBuf,
    listener: UnixListener,
}

impl HookDir {
    /// A fresh 0700 directory with `sitecustomize.py` and a listening socket.
    pub fn create() -> io::Result<HookDir> {
        let base = std::env::temp_dir();
        let mut dir = PathBuf::new();
        for attempt in 0..100u32 {
            dir = base.join(format!("pooltop-hook-{}-{attempt}", std::process::id()));
            match std::fs::create_dir(&dir) {
                Ok(()) => break,
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(e),
            }
        }
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))?;
        std::fs::write(dir.join("sitecustomize.py"), HOOK)?;
        let listener = UnixListener::bind(dir.join("hook.sock"))?;
        listener.set_nonblocking(true)?;
        Ok(HookDir { dir, listener })
    }

    pub fn path(&self) -> &Path {
        &self.dir
    }

    pub fn socket(&self) -> PathBuf {
        self.dir.join("hook.sock")
    }

    pub fn listener_fd(&self) -> BorrowedFd<'_> {
        self.listener.as_fd()
    }

    /// Connections waiting to be accepted, with the PID the kernel names for each.
    pub fn accept(&self) -> Vec<(i32, UnixStream)> {
        let mut new = Vec::new();
        while let Ok((stream, _)) = self.listener.accept() {
            let Ok(cred) = getsockopt(&stream, PeerCredentials) else {
                continue;
            };
            if stream.set_nonblocking(true).is_ok() {
                new.push((cred.pid(), stream));
            }
        }
        new
    }
}

impl Drop for HookDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// One Python process's connection and the part of a record read so far.
pub struct Conn {
    pub pid: i32,
    stream: UnixStream,
    pending: Vec<u8>,
}

impl Conn {
    pub fn new(pid: i32, stream: UnixStream) -> Conn {
        Conn {
            pid,
            stream,
            pending: Vec::new(),
        }
    }

    pub fn fd(&self) -> BorrowedFd<'_> {
        self.stream.as_fd()
    }

    /// The complete records read now; `None` once the process has closed its end.
    pub fn read(&mut self) -> Option<Vec<Vec<String>>> {
        let mut buf = [0u8; 16 * 1024];
        let mut open = true;
        loop {
            match self.stream.read(&mut buf) {
                Ok(0) => {
                    open = false;
                    break;
                }
                Ok(n) => self.pending.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(_) => {
                    open = false;
                    break;
                }
            }
            if self.pending.len() > MAX_PENDING {
                open = false;
                break;
            }
        }
        let records = self.take_records();
        (open || !records.is_empty()).then_some(records)
    }

    fn take_records(&mut self) -> Vec<Vec<String>> {
        let Some(end) = self.pending.iter().rposition(|b| *b == b'\n') else {
            return Vec::new();
        };
        let complete: Vec<u8> = self.pending.drain(..=end).collect();
        String::from_utf8_lossy(&complete)
            .lines()
            .map(|line| line.split('\t').map(unescape).collect())
            .collect()
    }
}

/// Whether a process name is one CPython gives a pool's workers (`ForkPoolWorker-3`).
pub fn is_pool_worker(name: &str) -> bool {
    name.rsplit_once('-')
        .is_some_and(|(class, n)| class.ends_with("PoolWorker") && n.parse::<u32>().is_ok())
}

/// Arguments as a call writes them, without the tuple around them: `(11, 2)` is `11, 2`
/// and `(3,)` is `3`, so a task reads `power(11, 2)`.
fn unpack(args: &str) -> String {
    match args.strip_prefix('(').and_then(|a| a.strip_suffix(')')) {
        Some(inner) => inner.strip_suffix(',').unwrap_or(inner).to_string(),
        None => args.to_string(),
    }
}

/// A field as the hook wrote it: `\\`, `\t` and `\n` stand for themselves.
fn unescape(field: &str) -> String {
    let mut out = String::with_capacity(field.len());
    let mut chars = field.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

/// A call of a real Pool, as pooltop numbers it.
struct CallMeta {
    call: u32,
    pool: usize,
    task_base: u64,
    len: usize,
    chunksize: usize,
    method: SubmitKind,
    func: String,
}

/// Turns hook records into the events scenarios produce, numbering pools, calls and
/// tasks as a scenario's driver would.
#[derive(Default)]
pub struct Translator {
    /// Pools by (owner's PID, the hook's number), as pooltop numbers them.
    pools: HashMap<(i32, String), usize>,
    /// Each pool's state and size, by pooltop's number.
    pool_states: Vec<(PoolStateName, usize)>,
    /// Calls by (owner's PID, CPython's job number).
    calls: HashMap<(i32, String), CallMeta>,
    /// The owner of each job number seen lately, for workers' records (which only name
    /// the job): the newest call with that number wins.
    job_owner: HashMap<String, i32>,
    next_call: u32,
    next_task: u64,
    /// Lines of the script, read once, for `step` records.
    sources: HashMap<String, Vec<String>>,
    /// The script the command runs, as it resolves here: its lines are the code pane's.
    script: Option<PathBuf>,
    /// The task each worker is running: (job, task index) by the worker's PID.
    running: HashMap<i32, (String, String)>,
    /// Each pool worker's pool owner (its `hello`'s `parent`).
    owners: HashMap<i32, i32>,
    /// Workers' records that came before their call's, by job number.
    early: HashMap<String, Vec<(i32, Vec<String>)>>,
    stashed: usize,
}

/// The most items a `call` is followed by an `items` record for (PROTOCOL.md).
const MAX_ITEMS: usize = 1000;
/// Task numbers set aside for a call of unknown length (an `imap` over a generator).
const UNKNOWN_LEN: usize = 1 << 20;
/// Workers' records kept waiting for their call, at most.
const MAX_STASHED: usize = 100_000;

fn method_kind(method: &str) -> Option<SubmitKind> {
    Some(match method {
        "apply" => SubmitKind::Apply,
        "apply_async" => SubmitKind::ApplyAsync,
        "map" => SubmitKind::Map,
        "map_async" => SubmitKind::MapAsync,
        "starmap" => SubmitKind::Starmap,
        "starmap_async" => SubmitKind::StarmapAsync,
        "imap" => SubmitKind::Imap,
        "imap_unordered" => SubmitKind::ImapUnordered,
        _ => return None,
    })
}

fn role_of(text: &str) -> Role {
    match text {
        "main" => Role::Main,
        "process" => Role::Process,
        "pool_worker" => Role::PoolWorker,
        "forkserver" => Role::Forkserver,
        "resource_tracker" => Role::ResourceTracker,
        _ => Role::Other,
    }
}

fn start_method(text: &str) -> Option<StartMethod> {
    match text {
        "fork" => Some(StartMethod::Fork),
        "spawn" => Some(StartMethod::Spawn),
        "forkserver" => Some(StartMethod::Forkserver),
        _ => None,
    }
}

impl Translator {
    pub fn for_script(script: Option<PathBuf>) -> Translator {
        Translator {
            script: script.and_then(|p| std::fs::canonicalize(p).ok()),
            ..Translator::default()
        }
    }

    /// The events one record of process `pid` stands for (`fields[0]` is its kind,
    /// `fields[1]` its time).
    pub fn translate(
        &mut self,
        pid: i32,
        fields: &[String],
        name_of: &dyn Fn(i32) -> String,
    ) -> Vec<EventKind> {
        let f = |i: usize| fields.get(i).map_or("", String::as_str);
        match f(0) {
            "hello" => {
                let role = role_of(f(3));
                if let Ok(parent) = f(4).parse::<i32>() {
                    self.owners.insert(pid, parent);
                }
                // Python calls its helpers `MainProcess` too: pooltop says what they are.
                let name = match role {
                    Role::Forkserver => "fork server".to_string(),
                    Role::ResourceTracker => "resource tracker".to_string(),
                    _ => f(2).to_string(),
                };
                vec![EventKind::Named { pid, name, role }]
            }
            "pool" => self.pool(pid, fields),
            "pool_state" => self.pool_state(pid, f(2), f(3)),
            "call" => {
                let mut events = self.call(pid, fields);
                // A call too long for an `items` record has its tasks' records now.
                if fields
                    .get(6)
                    .and_then(|n| n.parse::<usize>().ok())
                    .unwrap_or(0)
                    > MAX_ITEMS
                {
                    events.extend(self.replay(f(3), name_of));
                }
                events
            }
            "items" => {
                let mut events = self.items(pid, fields);
                events.extend(self.replay(f(2), name_of));
                events
            }
            // A worker's record can arrive before its call's (two connections): it waits.
            "start" | "done" if self.job(pid, f(2)).is_none() => {
                self.stash(pid, fields);
                Vec::new()
            }
            "start" => self.start(pid, f(2), f(3), name_of),
            "done" => self.done(pid, fields, name_of),
            "step" => self.step(f(2), f(3)),
            "step_done" => self.step_done(f(2), f(3), f(4), f(5)),
            // A pool's workers are Process objects too, but the pool's, not the script's.
            "process" if is_pool_worker(f(2)) => Vec::new(),
            "process" => vec![EventKind::ProcessObject {
                name: f(2).to_string(),
                start_method: start_method(f(4)).unwrap_or_default(),
                daemon: f(3) == "1",
            }],
            _ => Vec::new(),
        }
    }

    fn pool(&mut self, pid: i32, fields: &[String]) -> Vec<EventKind> {
        let f = |i: usize| fields.get(i).map_or("", String::as_str);
        let id = self.pools.len();
        self.pools.insert((pid, f(2).to_string()), id);
        let processes = f(3).parse().unwrap_or(0);
        self.pool_states.push((PoolStateName::Run, processes));
        let name = if id == 0 {
            "pool".to_string()
        } else {
            format!("pool{}", id + 1)
        };
        vec![EventKind::PoolState {
            id,
            processes,
            pool: name,
            state: PoolStateName::Run,
        }]
    }

    fn pool_state(&mut self, pid: i32, pool: &str, state: &str) -> Vec<EventKind> {
        let Some(&id) = self.pools.get(&(pid, pool.to_string())) else {
            return Vec::new();
        };
        let state = match state {
            "CLOSE" => PoolStateName::Close,
            "TERMINATE" => PoolStateName::Terminate,
            _ => PoolStateName::Run,
        };
        let mut processes = 0;
        if let Some(s) = self.pool_states.get_mut(id) {
            s.0 = state;
            processes = s.1;
        }
        let name = if id == 0 {
            "pool".to_string()
        } else {
            format!("pool{}", id + 1)
        };
        vec![EventKind::PoolState {
            id,
            processes,
            pool: name,
            state,
        }]
    }

    fn call(&mut self, pid: i32, fields: &[String]) -> Vec<EventKind> {
        let f = |i: usize| fields.get(i).map_or("", String::as_str);
        let Some(method) = method_kind(f(4)) else {
            return Vec::new();
        };
        let Some(&pool) = self.pools.get(&(pid, f(2).to_string())) else {
            return Vec::new();
        };
        // `?`: an imap over an iterable of unknown length. Its tasks are numbered as they
        // start, within a block of numbers set aside for it.
        let known: Option<usize> = f(6).parse().ok();
        let len = known.unwrap_or(0);
        let chunksize: usize = f(7).parse().unwrap_or(1).max(1);
        let meta = CallMeta {
            call: self.next_call,
            pool,
            task_base: self.next_task,
            len: known.unwrap_or(UNKNOWN_LEN),
            chunksize,
            method,
            func: f(5).to_string(),
        };
        self.next_call += 1;
        self.next_task += meta.len as u64;
        let call = meta.call;
        self.calls.insert((pid, f(3).to_string()), meta);
        self.job_owner.insert(f(3).to_string(), pid);
        vec![EventKind::CallSubmitted {
            call,
            pool,
            method,
            func: f(5).to_string(),
            len,
            chunksize,
        }]
    }

    fn items(&mut self, pid: i32, fields: &[String]) -> Vec<EventKind> {
        let Some(meta) = fields
            .get(2)
            .and_then(|job| self.calls.get(&(pid, job.clone())))
        else {
            return Vec::new();
        };
        let spread = !matches!(
            meta.method,
            SubmitKind::Map | SubmitKind::MapAsync | SubmitKind::Imap | SubmitKind::ImapUnordered
        );
        fields
            .iter()
            .skip(3)
            .take(meta.len)
            .enumerate()
            .map(|(index, args)| EventKind::TaskQueued {
                task: meta.task_base + index as u64,
                call: meta.call,
                index,
                func: meta.func.clone(),
                args: Value::Repr(if spread { unpack(args) } else { args.clone() }),
            })
            .collect()
    }

    /// Keeps a worker's record of a job not known yet (bounded: a job that never comes,
    /// a call made before pooltop connected, must not hold memory).
    fn stash(&mut self, pid: i32, fields: &[String]) {
        if self.stashed < MAX_STASHED {
            self.stashed += 1;
            let job = fields.get(2).cloned().unwrap_or_default();
            self.early
                .entry(job)
                .or_default()
                .push((pid, fields.to_vec()));
        }
    }

    /// The records that waited for `job`, now that its call is known.
    fn replay(&mut self, job: &str, name_of: &dyn Fn(i32) -> String) -> Vec<EventKind> {
        let Some(waiting) = self.early.remove(job) else {
            return Vec::new();
        };
        self.stashed -= waiting.len();
        let mut events = Vec::new();
        for (pid, fields) in waiting {
            events.extend(self.translate(pid, &fields, name_of));
        }
        events
    }

    /// The call a worker's record names by CPython's job number, which counts per pool
    /// owner: the worker's owner as its `hello` said, else the newest owner of that job.
    fn job(&self, worker: i32, job: &str) -> Option<&CallMeta> {
        let owner = self
            .owners
            .get(&worker)
            .or_else(|| self.job_owner.get(job))?;
        self.calls.get(&(*owner, job.to_string()))
    }

    /// The items task `i` of a call covers: one chunk of a map, the one item of an apply.
    fn span(meta: &CallMeta, i: &str) -> std::ops::Range<usize> {
        let i: usize = i.parse().unwrap_or(0);
        if meta.method.single() {
            return 0..meta.len.min(1);
        }
        let first = (i * meta.chunksize).min(meta.len);
        first..(first + meta.chunksize).min(meta.len)
    }

    fn start(
        &mut self,
        pid: i32,
        job: &str,
        i: &str,
        name_of: &dyn Fn(i32) -> String,
    ) -> Vec<EventKind> {
        let Some(meta) = self.job(pid, job) else {
            return Vec::new();
        };
        let items = Self::span(meta, i);
        let task = meta.task_base + items.start as u64;
        self.running.insert(pid, (job.to_string(), i.to_string()));
        vec![EventKind::TaskStarted {
            task,
            pid,
            name: name_of(pid),
        }]
    }

    fn done(
        &mut self,
        pid: i32,
        fields: &[String],
        name_of: &dyn Fn(i32) -> String,
    ) -> Vec<EventKind> {
        let f = |i: usize| fields.get(i).map_or("", String::as_str);
        self.running.remove(&pid);
        let Some(meta) = self.job(pid, f(2)) else {
            return Vec::new();
        };
        let items = Self::span(meta, f(3));
        let ok = f(4) == "1";
        let name = name_of(pid);
        items
            .enumerate()
            .map(|(k, index)| {
                let task = meta.task_base + index as u64;
                // A failed chunk has one field: its exception, for every item.
                let field = if ok { fields.get(5 + k) } else { fields.get(5) };
                let text = field.map_or("?", String::as_str).to_string();
                if ok {
                    EventKind::TaskDone {
                        task,
                        pid,
                        name: name.clone(),
                        result: Value::from_repr(&text),
                    }
                } else {
                    EventKind::TaskFailed {
                        task,
                        pid,
                        name: name.clone(),
                        error: text,
                    }
                }
            })
            .collect()
    }

    /// The tasks worker `pid` was running when it ended: lost, each of its chunk's items
    /// (CPython's pool never hears of them again).
    pub fn lost(
        &mut self,
        pid: i32,
        name: &str,
        signal: Option<i32>,
        exitcode: Option<i32>,
        ended_by_pooltop: bool,
    ) -> Vec<EventKind> {
        let Some((job, i)) = self.running.remove(&pid) else {
            return Vec::new();
        };
        let Some(meta) = self.job(pid, &job) else {
            return Vec::new();
        };
        let terminated = self
            .pool_states
            .get(meta.pool)
            .is_some_and(|s| s.0 == PoolStateName::Terminate);
        let cause = if terminated {
            LostCause::PoolTerminated
        } else if signal.is_some() || ended_by_pooltop {
            LostCause::Killed
        } else {
            LostCause::Exited
        };
        Self::span(meta, &i)
            .map(|index| EventKind::TaskLost {
                task: meta.task_base + index as u64,
                pid,
                name: name.to_string(),
                signal,
                exitcode,
                cause,
            })
            .collect()
    }

    /// The script's line `line` of `file`, as the code pane and the log show it: its index
    /// in the code pane when `file` is the script the command runs.
    fn source_line(&mut self, file: &str, line: &str) -> (Option<usize>, String) {
        let number: usize = line.parse().unwrap_or(0);
        let lines = self.sources.entry(file.to_string()).or_insert_with(|| {
            std::fs::read_to_string(file)
                .map(|t| t.lines().map(String::from).collect())
                .unwrap_or_default()
        });
        let text = number
            .checked_sub(1)
            .and_then(|i| lines.get(i))
            .map(|l| l.trim().to_string());
        let in_script = self.script.is_some()
            && std::fs::canonicalize(file).ok().as_ref() == self.script.as_ref();
        if in_script {
            return (number.checked_sub(1), text.unwrap_or_default());
        }
        let short = Path::new(file)
            .file_name()
            .map_or(file.into(), |n| n.to_string_lossy());
        let text = text.map_or_else(String::new, |t| format!(": {t}"));
        (None, format!("{short}:{line}{text}"))
    }

    fn step(&mut self, file: &str, line: &str) -> Vec<EventKind> {
        let (index, python) = self.source_line(file, line);
        vec![EventKind::Step { index, python }]
    }

    fn step_done(&mut self, file: &str, line: &str, ok: &str, outcome: &str) -> Vec<EventKind> {
        let (index, python) = self.source_line(file, line);
        let mut events = Vec::new();
        // `for r in pool.imap(...)` ends with StopIteration: the loop's end, not an error.
        if outcome.starts_with("StopIteration") {
            events.push(EventKind::StepDone {
                index,
                python,
                outcome: "StopIteration (the loop ends)".into(),
            });
            return events;
        }
        if ok != "1" {
            events.push(EventKind::Error {
                message: outcome.to_string(),
                python: python.clone(),
            });
        }
        events.push(EventKind::StepDone {
            index,
            python,
            outcome: outcome.to_string(),
        });
        events
    }

    /// The `process_start` record: `(name, pid)` of a Process its parent started.
    pub fn process_start(fields: &[String]) -> Option<(String, i32)> {
        if fields.first().map(String::as_str) != Some("process_start") {
            return None;
        }
        Some((fields.get(2)?.clone(), fields.get(3)?.parse().ok()?))
    }

    /// The `reaped` record: `(pid, exitcode)` of a child its Python parent reaped.
    pub fn reaped(fields: &[String]) -> Option<(i32, i32)> {
        if fields.first().map(String::as_str) != Some("reaped") {
            return None;
        }
        Some((fields.get(2)?.parse().ok()?, fields.get(3)?.parse().ok()?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(text: &str) -> Vec<String> {
        text.split('\t').map(unescape).collect()
    }

    #[test]
    fn a_map_of_chunks_becomes_tasks() {
        let mut t = Translator::default();
        let name = |pid: i32| format!("ForkPoolWorker-{pid}");
        t.translate(1, &rec("pool\t0\t1\t2\tfork\t-\ts.py\t3"), &name);
        let call = t.translate(1, &rec("call\t0\t1\t7\tmap\tcube\t5\t2"), &name);
        assert!(matches!(
            call[0],
            EventKind::CallSubmitted {
                len: 5,
                chunksize: 2,
                ..
            }
        ));
        let queued = t.translate(1, &rec("items\t0\t7\t1\t2\t3\t4\t5"), &name);
        assert_eq!(queued.len(), 5);
        let started = t.translate(9, &rec("start\t0\t7\t2"), &name);
        assert!(matches!(
            started[0],
            EventKind::TaskStarted {
                task: 4,
                pid: 9,
                ..
            }
        ));
        let done = t.translate(9, &rec("done\t0\t7\t2\t1\t125"), &name);
        assert!(matches!(
            &done[..],
            [EventKind::TaskDone {
                task: 4,
                result: Value::Int(125),
                ..
            }]
        ));
        let failed = t.translate(9, &rec("done\t0\t7\t0\t0\tValueError: no"), &name);
        assert_eq!(failed.len(), 2, "every item of a failed chunk");
    }

    #[test]
    fn a_workers_record_before_its_call_waits_for_it() {
        let mut t = Translator::default();
        let name = |pid: i32| format!("ForkPoolWorker-{pid}");
        t.translate(1, &rec("pool\t0\t1\t2\tfork\t-\ts.py\t3"), &name);
        assert!(t.translate(9, &rec("start\t5\t4\t0"), &name).is_empty());
        t.translate(1, &rec("call\t1\t1\t4\tapply_async\tslow\t1\t1"), &name);
        let after_items = t.translate(1, &rec("items\t2\t4\t(1,)"), &name);
        assert!(matches!(
            &after_items[..],
            [EventKind::TaskQueued { task: 0, args: Value::Repr(a), .. }, EventKind::TaskStarted { task: 0, pid: 9, .. }]
                if a == "1"
        ));
        let lost = t.translate(9, &rec("done\t3\t4\t0\t1\t1"), &name);
        assert_eq!(lost.len(), 1);
    }

    #[test]
    fn fields_unescape() {
        assert_eq!(unescape("a\\tb\\nc\\\\d"), "a\tb\nc\\d");
    }
}
