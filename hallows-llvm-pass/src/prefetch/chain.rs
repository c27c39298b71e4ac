//! The address chain of a load: the instructions inside its loop that compute its address,
//! following Ainsworth & Jones, "Software Prefetching for Indirect Memory Accesses" (CGO 2017):
//! walk the address backwards through arithmetic and loads until reaching an induction
//! variable or loop-invariant values. Such a chain can be cloned with the induction variable
//! replaced by its value `d` iterations ahead, and the clone's final address prefetched.
//!
//! A chain through a header phi that is not an induction variable is a loop-carried
//! dependence (pointer chasing): the next address is only known after the current load.

use std::collections::HashSet;

use llvm_sys::core::{
    LLVMGetBasicBlockParent, LLVMGetCalledValue, LLVMGetGEPSourceElementType, LLVMGetGlobalParent,
    LLVMGetInstructionParent, LLVMIsAFunction,
};
use llvm_sys::target::{LLVMABISizeOfType, LLVMGetModuleDataLayout};
use llvm_sys::LLVMOpcode;

use super::ll::{self, Bb, Value};
use super::loops::{Bound, Fact, LoopView};

/// Longest chain cloned (instructions).
pub const MAX_CHAIN: usize = 48;

/// What the address of a load looks like.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Shape {
    /// Address advances with an induction variable, no load in between: a strided access.
    Strided,
    /// Address computed from other loads indexed by an induction variable.
    Indirect {
        /// Loads in the chain.
        loads: usize,
        /// Whether the index goes through hashing arithmetic (mul, xor, shifts, masks).
        hashed: bool,
    },
    /// Address depends on the previous iteration through a non-induction phi.
    PointerChase,
    /// Address computed from a recurrence `r = f(r)` of pure arithmetic (a random-number
    /// stream): a second copy of the recurrence can run `d` steps ahead.
    Recurrence,
    /// Address does not move with the loop.
    Invariant,
    /// Something the pass does not clone; the text says what.
    Unsupported(String),
}

impl Shape {
    /// Short label for reports.
    pub fn label(&self) -> &'static str {
        match self {
            Self::Strided => "stride",
            Self::Indirect { hashed: false, .. } => "indirect",
            Self::Indirect { hashed: true, .. } => "hashed-indirect",
            Self::PointerChase => "pointer-chase",
            Self::Recurrence => "recurrence",
            Self::Invariant => "invariant",
            Self::Unsupported(_) => "unsupported",
        }
    }
}

/// A cloneable chain.
#[derive(Clone, Debug, Default)]
pub struct Chain {
    /// In-loop instructions computing the address, operands before users.
    pub insts: Vec<Value>,
    /// Induction variables (indices into the loop's list) the chain reads.
    pub inductions: Vec<usize>,
    /// Clamps for values other than induction variables: `(value, bound)`; the clone of
    /// `value` is limited to the bound before use.
    pub clamps: Vec<(Value, Bound)>,
    /// A header phi advanced by pure arithmetic (`r = f(r)`) that the address reads.
    pub recurrence: Option<Value>,
    /// The in-loop instructions computing the recurrence's next value, operands first.
    pub recurrence_step: Vec<Value>,
}

/// Analyses the address of `load` in loop `l`; `facts` are the path facts of its block
/// (from [`super::loops::FunctionLoopViews::path_facts`]) with `path` the blocks they cover.
pub fn analyse(load: Value, l: &LoopView, path: &[Bb], facts: &[(Fact, usize)]) -> (Shape, Chain) {
    analyse_value(ll::load_pointer(load), l, path, facts)
}

/// Like [`analyse`], for any value computed in the loop (an address or an index).
pub fn analyse_value(
    start: Value,
    l: &LoopView,
    path: &[Bb],
    facts: &[(Fact, usize)],
) -> (Shape, Chain) {
    let mut walk = Walk {
        l,
        chain: Chain::default(),
        seen: HashSet::new(),
        loads: Vec::new(),
        hashed: false,
        error: None,
    };
    walk.visit(start);
    if let Some(shape) = walk.error {
        return (shape, Chain::default());
    }
    let Walk {
        mut chain,
        loads,
        hashed,
        ..
    } = walk;
    if chain.recurrence.is_some() {
        if !loads.is_empty() || !chain.inductions.is_empty() {
            return (
                Shape::Unsupported(
                    "the address mixes a recurrence with loads or induction variables".into(),
                ),
                Chain::default(),
            );
        }
        return (Shape::Recurrence, chain);
    }
    if chain.inductions.is_empty() {
        return (Shape::Invariant, chain);
    }
    // Loads whose address depends on another chain load may read out of bounds when cloned
    // ahead: each needs a bounds check on its index that dominates it.
    for &inner in &loads {
        if !depends_on_load(ll::load_pointer(inner), &chain.insts) {
            continue;
        }
        let Some(index) = gep_index(ll::load_pointer(inner)) else {
            return (
                Shape::Unsupported("an intermediate load's address is not an array index".into()),
                Chain::default(),
            );
        };
        let level = path.iter().position(|b| *b == ll::block_of(inner));
        let guard = level.and_then(|k| {
            facts.iter().find_map(|(fact, at)| match fact {
                Fact::Upper { value, bound }
                    if *at >= k
                        && strip_ext(*value) == strip_ext(index)
                        && chain.insts.contains(value) =>
                {
                    Some((*value, *bound))
                }
                _ => None,
            })
        });
        match guard {
            Some(g) => chain.clamps.push(g),
            None => {
                return (
                    Shape::Unsupported("no bounds check guards an intermediate load, so a cloned copy could read out of bounds".into()),
                    Chain::default(),
                )
            }
        }
    }
    let shape = if loads.is_empty() {
        Shape::Strided
    } else {
        Shape::Indirect {
            loads: loads.len(),
            hashed,
        }
    };
    (shape, chain)
}

