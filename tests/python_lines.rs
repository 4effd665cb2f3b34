//! The Python each built-in lesson and scenario shows is the call its step really makes,
//! so a student who types the lines gets what pooltop ran.

use std::collections::{BTreeMap, BTreeSet};

use pooltop::engine::program::RunSettings;
use pooltop::scenario::{self, BUILTIN, LESSONS, Overrides, ScenarioFile, Source};

/// Steps whose shown line is not compared, by file and 1-based step, with the reason.
const EXEMPT: &[(&str, usize, &str)] = &[(
    "assets/lessons/q1-processes.toml",
    1,
    "a note: `import multiprocessing, os` runs nothing, and pooltop has no step for an import",
)];

/// A value or call as far as these lines need: what a step is, not how it is spelled.
#[derive(Clone, Debug, PartialEq)]
enum Expr {
    /// Names, including `True`, `False` and `None`.
    Name(String),
    /// `1` and `1.0` are one number, as Python's `==` has them.
    Num(f64),
    Str(String),
    /// An f-string's text between the quotes, escapes resolved, braces kept.
    FStr(String),
    List(Vec<Expr>),
    Tuple(Vec<Expr>),
    Attr(Box<Expr>, String),
    Index(Box<Expr>, Box<Expr>),
    Call {
        func: Box<Expr>,
        args: Vec<Expr>,
        kwargs: BTreeMap<String, Expr>,
    },
    Bin(Box<Expr>, char, Box<Expr>),
    Neg(Box<Expr>),
}

impl std::fmt::Display for Expr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let seq = |items: &[Expr]| {
            items
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        };
        match self {
            Expr::Name(n) => f.write_str(n),
            Expr::Num(n) => write!(f, "{n}"),
            Expr::Str(s) => write!(f, "{s:?}"),
            Expr::FStr(s) => write!(f, "f{s:?}"),
            Expr::List(items) => write!(f, "[{}]", seq(items)),
            Expr::Tuple(items) if items.len() == 1 => write!(f, "({},)", items[0]),
            Expr::Tuple(items) => write!(f, "({})", seq(items)),
            Expr::Attr(obj, name) => write!(f, "{obj}.{name}"),
            Expr::Index(obj, i) => write!(f, "{obj}[{i}]"),
            Expr::Call { func, args, kwargs } => {
                let mut all: Vec<String> = args.iter().map(ToString::to_string).collect();
                all.extend(kwargs.iter().map(|(k, v)| format!("{k}={v}")));
                write!(f, "{func}({})", all.join(", "))
            }
            Expr::Bin(a, op, b) => write!(f, "{a} {op} {b}"),
            Expr::Neg(x) => write!(f, "-{x}"),
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
enum Stmt {
    /// `target = value`, or `value` alone.
    Run {
        target: Option<String>,
        value: Expr,
    },
    With {
        target: String,
        value: Expr,
    },
    For {
        var: String,
        iter: Expr,
    },
    Pass,
}

impl Stmt {
    fn opens_block(&self) -> bool {
        matches!(self, Stmt::With { .. } | Stmt::For { .. })
    }

    fn binds(&self) -> Option<&str> {
        match self {
            Stmt::Run { target, .. } => target.as_deref(),
            Stmt::With { target, .. } => Some(target),
            Stmt::For { var, .. } => Some(var),
            Stmt::Pass => None,
        }
    }
}

/// One line of a step's Python: its indentation and its statement (None: blank or a
/// comment only).
struct Line {
    indent: usize,
    stmt: Option<Stmt>,
}

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Name(String),
    Num(f64),
    Str(String),
    FStr(String),
    Punct(char),
}

