import { LoomError } from "../../shared/errors.ts";
import { HttpError } from "./http-io.ts";

/** Codes meaning "the repo or record is not in a state for this": the caller can fix it and retry. */
const CONFLICTS = new Set([
  "ILLEGAL_TRANSITION",
  "BRANCH_NOT_FOUND",
  "TAG_EXISTS",
  "REPO_DIRTY",
  "MERGE_CONFLICT",
  "NOTHING_TO_MERGE",
  "SCHEMAS_CHANGED",
  "MAIN_MOVED",
  "MAIN_NOT_FOUND",
]);
const BAD_INPUT = new Set(["INVALID_INPUT", "INVALID_GENERATION"]);

/** Maps any failure to an HTTP answer; only the message travels, never a stack. */
export function toHttpError(err: unknown): HttpError {
  if (err instanceof HttpError) return err;
  if (err instanceof LoomError) {
    if (err.code === "NOT_FOUND") return new HttpError(404, err.code, err.message);
    if (CONFLICTS.has(err.code)) return new HttpError(409, err.code, err.message);
    if (BAD_INPUT.has(err.code)) return new HttpError(400, err.code, err.message);
    return new HttpError(500, /^[A-Z][A-Z0-9_]*$/.test(err.code) ? err.code : "INTERNAL", err.message);
  }
  return new HttpError(
    500,
    "INTERNAL",
    `the Supervisor failed: ${err instanceof Error ? err.message : String(err)}`,
  );
}
