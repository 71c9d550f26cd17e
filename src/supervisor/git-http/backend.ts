import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import type { IncomingMessage, ServerResponse } from "node:http";
import path from "node:path";

/** The `git-http-backend` CGI program of the git on PATH (`git --exec-path`, e.g. /usr/lib/git-core). */
export function findHttpBackend(): string {
  const execPath = execFileSync("git", ["--exec-path"], { encoding: "utf8", timeout: 10_000 }).trim();
  return path.join(execPath, "git-http-backend");
}

export interface BackendCall {
  readonly program: string;
  /** The CGI variables plus git configuration for this request. */
  readonly env: Readonly<Record<string, string>>;
  /** Body bytes already read from the request (the push commands), sent first. */
  readonly prefix?: Buffer;
  /** The request body counted against this many bytes, prefix included; past it the call is cut off. */
  readonly maxBodyBytes: number;
  /** Answers a body that grew past the limit, when nothing has been sent yet. */
  readonly tooLarge: (res: ServerResponse) => void;
  /**
   * Hold the answer until the whole body has arrived (a push), so a body that grows past the limit is
   * always answered with a clean 413 rather than cut off mid-answer.
   */
  readonly holdUntilBodyEnds?: boolean;
  /** Every process still running, so close() can end them. */
  readonly running: Set<ChildProcess>;
  readonly log?: (line: string) => void;
}

const MAX_HEADER_BYTES = 16 * 1024;
const KILL_GRACE_MS = 2_000;

/**
 * What git needs from the Supervisor's environment and no more: the Supervisor holds keys, and a
 * request's processes (and the repository's hooks) see none of them; no GIT_* either, since a GIT_DIR
 * inherited from a hook would point them at another repository.
 */
export function baseEnv(): Record<string, string> {
  const env: Record<string, string> = { LC_ALL: "C" };
  for (const k of ["PATH", "HOME", "TMPDIR"]) {
    const v = process.env[k];
    if (v !== undefined) env[k] = v;
  }
  return env;
}

/**
 * Runs git-http-backend for one request: the body streamed to its stdin, its CGI header turned into
 * the HTTP status and headers, its output streamed back. A client that goes away, or a body past the
 * limit, ends the program (SIGTERM first, so receive-pack removes its quarantined objects, then SIGKILL).
 */
