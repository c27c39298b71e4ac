//! The C interface to the C++ shim (`shim/hallows_shim.h`, keep both in sync) and safe wrappers
//! of the analyses it offers.

use std::ffi::{c_char, c_void};

use llvm_sys::prelude::{LLVMBasicBlockRef, LLVMValueRef};

use crate::ir::{Block, Function};

/// Pass identifier of `hallows-inventory` (a bit position in a schedule mask).
pub const PASS_INVENTORY: u32 = 0;
/// Pass identifier of `hallows-railway`.
pub const PASS_RAILWAY: u32 = 1;
/// Pass identifier of `hallows-prefetch`.
pub const PASS_PREFETCH: u32 = 2;
/// Pass identifier of `hallows-prefetch-instrument`.
pub const PASS_PREFETCH_INSTRUMENT: u32 = 3;

/// Run flag: print a human-readable form to stderr (`print<...>` pipelines).
pub const RUN_PRINT: u32 = 1;

/// Extension point `OptimizerEarly` (start of the module optimization pipeline).
pub const EP_OPTIMIZER_EARLY: u32 = 0;
/// Extension point `OptimizerLast` (end of the module optimization pipeline).
pub const EP_OPTIMIZER_LAST: u32 = 1;
/// Extension point `FullLinkTimeOptimizationLast` (end of the fat-LTO pipeline).
pub const EP_FULL_LTO_LAST: u32 = 2;

/// `ThinOrFullLTOPhase::None`.
pub const PHASE_NONE: u32 = 0;
/// `ThinOrFullLTOPhase::ThinLTOPreLink`.
pub const PHASE_THIN_PRELINK: u32 = 1;
/// `ThinOrFullLTOPhase::ThinLTOPostLink`.
pub const PHASE_THIN_POSTLINK: u32 = 2;
/// `ThinOrFullLTOPhase::FullLTOPreLink`.
pub const PHASE_FULL_PRELINK: u32 = 3;
/// `ThinOrFullLTOPhase::FullLTOPostLink`.
pub const PHASE_FULL_POSTLINK: u32 = 4;

const NO_LOOP: u32 = u32::MAX;

/// `llvm::PassPluginLibraryInfo` of LLVM 22 (plugin API version 2).
#[repr(C)]
pub struct PassPluginLibraryInfo {
    api_version: u32,
    plugin_name: *const c_char,
    plugin_version: *const c_char,
    register_pass_builder_callbacks: Option<unsafe extern "C" fn(*mut c_void)>,
    pre_codegen_callback: Option<unsafe extern "C" fn()>,
}

/// `HallowsLoop` of the shim.
#[repr(C)]
#[derive(Clone, Copy)]
struct RawLoop {
    header: LLVMBasicBlockRef,
    depth: u32,
    parent: u32,
    num_blocks: u32,
    num_exiting: u32,
    trip_count: u64,
    max_trip_count: u64,
}

extern "C" {
    /// Builds the plugin description (API version, name, registration callback).
    pub fn hallows_shim_plugin_info() -> PassPluginLibraryInfo;
    fn hallows_shim_loops(
        ctx: *mut c_void,
        function: LLVMValueRef,
        out: *mut RawLoop,
        capacity: usize,
        block_loop: *mut u32,
        num_blocks: usize,
    ) -> usize;
    fn hallows_shim_block_frequencies(
        ctx: *mut c_void,
        function: LLVMValueRef,
        out: *mut u64,
        num_blocks: usize,
        entry_frequency: *mut u64,
    ) -> i32;
    fn hallows_shim_invalidate(ctx: *mut c_void, function: LLVMValueRef);
    fn hallows_shim_edge_probabilities(
        ctx: *mut c_void,
        function: LLVMValueRef,
        out: *mut u32,
        num_edges: usize,
    ) -> i32;
    fn hallows_shim_extract_region(
        ctx: *mut c_void,
        function: LLVMValueRef,
        blocks: *const LLVMBasicBlockRef,
        num_blocks: usize,
    ) -> LLVMValueRef;
    fn hallows_shim_get_section_prefix(
        function: LLVMValueRef,
        out: *mut c_char,
        capacity: usize,
    ) -> i32;
    fn hallows_shim_set_section_prefix(function: LLVMValueRef, prefix: *const c_char);
    fn hallows_shim_set_llvm_option(name: *const c_char, value: *const c_char) -> i32;
}

