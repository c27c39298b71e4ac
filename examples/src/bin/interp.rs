//! `interp`: a stack-machine bytecode interpreter with a skewed opcode mix.
//!
//! Models the dispatch loop of bytecode interpreters such as CPython's `ceval.c` or Lua's
//! `lvm.c` in its simplest form, a `match` over an instruction enum (see Ertl & Gregg, "The
//! Structure and Performance of Efficient Interpreters", JILP 2003, for why this loop is
//! branch-bound). The machine has 29 opcodes, an operand stack, a return stack, 16 global
//! locals and a word-addressed memory; every stack, memory and arithmetic error is checked and
//! leaves through a `#[cold]` path. It runs one fixed program (assembled below from a tiny
//! assembly language with labels) over input data generated from the seed: a multiplicative
//! hash over all words (the hot opcodes), a Collatz walk for one word in 64 (warm), Euclid's
//! gcd for one in 251 and an absolute-value fix-up for the rare negative word (rare), and error
//! handling that never fires on valid input (cold). That skew is what PGO and branch layout
//! exploit.

use hallows_examples::checksum::Checksum;
use hallows_examples::cli::{self, timed, try_vec, Options, Report, Workload};
use hallows_examples::rng::Rng;
use std::collections::HashMap;
use std::fmt;
use std::process::ExitCode;

/// Operand stack capacity (a bound, like CPython's per-frame stack size).
const STACK_LIMIT: usize = 256;

/// Return stack capacity.
const CALL_DEPTH_LIMIT: usize = 64;

/// Number of local slots.
const LOCALS: usize = 16;

/// Instruction budget per input word, far above what the program needs: a runaway program
/// stops with an error instead of hanging.
const STEPS_PER_WORD: u64 = 10_000;

/// One instruction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Push(i64),
    Pop,
    Dup,
    Swap,
    Over,
    Add,
    Sub,
    Mul,
    Div,
    Rem,
    And,
    Or,
    Xor,
    Shl,
    Shr,
    Lt,
    Eq,
    Not,
    Jmp(u32),
    Jz(u32),
    Jnz(u32),
    Load(u8),
    Store(u8),
    /// Pops an address, pushes `memory[address]`.
    Fetch,
    /// Pops a value, then an address; stores.
    Poke,
    Call(u32),
    Ret,
    /// Pops a value into the output checksum.
    Emit,
    Halt,
}

/// Why the machine stopped abnormally.
#[derive(Clone, Debug, PartialEq, Eq)]
enum VmError {
    StackUnderflow { pc: usize },
    StackOverflow { pc: usize },
    DivideByZero { pc: usize },
    BadAddress { pc: usize, address: i64 },
    BadReturn { pc: usize },
    StepLimit { steps: u64 },
    FellOffEnd,
}

impl fmt::Display for VmError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VmError::StackUnderflow { pc } => write!(f, "stack underflow at pc {pc}"),
            VmError::StackOverflow { pc } => write!(f, "stack overflow at pc {pc}"),
            VmError::DivideByZero { pc } => write!(f, "division by zero at pc {pc}"),
            VmError::BadAddress { pc, address } => {
                write!(f, "memory address {address} out of range at pc {pc}")
            }
            VmError::BadReturn { pc } => write!(f, "`ret` without `call` at pc {pc}"),
            VmError::StepLimit { steps } => write!(f, "step limit of {steps} instructions hit"),
            VmError::FellOffEnd => write!(f, "the program ran past its last instruction"),
        }
    }
}

#[cold]
#[inline(never)]
fn underflow_cold(pc: usize) -> VmError {
    VmError::StackUnderflow { pc }
}

#[cold]
#[inline(never)]
fn overflow_cold(pc: usize) -> VmError {
    VmError::StackOverflow { pc }
}

#[cold]
#[inline(never)]
fn divide_by_zero_cold(pc: usize) -> VmError {
    VmError::DivideByZero { pc }
}

#[cold]
#[inline(never)]
fn bad_address_cold(pc: usize, address: i64) -> VmError {
    VmError::BadAddress { pc, address }
}

