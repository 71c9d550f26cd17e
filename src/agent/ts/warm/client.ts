import { spawn } from "node:child_process";
import { closeSync, openSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import { LoomError } from "../../../shared/errors.ts";
import type { ToolResult } from "../../tool.ts";
import {
  codeStamp,
  MAX_LINE_BYTES,
  socketPathFor,
  type WarmAnswer,
  type WarmRequest,
  type WarmStatus,
} from "./socket.ts";

/**
 * `loom tool`'s side of the warm TypeScript server (warm-server.ts): finds the workspace's server,
 * starts one when none answers, and sends it one call.
 */

/** How the server process is started: the same program as this `loom`, told to serve. */
export interface ServerCommand {
  readonly command: string;
  readonly args: readonly string[];
}

/** Refused before the request was sent: nothing ran, so the call may run in-process instead. */
export class WarmUnreachable extends LoomError {
  constructor(message: string, cause?: unknown) {
    super("WARM_UNREACHABLE", message, { cause });
  }
}

function connect(socketPath: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect(socketPath);
    s.once("connect", () => {
      s.off("error", reject);
      resolve(s);
    });
    s.once("error", reject);
  });
}

/** Sends one request and reads the one-line answer. */
function exchange(socket: net.Socket, req: WarmRequest): Promise<WarmAnswer> {
  return new Promise((resolve, reject) => {
    let buffered = "";
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => {
      buffered += chunk;
      if (buffered.length > MAX_LINE_BYTES * 2) socket.destroy(new Error("answer too long"));
    });
    socket.once("error", reject);
    socket.once("close", () => {
      const line = buffered.split("\n")[0] ?? "";
      try {
        resolve(JSON.parse(line) as WarmAnswer);
      } catch {
        reject(
          new LoomError(
            "WARM_SERVER_GONE",
            "the warm TypeScript server closed the connection without an answer",
          ),
        );
      }
    });
    socket.write(`${JSON.stringify(req)}\n`);
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Starts a detached server for the workspace and waits (bounded) until it accepts connections. */
async function startServer(
  socketPath: string,
  workspace: string,
  server: ServerCommand,
  startTimeoutMs: number,
): Promise<net.Socket> {
  // Its output goes to a log beside the socket: the caller's terminal may close long before it exits.
  const log = openSync(socketPath.replace(/\.sock$/, ".log"), "w", 0o600);
  let exited: string | undefined;
  try {
    const child = spawn(server.command, [...server.args], {
      cwd: workspace,
      detached: true,
      stdio: ["ignore", log, log],
    });
    child.once("exit", (code, signal) => {
      exited = `exited ${signal ?? code}`;
    });
    child.once("error", (err) => {
      exited = err.message;
    });
    child.unref();
  } finally {
    closeSync(log);
  }
  const deadline = Date.now() + startTimeoutMs;
  for (let wait = 20; ; wait = Math.min(wait * 2, 250)) {
    try {
      return await connect(socketPath);
    } catch (err) {
      if (exited !== undefined) {
        // Another caller's server may have won the socket, in which case ours exits at once.
        const live = await connect(socketPath).catch(() => undefined);
        if (live) return live;
        throw new WarmUnreachable(
          `the warm TypeScript server ${exited} (log: ${socketPath.replace(/\.sock$/, ".log")})`,
          err,
        );
      }
      if (Date.now() > deadline) {
        throw new WarmUnreachable(
          `the warm TypeScript server did not listen within ${startTimeoutMs} ms`,
          err,
        );
      }
      await sleep(wait);
    }
  }
}

export interface WarmCallOptions {
  readonly workspace: string;
  readonly tool: string;
  readonly input: unknown;
  /** How to start a server when none answers; without it, an absent server is WarmUnreachable. */
  readonly server?: ServerCommand;
  readonly startTimeoutMs?: number;
}

/** Connects to the workspace's server, starting it if needed. */
async function reach(
  socketPath: string,
  workspace: string,
  server: ServerCommand | undefined,
  startTimeoutMs: number,
) {
  try {
    return await connect(socketPath);
  } catch (err) {
    if (!server) throw new WarmUnreachable(`no warm TypeScript server for ${workspace}`, err);
    return startServer(socketPath, path.resolve(workspace), server, startTimeoutMs);
  }
}

/** Waits (bounded) until nothing answers on the socket: a stale server is on its way out. */
async function vacated(socketPath: string, withinMs: number): Promise<void> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    const s = await connect(socketPath).catch(() => undefined);
    if (!s) return;
    s.destroy();
    if (Date.now() > deadline) {
      throw new WarmUnreachable(
        `the warm TypeScript server at ${socketPath} runs other code and did not exit`,
      );
    }
    await sleep(50);
  }
}

/** Runs one ts_* tool call in the workspace's warm server (one started from this code). */
export async function callWarm(opts: WarmCallOptions): Promise<ToolResult> {
  const socketPath = socketPathFor(opts.workspace);
  const code = codeStamp();
  const startTimeoutMs = opts.startTimeoutMs ?? 60_000;
  for (let attempt = 0; ; attempt++) {
    const socket = await reach(socketPath, opts.workspace, opts.server, startTimeoutMs);
    const a = await exchange(socket, { tool: opts.tool, input: opts.input, code });
    if ("result" in a) return a.result;
    if ("error" in a) throw new LoomError(a.error.code, a.error.message);
    if ("stale" in a && attempt === 0) {
      await vacated(socketPath, 15_000);
      continue;
    }
    // Nothing ran: the caller may run the call itself.
    throw new WarmUnreachable("the warm TypeScript server runs other code than this loom");
  }
}

/** The running server's status, or undefined when none serves the workspace. */
export async function warmStatus(workspace: string): Promise<WarmStatus | undefined> {
  const socket = await connect(socketPathFor(workspace)).catch(() => undefined);
  if (!socket) return undefined;
  const a = await exchange(socket, { status: true });
  return "status" in a ? a.status : undefined;
}

/** Asks the workspace's server to exit; whether one was running. */
export async function stopWarm(workspace: string): Promise<boolean> {
  const socket = await connect(socketPathFor(workspace)).catch(() => undefined);
  if (!socket) return false;
  const a = await exchange(socket, { stop: true });
  return "stopped" in a;
}