/// Denominator of the shim's edge probabilities (`llvm::BranchProbability`).
pub const PROBABILITY_DENOMINATOR: u64 = 1 << 31;

/// Longest section prefix read back (LLVM uses `hot`, `unlikely`, `unknown`).
const MAX_SECTION_PREFIX: usize = 64;

/// The section prefix of `function` (`hot`, `unlikely`, ...), if it has one.
pub fn section_prefix(function: Function<'_>) -> Option<String> {
    let mut buf = [0u8; MAX_SECTION_PREFIX];
    // SAFETY: `function` is live; the shim writes at most `buf.len()` bytes.
    let len = unsafe {
        hallows_shim_get_section_prefix(function.raw(), buf.as_mut_ptr().cast(), buf.len())
    };
    let len = usize::try_from(len).ok()?;
    Some(String::from_utf8_lossy(&buf[..len.min(buf.len())]).into_owned())
}

/// Sets the section prefix of `function`: with function sections its code goes to
/// `.text.<prefix>.<name>`, so linkers group hot (and unlikely) code together.
pub fn set_section_prefix(function: Function<'_>, prefix: &str) {
    let Ok(prefix) = std::ffi::CString::new(prefix) else {
        return;
    };
    // SAFETY: `function` is live; `prefix` is a NUL-terminated string LLVM copies.
    unsafe { hallows_shim_set_section_prefix(function.raw(), prefix.as_ptr()) }
}

/// Sets a registered LLVM command-line option in this process, as `-name=value` would.
/// Returns false when the option does not exist or rejects the value.
pub fn set_llvm_option(name: &str, value: &str) -> bool {
    let (Ok(name), Ok(value)) = (std::ffi::CString::new(name), std::ffi::CString::new(value))
    else {
        return false;
    };
    // SAFETY: both are NUL-terminated strings that outlive the call; LLVM copies what it keeps.
    unsafe { hallows_shim_set_llvm_option(name.as_ptr(), value.as_ptr()) == 1 }
}

/// What the shim knows about a loop's trip count (from ScalarEvolution).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TripCount {
    /// The loop body runs exactly this many times whenever the loop is entered.
    Constant(u64),
    /// The exact count is unknown, but it is at most this.
    Bounded(u64),
    /// Nothing is known.
    Unknown,
}

/// One natural loop, in preorder (outer before inner, siblings in header order).
#[derive(Clone, Debug)]
pub struct LoopFacts<'m> {
    /// The loop header.
    pub header: Block<'m>,
    /// Nesting depth, 1 for an outermost loop.
    pub depth: u32,
    /// Index of the enclosing loop in the same list.
    pub parent: Option<usize>,
    /// Blocks in the loop, nested loops included.
    pub num_blocks: u32,
    /// Blocks inside the loop that branch out of it.
    pub num_exiting: u32,
    /// Trip-count knowledge.
    pub trip_count: TripCount,
}

/// The loops of one function and the innermost loop of each block.
#[derive(Clone, Debug, Default)]
pub struct FunctionLoops<'m> {
    /// All loops in preorder.
    pub loops: Vec<LoopFacts<'m>>,
    /// For each block (in function order), the index of its innermost loop.
    pub block_loop: Vec<Option<usize>>,
}

/// Handle on the analysis manager of the module pass being run.
///
/// Valid only during one call of [`crate::entry::hallows_rust_run_pass`]: the lifetime `'m` ties
/// it to the module given to that call.
pub struct Analyses<'m> {
    ctx: *mut c_void,
    _module: std::marker::PhantomData<&'m ()>,
}

impl<'m> Analyses<'m> {
    /// Wraps the context pointer the shim passed to the Rust pass.
    ///
    /// # Safety
    /// `ctx` must be the `ctx` argument of the current `hallows_rust_run_pass` call, and `'m` must
    /// not outlive that call.
    pub unsafe fn from_raw(ctx: *mut c_void) -> Self {
        Analyses {
            ctx,
            _module: std::marker::PhantomData,
        }
    }

