import { errorMessage, LoomError } from "../../shared/errors.ts";
import { HttpError } from "../../shared/http/http-error.ts";
import type { SupervisorErrorCode } from "../errors.ts";
import type { GitOpErrorCode } from "../git/git-op-error.ts";
import type { StoreErrorCode } from "../store/store-error.ts";

/**
 * The one table from the domain's error codes to HTTP statuses. Exhaustive over every code the
 * Supervisor's domain declares, so a new code does not compile until it has a status here.
 * 400: the request is wrong; 404: no such thing; 409: not in a state for this (fix it and retry);
 * 503: shutting down (retry after the restart); 500: the Supervisor's own failure.
 */
export const HTTP_STATUS = {
  INVALID_GENERATION: 400,
  INVALID_SPAWN: 400,
  INVALID_INPUT: 400,
  GENERATION_NOT_FOUND: 404,
  DIFF_NOT_FOUND: 404,
  NOT_FOUND: 404,
  GENERATION_RUNNING: 409,
  NOT_VERIFYING: 409,
  NOT_VERIFIED: 409,
  VERIFY_RUNNING: 409,
  VERIFICATION_INCOMPLETE: 409,
  NOT_ARCHIVABLE: 409,
  GATE_CHANGE_HELD: 409,
  GATE_APPROVAL_UNEXPECTED: 409,
  ILLEGAL_TRANSITION: 409,
  BRANCH_NOT_FOUND: 409,
  TAG_EXISTS: 409,
  REPO_DIRTY: 409,
  MERGE_CONFLICT: 409,
  NOTHING_TO_MERGE: 409,
  SCHEMAS_CHANGED: 409,
  MAIN_MOVED: 409,
  MAIN_NOT_FOUND: 409,
  SHUTTING_DOWN: 503,
  RECORD_INVALID: 500,
  RECORD_CORRUPT: 500,
  RECORD_VERSION_UNSUPPORTED: 500,
  COUNTER_CORRUPT: 500,
  LINEAGE_CORRUPT: 500,
  STATE_WRITE_FAILED: 500,
  NOT_A_REPO: 500,
  TAG_NOT_FOUND: 500,
  MERGE_FAILED: 500,
  WORKTREE_UPDATE_FAILED: 500,
  REF_UPDATE_FAILED: 500,
  WORKSPACE_EXISTS: 500,
  WORKSPACE_MISSING: 500,
  WORKSPACE_FAILED: 500,
  CLONE_FAILED: 500,
  FETCH_FAILED: 500,
  GIT_FAILED: 500,
} as const satisfies Record<SupervisorErrorCode | StoreErrorCode | GitOpErrorCode, number>;

const isTableCode = (code: string): code is keyof typeof HTTP_STATUS => Object.hasOwn(HTTP_STATUS, code);

/** Maps any failure to an HTTP answer; only the message travels, never a stack. */
export function toHttpError(err: unknown): HttpError {
  if (err instanceof HttpError) return err;
  if (err instanceof LoomError) {
    if (isTableCode(err.code)) return new HttpError(HTTP_STATUS[err.code], err.code, err.message);
    return new HttpError(500, /^[A-Z][A-Z0-9_]*$/.test(err.code) ? err.code : "INTERNAL", err.message);
  }
  return new HttpError(500, "INTERNAL", `the Supervisor failed: ${errorMessage(err)}`);
}