/// What a finished run produced.
#[derive(Debug, PartialEq, Eq)]
struct Outcome {
    output: u64,
    emitted: u64,
    steps: u64,
}

/// The interpreter: a validated program plus its memory.
struct Machine<'p> {
    program: &'p [Op],
    memory: Vec<i64>,
}

impl Machine<'_> {
    fn run(&mut self, step_limit: u64) -> Result<Outcome, VmError> {
        let program = self.program;
        let memory = &mut self.memory;
        let mut stack: Vec<i64> = Vec::with_capacity(STACK_LIMIT);
        let mut calls: Vec<u32> = Vec::with_capacity(CALL_DEPTH_LIMIT);
        let mut locals = [0i64; LOCALS];
        let mut output = Checksum::new();
        let (mut emitted, mut steps) = (0u64, 0u64);
        let mut pc = 0usize;

        macro_rules! pop {
            () => {
                match stack.pop() {
                    Some(v) => v,
                    None => return Err(underflow_cold(pc)),
                }
            };
        }
        macro_rules! push {
            ($v:expr) => {{
                let v = $v;
                if stack.len() == STACK_LIMIT {
                    return Err(overflow_cold(pc));
                }
                stack.push(v);
            }};
        }
        macro_rules! binary {
            (|$a:ident, $b:ident| $e:expr) => {{
                let $b = pop!();
                let $a = pop!();
                push!($e);
            }};
        }
        macro_rules! address {
            ($a:expr) => {{
                let a = $a;
                match usize::try_from(a) {
                    Ok(i) if i < memory.len() => i,
                    _ => return Err(bad_address_cold(pc, a)),
                }
            }};
        }

        loop {
            let Some(&op) = program.get(pc) else {
                return Err(VmError::FellOffEnd);
            };
            steps += 1;
            if steps > step_limit {
                return Err(VmError::StepLimit { steps: step_limit });
            }
            let mut next = pc + 1;
            match op {
                Op::Push(v) => push!(v),
                Op::Pop => {
                    pop!();
                }
                Op::Dup => {
                    let v = pop!();
                    push!(v);
                    push!(v);
                }
                Op::Swap => {
                    let b = pop!();
                    let a = pop!();
                    push!(b);
                    push!(a);
                }
                Op::Over => {
                    let b = pop!();
                    let a = pop!();
                    push!(a);
                    push!(b);
                    push!(a);
                }
                Op::Add => binary!(|a, b| a.wrapping_add(b)),
                Op::Sub => binary!(|a, b| a.wrapping_sub(b)),
                Op::Mul => binary!(|a, b| a.wrapping_mul(b)),
                Op::Div => {
                    let b = pop!();
                    let a = pop!();
                    if b == 0 {
                        return Err(divide_by_zero_cold(pc));
                    }
                    push!(a.wrapping_div(b));
                }
                Op::Rem => {
                    let b = pop!();
                    let a = pop!();
                    if b == 0 {
                        return Err(divide_by_zero_cold(pc));
                    }
                    push!(a.wrapping_rem(b));
                }
                Op::And => binary!(|a, b| a & b),
                Op::Or => binary!(|a, b| a | b),
                Op::Xor => binary!(|a, b| a ^ b),
                Op::Shl => binary!(|a, b| a.wrapping_shl(b as u32)),
                Op::Shr => binary!(|a, b| ((a as u64).wrapping_shr(b as u32)) as i64),
                Op::Lt => binary!(|a, b| i64::from(a < b)),
                Op::Eq => binary!(|a, b| i64::from(a == b)),
                Op::Not => {
                    let v = pop!();
                    push!(i64::from(v == 0));
                }
                Op::Jmp(t) => next = t as usize,
                Op::Jz(t) => {
                    if pop!() == 0 {
                        next = t as usize;
                    }
                }
                Op::Jnz(t) => {
                    if pop!() != 0 {
                        next = t as usize;
                    }
                }
                Op::Load(slot) => push!(locals[usize::from(slot)]),
                Op::Store(slot) => locals[usize::from(slot)] = pop!(),
                Op::Fetch => {
                    let i = address!(pop!());
                    push!(memory[i]);
                }
                Op::Poke => {
                    let v = pop!();
                    let i = address!(pop!());
                    memory[i] = v;
                }
                Op::Call(t) => {
                    if calls.len() == CALL_DEPTH_LIMIT {
                        return Err(overflow_cold(pc));
                    }
                    calls.push(next as u32);
                    next = t as usize;
                }
                Op::Ret => match calls.pop() {
                    Some(r) => next = r as usize,
                    None => return Err(VmError::BadReturn { pc }),
                },
                Op::Emit => {
                    output.add_u64(pop!() as u64);
                    emitted += 1;
                }
                Op::Halt => {
                    return Ok(Outcome {
                        output: output.finish(),
                        emitted,
                        steps,
                    })
                }
            }
            pc = next;
        }
    }
}

