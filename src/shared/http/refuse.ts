import type { IncomingMessage, ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { HttpError } from "./http-error.ts";

/** Turns a refusal into the JSON body a server answers with (ErrorBody, or the Lab's EvalResponse). */
export type ErrorBodyOf = (err: HttpError) => unknown;

/** Reads and discards what is left of a request body, up to `limit` bytes; past that the socket closes. */
function drain(req: IncomingMessage, limit: number): Promise<void> {
  return new Promise((resolve) => {
    if (req.readableEnded || req.destroyed) return resolve();
    let seen = 0;
    req.on("data", (chunk: Buffer) => {
      seen += chunk.length;
      if (seen > limit) req.destroy();
    });
    req.once("end", () => resolve());
    req.once("close", () => resolve());
    req.resume();
  });
}

/**
 * Answers a refusal. When the client is still sending its body, the answer goes out at once but the
 * connection stays open until the rest has arrived (up to `drainBytes`; the request timeout bounds the
 * time): closing a socket with unread data makes the kernel reset it, and the client then sees
 * ECONNRESET instead of the 413 or 415.
 */
export function answerRefusal(
  req: IncomingMessage,
  res: ServerResponse,
  err: HttpError,
  bodyOf: ErrorBodyOf,
  drainBytes: number,
): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  const text = JSON.stringify(bodyOf(err));
  // A request without a body is complete as soon as its headers are read: its connection may stay open.
  const framed =
    req.headers["transfer-encoding"] !== undefined || Number(req.headers["content-length"] ?? 0) > 0;
  const unread = framed && !req.complete;
  res.writeHead(err.status, {
    "content-type": "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(text),
    "cache-control": "no-store",
    ...err.headers,
    ...(unread ? { connection: "close" } : {}),
  });
  if (!unread) {
    res.end(text);
    return;
  }
  res.write(text);
  void drain(req, drainBytes).then(() => res.end());
}

const REASONS: Readonly<Record<number, string>> = {
  400: "Bad Request",
  405: "Method Not Allowed",
  408: "Request Timeout",
  431: "Request Header Fields Too Large",
};

/**
 * Node's parser refused the request before any handler ran (malformed, headers too large, too slow):
 * answer in the server's own JSON error shape instead of Node's bare status line, then close.
 */
export function answerClientError(socket: Socket, err: HttpError, bodyOf: ErrorBodyOf): void {
  const inFlight = (socket as unknown as { _httpMessage?: ServerResponse })._httpMessage;
  if (socket.writable && !inFlight?.headersSent) {
    const text = JSON.stringify(bodyOf(err));
    socket.write(
      `HTTP/1.1 ${err.status} ${REASONS[err.status] ?? "Error"}\r\n` +
        "content-type: application/json; charset=utf-8\r\n" +
        `content-length: ${Buffer.byteLength(text)}\r\n` +
        "cache-control: no-store\r\nconnection: close\r\n\r\n" +
        text,
    );
  }
  socket.destroySoon();
  // A client that never reads its answer does not keep the socket either.
  setTimeout(() => socket.destroy(), 1000).unref();
}

/**
 * What Node's parser refused, as an HttpError naming the limit or the problem; `timeout` says what the
 * time limits are, `expected` what a well-formed request to this server looks like.
 */
export function parserRefusal(
  err: NodeJS.ErrnoException,
  words: { readonly timeout: string; readonly expected: string },
): HttpError {
  if (err.code === "ERR_HTTP_REQUEST_TIMEOUT")
    return new HttpError(408, "REQUEST_TIMEOUT", `the request did not arrive in time: ${words.timeout}`);
  if (err.code === "HPE_HEADER_OVERFLOW")
    return new HttpError(
      431,
      "HEADERS_TOO_LARGE",
      "the request headers are over 16 KiB; send smaller headers",
    );
  return new HttpError(
    400,
    "MALFORMED_REQUEST",
    `the request is not well-formed HTTP/1.1 (${err.code ?? err.message}); send ${words.expected}`,
  );
}
