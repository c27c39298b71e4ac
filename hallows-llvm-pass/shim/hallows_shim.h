/* The C interface between the C++ registration shim and the Rust passes.
 * Keep in sync with src/shim.rs. Only plain C types cross this boundary. */
#ifndef HALLOWS_SHIM_H
#define HALLOWS_SHIM_H

#include <stddef.h>
#include <stdint.h>

#include "llvm-c/Types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Pass identifiers (bit positions in a schedule mask). */
#define HALLOWS_PASS_INVENTORY 0u
#define HALLOWS_PASS_RAILWAY 1u
#define HALLOWS_PASS_PREFETCH 2u
#define HALLOWS_PASS_PREFETCH_INSTRUMENT 3u

/* Run flags. */
#define HALLOWS_RUN_PRINT 1u

/* Extension points where the plugin schedules passes by itself. */
#define HALLOWS_EP_OPTIMIZER_EARLY 0u
#define HALLOWS_EP_OPTIMIZER_LAST 1u
#define HALLOWS_EP_FULL_LTO_LAST 2u

/* LTO phases (same order as llvm::ThinOrFullLTOPhase). */
#define HALLOWS_PHASE_NONE 0u
#define HALLOWS_PHASE_THIN_PRELINK 1u
#define HALLOWS_PHASE_THIN_POSTLINK 2u
#define HALLOWS_PHASE_FULL_PRELINK 3u
#define HALLOWS_PHASE_FULL_POSTLINK 4u

#define HALLOWS_NO_LOOP UINT32_MAX

/* One natural loop of a function, in preorder (outer before inner, siblings by header position). */
typedef struct HallowsLoop {
  LLVMBasicBlockRef header;
  uint32_t depth;         /* 1 for an outermost loop */
  uint32_t parent;        /* index of the enclosing loop, or HALLOWS_NO_LOOP */
  uint32_t num_blocks;    /* blocks in the loop, nested loops included */
  uint32_t num_exiting;   /* blocks inside the loop with a successor outside */
  uint64_t trip_count;    /* exact constant trip count, 0 when unknown */
  uint64_t max_trip_count;/* constant upper bound on the trip count, 0 when unknown */
} HallowsLoop;

/* Implemented in Rust (src/entry.rs). */
uint32_t hallows_rust_run_pass(uint32_t pass, uint32_t flags, LLVMModuleRef module, void *ctx);
uint32_t hallows_rust_schedule(uint32_t extension_point, uint32_t phase);

/* Implemented in C++ (shim/hallows_shim.cpp). `ctx` is the pointer handed to hallows_rust_run_pass. */
size_t hallows_shim_loops(void *ctx, LLVMValueRef function, HallowsLoop *out, size_t capacity,
                          uint32_t *block_loop, size_t num_blocks);
int hallows_shim_block_frequencies(void *ctx, LLVMValueRef function, uint64_t *out,
                                   size_t num_blocks, uint64_t *entry_frequency);
void hallows_shim_invalidate(void *ctx, LLVMValueRef function);
/* Edge probabilities (BranchProbabilityInfo), numerators over 2^31, one per successor of each
 * block in function order; returns 1 when `num_edges` matched. */
int hallows_shim_edge_probabilities(void *ctx, LLVMValueRef function, uint32_t *out,
                                    size_t num_edges);
/* Moves `blocks` (a single-entry region) into a new function with CodeExtractor; returns the new
 * function, or NULL when the region cannot be extracted. The caller invalidates analyses. */
LLVMValueRef hallows_shim_extract_region(void *ctx, LLVMValueRef function,
                                         const LLVMBasicBlockRef *blocks, size_t num_blocks);
/* The function's section prefix (e.g. "hot"); writes up to `capacity` bytes, returns its length
 * or -1 when it has none. */
int hallows_shim_get_section_prefix(LLVMValueRef function, char *out, size_t capacity);
void hallows_shim_set_section_prefix(LLVMValueRef function, const char *prefix);
/* Sets a registered LLVM command-line option (as if given on the command line); returns 1 when
 * the option exists and accepted the value. */
int hallows_shim_set_llvm_option(const char *name, const char *value);

#ifdef __cplusplus
}
#endif

#endif