fn string(chars: &[char], open: usize) -> Result<(String, usize), String> {
    let quote = chars[open];
    let mut out = String::new();
    let mut i = open + 1;
    while let Some(&c) = chars.get(i) {
        match c {
            '\\' => {
                let escaped = match chars.get(i + 1) {
                    Some('\\') => '\\',
                    Some('\'') => '\'',
                    Some('"') => '"',
                    Some('n') => '\n',
                    Some('t') => '\t',
                    other => return Err(format!("escape \\{other:?} is not read here")),
                };
                out.push(escaped);
                i += 2;
            }
            c if c == quote => return Ok((out, i + 1)),
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    Err("unterminated string".into())
}

fn tokens(line: &str) -> Result<Vec<Tok>, String> {
    let chars: Vec<char> = line.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        if c == ' ' {
            i += 1;
        } else if c == '#' {
            break;
        } else if c == '"' || c == '\'' {
            let (s, next) = string(&chars, i)?;
            out.push(Tok::Str(s));
            i = next;
        } else if c == 'f' && matches!(chars.get(i + 1), Some('"' | '\'')) {
            let (s, next) = string(&chars, i + 1)?;
            out.push(Tok::FStr(s));
            i = next;
        } else if c.is_ascii_digit() {
            let start = i;
            while chars
                .get(i)
                .is_some_and(|d| d.is_ascii_digit() || *d == '.' || *d == '_')
            {
                i += 1;
            }
            let text: String = chars[start..i].iter().filter(|d| **d != '_').collect();
            let n = text
                .parse()
                .map_err(|_| format!("'{text}' is not a number"))?;
            out.push(Tok::Num(n));
        } else if c.is_alphabetic() || c == '_' {
            let start = i;
            while chars
                .get(i)
                .is_some_and(|d| d.is_alphanumeric() || *d == '_')
            {
                i += 1;
            }
            out.push(Tok::Name(chars[start..i].iter().collect()));
        } else if "()[],.=:-+".contains(c) {
            out.push(Tok::Punct(c));
            i += 1;
        } else {
            return Err(format!("'{c}' is not read here"));
        }
    }
    Ok(out)
}

struct Parser {
    toks: Vec<Tok>,
    at: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.at)
    }

    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(&Tok::Punct(c)) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, c: char) -> Result<(), String> {
        if self.eat(c) {
            Ok(())
        } else {
            Err(format!("expected '{c}', found {:?}", self.peek()))
        }
    }

    fn keyword(&mut self, word: &str) -> bool {
        if matches!(self.peek(), Some(Tok::Name(n)) if n == word) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    fn name(&mut self) -> Result<String, String> {
        match self.toks.get(self.at).cloned() {
            Some(Tok::Name(n)) => {
                self.at += 1;
                Ok(n)
            }
            other => Err(format!("expected a name, found {other:?}")),
        }
    }

    fn statement(&mut self) -> Result<Stmt, String> {
        let stmt = if self.keyword("with") {
            let value = self.expr()?;
            if !self.keyword("as") {
                return Err("expected 'as'".into());
            }
            let target = self.name()?;
            self.expect(':')?;
            Stmt::With { target, value }
        } else if self.keyword("for") {
            let var = self.name()?;
            if !self.keyword("in") {
                return Err("expected 'in'".into());
            }
            let iter = self.expr()?;
            self.expect(':')?;
            Stmt::For { var, iter }
        } else if self.keyword("pass") {
            Stmt::Pass
        } else if matches!(self.toks.get(self.at + 1), Some(Tok::Punct('='))) {
            let target = self.name()?;
            self.expect('=')?;
            Stmt::Run {
                target: Some(target),
                value: self.expr()?,
            }
        } else {
            Stmt::Run {
                target: None,
                value: self.expr()?,
            }
        };
        match self.peek() {
            None => Ok(stmt),
            Some(t) => Err(format!("unexpected {t:?}")),
        }
    }

    fn expr(&mut self) -> Result<Expr, String> {
        let mut left = self.unary()?;
        loop {
            let op = if self.eat('-') {
                '-'
            } else if self.eat('+') {
                '+'
            } else {
                return Ok(left);
            };
            left = Expr::Bin(Box::new(left), op, Box::new(self.unary()?));
        }
    }

    fn unary(&mut self) -> Result<Expr, String> {
        if self.eat('-') {
            return Ok(Expr::Neg(Box::new(self.unary()?)));
        }
        let mut e = self.primary()?;
        loop {
            if self.eat('.') {
                e = Expr::Attr(Box::new(e), self.name()?);
            } else if self.eat('(') {
                let (args, kwargs) = self.arguments()?;
                e = Expr::Call {
                    func: Box::new(e),
                    args,
                    kwargs,
                };
            } else if self.eat('[') {
                let index = self.expr()?;
                self.expect(']')?;
                e = Expr::Index(Box::new(e), Box::new(index));
            } else {
                return Ok(e);
            }
        }
    }

    fn arguments(&mut self) -> Result<(Vec<Expr>, BTreeMap<String, Expr>), String> {
        let mut args = Vec::new();
        let mut kwargs = BTreeMap::new();
        while !self.eat(')') {
            let keyword = matches!(self.peek(), Some(Tok::Name(_)))
                && self.toks.get(self.at + 1) == Some(&Tok::Punct('='));
            if keyword {
                let key = self.name()?;
                self.expect('=')?;
                let value = self.expr()?;
                if kwargs.insert(key.clone(), value).is_some() {
                    return Err(format!("keyword '{key}' given twice"));
                }
            } else if kwargs.is_empty() {
                args.push(self.expr()?);
            } else {
                return Err("a positional argument after a keyword".into());
            }
            if !self.eat(',') {
                self.expect(')')?;
                break;
            }
        }
        Ok((args, kwargs))
    }

    fn sequence(&mut self, close: char) -> Result<(Vec<Expr>, bool), String> {
        let mut items = Vec::new();
        let mut comma = false;
        while !self.eat(close) {
            items.push(self.expr()?);
            comma = self.eat(',');
            if !comma {
                self.expect(close)?;
                break;
            }
        }
        Ok((items, comma))
    }

    fn primary(&mut self) -> Result<Expr, String> {
        let tok = self.toks.get(self.at).cloned();
        self.at += 1;
        Ok(match tok {
            Some(Tok::Name(n)) if ["with", "as", "for", "in", "pass", "import"].contains(&&*n) => {
                return Err(format!("'{n}' is not read here"));
            }
            Some(Tok::Name(n)) => Expr::Name(n),
            Some(Tok::Num(n)) => Expr::Num(n),
            Some(Tok::Str(s)) => Expr::Str(s),
            Some(Tok::FStr(s)) => Expr::FStr(s),
            Some(Tok::Punct('[')) => Expr::List(self.sequence(']')?.0),
            Some(Tok::Punct('(')) => match self.sequence(')')? {
                (mut items, false) if items.len() == 1 => items.remove(0),
                (items, _) => Expr::Tuple(items),
            },
            other => return Err(format!("unexpected {other:?}")),
        })
    }
}

