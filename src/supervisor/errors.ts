import { LoomError } from "../shared/errors.ts";

/**
 * The Supervisor's own refusals, by what the caller can do about them. The domain (lifecycle, verify,
 * store, git) throws these and knows nothing of its transport: `server/error-status.ts` is the one
 * table that turns a code into an HTTP status. Every message names what was wrong and what is accepted.
 */

/** Something asked for does not exist. */
export type NotFoundCode = "GENERATION_NOT_FOUND" | "DIFF_NOT_FOUND";
export class NotFoundError extends LoomError {
  declare readonly code: NotFoundCode;
  constructor(code: NotFoundCode, message: string) {
    super(code, message);
  }
}

/** The generation (or the Supervisor) is not in a state for this now; the caller can fix it and retry. */
export type ConflictCode =
  | "GENERATION_RUNNING"
  | "NOT_VERIFYING"
  | "NOT_VERIFIED"
  | "VERIFY_RUNNING"
  | "VERIFICATION_INCOMPLETE"
  | "NOT_ARCHIVABLE"
  | "GATE_CHANGE_HELD"
  | "GATE_APPROVAL_UNEXPECTED";
export class ConflictError extends LoomError {
  declare readonly code: ConflictCode;
  constructor(code: ConflictCode, message: string) {
    super(code, message);
  }
}

/** The request itself is wrong, whatever the state. */
export type InvalidInputCode = "INVALID_GENERATION" | "INVALID_SPAWN";
export class InvalidInputError extends LoomError {
  declare readonly code: InvalidInputCode;
  constructor(code: InvalidInputCode, message: string) {
    super(code, message);
  }
}

/** The Supervisor is stopping: nothing new starts; the caller retries once it has restarted. */
export class ShuttingDownError extends LoomError {
  declare readonly code: "SHUTTING_DOWN";
  constructor(message: string) {
    super("SHUTTING_DOWN", message);
  }
}

export type SupervisorErrorCode = NotFoundCode | ConflictCode | InvalidInputCode | "SHUTTING_DOWN";

export const generationNotFound = (n: number): NotFoundError =>
  new NotFoundError("GENERATION_NOT_FOUND", `generation ${n} does not exist; GET /generations lists them`);

export const notVerifying = (n: number, outcome: string, action: string): ConflictError =>
  new ConflictError(
    "NOT_VERIFYING",
    `generation ${n} is ${outcome}; only a verifying generation (its Lab done, branch fetched) can be ${action}`,
  );