struct Walk<'a> {
    l: &'a LoopView,
    chain: Chain,
    seen: HashSet<Value>,
    loads: Vec<Value>,
    hashed: bool,
    error: Option<Shape>,
}

impl Walk<'_> {
    fn fail(&mut self, shape: Shape) {
        if self.error.is_none() {
            self.error = Some(shape);
        }
    }

    fn visit(&mut self, v: Value) {
        if self.error.is_some() || !self.seen.insert(v) {
            return;
        }
        let Some(op) = ll::opcode(v) else { return };
        if !self.l.blocks.contains(&ll::block_of(v)) {
            return;
        }
        if let Some(i) = self.l.inductions.iter().position(|(iv, _)| iv.phi == v) {
            if !self.chain.inductions.contains(&i) {
                self.chain.inductions.push(i);
            }
            return;
        }
        use LLVMOpcode::*;
        match op {
            LLVMPHI => {
                if ll::block_of(v) == self.l.header {
                    match (recurrence_step(self.l, v), self.chain.recurrence) {
                        (Some(step), None) => {
                            self.chain.recurrence = Some(v);
                            self.chain.recurrence_step = step;
                        }
                        (Some(_), Some(other)) if other == v => {}
                        _ => self.fail(Shape::PointerChase),
                    }
                } else {
                    self.fail(Shape::Unsupported(
                        "the address depends on a value merged inside the loop (phi)".into(),
                    ));
                }
                return;
            }
            LLVMLoad => {
                if ll::is_volatile_or_atomic(v) {
                    self.fail(Shape::Unsupported(
                        "the address depends on a volatile or atomic load".into(),
                    ));
                    return;
                }
                self.loads.push(v);
            }
            LLVMMul | LLVMXor | LLVMLShr | LLVMAShr | LLVMShl | LLVMAnd | LLVMOr | LLVMURem => {
                self.hashed = true;
            }
            LLVMUDiv | LLVMSDiv | LLVMSRem => {
                let divisor = ll::const_int(ll::operand(v, 1));
                if !matches!(divisor, Some(d) if d != 0 && d != -1) {
                    self.fail(Shape::Unsupported(
                        "the address divides by a value that may be zero".into(),
                    ));
                    return;
                }
                self.hashed = true;
            }
            LLVMGetElementPtr | LLVMAdd | LLVMSub | LLVMZExt | LLVMSExt | LLVMTrunc
            | LLVMBitCast | LLVMPtrToInt | LLVMIntToPtr | LLVMSelect | LLVMICmp | LLVMFreeze => {}
            LLVMCall if is_pure_intrinsic(v) => {}
            other => {
                self.fail(Shape::Unsupported(format!(
                    "the address is computed by an instruction the pass does not clone ({other:?})"
                )));
                return;
            }
        }
        if op == LLVMURem {
            let divisor = ll::const_int(ll::operand(v, 1));
            if !matches!(divisor, Some(d) if d != 0) {
                self.fail(Shape::Unsupported(
                    "the address divides by a value that may be zero".into(),
                ));
                return;
            }
        }
        let operands = if op == LLVMCall {
            ll::num_operands(v).saturating_sub(1)
        } else {
            ll::num_operands(v)
        };
        for i in 0..operands {
            self.visit(ll::operand(v, i));
        }
        if self.chain.insts.len() >= MAX_CHAIN {
            self.fail(Shape::Unsupported(format!(
                "the address chain is longer than {MAX_CHAIN} instructions"
            )));
            return;
        }
        self.chain.insts.push(v);
    }
}