fn parse_expr(text: &str) -> Result<Expr, String> {
    let mut p = Parser {
        toks: tokens(text)?,
        at: 0,
    };
    let e = p.expr()?;
    match p.peek() {
        None => Ok(e),
        Some(t) => Err(format!("unexpected {t:?}")),
    }
}

fn parse_lines(python: &str) -> Result<Vec<Line>, String> {
    python
        .lines()
        .map(|line| {
            let indent = line.len() - line.trim_start_matches(' ').len();
            let toks = tokens(line)?;
            let stmt = if toks.is_empty() {
                None
            } else {
                Some(Parser { toks, at: 0 }.statement()?)
            };
            Ok(Line { indent, stmt })
        })
        .collect()
}

/// Spellings Python treats as one call: `range(n)` is `range(0, n)`, and starmap's
/// argument lists may be tuples or lists.
fn canon(e: &Expr) -> Expr {
    match e {
        Expr::List(items) => Expr::List(items.iter().map(canon).collect()),
        Expr::Tuple(items) => Expr::Tuple(items.iter().map(canon).collect()),
        Expr::Attr(obj, name) => Expr::Attr(Box::new(canon(obj)), name.clone()),
        Expr::Index(obj, i) => Expr::Index(Box::new(canon(obj)), Box::new(canon(i))),
        Expr::Bin(l, op, r) => Expr::Bin(Box::new(canon(l)), *op, Box::new(canon(r))),
        Expr::Neg(x) => Expr::Neg(Box::new(canon(x))),
        Expr::Call { func, args, kwargs } => {
            let mut args: Vec<Expr> = args.iter().map(canon).collect();
            let kwargs = kwargs.iter().map(|(k, v)| (k.clone(), canon(v))).collect();
            let func = canon(func);
            if func == Expr::Name("range".into()) && args.len() == 1 {
                args.insert(0, Expr::Num(0.0));
            }
            let star = matches!(&func, Expr::Attr(_, m) if m == "starmap" || m == "starmap_async");
            if star && let Some(Expr::List(items)) = args.get_mut(1) {
                for item in items {
                    if let Expr::Tuple(xs) = item {
                        *item = Expr::List(std::mem::take(xs));
                    }
                }
            }
            Expr::Call {
                func: Box::new(func),
                args,
                kwargs,
            }
        }
        other => other.clone(),
    }
}

