import { createHash, timingSafeEqual } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { HttpError } from "./http-error.ts";

const digest = (s: string): Buffer => createHash("sha256").update(s).digest();

/**
 * Refuses a request without `Authorization: Bearer <token>` (401); the comparison takes constant time.
 * `variable` names where the token comes from, for the message.
 */
export function checkBearer(req: IncomingMessage, token: string, variable = "LOOM_SUPERVISOR_TOKEN"): void {
  const header = req.headers.authorization;
  if (!header)
    throw new HttpError(401, "UNAUTHORIZED", `this route needs Authorization: Bearer <${variable}>`, {
      "www-authenticate": "Bearer",
    });
  const m = /^Bearer\s+(.+)$/i.exec(header);
  // Equal-length digests, so the comparison takes the same time whatever was sent.
  if (!m || !timingSafeEqual(digest(m[1] as string), digest(token))) {
    throw new HttpError(401, "UNAUTHORIZED", `the bearer token is wrong; send the value of ${variable}`, {
      "www-authenticate": "Bearer",
    });
  }
}
