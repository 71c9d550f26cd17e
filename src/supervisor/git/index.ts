export { type ArchiveInput, archive, archiveRef } from "./archive.ts";
export { type FetchLabBranchInput, fetchLabBranch } from "./fetch-lab-branch.ts";
export { checkFixedPoints } from "./fixed-points.ts";
export { GitOpError, type GitOpErrorCode } from "./git-op-error.ts";
export { cloneAhead, type PrepareWorkspaceInput, prepareWorkspace } from "./prepare-workspace.ts";
export { type PromoteInput, type PromoteResult, promote } from "./promote.ts";
export {
  type CheckoutRepair,
  type PromotionPlan,
  type PromotionState,
  type RevertPlan,
  recoverPromotion,
  recoverRevert,
  restoreCheckouts,
} from "./recover.ts";
export { type ResetMainInput, type ResetMainResult, resetMainTo } from "./reset-main.ts";
export { type RollbackInput, rollback } from "./rollback.ts";