    /// Loops of `function` (LoopInfo + ScalarEvolution).
    pub fn loops(&self, function: Function<'m>) -> FunctionLoops<'m> {
        if function.is_declaration() {
            return FunctionLoops::default();
        }
        let num_blocks = function.block_count();
        let mut block_loop = vec![NO_LOOP; num_blocks];
        let mut raw: Vec<RawLoop> = Vec::new();
        // SAFETY: [1] `self.ctx` is the live shim context (constructor contract); [2] `function`
        // is a defined function of the module being run; [3] a null `out` with capacity 0 only
        // counts; `block_loop` has room for `num_blocks` entries.
        let count = unsafe {
            hallows_shim_loops(
                self.ctx,
                function.raw(),
                std::ptr::null_mut(),
                0,
                block_loop.as_mut_ptr(),
                num_blocks,
            )
        };
        if count > 0 {
            raw.reserve_exact(count);
            // SAFETY: as above; `raw` has capacity for `count` entries, and the shim writes
            // exactly `min(count, capacity)` entries before we set the length.
            unsafe {
                let written = hallows_shim_loops(
                    self.ctx,
                    function.raw(),
                    raw.as_mut_ptr(),
                    count,
                    std::ptr::null_mut(),
                    0,
                );
                raw.set_len(written.min(count));
            }
        }
        let loops = raw
            .iter()
            .map(|r| LoopFacts {
                // SAFETY: the shim returned a block of `function`, which lives for `'m`.
                header: unsafe { Block::from_raw(r.header) },
                depth: r.depth,
                parent: (r.parent != NO_LOOP).then_some(r.parent as usize),
                num_blocks: r.num_blocks,
                num_exiting: r.num_exiting,
                trip_count: match (r.trip_count, r.max_trip_count) {
                    (0, 0) => TripCount::Unknown,
                    (0, max) => TripCount::Bounded(max),
                    (exact, _) => TripCount::Constant(exact),
                },
            })
            .collect();
        FunctionLoops {
            loops,
            block_loop: block_loop
                .into_iter()
                .map(|l| (l != NO_LOOP).then_some(l as usize))
                .collect(),
        }
    }

    /// Block frequencies of `function` (BlockFrequencyInfo: from `!prof` branch weights when
    /// present, static heuristics otherwise), in function block order, and the entry frequency.
    pub fn block_frequencies(&self, function: Function<'m>) -> Option<(Vec<u64>, u64)> {
        if function.is_declaration() {
            return None;
        }
        let num_blocks = function.block_count();
        let mut out = vec![0u64; num_blocks];
        let mut entry = 0u64;
        // SAFETY: `self.ctx` is live, `function` is defined, `out` has `num_blocks` entries and
        // `entry` is a valid out pointer.
        let ok = unsafe {
            hallows_shim_block_frequencies(
                self.ctx,
                function.raw(),
                out.as_mut_ptr(),
                num_blocks,
                &mut entry,
            )
        };
        (ok == 1).then_some((out, entry))
    }

    /// Edge probabilities of every terminator's successors (numerators over
    /// [`PROBABILITY_DENOMINATOR`]), blocks in function order, successors in operand order.
    pub fn edge_probabilities(&self, function: Function<'m>, num_edges: usize) -> Option<Vec<u32>> {
        if function.is_declaration() {
            return None;
        }
        let mut out = vec![0u32; num_edges];
        // SAFETY: `self.ctx` is live, `function` is defined and `out` has `num_edges` entries.
        let ok = unsafe {
            hallows_shim_edge_probabilities(self.ctx, function.raw(), out.as_mut_ptr(), num_edges)
        };
        (ok == 1).then_some(out)
    }

    /// Moves the single-entry region `blocks` of `function` into a new function (LLVM's
    /// CodeExtractor) and returns it; `None` when the region is not extractable. Analyses of
    /// `function` are invalidated either way.
    pub fn extract_region(
        &self,
        function: Function<'m>,
        blocks: &[Block<'m>],
    ) -> Option<Function<'m>> {
        let raw: Vec<LLVMBasicBlockRef> = blocks.iter().map(|b| b.raw()).collect();
        // SAFETY: `self.ctx` is live; `raw` holds `raw.len()` live blocks of `function`.
        let out = unsafe {
            hallows_shim_extract_region(self.ctx, function.raw(), raw.as_ptr(), raw.len())
        };
        self.invalidate(function);
        // SAFETY: a non-null result is the new function, owned by the module being run.
        (!out.is_null()).then(|| unsafe { Function::from_raw(out) })
    }

    /// Drops every cached analysis of `function`; call after changing its IR.
    pub fn invalidate(&self, function: Function<'m>) {
        // SAFETY: `self.ctx` is live and `function` belongs to the module being run.
        unsafe { hallows_shim_invalidate(self.ctx, function.raw()) }
    }
}