fn rename(e: &Expr, from: &str, to: &str) -> Expr {
    let r = |x: &Expr| rename(x, from, to);
    match e {
        Expr::Name(n) if n == from => Expr::Name(to.into()),
        Expr::List(items) => Expr::List(items.iter().map(r).collect()),
        Expr::Tuple(items) => Expr::Tuple(items.iter().map(r).collect()),
        Expr::Attr(obj, name) => Expr::Attr(Box::new(r(obj)), name.clone()),
        Expr::Index(obj, i) => Expr::Index(Box::new(r(obj)), Box::new(r(i))),
        Expr::Bin(a, op, b) => Expr::Bin(Box::new(r(a)), *op, Box::new(r(b))),
        Expr::Neg(x) => Expr::Neg(Box::new(r(x))),
        Expr::Call { func, args, kwargs } => Expr::Call {
            func: Box::new(r(func)),
            args: args.iter().map(r).collect(),
            kwargs: kwargs.iter().map(|(k, v)| (k.clone(), r(v))).collect(),
        },
        other => other.clone(),
    }
}

/// What a step's lines do, whatever their layout: `with C as v:` is `v = C`, and a
/// loop's variable may have any name.
fn meaning(lines: &[Line]) -> Vec<Stmt> {
    let mut loop_var: Option<String> = None;
    let mut out = Vec::new();
    for stmt in lines.iter().filter_map(|l| l.stmt.as_ref()) {
        let fix = |e: &Expr| {
            let e = canon(e);
            match &loop_var {
                Some(v) => rename(&e, v, "<loop>"),
                None => e,
            }
        };
        out.push(match stmt {
            Stmt::With { target, value } => Stmt::Run {
                target: Some(target.clone()),
                value: fix(value),
            },
            Stmt::Run { target, value } => Stmt::Run {
                target: target.clone(),
                value: fix(value),
            },
            Stmt::For { var, iter } => {
                let iter = fix(iter);
                loop_var = Some(var.clone());
                Stmt::For {
                    var: "<loop>".into(),
                    iter,
                }
            }
            Stmt::Pass => Stmt::Pass,
        });
    }
    out
}

fn escape(literal: &str) -> String {
    literal.replace('{', "{{").replace('}', "}}")
}

/// The template placeholder for what one printed expression shows, and the names it reads.
fn placeholder(e: &Expr, names: &mut Vec<String>) -> Result<String, String> {
    let call_of = |module: &str, attr: &str| Expr::Call {
        func: Box::new(Expr::Attr(Box::new(Expr::Name(module.into())), attr.into())),
        args: vec![],
        kwargs: BTreeMap::new(),
    };
    let elapsed = Expr::Bin(
        Box::new(call_of("time", "time")),
        '-',
        Box::new(Expr::Name("start".into())),
    );
    Ok(match e {
        Expr::Name(n) if !["True", "False", "None"].contains(&n.as_str()) => {
            names.push(n.clone());
            format!("{{{n}}}")
        }
        e if *e == elapsed => {
            names.push("start".into());
            "{elapsed}".into()
        }
        e if *e == call_of("os", "getpid") => "{pid}".into(),
        e if *e == call_of("os", "cpu_count") => "{cpu_count}".into(),
        other => {
            return Err(format!(
                "`{other}` is not a name, a string or one of the expressions a template can print"
            ));
        }
    })
}

