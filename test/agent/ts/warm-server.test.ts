import { execFile, spawn } from "node:child_process";
import { cp, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stopWarm, warmStatus } from "../../../src/agent/ts/warm/client.ts";
import { socketPathFor } from "../../../src/agent/ts/warm/socket.ts";
import { repoRoot } from "./helpers.ts";

/**
 * `loom tool ts_*` as separate processes, the way a person runs it: the first call starts the
 * workspace's warm server, later calls reuse its Project, and the server exits by itself when idle.
 */

const loom = path.join(repoRoot, "bin/loom.js");
const OBSERVABLE = "src/internal/Observable.ts";
const workspaces: string[] = [];

interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

function cli(args: string[]): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [loom, "tool", ...args],
      { cwd: repoRoot, timeout: 120_000, maxBuffer: 16 * 2 ** 20 },
      (err, stdout, stderr) => resolve({ code: err ? ((err.code as number) ?? -1) : 0, stdout, stderr }),
    );
  });
}

async function tool(ws: string, name: string, input: unknown, extra: string[] = []) {
  const r = await cli([name, "--input", JSON.stringify(input), "--workspace", ws, ...extra]);
  expect(r.stderr).toBe("");
  const out = JSON.parse(r.stdout) as { content: string; details?: unknown; isError?: boolean };
  return { code: r.code, content: out.content, details: out.details, isError: out.isError };
}

