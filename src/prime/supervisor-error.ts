import { LoomError } from "../shared/errors.ts";

/**
 * A failure talking to the Supervisor. For a non-2xx answer `code` and `message` are the ErrorBody's
 * (e.g. GENERATION_NOT_FOUND, NOT_VERIFYING), or a verification run's error (SHUTTING_DOWN,
 * SUPERVISOR_RESTARTED); otherwise one of SUPERVISOR_UNREACHABLE, SUPERVISOR_TIMEOUT,
 * SUPERVISOR_ABORTED, SUPERVISOR_BAD_RESPONSE, GENERATION_WAIT_TIMEOUT.
 */
export class SupervisorError extends LoomError {
  /** The HTTP status when the Supervisor answered. */
  readonly status: number | undefined;
  constructor(code: string, message: string, options: { status?: number; cause?: unknown } = {}) {
    super(code, message, { cause: options.cause });
    this.status = options.status;
  }
}
