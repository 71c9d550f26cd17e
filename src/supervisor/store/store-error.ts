import { LoomError } from "../../shared/errors.ts";

/** Why the generations store refused or failed; callers map codes to HTTP statuses and CLI exits. */
export type StoreErrorCode =
  | "INVALID_INPUT"
  | "INVALID_GENERATION"
  | "NOT_FOUND"
  | "RECORD_INVALID"
  | "RECORD_CORRUPT"
  | "RECORD_VERSION_UNSUPPORTED"
  | "ILLEGAL_TRANSITION"
  | "COUNTER_CORRUPT"
  | "LINEAGE_CORRUPT"
  | "STATE_WRITE_FAILED";

export class StoreError extends LoomError {
  declare readonly code: StoreErrorCode;
  constructor(code: StoreErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}
