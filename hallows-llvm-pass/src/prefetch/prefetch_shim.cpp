// C++ helpers of the prefetch passes that LLVM's C API lacks. Built by build.rs together with
// shim/hallows_shim.cpp (same flags: no RTTI, no -lLLVM; symbols bind to the host's libLLVM).
//
// Every function takes handles of the module a Hallows pass is running on.

#include "llvm-c/Types.h"
#include "llvm/Analysis/ConstantFolding.h"
#include "llvm/ADT/SetVector.h"
#include "llvm/ADT/SmallPtrSet.h"
#include "llvm/IR/CFG.h"
#include "llvm/IR/IRBuilder.h"
#include "llvm/IR/Instruction.h"
#include "llvm/IR/Instructions.h"
#include "llvm/IR/MDBuilder.h"
#include "llvm/Transforms/Utils/BasicBlockUtils.h"
#include "llvm/Transforms/Utils/Cloning.h"
#include "llvm/Transforms/Utils/Local.h"
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

namespace {

// A loop as `hallows_pf_version_loop` and `hallows_pf_split_loop` copy it: its blocks (header
// first), its only entering block, its exit blocks, and the uses of its values after it other
// than exit phis' incoming values from loop blocks.
struct CopyableLoop {
  SmallVector<BasicBlock *, 16> Body;
  SmallPtrSet<BasicBlock *, 16> InLoop;
  BasicBlock *Pred = nullptr;
  SmallSetVector<BasicBlock *, 8> Exits;
  SmallVector<std::pair<Instruction *, Use *>, 8> Escaping;
};

// Fills `L` from Blocks[0..N); returns 0, or why the loop cannot be copied simply (the codes of
// `hallows_pf_version_loop`).
unsigned analyseCopyable(LLVMBasicBlockRef *Blocks, unsigned N, CopyableLoop &L) {
  if (N == 0)
    return 1;
  for (unsigned I = 0; I < N; ++I) {
    L.Body.push_back(unwrap(Blocks[I]));
    L.InLoop.insert(L.Body.back());
  }
  BasicBlock *Header = L.Body[0];
  if (Header->isEHPad())
    return 6;
  for (BasicBlock *P : predecessors(Header)) {
    if (L.InLoop.contains(P))
      continue;
    if (L.Pred && L.Pred != P)
      return 1;
    L.Pred = P;
  }
  if (!L.Pred)
    return 1;
  // One successor slot of the entry block leads to the header (one phi entry per edge).
  unsigned Slots = 0;
  for (BasicBlock *S : successors(L.Pred))
    Slots += S == Header;
  if (Slots != 1)
    return 1;
  for (BasicBlock *B : L.Body) {
    if (B->hasAddressTaken())
      return 3;
    if (B != Header)
      for (BasicBlock *P : predecessors(B))
        if (!L.InLoop.contains(P))
          return 2;
    for (Instruction &I : *B) {
      if (auto *CB = dyn_cast<CallBase>(&I))
        if (CB->cannotDuplicate() || CB->isConvergent())
          return 4;
      if (I.getType()->isTokenTy())
        return 5;
      for (Use &U : I.uses()) {
        auto *User = cast<Instruction>(U.getUser());
        if (L.InLoop.contains(User->getParent()))
          continue;
        auto *Phi = dyn_cast<PHINode>(User);
        if (Phi && L.InLoop.contains(Phi->getIncomingBlock(U)))
          continue;
        L.Escaping.push_back({&I, &U});
      }
    }
  }
  for (BasicBlock *B : L.Body)
    for (BasicBlock *S : successors(B))
      if (!L.InLoop.contains(S))
        L.Exits.insert(S);
  return 0;
}

// Copies the loop's blocks (names suffixed `Suffix`) and gives each exit block's phis the
// copy's values on the copy's exit edges. The copy is not entered yet.
SmallVector<BasicBlock *, 16> cloneLoop(const CopyableLoop &L, ValueToValueMapTy &VMap,
                                        const char *Suffix) {
  Function *F = L.Body[0]->getParent();
  SmallVector<BasicBlock *, 16> Copies;
  for (BasicBlock *B : L.Body) {
    BasicBlock *C = CloneBasicBlock(B, VMap, Suffix, F);
    VMap[B] = C;
    Copies.push_back(C);
  }
  remapInstructionsInBlocks(Copies, VMap);
  for (BasicBlock *Exit : L.Exits)
    for (PHINode &Phi : Exit->phis())
      for (unsigned I = 0, E = Phi.getNumIncomingValues(); I < E; ++I) {
        BasicBlock *From = Phi.getIncomingBlock(I);
        if (!L.InLoop.contains(From))
          continue;
        Value *V = Phi.getIncomingValue(I);
        auto It = VMap.find(V);
        Value *Copy = It != VMap.end() ? static_cast<Value *>(It->second) : V;
        Phi.addIncoming(Copy, cast<BasicBlock>(VMap[From]));
      }
  return Copies;
}

// A use after the loop sees the original's value or the copy's, whichever ran last: every path
// to it passes through the loop's exit, from one of the two (SSAUpdater inserts the phis).
void rewriteEscaping(const CopyableLoop &L, ValueToValueMapTy &VMap) {
  for (auto &[I, U] : L.Escaping) {
    SSAUpdater SSA;
    SSA.Initialize(I->getType(), I->getName());
    SSA.AddAvailableValue(I->getParent(), I);
    auto *Copy = cast<Instruction>(VMap[I]);
    SSA.AddAvailableValue(Copy->getParent(), Copy);
    SSA.RewriteUse(*U);
  }
}

} // namespace

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
// block, 4 a call that must not be duplicated (noduplicate, convergent), 5 a token value, 6 the
// header is an exception-handling pad.
unsigned hallows_pf_version_loop(LLVMBasicBlockRef *Blocks, unsigned N, LLVMValueRef *Conds,
                                 unsigned NConds, LLVMValueRef *Clamps, unsigned NClamps) {
  if (NConds == 0)
    return 1;
  CopyableLoop L;
  if (unsigned Code = analyseCopyable(Blocks, N, L))
    return Code;
  BasicBlock *Header = L.Body[0];
  Function *F = Header->getParent();
  LLVMContext &Ctx = F->getContext();
  BasicBlock *Check = BasicBlock::Create(Ctx, Header->getName() + ".version", F, Header);
  L.Pred->getTerminator()->replaceSuccessorWith(Header, Check);
  for (PHINode &Phi : Header->phis())
    for (unsigned I = 0, E = Phi.getNumIncomingValues(); I < E; ++I)
      if (Phi.getIncomingBlock(I) == L.Pred)
        Phi.setIncomingBlock(I, Check);

  ValueToValueMapTy VMap;
  cloneLoop(L, VMap, ".unclamped");
  rewriteEscaping(L, VMap);

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

// Splits a loop's iterations at the look-ahead limit (see insert.rs, `split_loops`): Blocks[0..N)
// are the loop's blocks, Blocks[0] its header. A copy of the loop ("<name>.unclamped") is entered
// instead of the loop; at the top of each of its iterations, after the header's phis, it tests
// `pos(Phis[k]) < Excl[k]` for every k (pos: ptrtoint of a pointer phi, zext of an integer one,
// to i64; Excl[k] an i64 computed before the loop) and, while all hold, runs the iteration with
// each clamped distance Dists[k] (an i64 of the original loop) replaced by the constant
// Distances[k]. When a test fails, it branches to the original loop's header with the copy's
// phi values, and the original loop (still clamped) runs the remaining iterations. Exit phis
// and uses after the loop get the values of whichever loop ran last, as for
// `hallows_pf_version_loop`.
//
// Returns 0 when split, else (changing nothing) the codes of `hallows_pf_version_loop`.
unsigned hallows_pf_split_loop(LLVMBasicBlockRef *Blocks, unsigned N, LLVMValueRef *Phis,
                               LLVMValueRef *Excl, unsigned NTests, LLVMValueRef *Dists,
                               const uint64_t *Distances, unsigned NDists) {
  if (NTests == 0)
    return 1;
  CopyableLoop L;
  if (unsigned Code = analyseCopyable(Blocks, N, L))
    return Code;
  BasicBlock *Header = L.Body[0];
  LLVMContext &Ctx = Header->getContext();

  ValueToValueMapTy VMap;
  cloneLoop(L, VMap, ".unclamped");
  auto *CopyHeader = cast<BasicBlock>(VMap[Header]);

  // The test, at the top of the copy's header; the rest of the header moves to `.body`.
  IRBuilder<> B(CopyHeader, CopyHeader->getFirstInsertionPt());
  Type *I64 = Type::getInt64Ty(Ctx);
  Value *All = nullptr;
  for (unsigned I = 0; I < NTests; ++I) {
    Value *Phi = VMap[unwrap(Phis[I])];
    Value *Pos = Phi->getType()->isPointerTy() ? B.CreatePtrToInt(Phi, I64, "hpf.pos")
                                               : B.CreateZExtOrBitCast(Phi, I64, "hpf.pos");
    Value *Fits = B.CreateICmpULT(Pos, unwrap(Excl[I]), "hpf.ahead.fits");
    All = All ? B.CreateAnd(All, Fits, "hpf.ahead.fits") : Fits;
  }
  auto *Last = cast<Instruction>(All);
  BasicBlock *CopyBody =
      CopyHeader->splitBasicBlock(std::next(Last->getIterator()), Header->getName() + ".unclamped.body");
  CopyHeader->getTerminator()->eraseFromParent();
  MDBuilder MDB(Ctx);
  BranchInst::Create(CopyBody, Header, All, CopyHeader)
      ->setMetadata(LLVMContext::MD_prof, MDB.createLikelyBranchWeights());

  // Enter the copy; the original loop is entered from the copy's test, with its phi values.
  L.Pred->getTerminator()->replaceSuccessorWith(Header, CopyHeader);
  for (PHINode &Phi : Header->phis())
    for (unsigned I = 0, E = Phi.getNumIncomingValues(); I < E; ++I)
      if (Phi.getIncomingBlock(I) == L.Pred) {
        Phi.setIncomingBlock(I, CopyHeader);
        Phi.setIncomingValue(I, VMap[&Phi]);
      }

  for (unsigned I = 0; I < NDists; ++I) {
    auto It = VMap.find(unwrap(Dists[I]));
    if (It == VMap.end())
      continue;
    auto *Copy = cast<Instruction>(It->second);
    SmallSetVector<Instruction *, 4> Users;
    for (User *U : Copy->users())
      if (auto *UI = dyn_cast<Instruction>(U))
        Users.insert(UI);
    Copy->replaceAllUsesWith(ConstantInt::get(Copy->getType(), Distances[I]));
    RecursivelyDeleteTriviallyDeadInstructions(Copy);
    // The offsets `d * step` and narrowed distances of the look-ahead become constants.
    const DataLayout &DL = Header->getDataLayout();
    for (Instruction *UI : Users)
      if (Constant *C = ConstantFoldInstruction(UI, DL)) {
        UI->replaceAllUsesWith(C);
        UI->eraseFromParent();
      }
  }
  rewriteEscaping(L, VMap);
  return 0;
}

} // extern "C"
