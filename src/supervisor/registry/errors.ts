import { LoomError } from "../../shared/errors.ts";

export type RegistryErrorCode =
  /** No registry answers `GET /v2/` at the address. */
  | "REGISTRY_UNREACHABLE"
  /** Loom's own registry (Debian's docker-registry) did not come up. */
  | "REGISTRY_START_FAILED"
  /** The docker-registry program is not installed. */
  | "REGISTRY_NOT_INSTALLED"
  /** The image to push is not in the engine. */
  | "IMAGE_MISSING"
  | "PUSH_FAILED"
  | "PULL_FAILED"
  /** A reference that must name an image by digest does not. */
  | "DIGEST_REQUIRED"
  /** The registry's manifest does not carry the digest the push reported. */
  | "DIGEST_MISMATCH"
  /** `<state>/image/pushed.json` cannot be read. */
  | "PUSHED_IMAGE_INVALID";

/** Image registry failures; each message names the address or reference and the command that fixes it. */
export class RegistryError extends LoomError {
  declare readonly code: RegistryErrorCode;
  constructor(code: RegistryErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}
