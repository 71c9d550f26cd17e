import type { IncomingMessage } from "node:http";
import type { z } from "zod";
import { HttpError } from "./http-error.ts";

export const MAX_BODY_BYTES = 1024 * 1024;

/** The body as text, refusing more than `maxBytes` without buffering the rest. */
export async function readBody(req: IncomingMessage, maxBytes = MAX_BODY_BYTES): Promise<string> {
  const declared = Number(req.headers["content-length"]);
  if (Number.isFinite(declared) && declared > maxBytes) throw tooLarge(maxBytes);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > maxBytes) throw tooLarge(maxBytes);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString("utf8");
}

function tooLarge(maxBytes: number): HttpError {
  return new HttpError(
    413,
    "BODY_TOO_LARGE",
    `request body is over ${maxBytes} bytes; send a smaller JSON body`,
    { connection: "close" },
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
    const problems = parsed.error.issues.map(
      (i) => `${i.path.length ? i.path.join(".") : "(body)"}: ${i.message}`,
    );
    throw new HttpError(400, "INVALID_BODY", `request body is not accepted: ${problems.join("; ")}`);
  }
  return parsed.data;
}