fn fstring(body: &str, names: &mut Vec<String>) -> Result<String, String> {
    let mut out = String::new();
    let mut chars = body.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.peek() == Some(&'{') => {
                chars.next();
                out.push_str("{{");
            }
            '}' if chars.peek() == Some(&'}') => {
                chars.next();
                out.push_str("}}");
            }
            '{' => {
                let inner: String = chars.by_ref().take_while(|c| *c != '}').collect();
                if inner.contains(['!', ':', '=']) {
                    return Err(format!(
                        "f-string field {{{inner}}} has a conversion or format"
                    ));
                }
                out.push_str(&placeholder(&parse_expr(&inner)?, names)?);
            }
            '}' => return Err("single '}' in an f-string".into()),
            c => out.push(c),
        }
    }
    Ok(out)
}

/// What `print(...)` writes, as a `print` step's template: the arguments joined by one
/// space (print's default `sep`), with the names it reads.
fn printed(stmt: &Stmt) -> Result<(String, Vec<String>), String> {
    let Stmt::Run {
        target: None,
        value: Expr::Call { func, args, kwargs },
    } = stmt
    else {
        return Err("not a print(...) call".into());
    };
    if **func != Expr::Name("print".into()) || !kwargs.is_empty() {
        return Err("not a print(...) call without keywords".into());
    }
    let mut names = Vec::new();
    let parts = args
        .iter()
        .map(|a| match a {
            Expr::Str(s) => Ok(escape(s)),
            Expr::FStr(s) => fstring(s, &mut names),
            other => placeholder(other, &mut names),
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok((parts.join(" "), names))
}

/// An open block while reading a file's lines in order.
struct Block {
    header: usize,
    body: Option<usize>,
    /// The pool of a `with` block, and whether its `with-exit` step has come.
    pool: Option<(String, bool)>,
}

/// Python's indentation over the shown lines, and `with` blocks that end exactly where
/// the scenario's `with-exit` step terminates the pool.
struct Layout {
    blocks: Vec<Block>,
    opened: bool,
}

impl Layout {
    fn line(&mut self, line: &Line, stmt: &Stmt) -> Result<(), String> {
        if self.opened {
            let header = self.blocks.last().map_or(0, |b| b.header);
            if line.indent <= header {
                return Err("the block above has no indented body".into());
            }
            if let Some(b) = self.blocks.last_mut() {
                b.body = Some(line.indent);
            }
            self.opened = false;
        } else {
            while let Some(b) = self.blocks.last() {
                if line.indent > b.header {
                    break;
                }
                if let Some((pool, false)) = &b.pool {
                    return Err(format!(
                        "this line leaves `with ... as {pool}:` (which terminates {pool}), but the pool is still running here"
                    ));
                }
                self.blocks.pop();
            }
            let want = self.blocks.last().and_then(|b| b.body).unwrap_or(0);
            if line.indent != want {
                return Err(format!(
                    "indented {} where Python needs {want}",
                    line.indent
                ));
            }
            if let Some(Block {
                pool: Some((pool, true)),
                ..
            }) = self.blocks.last()
            {
                return Err(format!(
                    "runs after {pool} was terminated, but is indented inside its with block"
                ));
            }
        }
        if stmt.opens_block() {
            let pool = match stmt {
                Stmt::With { target, .. } => Some((target.clone(), false)),
                _ => None,
            };
            self.blocks.push(Block {
                header: line.indent,
                body: None,
                pool,
            });
            self.opened = true;
        }
        Ok(())
    }

    fn with_exit(&mut self, on: &str) -> Result<(), String> {
        let open = self
            .blocks
            .iter_mut()
            .rev()
            .find_map(|b| b.pool.as_mut().filter(|(_, exited)| !exited));
        match open {
            Some((pool, exited)) if pool == on => {
                *exited = true;
                Ok(())
            }
            _ => Err(format!("no open `with ... as {on}:` block ends here")),
        }
    }

    fn end(&self) -> Result<(), String> {
        if self.opened {
            return Err("the last block has no body".into());
        }
        match self.blocks.iter().find_map(|b| b.pool.as_ref()) {
            Some((pool, false)) => Err(format!("`with ... as {pool}:` has no with-exit step")),
            _ => Ok(()),
        }
    }
}

/// Each step's Python as shown and as pooltop writes it for the same step when the file
/// gives none, with the file as parsed.
fn both_texts(source: &Source) -> Result<(ScenarioFile, Vec<String>, Vec<String>), String> {
    let shown = scenario::load(source, &Overrides::default())?;
    let mut file: ScenarioFile =
        toml::from_str(&source.text).map_err(|e| format!("{}: {e}", source.label))?;
    for step in &mut file.step {
        step.get_mut().python = None;
    }
    let generated =
        scenario::compile(source, &file, RunSettings::default(), &Overrides::default())?;
    let texts = |steps: &[pooltop::engine::program::Step]| -> Vec<String> {
        steps.iter().map(|s| s.python.clone()).collect()
    };
    Ok((file, texts(&shown.program.steps), texts(&generated.steps)))
}

/// Problems with one file's shown lines, each with its 1-based step (0: the whole file).
fn problems(source: &Source) -> Vec<(usize, String)> {
    let (file, shown, generated) = match both_texts(source) {
        Ok(t) => t,
        Err(e) => return vec![(0, e)],
    };
    let mut out = Vec::new();
    let mut layout = Layout {
        blocks: Vec::new(),
        opened: false,
    };
    let mut bound: BTreeSet<String> = BTreeSet::new();
    for (i, step) in file.step.iter().enumerate() {
        let raw = step.get_ref();
        let n = i + 1;
        let mut report = |msg: String| {
            out.push((
                n,
                format!("{} step {n} ({}): {msg}", source.label, raw.action),
            ));
        };
        let lines = match parse_lines(&shown[i]) {
            Ok(l) => l,
            Err(e) => {
                report(format!("`{}` does not parse: {e}", shown[i]));
                continue;
            }
        };
        if raw.action == "print" {
            let template = raw.text.clone().unwrap_or_default();
            let stmts: Vec<&Stmt> = lines.iter().filter_map(|l| l.stmt.as_ref()).collect();
            match stmts.as_slice() {
                [stmt] => match printed(stmt) {
                    Ok((text, names)) => {
                        if text != template {
                            report(format!(
                                "`{}` prints `{text}`, the step prints `{template}`",
                                shown[i]
                            ));
                        }
                        for name in names.iter().filter(|n| !bound.contains(*n)) {
                            report(format!(
                                "`{}` reads `{name}`, which no earlier line assigns",
                                shown[i]
                            ));
                        }
                    }
                    Err(e) => report(format!("`{}`: {e}", shown[i])),
                },
                _ => report(format!("`{}` is not one print(...)", shown[i])),
            }
        } else {
            match parse_lines(&generated[i]) {
                Ok(gen_lines) if meaning(&lines) == meaning(&gen_lines) => {}
                Ok(_) => report(format!("shows `{}` but runs `{}`", shown[i], generated[i])),
                Err(e) => report(format!(
                    "pooltop's own line `{}` does not parse: {e}",
                    generated[i]
                )),
            }
        }
        if raw.action == "with-exit" {
            let on = raw.on.clone().unwrap_or_default();
            if let Err(e) = layout.with_exit(&on) {
                report(e);
            }
        }
        for line in &lines {
            if let Some(stmt) = &line.stmt {
                if let Err(e) = layout.line(line, stmt) {
                    report(format!("`{}`: {e}", shown[i]));
                }
                if let Some(name) = stmt.binds() {
                    bound.insert(name.to_string());
                }
            }
        }
    }
    if let Err(e) = layout.end() {
        out.push((0, format!("{}: {e}", source.label)));
    }
    out
}

fn every_file() -> Vec<Source> {
    let lessons = LESSONS
        .iter()
        .map(|(name, _)| Source::lesson(name).expect("a listed lesson"));
    let scenarios = BUILTIN
        .iter()
        .map(|(name, _)| Source::builtin(name).expect("a listed scenario"));
    lessons.chain(scenarios).collect()
}

/// Every shown line of every built-in lesson and scenario is the call its step makes.
///
/// The rule, step by step:
/// - The shown line and the line pooltop writes for the same step without `python` must
///   make the same calls: the same function or method on the same object, the same
///   positional arguments, the same keyword arguments (any order), assigned to the same
///   name or to none. Layout is free: indentation, a trailing `# comment`, `with C as v:` for
///   `v = C`, the loop variable's name. Spellings Python treats as the same call are
///   equal: `range(n)` and `range(0, n)`, `1` and `1.0`, and starmap's argument lists
///   as tuples or lists. A missing `chunksize=1`, another function, another argument, or
///   a result assigned on one side only is a difference.
/// - A `print` step's line must be one `print(a, b, ...)` with no keywords, and what it
///   writes must be the step's `text`: the arguments joined by one space, a string
///   literal as its text, an f-string as its body, a name `v` as `{v}`,
///   `time.time() - start` as `{elapsed}`, `os.getpid()` as `{pid}`, `os.cpu_count()`
///   as `{cpu_count}`; nothing else is accepted. Each name read must be assigned by an
///   earlier shown line, so `{v}` is the value pooltop bound to `v`. pooltop writes a
///   value as its `repr`, which is what print writes for the ints, lists, booleans and
///   None these files print (a string would differ: print drops its quotes).
/// - Over the whole file the shown lines must indent as Python requires, and a
///   `with ... as pool:` block must end exactly at its `with-exit` step (leaving the
///   block is what terminates the pool).
///
/// Exempt: only the steps in `EXEMPT`, each with its reason; an exemption no step needs
/// any more fails the test.
#[test]
fn every_shown_line_is_the_call_its_step_makes() {
    let mut used = BTreeSet::new();
    let mut all = Vec::new();
    for source in every_file() {
        for (n, problem) in problems(&source) {
            if EXEMPT.iter().any(|(f, s, _)| *f == source.label && *s == n) {
                used.insert((source.label.clone(), n));
            } else {
                all.push(problem);
            }
        }
    }
    for (file, step, why) in EXEMPT {
        if !used.contains(&((*file).to_string(), *step)) {
            all.push(format!(
                "{file} step {step} passes the rule: drop its exemption ({why})"
            ));
        }
    }
    assert!(all.is_empty(), "\n{}", all.join("\n"));
}

fn check_pair(shown: &str, generated: &str) -> bool {
    match (parse_lines(shown), parse_lines(generated)) {
        (Ok(a), Ok(b)) => meaning(&a) == meaning(&b),
        _ => false,
    }
}

#[test]
fn the_rule_tells_layout_from_a_different_call() {
    let same = [
        (
            "cubes = pool.map(cube, range(12), chunksize=1)  # one per task",
            "cubes = pool.map(cube, range(0, 12), chunksize=1)",
        ),
        (
            "with multiprocessing.Pool(processes=10) as pool:",
            "pool = multiprocessing.Pool(processes=10)",
        ),
        (
            "    for r in it:\n        print(r)",
            "for result in it:\n    print(result)",
        ),
        (
            "powers = pool.starmap(power, [(11, 2), (12, 3)])",
            "powers = pool.starmap(power, [[11, 2], [12, 3]])",
        ),
        ("time.sleep(1)", "time.sleep(1.0)"),
        (
            "p = multiprocessing.Process(name=\"a\", target=cube, args=(2,))",
            "p = multiprocessing.Process(target=cube, args=(2,), name=\"a\")",
        ),
    ];
    for (a, b) in same {
        assert!(check_pair(a, b), "{a} | {b}");
    }
    let different = [
        (
            "cubes = pool.map(cube, range(12))",
            "cubes = pool.map(cube, range(0, 12), chunksize=1)",
        ),
        (
            "cubes = pool.map(work, range(12), chunksize=1)",
            "cubes = pool.map(cube, range(0, 12), chunksize=1)",
        ),
        (
            "pool.map(cube, range(12))",
            "cubes = pool.map(cube, range(0, 12))",
        ),
        (
            "p = Process(target=cube, args=(2,))",
            "p = multiprocessing.Process(target=cube, args=(2,))",
        ),
        (
            "p = multiprocessing.Process(target=cube, args=(2,))",
            "p = multiprocessing.Process(target=cube, args=(3,))",
        ),
        (
            "r = pool.map(cube, [(1, 2)])",
            "r = pool.map(cube, [[1, 2]])",
        ),
        (
            "for result in it:\n    pass",
            "for result in it:\n    print(result)",
        ),
    ];
    for (a, b) in different {
        assert!(!check_pair(a, b), "{a} | {b}");
    }
}

/// Fills a template with values as pooltop prints them (Python's `repr`).
fn fill(template: &str, values: &BTreeMap<&str, &str>) -> String {
    let mut out = String::new();
    let mut chars = template.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.peek() == Some(&'{') => {
                chars.next();
                out.push('{');
            }
            '}' if chars.peek() == Some(&'}') => {
                chars.next();
                out.push('}');
            }
            '{' => {
                let name: String = chars.by_ref().take_while(|c| *c != '}').collect();
                out.push_str(values.get(name.as_str()).copied().unwrap_or("?"));
            }
            c => out.push(c),
        }
    }
    out
}

