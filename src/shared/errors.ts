/** Base for Loom's own errors: a stable code plus a message that names the input and what is accepted. */
export class LoomError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** A configuration variable or CLI flag with a value Loom cannot accept. */
export class ConfigError extends LoomError {
  constructor(message: string) {
    super("CONFIG_INVALID", message);
  }
}

/** What a caught value says: an Error's message, anything else as a string. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
