// C++ helpers of the prefetch passes that LLVM's C API lacks. Built by build.rs together with
// shim/hallows_shim.cpp (same flags: no RTTI, no -lLLVM; symbols bind to the host's libLLVM).
//
// Every function takes handles of the module a Hallows pass is running on.

#include "llvm-c/Types.h"
#include "llvm/ADT/SetVector.h"
#include "llvm/ADT/SmallPtrSet.h"
#include "llvm/IR/CFG.h"
#include "llvm/IR/IRBuilder.h"
#include "llvm/IR/Instruction.h"
#include "llvm/IR/Instructions.h"
#include "llvm/IR/MDBuilder.h"
#include "llvm/Transforms/Utils/BasicBlockUtils.h"
#include "llvm/Transforms/Utils/Cloning.h"
#include "llvm/Transforms/Utils/SSAUpdater.h"
#include "llvm/Transforms/Utils/ValueMapper.h"

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

// Versions a loop once per entry (see insert.rs, `version_windows`): Blocks[0..N) are the
// loop's blocks, Blocks[0] its header. Inserts a block on the loop's only entry edge that
// branches, when every Conds[k] holds, to a copy of the loop ("<name>.unclamped"), else to the
// loop itself; in the copy, each call Clamps[k] (a `umin(raw, last)` of the original loop) is
// replaced by its first operand `raw`. Each exit block's phis take the copy's values on its
// edges; any other use of a loop value after the loop gets the value of whichever copy ran
// (SSAUpdater inserts the phis). The conditions are i1 values computed before the loop's entry.
//
// Returns 0 when versioned, else (changing nothing) why the loop cannot be copied this simply:
// 1 several entry edges, 2 an entry into a block other than the header, 3 an address-taken
// block, 4 a call that must not be duplicated (noduplicate, convergent), 5 a token value.
unsigned hallows_pf_version_loop(LLVMBasicBlockRef *Blocks, unsigned N, LLVMValueRef *Conds,
                                 unsigned NConds, LLVMValueRef *Clamps, unsigned NClamps) {
  if (N == 0 || NConds == 0)
    return 1;
  SmallVector<BasicBlock *, 16> Body;
  SmallPtrSet<BasicBlock *, 16> InLoop;
  for (unsigned I = 0; I < N; ++I) {
    Body.push_back(unwrap(Blocks[I]));
    InLoop.insert(Body.back());
  }
  BasicBlock *Header = Body[0];
  BasicBlock *Pred = nullptr;
  for (BasicBlock *P : predecessors(Header)) {
    if (InLoop.contains(P))
      continue;
    if (Pred && Pred != P)
      return 1;
    Pred = P;
  }
  if (!Pred)
    return 1;
  // One successor slot of the entry block leads to the header (one phi entry per edge).
  unsigned Slots = 0;
  for (BasicBlock *S : successors(Pred))
    Slots += S == Header;
  if (Slots != 1)
    return 1;
  // Uses after the loop other than exit phis' incoming values from loop blocks.
  SmallVector<std::pair<Instruction *, Use *>, 8> Escaping;
  for (BasicBlock *B : Body) {
    if (B->hasAddressTaken())
      return 3;
    if (B != Header)
      for (BasicBlock *P : predecessors(B))
        if (!InLoop.contains(P))
          return 2;
    for (Instruction &I : *B) {
      if (auto *CB = dyn_cast<CallBase>(&I))
        if (CB->cannotDuplicate() || CB->isConvergent())
          return 4;
      if (I.getType()->isTokenTy())
        return 5;
      for (Use &U : I.uses()) {
        auto *User = cast<Instruction>(U.getUser());
        if (InLoop.contains(User->getParent()))
          continue;
        auto *Phi = dyn_cast<PHINode>(User);
        if (Phi && InLoop.contains(Phi->getIncomingBlock(U)))
          continue;
        Escaping.push_back({&I, &U});
      }
    }
  }
  SmallSetVector<BasicBlock *, 8> Exits;
  for (BasicBlock *B : Body)
    for (BasicBlock *S : successors(B))
      if (!InLoop.contains(S))
        Exits.insert(S);

  Function *F = Header->getParent();
  LLVMContext &Ctx = F->getContext();
  BasicBlock *Check = BasicBlock::Create(Ctx, Header->getName() + ".version", F, Header);
  Pred->getTerminator()->replaceSuccessorWith(Header, Check);
  for (PHINode &Phi : Header->phis())
    for (unsigned I = 0, E = Phi.getNumIncomingValues(); I < E; ++I)
      if (Phi.getIncomingBlock(I) == Pred)
        Phi.setIncomingBlock(I, Check);

  ValueToValueMapTy VMap;
  SmallVector<BasicBlock *, 16> Copies;
  for (BasicBlock *B : Body) {
    BasicBlock *C = CloneBasicBlock(B, VMap, ".unclamped", F);
    VMap[B] = C;
    Copies.push_back(C);
  }
  remapInstructionsInBlocks(Copies, VMap);
  for (BasicBlock *Exit : Exits)
    for (PHINode &Phi : Exit->phis())
      for (unsigned I = 0, E = Phi.getNumIncomingValues(); I < E; ++I) {
        BasicBlock *From = Phi.getIncomingBlock(I);
        if (!InLoop.contains(From))
          continue;
        Value *V = Phi.getIncomingValue(I);
        auto It = VMap.find(V);
        Value *Copy = It != VMap.end() ? static_cast<Value *>(It->second) : V;
        Phi.addIncoming(Copy, cast<BasicBlock>(VMap[From]));
      }

  // A use after the loop sees the original's value or the copy's, whichever loop ran: every
  // path to it passes through the loop's exit, from one of the two.
  for (auto &[I, U] : Escaping) {
    SSAUpdater SSA;
    SSA.Initialize(I->getType(), I->getName());
    SSA.AddAvailableValue(I->getParent(), I);
    auto *Copy = cast<Instruction>(VMap[I]);
    SSA.AddAvailableValue(Copy->getParent(), Copy);
    SSA.RewriteUse(*U);
  }

  IRBuilder<> B(Check);
  Value *All = unwrap(Conds[0]);
  for (unsigned I = 1; I < NConds; ++I)
    All = B.CreateAnd(All, unwrap(Conds[I]), "hpf.fits");
  MDBuilder MDB(Ctx);
  B.CreateCondBr(All, cast<BasicBlock>(VMap[Header]), Header, MDB.createLikelyBranchWeights());
  for (unsigned I = 0; I < NClamps; ++I) {
    auto It = VMap.find(unwrap(Clamps[I]));
    if (It == VMap.end())
      continue;
    auto *Copy = cast<CallInst>(It->second);
    Copy->replaceAllUsesWith(Copy->getArgOperand(0));
    Copy->eraseFromParent();
  }
  return 0;
}

} // extern "C"
