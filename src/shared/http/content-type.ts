import type { IncomingMessage } from "node:http";
import { HttpError } from "./http-error.ts";
import { requestPath } from "./router.ts";

/**
 * Refuses a body that is not declared `application/json` (415). A browser sends text/plain, form and
 * multipart bodies to any origin without asking first; a JSON content type makes it ask (a CORS
 * preflight, which these servers never grant), so this alone keeps foreign pages from posting.
 */
export function requireJsonBody(req: IncomingMessage): void {
  const raw = req.headers["content-type"];
  const mediaType = raw?.split(";")[0]?.trim().toLowerCase();
  if (mediaType === "application/json") return;
  throw new HttpError(
    415,
    "UNSUPPORTED_MEDIA_TYPE",
    `${req.method} ${requestPath(req.url)} takes a JSON body, sent with Content-Type: application/json (a charset parameter is fine); got ${raw === undefined ? "no Content-Type" : JSON.stringify(raw)}`,
    { accept: "application/json" },
  );
}
