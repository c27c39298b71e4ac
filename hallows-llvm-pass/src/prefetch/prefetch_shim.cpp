// C++ helpers of the prefetch passes that LLVM's C API lacks. Built by build.rs together with
// shim/hallows_shim.cpp (same flags: no RTTI, no -lLLVM; symbols bind to the host's libLLVM).
//
// Every function takes handles of the module a Hallows pass is running on.

#include "llvm-c/Types.h"
#include "llvm/IR/Instruction.h"
#include "llvm/IR/Instructions.h"
#include "llvm/IR/MDBuilder.h"
#include "llvm/Transforms/Utils/BasicBlockUtils.h"

using namespace llvm;

extern "C" {

// Splits the block of `Before` just before it and branches to a new block when `Cond` holds;
// the new block falls through to `Before`. Returns the new block's terminator, before which the
// caller inserts the conditional code. The branch is marked unlikely (sampling fires rarely).
LLVMValueRef hallows_pf_split_if_then(LLVMValueRef Cond, LLVMValueRef Before) {
  auto *I = unwrap<Instruction>(Before);
  MDBuilder MDB(I->getContext());
  Instruction *Term = SplitBlockAndInsertIfThen(unwrap(Cond), I->getIterator(),
                                                /*Unreachable=*/false,
                                                MDB.createUnlikelyBranchWeights());
  return wrap(Term);
}

// Makes a cloned instruction safe to evaluate on values the original never saw: drops the
// poison-generating flags (nuw, nsw, exact, inbounds, nneg, disjoint, samesign) and every
// metadata and attribute that would turn an unexpected value into undefined behaviour
// (!noundef, !range, !nonnull, !align, ...). Debug locations are kept.
void hallows_pf_drop_poison(LLVMValueRef Inst) {
  auto *I = unwrap<Instruction>(Inst);
  I->dropPoisonGeneratingFlags();
  I->dropPoisonGeneratingMetadata();
  I->dropUBImplyingAttrsAndUnknownMetadata({});
}

// Returns a block on the edge From -> To that runs exactly when the edge is taken: From itself
// when To is its only successor, else a new block splitting the edge (phis updated by LLVM).
LLVMBasicBlockRef hallows_pf_edge_block(LLVMBasicBlockRef From, LLVMBasicBlockRef To) {
  BasicBlock *F = unwrap(From);
  if (F->getUniqueSuccessor() == unwrap(To))
    return From;
  return wrap(SplitEdge(F, unwrap(To)));
}

} // extern "C"
