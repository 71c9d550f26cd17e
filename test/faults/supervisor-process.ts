import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { freshBundle } from "../../bin/fresh-bundle.mjs";
import { LOOM_BIN } from "../helpers/cli.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

/**
 * The Supervisor bundle (`dist/supervisor.mjs`, from `npm run build`, which CI runs first) when it is
 * fresh, else the sources through bin/loom.js: the bundle starts without a TypeScript loader, and the
 * fault suites start a Supervisor for every fault.
 */
export function supervisorEntry(): string {
  return freshBundle(ROOT, "supervisor") ?? LOOM_BIN;
}

/** A real `loom supervisor` in its own process group, as an operator runs it. */
export interface SupervisorProcess {
  readonly pid: number;
  readonly url: string;
  /** Everything it printed so far (stdout and stderr). */
  output(): string;
  /** Resolves with how it ended. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  post(route: string, body: unknown): Promise<{ status: number; body: Record<string, unknown> }>;
  get(route: string): Promise<{ status: number; body: unknown }>;
  /** SIGTERM and wait (SIGKILL after `graceMs`). */
  stop(graceMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export interface StartOptions {
  readonly env: Record<string, string>;
  /** Prepended to PATH (the git trap). */
  readonly pathPrefix?: string;
  readonly onSpawn?: (pid: number) => Promise<void>;
  readonly readyMs?: number;
}

export async function startSupervisorProcess(options: StartOptions): Promise<SupervisorProcess> {
  const child: ChildProcess = spawn(
    process.execPath,
    [supervisorEntry(), "supervisor", "--no-prime", "--port", "0", "--host", "127.0.0.1"],
    {
      env: {
        PATH: `${options.pathPrefix ? `${options.pathPrefix}:` : ""}${process.env.PATH ?? ""}`,
        HOME: process.env.HOME ?? "/tmp",
        ...options.env,
      },
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  const pid = child.pid;
  if (pid === undefined) throw new Error("could not start the Supervisor");
  await options.onSpawn?.(pid);
  let out = "";
  child.stdout?.on("data", (d: Buffer) => {
    out += d.toString();
  });
  child.stderr?.on("data", (d: Buffer) => {
    out += d.toString();
  });
  const exited = once(child, "exit").then(([code, signal]) => ({
    code: code as number | null,
    signal: signal as NodeJS.Signals | null,
  }));
  let ended = false;
  void exited.then(() => {
    ended = true;
  });
  // A Supervisor starts in about a second; beside the whole suite on a slow CI machine a fault took 15–24 s
  // where it takes 2.5 s alone, so its start gets far more than it needs.
  const deadline = Date.now() + (options.readyMs ?? 120_000);
  let url: string | undefined;
  while (!url && !ended && Date.now() < deadline) {
    url = /listening on (http:\/\/[^\s]+)/.exec(out)?.[1];
    if (!url) await new Promise((r) => setTimeout(r, 20));
  }
  if (!url) {
    if (!ended) process.kill(-pid, "SIGKILL");
    throw new Error(`the Supervisor did not start:\n${out}`);
  }
  const base = url;
  const request = async (method: string, route: string, body?: unknown) => {
    const res = await fetch(`${base}${route}`, {
      method,
      headers: body === undefined ? {} : { "content-type": "application/json" },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(120_000),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {}
    return { status: res.status, body: parsed };
  };
  return {
    pid,
    url: base,
    output: () => out,
    exited,
    post: async (route, body) => {
      const r = await request("POST", route, body);
      return { status: r.status, body: (r.body ?? {}) as Record<string, unknown> };
    },
    get: (route) => request("GET", route),
    stop: async (graceMs = 40_000) => {
      if (!ended) process.kill(pid, "SIGTERM");
      const timer = setTimeout(() => {
        if (!ended) process.kill(-pid, "SIGKILL");
      }, graceMs);
      const r = await exited;
      clearTimeout(timer);
      return r;
    },
  };
}
