//! The demo functions workers run (the assignment's squares, cubes and powers), the lines
//! they print, and the per-item cost that makes their work visible on the CPU meters.

use std::fmt;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::engine::value::Value;

/// How an item's cost is paid: burning CPU (visible on the core meters) or sleeping.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default, clap::ValueEnum)]
pub enum CostKind {
    #[default]
    Spin,
    Sleep,
}

/// The time each item of work takes, on top of the arithmetic itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Cost {
    pub per_item: Duration,
    pub kind: CostKind,
}

impl Cost {
    pub fn pay(&self) {
        if self.per_item.is_zero() {
            return;
        }
        match self.kind {
            CostKind::Sleep => std::thread::sleep(self.per_item),
            CostKind::Spin => spin_for(self.per_item),
        }
    }
}

/// Burns `duration` of this thread's own CPU time. Counting CPU time rather than wall
/// time is what makes the work real: two workers sharing one core each take twice as long,
/// as Python's would.
fn spin_for(duration: Duration) {
    let until = thread_cpu_time() + duration;
    let mut x: u64 = 1;
    while thread_cpu_time() < until {
        for _ in 0..1000 {
            x = std::hint::black_box(x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1));
        }
    }
}

fn thread_cpu_time() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a valid timespec out-parameter; this clock exists on every Linux.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &raw mut ts) };
    if rc != 0 {
        return Duration::ZERO;
    }
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// A function a process target or a pool task can name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Func {
    /// Q3/Q6 `squares(l)`: prints squares of a list (with a header) or of one number.
    Squares,
    /// Q3/Q6 `cubes(l)`.
    Cubes,
    /// Q6 `fun3`/`fun4`: `powers(l, exponent)` prints `l**exponent`.
    Powers,
    /// Pool function `square(n)`, returns `n**2`.
    Square,
    /// Q5 pool function `cube(n)`, returns `n**3`.
    Cube,
    /// Pool function `power(base, exponent)` for starmap.
    Power,
    /// `cube(n)` that works `n` units of cost, so items finish out of order.
    SlowCube,
    /// Does nothing and returns None (the benchmark's `noop`).
    Noop,
    /// Raises `ValueError` (a failing target or task).
    Fail,
    /// `check(x)`: prints `checking x`, raises `ValueError` for a negative x, else returns
    /// `x * 10` (one bad item among good ones).
    Check,
    /// An initializer that prints which worker it set up.
    Greet,
    /// `chatter(n)`: prints n lines as fast as it can (an output flood).
    Chatter,
    /// `threads(n, units, gil)`: n threads of this one process share `units` of work,
    /// holding one global lock while they compute when `gil` is true (as `CPython` does).
    Threads,
}

pub const ALL: [Func; 13] = [
    Func::Squares,
    Func::Cubes,
    Func::Powers,
    Func::Square,
    Func::Cube,
    Func::Power,
    Func::SlowCube,
    Func::Noop,
    Func::Fail,
    Func::Check,
    Func::Greet,
    Func::Chatter,
    Func::Threads,
];

impl Func {
    pub fn name(self) -> &'static str {
        match self {
            Func::Squares => "squares",
            Func::Cubes => "cubes",
            Func::Powers => "powers",
            Func::Square => "square",
            Func::Cube => "cube",
            Func::Power => "power",
            Func::SlowCube => "slow_cube",
            Func::Noop => "noop",
            Func::Fail => "fail",
            Func::Check => "check",
            Func::Greet => "greet",
            Func::Chatter => "chatter",
            Func::Threads => "threads",
        }
    }

    pub fn from_name(name: &str) -> Option<Func> {
        ALL.into_iter().find(|f| f.name() == name)
    }

    /// Accepted argument counts (min, max).
    pub fn arity(self) -> (usize, usize) {
        match self {
            Func::Squares
            | Func::Cubes
            | Func::Square
            | Func::Cube
            | Func::SlowCube
            | Func::Check
            | Func::Chatter => (1, 1),
            Func::Powers | Func::Power => (2, 2),
            Func::Threads => (3, 3),
            Func::Noop | Func::Fail | Func::Greet => (0, 8),
        }
    }
}

impl fmt::Display for Func {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A call of a function with its arguments, as Python's `target=f, args=(...)`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Call {
    pub func: Func,
    pub args: Vec<Value>,
}

impl fmt::Display for Call {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}(", self.func)?;
        for (i, a) in self.args.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{a}")?;
        }
        f.write_str(")")
    }
}

/// A Python exception raised by a function, e.g. `ValueError: ...`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Raised(pub String);