/// The address of `load` as a function of header phis of its loop `l`, when it is pure
/// arithmetic on those phis and values from outside `l` (a bucket chain `&buckets[b]`, a row's
/// element pointer): the phis (in order of first use) and the in-loop instructions from them to
/// the address. Several phis occur when a value the loop may change is carried in one too
/// (the table's base pointer, reloaded after a call that may grow the table).
pub fn entry_address(load: Value, l: &LoopView) -> Option<(Vec<Value>, Vec<Value>)> {
    fn walk(
        l: &LoopView,
        v: Value,
        phis: &mut Vec<Value>,
        seen: &mut HashSet<Value>,
        order: &mut Vec<Value>,
    ) -> bool {
        let Some(op) = ll::opcode(v) else { return true };
        if !l.blocks.contains(&ll::block_of(v)) || !seen.insert(v) {
            return true;
        }
        use LLVMOpcode::*;
        if op == LLVMPHI {
            if ll::block_of(v) != l.header {
                return false;
            }
            phis.push(v);
            return true;
        }
        let pure = matches!(
            op,
            LLVMGetElementPtr
                | LLVMAdd
                | LLVMSub
                | LLVMMul
                | LLVMShl
                | LLVMLShr
                | LLVMAnd
                | LLVMOr
                | LLVMXor
                | LLVMZExt
                | LLVMSExt
                | LLVMTrunc
                | LLVMBitCast
        );
        if !pure || order.len() >= MAX_CHAIN {
            return false;
        }
        for i in 0..ll::num_operands(v) {
            if !walk(l, ll::operand(v, i), phis, seen, order) {
                return false;
            }
        }
        order.push(v);
        true
    }
    let mut phis = Vec::new();
    let mut order = Vec::new();
    let ptr = ll::load_pointer(load);
    if !walk(l, ptr, &mut phis, &mut HashSet::new(), &mut order) || phis.is_empty() {
        return None;
    }
    Some((phis, order))
}

/// The instructions computing `phi`'s next value when it is `f(phi)` of pure arithmetic on
/// itself and loop-invariant values (no loads, calls, induction variables or other phis).
fn recurrence_step(l: &LoopView, phi: Value) -> Option<Vec<Value>> {
    let latch = l.latch?;
    let (next, _) = *ll::phi_incoming(phi).iter().find(|(_, b)| *b == latch)?;
    let mut order = Vec::new();
    let mut seen = HashSet::new();
    fn walk(
        l: &LoopView,
        phi: Value,
        v: Value,
        seen: &mut HashSet<Value>,
        order: &mut Vec<Value>,
        uses_phi: &mut bool,
    ) -> bool {
        if v == phi {
            *uses_phi = true;
            return true;
        }
        let Some(op) = ll::opcode(v) else { return true };
        if !l.blocks.contains(&ll::block_of(v)) || !seen.insert(v) {
            return true;
        }
        use LLVMOpcode::*;
        let pure = matches!(
            op,
            LLVMAdd
                | LLVMSub
                | LLVMMul
                | LLVMXor
                | LLVMAnd
                | LLVMOr
                | LLVMShl
                | LLVMLShr
                | LLVMAShr
                | LLVMZExt
                | LLVMSExt
                | LLVMTrunc
                | LLVMSelect
                | LLVMICmp
                | LLVMFreeze
                | LLVMBitCast
        ) || (op == LLVMCall && is_pure_intrinsic(v));
        if !pure || order.len() >= MAX_CHAIN {
            return false;
        }
        let n = if op == LLVMCall {
            ll::num_operands(v).saturating_sub(1)
        } else {
            ll::num_operands(v)
        };
        for i in 0..n {
            if !walk(l, phi, ll::operand(v, i), seen, order, uses_phi) {
                return false;
            }
        }
        order.push(v);
        true
    }
    let mut uses_phi = false;
    (walk(l, phi, next, &mut seen, &mut order, &mut uses_phi) && uses_phi && !order.is_empty())
        .then_some(order)
}

fn is_pure_intrinsic(call: Value) -> bool {
    // SAFETY: `call` is a live call instruction of the module being run.
    let callee = unsafe { LLVMGetCalledValue(call) };
    // SAFETY: as above; `callee` is a live value.
    if callee.is_null() || unsafe { LLVMIsAFunction(callee) }.is_null() {
        return false;
    }
    let name = ll::name(callee);
    [
        "llvm.umin.",
        "llvm.umax.",
        "llvm.smin.",
        "llvm.smax.",
        "llvm.abs.",
        "llvm.fshl.",
        "llvm.fshr.",
        "llvm.bswap.",
        "llvm.ctpop.",
    ]
    .iter()
    .any(|p| name.starts_with(p))
}

fn depends_on_load(v: Value, chain: &[Value]) -> bool {
    let mut stack = vec![v];
    let mut seen = HashSet::new();
    while let Some(x) = stack.pop() {
        if !seen.insert(x) || !chain.contains(&x) {
            continue;
        }
        if ll::opcode(x) == Some(LLVMOpcode::LLVMLoad) {
            return true;
        }
        for i in 0..ll::num_operands(x) {
            stack.push(ll::operand(x, i));
        }
    }
    false
}