/// The print rule against `CPython` 3.11 (`tests/python/print_rule.py`): with
/// `sq, c, p, cubes, ok, nothing = 49, 27, 1024, [1, 8, 27], True, None`, each line
/// wrote the text beside it.
#[test]
fn the_print_rule_writes_what_cpython_writes() {
    let values: BTreeMap<&str, &str> = [
        ("sq", "49"),
        ("c", "27"),
        ("p", "1024"),
        ("cubes", "[1, 8, 27]"),
        ("ok", "True"),
        ("nothing", "None"),
    ]
    .into_iter()
    .collect();
    let cpython = [
        ("print(sq, c, p)", "49 27 1024"),
        ("print(\"apply returned\", sq)", "apply returned 49"),
        (
            "print(f\"cube(3) = {c}, power(2, 10) = {p}\")",
            "cube(3) = 27, power(2, 10) = 1024",
        ),
        ("print(cubes)", "[1, 8, 27]"),
        ("print(\"{braces}\", f\"{{c}} = {c}\")", "{braces} {c} = 27"),
        ("print('it\\'s', ok, nothing)", "it's True None"),
        ("print()", ""),
        ("print(f\"{cubes}\", \"x\")", "[1, 8, 27] x"),
    ];
    for (line, wrote) in cpython {
        let lines = parse_lines(line).unwrap_or_else(|e| panic!("{line}: {e}"));
        let stmt = lines[0].stmt.as_ref().expect("a statement");
        let (template, _) = printed(stmt).unwrap_or_else(|e| panic!("{line}: {e}"));
        assert_eq!(fill(&template, &values), wrote, "{line}");
    }
    for refused in [
        "print(sq, sep=\"\")",
        "print(r1.ready())",
        "print(f\"{sq!r}\")",
        "print(f\"{sq:5}\")",
        "x = print(sq)",
    ] {
        let lines = parse_lines(refused).unwrap_or_else(|e| panic!("{refused}: {e}"));
        let stmt = lines[0].stmt.as_ref().expect("a statement");
        assert!(printed(stmt).is_err(), "{refused}");
    }
}