/// One line of the assembly language: an instruction whose jump target is still a label.
#[derive(Clone)]
enum Line {
    Op(Op),
    Label(&'static str),
    Jump(fn(u32) -> Op, &'static str),
}

/// Resolves labels and checks every operand, so the interpreter's only run-time errors are
/// data-dependent ones.
fn assemble(lines: &[Line]) -> Result<Vec<Op>, String> {
    let mut labels = HashMap::new();
    let mut len = 0u32;
    for line in lines {
        match line {
            Line::Label(name) => {
                if labels.insert(*name, len).is_some() {
                    return Err(format!("label `{name}` defined twice"));
                }
            }
            _ => len += 1,
        }
    }
    let mut program = Vec::with_capacity(len as usize);
    for line in lines {
        match line {
            Line::Label(_) => {}
            Line::Op(op) => {
                if let Op::Load(s) | Op::Store(s) = op {
                    if usize::from(*s) >= LOCALS {
                        return Err(format!("local slot {s} out of range 0..{LOCALS}"));
                    }
                }
                program.push(*op);
            }
            Line::Jump(make, name) => {
                let target = labels
                    .get(name)
                    .ok_or_else(|| format!("undefined label `{name}`"))?;
                program.push(make(*target));
            }
        }
    }
    Ok(program)
}

// Local slots of the program.
const I: u8 = 0;
const N: u8 = 1;
const H: u8 = 2;
const X: u8 = 3;
const STEPS: u8 = 4;

/// The benchmark program. Memory: `memory[0]` = word count `n`, words at `1..=n`.
#[rustfmt::skip]
fn program_source() -> Vec<Line> {
    use Line::{Jump as J, Label as L, Op as O};
    use Op::*;
    vec![
        O(Push(0)), O(Store(I)),
        O(Push(0)), O(Fetch), O(Store(N)),
        O(Push(0x1234_5678)), O(Store(H)),
        L("loop"),
        O(Load(I)), O(Load(N)), O(Lt), J(Jz, "done"),
        // x = memory[i + 1]
        O(Load(I)), O(Push(1)), O(Add), O(Fetch), O(Store(X)),
        // rare: negative words are made positive
        O(Load(X)), O(Push(0)), O(Lt), O(Not), J(Jnz, "positive"),
        O(Push(0)), O(Load(X)), O(Sub), O(Store(X)),
        O(Load(X)), O(Emit),
        L("positive"),
        // hot: h = (h * 31 + x) & 0xffff_ffff
        O(Load(H)), O(Push(31)), O(Mul), O(Load(X)), O(Add), O(Push(0xffff_ffff)), O(And),
        O(Store(H)),
        // hot: memory[i + 1] = h (the input word is consumed)
        O(Load(I)), O(Push(1)), O(Add), O(Load(H)), O(Poke),
        // warm: one word in 64 gets a Collatz walk mixed into h
        O(Load(X)), O(Push(63)), O(And), J(Jnz, "no_collatz"),
        O(Load(X)), O(Push(4)), O(Shr), O(Push(1023)), O(And), O(Push(1)), O(Add),
        J(Call, "collatz"),
        O(Load(H)), O(Xor), O(Store(H)),
        L("no_collatz"),
        // rare: one word in 251 emits gcd(x, h | 1)
        O(Load(X)), O(Push(251)), O(Rem), J(Jnz, "no_gcd"),
        O(Load(X)), O(Load(H)), O(Push(1)), O(Or), J(Call, "gcd"), O(Emit),
        L("no_gcd"),
        // cold: a zero-divisor check that only zero words trip, then the division it guards
        O(Load(X)), O(Push(7)), O(And), J(Jnz, "no_div"),
        O(Load(X)), O(Push(3)), O(Shr), O(Dup), J(Jz, "div_zero"),
        O(Load(H)), O(Swap), O(Div), O(Load(H)), O(Add), O(Push(0xffff_ffff)), O(And),
        O(Store(H)), J(Jmp, "no_div"),
        L("div_zero"),
        O(Pop), O(Load(I)), O(Emit),
        L("no_div"),
        O(Load(I)), O(Push(1)), O(Add), O(Store(I)),
        J(Jmp, "loop"),
        L("done"),
        O(Load(H)), O(Emit), O(Halt),
        // collatz(v) -> number of steps to reach 1
        L("collatz"),
        O(Push(0)), O(Store(STEPS)),
        L("collatz_loop"),
        O(Dup), O(Push(1)), O(Eq), J(Jnz, "collatz_done"),
        O(Dup), O(Push(1)), O(And), J(Jz, "collatz_even"),
        O(Dup), O(Push(1)), O(Shl), O(Add), O(Push(1)), O(Add), J(Jmp, "collatz_next"),
        L("collatz_even"),
        O(Push(1)), O(Shr),
        L("collatz_next"),
        O(Load(STEPS)), O(Push(1)), O(Add), O(Store(STEPS)), J(Jmp, "collatz_loop"),
        L("collatz_done"),
        O(Pop), O(Load(STEPS)), O(Ret),
        // gcd(a, b) by Euclid's remainder loop
        L("gcd"),
        O(Dup), J(Jz, "gcd_done"),
        O(Swap), O(Over), O(Rem), J(Jmp, "gcd"),
        L("gcd_done"),
        O(Pop), O(Ret),
    ]
}

const WORKLOAD: Workload = Workload {
    name: "interp",
    about: "stack-VM bytecode interpreter (match dispatch) over a skewed opcode mix",
    size_unit: "input words",
    small_size: 1 << 12,
    default_size: || 1 << 22,
    min_size: 1,
    max_size: 1 << 28,
    size_power_of_two: false,
    has_prefetch_variant: false,
};

fn main() -> ExitCode {
    cli::main(&WORKLOAD, run)
}

/// Input words: mostly small, a heavy tail, one in a thousand negative.
fn generate(n: usize, seed: u64) -> Result<Vec<i64>, String> {
    let mut rng = Rng::new(seed);
    let mut memory = try_vec(n + 1, 0i64, "VM memory")?;
    memory[0] = n as i64;
    for word in &mut memory[1..] {
        let magnitude = rng.below(64);
        let v = (rng.next_u64() >> (8 + magnitude / 2)) as i64;
        *word = if rng.chance(1, 1000) { -v } else { v };
    }
    Ok(memory)
}

fn run(options: &Options) -> Result<Report, String> {
    let program = assemble(&program_source())?;
    let memory = generate(options.size, options.seed)?;
    let mut machine = Machine {
        program: &program,
        memory,
    };
    let limit = STEPS_PER_WORD * (options.size as u64 + 1);
    let (outcome, kernel) = timed(|| machine.run(limit));
    let outcome = outcome.map_err(|e| format!("the VM stopped: {e}"))?;
    Ok(Report::new(outcome.output)
        .field("words", options.size)
        .field("instructions", outcome.steps)
        .field("emitted", outcome.emitted)
        .kernel_time(kernel))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exec(lines: Vec<Line>, memory: Vec<i64>) -> Result<Outcome, VmError> {
        let program = assemble(&lines).unwrap();
        Machine {
            program: &program,
            memory,
        }
        .run(1000)
    }

    #[test]
    fn arithmetic_and_emit() {
        use Line::Op as O;
        use Op::*;
        let out = exec(
            vec![O(Push(6)), O(Push(7)), O(Mul), O(Emit), O(Halt)],
            vec![],
        )
        .unwrap();
        let mut expected = Checksum::new();
        expected.add_u64(42);
        assert_eq!(
            out,
            Outcome {
                output: expected.finish(),
                emitted: 1,
                steps: 5
            }
        );
    }

    #[test]
    fn errors_are_reported_not_panicked() {
        use Line::Op as O;
        use Op::*;
        assert_eq!(
            exec(vec![O(Add)], vec![]),
            Err(VmError::StackUnderflow { pc: 0 })
        );
        assert_eq!(
            exec(vec![O(Push(1)), O(Push(0)), O(Div)], vec![]),
            Err(VmError::DivideByZero { pc: 2 })
        );
        assert_eq!(
            exec(vec![O(Push(5)), O(Fetch)], vec![0]),
            Err(VmError::BadAddress { pc: 1, address: 5 })
        );
        assert_eq!(
            exec(vec![O(Ret)], vec![]),
            Err(VmError::BadReturn { pc: 0 })
        );
        assert_eq!(exec(vec![O(Push(1))], vec![]), Err(VmError::FellOffEnd));
        let spin = vec![Line::Label("l"), Line::Jump(Op::Jmp, "l")];
        assert_eq!(exec(spin, vec![]), Err(VmError::StepLimit { steps: 1000 }));
        let deep = vec![O(Push(1)); STACK_LIMIT + 1];
        assert_eq!(
            exec(deep, vec![]),
            Err(VmError::StackOverflow { pc: STACK_LIMIT })
        );
    }

    #[test]
    fn assembler_rejects_bad_programs() {
        assert!(assemble(&[Line::Jump(Op::Jmp, "nowhere")])
            .unwrap_err()
            .contains("undefined"));
        assert!(assemble(&[Line::Label("a"), Line::Label("a")])
            .unwrap_err()
            .contains("twice"));
        assert!(assemble(&[Line::Op(Op::Load(16))])
            .unwrap_err()
            .contains("out of range"));
    }

    /// What the benchmark program computes, written directly in Rust.
    fn reference(words: &[i64]) -> (u64, u64) {
        fn collatz(mut v: i64) -> i64 {
            let mut steps = 0;
            while v != 1 {
                v = if v & 1 == 0 {
                    ((v as u64) >> 1) as i64
                } else {
                    v.wrapping_mul(3) + 1
                };
                steps += 1;
            }
            steps
        }
        fn gcd(mut a: i64, mut b: i64) -> i64 {
            while b != 0 {
                (a, b) = (b, a.wrapping_rem(b));
            }
            a
        }
        let mut out = Checksum::new();
        let mut emitted = 0;
        let mut h: i64 = 0x1234_5678;
        for (i, &w) in words.iter().enumerate() {
            let mut x = w;
            if x < 0 {
                x = 0i64.wrapping_sub(x);
                out.add_u64(x as u64);
                emitted += 1;
            }
            h = h.wrapping_mul(31).wrapping_add(x) & 0xffff_ffff;
            if x & 63 == 0 {
                h ^= collatz((((x as u64) >> 4) as i64 & 1023) + 1);
            }
            if x.wrapping_rem(251) == 0 {
                out.add_u64(gcd(x, h | 1) as u64);
                emitted += 1;
            }
            if x & 7 == 0 {
                let d = ((x as u64) >> 3) as i64;
                if d == 0 {
                    out.add_u64(i as u64);
                    emitted += 1;
                } else {
                    h = (h.wrapping_div(d).wrapping_add(h)) & 0xffff_ffff;
                }
            }
        }
        out.add_u64(h as u64);
        (out.finish(), emitted + 1)
    }

    #[test]
    fn program_matches_its_rust_reference() {
        let program = assemble(&program_source()).unwrap();
        for seed in [1, 2, 42] {
            let mut memory = generate(3000, seed).unwrap();
            // Make sure every path runs: a negative word, a gcd word, a zero divisor.
            memory[1] = -5;
            memory[2] = 251 * 64;
            memory[3] = 0;
            let words = memory[1..].to_vec();
            let got = Machine {
                program: &program,
                memory,
            }
            .run(10_000_000)
            .unwrap();
            assert_eq!((got.output, got.emitted), reference(&words), "seed {seed}");
        }
    }
}