/// The last index of a GEP address (the array index).
fn gep_index(ptr: Value) -> Option<Value> {
    (ll::opcode(ptr) == Some(LLVMOpcode::LLVMGetElementPtr) && ll::num_operands(ptr) >= 2)
        .then(|| ll::operand(ptr, ll::num_operands(ptr) - 1))
}

/// Looks through integer extensions.
fn strip_ext(v: Value) -> Value {
    super::loops::strip_ext(v)
}

/// ABI size in bytes of the element type a GEP indexes.
fn gep_element_size(gep: Value) -> Option<u64> {
    // SAFETY: `gep` is a live GEP instruction; the data layout belongs to its module.
    unsafe {
        let f = LLVMGetBasicBlockParent(LLVMGetInstructionParent(gep));
        let dl = LLVMGetModuleDataLayout(LLVMGetGlobalParent(f));
        Some(LLVMABISizeOfType(dl, LLVMGetGEPSourceElementType(gep))).filter(|&s| s > 0)
    }
}

/// `(base, index)` of `gep T, base, index` when `T` is `size` bytes: a pointer `index`
/// elements into `base`.
pub fn gep_base_index(ptr: Value, size: i64) -> Option<(Value, Value)> {
    let ok = ll::opcode(ptr) == Some(LLVMOpcode::LLVMGetElementPtr)
        && ll::num_operands(ptr) == 2
        && gep_element_size(ptr).is_some_and(|s| i64::try_from(s) == Ok(size));
    ok.then(|| (ll::operand(ptr, 0), ll::operand(ptr, 1)))
}

/// The loads of `chain` whose address does not come from another chain load.
pub fn window_loads(chain: &Chain) -> Vec<Value> {
    chain
        .insts
        .iter()
        .copied()
        .filter(|&i| {
            ll::opcode(i) == Some(LLVMOpcode::LLVMLoad)
                && !depends_on_load(ll::load_pointer(i), &chain.insts)
        })
        .collect()
}

/// Whether every load of `chain` whose address does not come from another chain load reads
/// element `iv` of the window that starts at element `start` of an array (`start: None`:
/// element `iv` of the array itself): its address is `gep T, P, iv` with `P` the array
/// (`start: None`) or `gep T, base, start` / `gep i8, base, start * size(T)` (also written
/// `shl start, log2 size(T)`). A look-ahead copy of such a chain with `iv + d <= len - start - 1`
/// then reads only elements `0..len` of the array (see `loops::Window`).
pub fn indexes_window(chain: &Chain, l: &LoopView, iv: Value, start: Option<Value>) -> bool {
    let invariant = |v: Value| ll::opcode(v).is_none_or(|_| !l.blocks.contains(&ll::block_of(v)));
    let is_start = |v: Value, factor: u64| -> bool {
        let Some(start) = start else { return false };
        let v = strip_ext(v);
        if v == strip_ext(start) {
            return factor == 1;
        }
        let scaled = match ll::opcode(v) {
            Some(LLVMOpcode::LLVMShl) => ll::const_int(ll::operand(v, 1))
                .filter(|k| (0..63).contains(k))
                .map(|k| 1u64 << k),
            Some(LLVMOpcode::LLVMMul) => ll::const_int(ll::operand(v, 1)).map(|c| c as u64),
            _ => None,
        };
        scaled == Some(factor) && strip_ext(ll::operand(v, 0)) == strip_ext(start)
    };
    let mut any = false;
    for &inst in &chain.insts {
        if ll::opcode(inst) != Some(LLVMOpcode::LLVMLoad) {
            continue;
        }
        let ptr = ll::load_pointer(inst);
        if depends_on_load(ptr, &chain.insts) {
            continue;
        }
        let gep_ok = ll::opcode(ptr) == Some(LLVMOpcode::LLVMGetElementPtr)
            && ll::num_operands(ptr) == 2
            && strip_ext(ll::operand(ptr, 1)) == iv;
        if !gep_ok {
            return false;
        }
        let Some(size) = gep_element_size(ptr) else {
            return false;
        };
        let base = ll::operand(ptr, 0);
        if !invariant(base) {
            return false;
        }
        let ok = match start {
            None => true,
            Some(_) => {
                ll::opcode(base) == Some(LLVMOpcode::LLVMGetElementPtr)
                    && ll::num_operands(base) == 2
                    && gep_element_size(base).is_some_and(|s| {
                        // `base` is `start * size` bytes in: its index is `start * (size / s)`.
                        size % s == 0 && is_start(ll::operand(base, 1), size / s)
                    })
            }
        };
        if !ok {
            return false;
        }
        any = true;
    }
    any
}