async function rxjsCopy(): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "loom-warm-"));
  await cp(path.join(repoRoot, "test/fixtures/real/rxjs"), dir, { recursive: true });
  workspaces.push(dir);
  return dir;
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** Waits (bounded) until the process is gone. */
async function gone(pid: number, withinMs: number): Promise<boolean> {
  const deadline = Date.now() + withinMs;
  while (alive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  return !alive(pid);
}

let ws: string;
beforeAll(async () => {
  ws = await rxjsCopy();
});
afterAll(async () => {
  for (const dir of workspaces) {
    const s = await warmStatus(dir).catch(() => undefined);
    await stopWarm(dir).catch(() => false);
    if (s) expect(await gone(s.pid, 30_000)).toBe(true);
    // A test that failed halfway may leave the socket file it planted.
    await rm(socketPathFor(dir), { force: true });
    await rm(dir, { recursive: true, force: true });
  }
});

describe("loom tool with a warm TypeScript server", () => {
  it("reuses the first call's Project in later calls and answers as the in-process call does", async () => {
    const input = { path: `${OBSERVABLE}#Observable.forEach` };
    const cold = await tool(ws, "ts_outline", input, ["--no-warm"]);
    expect(await warmStatus(ws)).toBeUndefined();

    const first = await tool(ws, "ts_outline", input, ["--warm-idle", "120"]);
    const afterFirst = await warmStatus(ws);
    expect(afterFirst).toMatchObject({ calls: 1, projectsBuilt: 1, workspace: path.resolve(ws) });
    const second = await tool(ws, "ts_outline", input, ["--warm-idle", "120"]);
    expect(await warmStatus(ws)).toMatchObject({ pid: afterFirst!.pid, calls: 2, projectsBuilt: 1 });

    expect(first).toEqual(cold);
    expect(second).toEqual(cold);
    expect(cold.content).toBe(
      `${OBSERVABLE} (487 lines)\n` +
        "  #Observable.forEach method L244-288: forEach(next: (value: T) => void): Promise<void>;",
    );
  }, 180_000);

  it("sees an edit made through it and a change made on disk by someone else", async () => {
    const file = "src/internal/util/noop.ts";
    const edited = await tool(ws, "ts_replace_body", { path: `${file}#noop`, body: "return;" });
    expect(edited).toMatchObject({ code: 0, isError: false });
    expect(await readFile(path.join(ws, file), "utf8")).toContain("export function noop() {\n  return;\n}");
    await writeFile(path.join(ws, file), "export function noop(): void {}\nexport const later = 1;\n");
    const read = await tool(ws, "ts_read", { path: `${file}#later` });
    expect(read.content).toBe(`${file}#later (variable, lines 2-2)\nexport const later = 1;`);
    expect(await warmStatus(ws)).toMatchObject({ calls: 4, projectsBuilt: 1 });
  }, 120_000);

  it("reports a tool's failure as the in-process call does, with exit code 1", async () => {
    const bad = { path: `${OBSERVABLE}#Observable.nope` };
    const warm = await tool(ws, "ts_read", bad);
    expect(warm).toEqual(await tool(ws, "ts_read", bad, ["--no-warm"]));
    expect(warm).toMatchObject({ code: 1, isError: true });
    expect(warm.content).toContain("no declaration `Observable.nope`");
  }, 120_000);

  it("exits after its idle time, removing its socket", async () => {
    const dir = await rxjsCopy();
    await tool(dir, "ts_outline", { path: "src/internal/util/noop.ts" }, ["--warm-idle", "2"]);
    const s = await warmStatus(dir);
    expect(s).toBeDefined();
    expect(await gone(s!.pid, 30_000)).toBe(true);
    await expect(stat(socketPathFor(dir))).rejects.toThrow(/ENOENT/);
  }, 120_000);

  it("replaces a socket left by a server that was killed", async () => {
    const dir = await rxjsCopy();
    const socket = socketPathFor(dir);
    // A listener killed with SIGKILL leaves its socket file behind, with nobody answering.
    const child = spawn(
      process.execPath,
      ["-e", `require("node:net").createServer().listen(${JSON.stringify(socket)}, () => console.log("up"))`],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    await new Promise((r) => child.stdout.once("data", r));
    child.kill("SIGKILL");
    await new Promise((r) => child.once("exit", r));
    expect((await stat(socket)).isSocket()).toBe(true);

    const r = await tool(dir, "ts_outline", { path: "src/internal/util/noop.ts" }, ["--warm-idle", "60"]);
    expect(r.content).toBe(
      "src/internal/util/noop.ts (2 lines)\n  #noop function L2-2: export function noop() {…}",
    );
    const s = await warmStatus(dir);
    expect(s).toMatchObject({ calls: 1 });
    const stopped = await cli(["--stop-warm", "--workspace", dir]);
    expect(stopped.stdout).toBe(`stopped the warm server of ${path.resolve(dir)}\n`);
    expect(await gone(s!.pid, 30_000)).toBe(true);
  }, 120_000);

  it("a server running other code than the caller refuses the call and exits; the next call starts a fresh one", async () => {
    const dir = await rxjsCopy();
    const input = { path: "src/internal/util/noop.ts" };
    await tool(dir, "ts_outline", input, ["--warm-idle", "60"]);
    const old = (await warmStatus(dir))!;
    const answer = await new Promise<string>((resolve, reject) => {
      const s = net.connect(socketPathFor(dir), () => {
        s.end(`${JSON.stringify({ tool: "ts_outline", input, code: "other code" })}\n`);
      });
      let text = "";
      s.setEncoding("utf8");
      s.on("data", (c: string) => {
        text += c;
      });
      s.on("close", () => resolve(text));
      s.on("error", reject);
    });
    expect(JSON.parse(answer)).toEqual({ stale: true });
    expect(await gone(old.pid, 30_000)).toBe(true);
    await tool(dir, "ts_outline", input, ["--warm-idle", "60"]);
    const fresh = await warmStatus(dir);
    expect(fresh).toMatchObject({ calls: 1, projectsBuilt: 1 });
    expect(fresh!.pid).not.toBe(old.pid);
  }, 120_000);

  it("refuses a bad --warm-idle, naming what is accepted", async () => {
    const r = await cli(["ts_outline", "--input", '{"path":"src"}', "--workspace", ws, "--warm-idle", "0"]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("--warm-idle 0: expected a number of seconds in (0, 86400]");
  }, 60_000);
});