export function runBackend(req: IncomingMessage, res: ServerResponse, call: BackendCall): Promise<void> {
  return new Promise((resolve) => {
    // Its own process group: the upload-pack or receive-pack it starts is ended with it.
    const child = spawn(call.program, [], {
      env: call.env,
      stdio: ["pipe", "pipe", "pipe"],
      detached: true,
    });
    call.running.add(child);
    let done = false;
    let headed = false;
    let killTimer: NodeJS.Timeout | undefined;
    const stop = () => {
      if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
      try {
        process.kill(-child.pid, "SIGTERM");
      } catch {
        child.kill("SIGTERM");
      }
      killTimer ??= setTimeout(() => {
        try {
          if (child.pid !== undefined) process.kill(-child.pid, "SIGKILL");
        } catch {}
      }, KILL_GRACE_MS);
      killTimer.unref();
    };
    const finish = () => {
      if (done) return;
      done = true;
      res.off("close", onClose);
      if (!req.readableEnded) req.resume();
      resolve();
    };

    let held: { status: number; headers: Record<string, string>; body: Buffer[] } | undefined;
    // The body: counted, cut off at the limit.
    let received = call.prefix?.length ?? 0;
    const onData = (chunk: Buffer) => {
      received += chunk.length;
      if (received > call.maxBodyBytes) {
        req.off("data", onData);
        stop();
        held = undefined;
        headed = true;
        if (!res.headersSent) call.tooLarge(res);
        else res.destroy();
        return;
      }
      // After the program has gone, the rest of the body is read and dropped (still counted).
      if (child.stdin.destroyed || child.stdin.writableEnded) return;
      if (!child.stdin.write(chunk)) {
        req.pause();
        child.stdin.once("drain", () => req.resume());
      }
    };
    child.stdin.on("error", () => {});
    if (call.prefix && call.prefix.length > 0) child.stdin.write(call.prefix);
    if (req.readableEnded) child.stdin.end();
    else {
      req.on("data", onData);
      req.once("end", () => {
        if (received <= call.maxBodyBytes) child.stdin.end();
      });
      req.resume();
    }

    // A client that leaves before the answer is complete ends the program.
    const onClose = () => {
      if (!res.writableFinished) stop();
    };
    res.on("close", onClose);

    // The CGI header, then the body as it comes.
    let head = Buffer.alloc(0);
    const release = () => {
      if (!held || res.headersSent || res.destroyed) return;
      res.writeHead(held.status, held.headers);
      for (const b of held.body) res.write(b);
      held = undefined;
    };
    if (call.holdUntilBodyEnds) req.once("end", release);
    child.stdout.on("data", (chunk: Buffer) => {
      if (held) {
        held.body.push(chunk);
        return;
      }
      if (headed) {
        if (!res.destroyed && !res.write(chunk)) {
          child.stdout.pause();
          res.once("drain", () => child.stdout.resume());
        }
        return;
      }
      head = Buffer.concat([head, chunk]);
      const end = headerEnd(head);
      if (end === undefined) {
        if (head.length > MAX_HEADER_BYTES) {
          headed = true;
          stop();
          answerBackendFailure(res, "git http-backend wrote no CGI header");
        }
        return;
      }
      headed = true;
      const { status, headers } = parseCgiHeader(head.subarray(0, end.at).toString("latin1"));
      const rest = head.subarray(end.at + end.length);
      if (call.holdUntilBodyEnds && !req.readableEnded) {
        held = { status, headers, body: rest.length > 0 ? [rest] : [] };
        return;
      }
      res.writeHead(status, headers);
      if (rest.length > 0) res.write(rest);
    });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => {
      if (stderr.length < 4096) stderr += chunk.toString("utf8");
    });
    child.on("error", (err) => {
      call.log?.(`git-http: could not run ${call.program}: ${err.message}`);
    });
    child.on("close", (code, signal) => {
      call.running.delete(child);
      if (killTimer) clearTimeout(killTimer);
      if (stderr.trim()) call.log?.(`git-http: ${call.env.PATH_INFO}: ${stderr.trim()}`);
      // A program that ended before the body did (it refused the request early): its answer stands.
      release();
      if (!headed) {
        headed = true;
        answerBackendFailure(
          res,
          `git http-backend ended (${signal ?? `exit code ${code}`}) without answering`,
        );
      } else if (!res.writableEnded && !res.destroyed) res.end();
      finish();
    });
  });
}

function headerEnd(buf: Buffer): { at: number; length: number } | undefined {
  const crlf = buf.indexOf("\r\n\r\n");
  const lf = buf.indexOf("\n\n");
  if (crlf >= 0 && (lf < 0 || crlf <= lf)) return { at: crlf, length: 4 };
  if (lf >= 0) return { at: lf, length: 2 };
  return undefined;
}

const PASSED_HEADERS = new Set(["content-type", "cache-control", "expires", "pragma", "content-length"]);

function parseCgiHeader(text: string): { status: number; headers: Record<string, string> } {
  let status = 200;
  const headers: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    const colon = line.indexOf(":");
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (name === "status") {
      const n = Number.parseInt(value, 10);
      if (n >= 100 && n <= 599) status = n;
    } else if (PASSED_HEADERS.has(name)) headers[name] = value;
  }
  return { status, headers };
}

function answerBackendFailure(res: ServerResponse, why: string): void {
  if (res.headersSent || res.destroyed) {
    res.destroy();
    return;
  }
  res.writeHead(502, { "content-type": "text/plain; charset=utf-8" });
  res.end(`${why}\n`);
}
