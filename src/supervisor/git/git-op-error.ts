import { LoomError } from "../../shared/errors.ts";

/** Why a git operation on the repo or a workspace was refused or failed; each message says what to do. */
export type GitOpErrorCode =
  | "INVALID_INPUT"
  | "NOT_A_REPO"
  | "MAIN_NOT_FOUND"
  | "BRANCH_NOT_FOUND"
  | "TAG_EXISTS"
  | "TAG_NOT_FOUND"
  | "REPO_DIRTY"
  | "MERGE_CONFLICT"
  | "MERGE_FAILED"
  | "NOTHING_TO_MERGE"
  | "SCHEMAS_CHANGED"
  | "MAIN_MOVED"
  | "WORKTREE_UPDATE_FAILED"
  | "REF_UPDATE_FAILED"
  | "WORKSPACE_EXISTS"
  | "WORKSPACE_MISSING"
  | "WORKSPACE_FAILED"
  | "CLONE_FAILED"
  | "FETCH_FAILED"
  | "GIT_FAILED";

export class GitOpError extends LoomError {
  declare readonly code: GitOpErrorCode;
  constructor(code: GitOpErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}
