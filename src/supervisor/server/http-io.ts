import type { IncomingMessage, ServerResponse } from "node:http";
import type { z } from "zod";
import type { ErrorBody } from "../../../schemas/supervisor.ts";
import { sendJson as sendSharedJson } from "../../shared/http-json.ts";

export const MAX_BODY_BYTES = 1024 * 1024;

/** An answer other than 2xx: a status, a stable UPPER_SNAKE code and a message saying what to change. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
  }
}

/** JSON answers of the Supervisor are never cached (they describe state that changes). */
export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  sendSharedJson(res, status, body, { "cache-control": "no-store", ...headers });
}

export function sendError(res: ServerResponse, err: HttpError): void {
  const body: ErrorBody = { error: { code: err.code, message: err.message } };
  sendJson(res, err.status, body, { ...err.headers });
}

/** The body as text, refusing more than MAX_BODY_BYTES without buffering the rest. */
export async function readBody(req: IncomingMessage): Promise<string> {
  const declared = Number(req.headers["content-length"]);
  if (Number.isFinite(declared) && declared > MAX_BODY_BYTES) throw tooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw tooLarge();
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString("utf8");
}

function tooLarge(): HttpError {
  return new HttpError(
    413,
    "BODY_TOO_LARGE",
    `request body is over ${MAX_BODY_BYTES} bytes; send a smaller JSON body`,
    {
      connection: "close",
    },
  );
}

/** Parses and validates a JSON body with its schema: 400 naming the zod path and reason otherwise. */
export async function readJson<S extends z.ZodType>(req: IncomingMessage, schema: S): Promise<z.infer<S>> {
  const text = await readBody(req);
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