/// Where a running function's prints go; workers write them unbuffered to fd 1.
pub trait Printer {
    /// Python's `print(text)`: the text and the newline as two writes, as an unbuffered
    /// `CPython` does, so another process's output can land between them.
    fn print(&mut self, text: &str);
}

pub struct Context<'a> {
    pub cost: Cost,
    pub out: &'a mut dyn Printer,
    /// The worker's process name, for the initializer's greeting.
    pub process_name: &'a str,
}

fn int_arg(call: &Call, i: usize) -> Result<i128, Raised> {
    call.args.get(i).and_then(Value::as_int).ok_or_else(|| {
        Raised(format!(
            "TypeError: {}() argument {} must be an int",
            call.func,
            i + 1
        ))
    })
}

fn pow(base: i128, exp: i128) -> Result<i128, Raised> {
    let exp = u32::try_from(exp).map_err(|_| Raised("ValueError: negative exponent".into()))?;
    base.checked_pow(exp)
        .ok_or_else(|| Raised("OverflowError: integer too large for pooltop (128 bits)".into()))
}

fn ordinal_word(exp: i128) -> String {
    match exp {
        2 => "square".into(),
        3 => "cube".into(),
        n => format!("power {n}"),
    }
}

/// Q3's list form prints a header then one line per item; Q6's number form prints the
/// bare result. The item cost is paid before each printed result.
fn print_powers(ctx: &mut Context, arg: &Value, exp: i128, header: &str) -> Result<Value, Raised> {
    if let Some(items) = arg.list_items() {
        ctx.out.print(header);
        for item in &items {
            let n = item
                .as_int()
                .ok_or_else(|| Raised("TypeError: list items must be ints".into()))?;
            ctx.cost.pay();
            let line = format!("The {} of {n} is {} ", ordinal_word(exp), pow(n, exp)?);
            ctx.out.print(&format!("{line}\n"));
        }
        return Ok(Value::None);
    }
    match arg {
        Value::Int(n) => {
            ctx.cost.pay();
            ctx.out.print(&pow(*n, exp)?.to_string());
        }
        other => {
            return Err(Raised(format!(
                "TypeError: cannot raise {other} to a power"
            )));
        }
    }
    Ok(Value::None)
}

/// Runs `call` in the current process. Pool functions pay the cost once per call.
pub fn run(call: &Call, ctx: &mut Context) -> Result<Value, Raised> {
    let arg0 = || {
        call.args
            .first()
            .ok_or_else(|| Raised(format!("TypeError: {}() missing an argument", call.func)))
    };
    match call.func {
        Func::Squares => print_powers(
            ctx,
            arg0()?,
            2,
            "Calculating the squares of a given number ....",
        ),
        Func::Cubes => print_powers(
            ctx,
            arg0()?,
            3,
            "Calculating the cubes of a given number ...",
        ),
        Func::Powers => {
            let exp = int_arg(call, 1)?;
            let header = format!("Calculating the powers {exp} of a given number ...");
            print_powers(ctx, arg0()?, exp, &header)
        }
        Func::Square => pay_then(ctx, || pow(int_arg(call, 0)?, 2).map(Value::Int)),
        Func::Cube => pay_then(ctx, || pow(int_arg(call, 0)?, 3).map(Value::Int)),
        Func::Power => pay_then(ctx, || {
            pow(int_arg(call, 0)?, int_arg(call, 1)?).map(Value::Int)
        }),
        Func::SlowCube => {
            let n = int_arg(call, 0)?;
            for _ in 0..n.clamp(0, 1000) {
                ctx.cost.pay();
            }
            pow(n, 3).map(Value::Int)
        }
        Func::Noop => Ok(Value::None),
        Func::Threads => run_threads(call, ctx),
        Func::Chatter => {
            let n = int_arg(call, 0)?;
            for i in 0..n.max(0) {
                ctx.out
                    .print(&format!("line {i} from {}", ctx.process_name));
            }
            Ok(Value::Int(n))
        }
        Func::Fail => {
            ctx.cost.pay();
            Err(Raised(format!("ValueError: {call} raised on purpose")))
        }
        Func::Check => {
            let x = int_arg(call, 0)?;
            ctx.out.print(&format!("checking {x}"));
            ctx.cost.pay();
            if x < 0 {
                return Err(Raised(format!("ValueError: negative: {x}")));
            }
            Ok(Value::Int(x * 10))
        }
        Func::Greet => {
            let args: Vec<String> = call.args.iter().map(Value::to_string).collect();
            let line = format!("Initializing {} {}", ctx.process_name, args.join(" "));
            ctx.out.print(line.trim_end());
            Ok(Value::None)
        }
    }
}

