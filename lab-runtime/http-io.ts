import type { IncomingMessage } from "node:http";

export { sendJson } from "../src/shared/http-json.ts";

/** The body was larger than the server accepts. */
export class BodyTooLargeError extends Error {
  readonly code = "BODY_TOO_LARGE";
  constructor(readonly limit: number) {
    super(`request body exceeds ${limit} bytes`);
  }
}

/**
 * Read a request body up to `limit` bytes. Past the limit the rest is drained (not buffered) so the
 * client can still read the 413, unless it keeps sending far beyond, then the socket is dropped.
 */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers["content-length"]);
    const chunks: Buffer[] = [];
    let size = 0;
    let over = Number.isFinite(declared) && declared > limit;
    const tooLarge = () => {
      over = true;
      chunks.length = 0;
      reject(new BodyTooLargeError(limit));
    };
    if (over) tooLarge();
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (over) {
        if (size > limit * 16) req.destroy();
        return;
      }
      if (size > limit) return tooLarge();
      chunks.push(chunk);
    });
    req.on("end", () => {
      if (!over) resolve(Buffer.concat(chunks));
    });
    req.on("error", reject);
  });
}
