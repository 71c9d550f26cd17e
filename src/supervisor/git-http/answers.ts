import type { IncomingMessage, ServerResponse } from "node:http";
import { type CommandSection, readCommandSection } from "./push-commands.ts";
import { RECEIVE_PACK_RESULT, refusalReport, wantsReport } from "./push-report.ts";

// How the git endpoint reads a push's command list and answers without git-http-backend: a refusal in
// git's own report, or plain text; either way the rest of the body is read (bounded) so the client sees it.

/** The ref updates in front of a pack; a push of one branch needs a few hundred bytes. */
const MAX_COMMAND_SECTION_BYTES = 64 * 1024;
/** How much of a refused body is still read so the client sees the refusal (then the connection is cut). */
const DRAIN_AFTER_ANSWER_BYTES = 64 * 1024 * 1024;

/** Reads the body up to the end of its command list; `bytes` is everything read, to be sent on. */
export function readCommands(req: IncomingMessage): Promise<{ section: CommandSection; bytes: Buffer }> {
  return new Promise((resolve) => {
    let bytes = Buffer.alloc(0);
    const settle = (section: CommandSection) => {
      req.off("data", onData);
      req.off("end", onEnd);
      req.pause();
      resolve({ section, bytes });
    };
    const onData = (chunk: Buffer) => {
      bytes = Buffer.concat([bytes, chunk]);
      const section = readCommandSection(bytes);
      if (section.kind !== "incomplete") return settle(section);
      if (bytes.length > MAX_COMMAND_SECTION_BYTES) {
        settle({
          kind: "invalid",
          why: `the command list is longer than ${MAX_COMMAND_SECTION_BYTES} bytes`,
        });
      }
    };
    const onEnd = () => settle(readCommandSection(bytes));
    req.on("data", onData);
    req.on("end", onEnd);
  });
}

/**
 * Refuses a push after reading the rest of its body (bounded), answering in git's report-status so the
 * person or agent pushing sees why; a client that asked for no report gets a plain 403.
 */
export function refuse(
  req: IncomingMessage,
  res: ServerResponse,
  capabilities: readonly string[],
  refused: readonly { ref: string; reason: string }[],
  drainBytes: number,
): void {
  const answer = () => {
    if (res.headersSent || res.destroyed) return;
    if (wantsReport(capabilities)) {
      const body = refusalReport(capabilities, refused);
      res.writeHead(200, { "content-type": RECEIVE_PACK_RESULT, "content-length": body.length });
      res.end(body);
    } else {
      const text = refused.map((r) => `${r.ref}: ${r.reason}`).join("\n");
      res.writeHead(403, { "content-type": "text/plain; charset=utf-8" });
      res.end(`push refused:\n${text}\n`);
    }
  };
  if (req.readableEnded) {
    answer();
    return;
  }
  let left = drainBytes;
  req.on("data", (chunk: Buffer) => {
    left -= chunk.length;
    if (left < 0) req.destroy();
  });
  req.once("end", answer);
  req.resume();
}

/** A plain-text answer; git shows such a body's lines as `remote: …` where it shows one at all. */
export function plain(
  req: IncomingMessage,
  res: ServerResponse,
  status: number,
  message: string,
  headers: Record<string, string> = {},
): void {
  if (res.headersSent) return void res.destroy();
  const body = `${message}\n`;
  res.writeHead(status, {
    "content-type": "text/plain; charset=utf-8",
    "content-length": Buffer.byteLength(body),
    ...headers,
  });
  res.end(body);
  if (req.readableEnded) return;
  // A body nobody will read is read and dropped, so the client, still sending, gets to read the answer
  // (a connection cut under it says only "connection reset"); one that goes on past the cap is cut.
  let left = DRAIN_AFTER_ANSWER_BYTES;
  req.on("data", (chunk: Buffer) => {
    left -= chunk.length;
    if (left < 0) req.destroy();
  });
  req.resume();
}