/// Work shared by threads of one process. With `gil`, a thread holds the one lock while
/// it computes, so only one computes at a time however many cores there are.
fn run_threads(call: &Call, ctx: &mut Context) -> Result<Value, Raised> {
    let threads = int_arg(call, 0)?.clamp(1, 64) as usize;
    let units = int_arg(call, 1)?.clamp(0, 1_000_000) as usize;
    let gil = matches!(call.args.get(2), Some(Value::Bool(true)));
    let lock = std::sync::Mutex::new(());
    let cost = ctx.cost;
    let started = Instant::now();
    std::thread::scope(|scope| {
        for t in 0..threads {
            let share = units / threads + usize::from(t < units % threads);
            let lock = &lock;
            scope.spawn(move || {
                for _ in 0..share {
                    if gil {
                        let _held = lock.lock();
                        cost.pay();
                    } else {
                        cost.pay();
                    }
                }
            });
        }
    });
    let how = if gil {
        "holding one global lock"
    } else {
        "with no global lock"
    };
    let secs = started.elapsed().as_secs_f64();
    ctx.out.print(&format!(
        "{threads} threads {how}: {units} units of work in {secs:.2}s"
    ));
    Ok(Value::Int(units as i128))
}

/// The exponent of a pure power function (`square`, `cube`): its result depends on its
/// argument alone and it prints nothing, so a worker may compute a run of them in a loop.
pub fn pure_power(func: Func) -> Option<u32> {
    match func {
        Func::Square => Some(2),
        Func::Cube => Some(3),
        _ => None,
    }
}

/// `run` for a call with one integer argument, without building its argument list: the
/// hot path of a map over numbers. The same results and errors as `run`.
pub fn run_int(func: Func, n: i128, ctx: &mut Context) -> Result<Value, Raised> {
    match func {
        Func::Square => pay_then(ctx, || pow(n, 2).map(Value::Int)),
        Func::Cube => pay_then(ctx, || pow(n, 3).map(Value::Int)),
        Func::Noop => Ok(Value::None),
        _ => run(
            &Call {
                func,
                args: vec![Value::Int(n)],
            },
            ctx,
        ),
    }
}

fn pay_then(ctx: &mut Context, f: impl FnOnce() -> Result<Value, Raised>) -> Result<Value, Raised> {
    ctx.cost.pay();
    f()
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Lines(Vec<String>);
    impl Printer for Lines {
        fn print(&mut self, text: &str) {
            self.0.push(text.to_string());
        }
    }

    fn run_collect(call: &Call) -> (Result<Value, Raised>, Vec<String>) {
        let mut out = Lines(vec![]);
        let mut ctx = Context {
            cost: Cost::default(),
            out: &mut out,
            process_name: "Process-1",
        };
        let r = run(call, &mut ctx);
        (r, out.0)
    }

    #[test]
    fn squares_of_a_list_print_the_assignment_lines() {
        let call = Call {
            func: Func::Squares,
            args: vec![Value::List(vec![Value::Int(11), Value::Int(22)])],
        };
        let (r, lines) = run_collect(&call);
        assert_eq!(r, Ok(Value::None));
        assert_eq!(lines[0], "Calculating the squares of a given number ....");
        assert_eq!(lines[1], "The square of 11 is 121 \n");
        assert_eq!(lines[2], "The square of 22 is 484 \n");
    }

    #[test]
    fn q6_number_forms_print_bare_results() {
        let (_, lines) = run_collect(&Call {
            func: Func::Powers,
            args: vec![Value::Int(13), Value::Int(5)],
        });
        assert_eq!(lines, vec!["371293"]);
    }

    #[test]
    fn pool_functions_return_values_and_failures_name_the_exception() {
        assert_eq!(
            run_collect(&Call {
                func: Func::Cube,
                args: vec![Value::Int(12)]
            })
            .0,
            Ok(Value::Int(1728))
        );
        assert_eq!(
            run_collect(&Call {
                func: Func::Power,
                args: vec![Value::Int(2), Value::Int(10)]
            })
            .0,
            Ok(Value::Int(1024))
        );
        let (r, _) = run_collect(&Call {
            func: Func::Fail,
            args: vec![Value::Int(3)],
        });
        assert_eq!(
            r,
            Err(Raised("ValueError: fail(3) raised on purpose".into()))
        );
        let (r, _) = run_collect(&Call {
            func: Func::Power,
            args: vec![Value::Int(10), Value::Int(60)],
        });
        assert!(r.unwrap_err().0.starts_with("OverflowError"));
    }
}
