import type { IncomingMessage } from "node:http";
import type { z } from "zod";
import { formatIssues } from "../zod-issues.ts";
import { HttpError } from "./http-error.ts";

export const MAX_BODY_BYTES = 1024 * 1024;

/**
 * The body as text, refusing more than `maxBytes` without buffering the rest. On refusal the stream is
 * left paused, not destroyed: the server answers 413 and drains what is still coming (see serve.ts), as
 * a socket closed under a client that is still sending reaches it as a reset instead of the answer.
 */
export function readBody(req: IncomingMessage, maxBytes = MAX_BODY_BYTES): Promise<string> {
  const declared = Number(req.headers["content-length"]);
  if (Number.isFinite(declared) && declared > maxBytes) return Promise.reject(tooLarge(maxBytes));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const stop = () => {
      req.off("data", onData);
      req.off("end", onEnd);
      req.off("error", onError);
      req.off("aborted", onAborted);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= maxBytes) return void chunks.push(chunk);
      stop();
      req.pause();
      chunks.length = 0;
      reject(tooLarge(maxBytes));
    };
    const onEnd = () => {
      stop();
      resolve(Buffer.concat(chunks).toString("utf8"));
    };
    const onError = (err: Error) => {
      stop();
      reject(err);
    };
    const onAborted = () =>
      onError(new Error("the client closed the connection before sending the whole body"));
    req.on("data", onData);
    req.on("end", onEnd);
    req.on("error", onError);
    req.on("aborted", onAborted);
  });
}

function tooLarge(maxBytes: number): HttpError {
  return new HttpError(
    413,
    "BODY_TOO_LARGE",
    `request body is over the limit of ${maxBytes} bytes; send a smaller JSON body`,
  );
}

/** Parses and validates a JSON body with its schema: 400 naming the zod path and reason otherwise. */
export async function readJson<S extends z.ZodType>(
  req: IncomingMessage,
  schema: S,
  maxBytes = MAX_BODY_BYTES,
): Promise<z.infer<S>> {
  const text = await readBody(req, maxBytes);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new HttpError(
      400,
      "INVALID_JSON",
      `request body is not valid JSON (${(err as Error).message}); send a JSON object`,
    );
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const problems = formatIssues(parsed.error, { root: "(body)" });
    throw new HttpError(400, "INVALID_BODY", `request body is not accepted: ${problems}`);
  }
  return parsed.data;
}
