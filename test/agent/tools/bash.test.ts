import { promises as fs, readFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ToolRegistry } from "../../../src/agent/tool-registry.ts";
import { baseTools } from "../../../src/agent/tools/base.ts";
import { type TempWorkspace, tempWorkspace } from "./temp-workspace.ts";

let ws: TempWorkspace;
beforeAll(async () => {
  ws = await tempWorkspace("loom-bash-");
});
afterAll(() => ws.cleanup());

/** Running and not a zombie (PID 1 in containers may never reap orphans, so a zombie counts as gone). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}

async function goneWithin(pid: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (!alive(pid)) return true;
    await new Promise((r) => setTimeout(r, 25));
  }
  return !alive(pid);
}

const pidFrom = async (file: string) => Number((await ws.read(file)).trim());

describe("bash", () => {
  it("runs in the workspace and returns stdout, stderr and the exit code", async () => {
    const r = await ws.run("bash", { command: "pwd; echo to-out; sleep 0.1; echo to-err >&2" });
    expect(r.isError).toBe(false);
    // Two pipes have no common order; the pause makes this one reliable.
    expect(r.content).toBe(`${await fs.realpath(ws.root)}\nto-out\nto-err\n[exit code 0]`);
    expect(r.details).toMatchObject({ exitCode: 0, timedOut: false, aborted: false });
  });

  it("reports a non-zero exit as an error, and no output as such", async () => {
    const r = await ws.run("bash", { command: "exit 3" });
    expect(r).toMatchObject({ isError: true, content: "(no output)\n[exit code 3]" });
  });

  it("closes stdin so a reading command cannot hang", async () => {
    const r = await ws.run("bash", { command: "cat; read line; echo read-status=$?", timeout: 10 });
    expect(r.content).toBe("read-status=1\n[exit code 0]");
  });

  it("drains more than 1 MB of output without hanging and keeps the tail with a note", async () => {
    const started = Date.now();
    const r = await ws.run("bash", {
      // One stream (2>&1) so the order of the tail is defined.
      command:
        "exec 2>&1; head -c 3000000 /dev/zero | tr '\\0' a | fold -w 99; seq 1 20000 >&2; echo last-line",
      timeout: 60,
    });
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(r.isError).toBe(false);
    expect(r.details).toMatchObject({ outputBytes: 3_030_303 + 108_894 + 10 });
    const rows = r.content.split("\n");
    expect(rows[0]).toMatch(/^\[output truncated: showing last 2000 of 50304 lines; earlier output was cut/);
    expect(rows.at(-2)).toBe("last-line");
    expect(rows.at(-3)).toBe("20000");
    expect(rows.at(-1)).toBe("[exit code 0]");
    expect(Buffer.byteLength(r.content)).toBeLessThan(52 * 1024);
  });

  it("drains more than 1 MB written to stderr alone", async () => {
    const r = await ws.run("bash", {
      command: "head -c 2000000 /dev/zero | tr '\\0' b >&2; echo end >&2",
      timeout: 60,
    });
    expect(r.details).toMatchObject({ exitCode: 0, outputBytes: 2_000_004 });
    // One 2 MB line: only its end fits, and the note says so.
    expect(r.content).toMatch(/^\[output truncated: showing last part of 1 of 1 lines \(49 KB limit\);/);
    expect(r.content).toMatch(/bbbend\n\[exit code 0\]$/);
    expect(r.truncated).toBe(false); // cut once, by the tool, not again by the registry
  });

  it("on timeout kills the whole process group, grandchildren included", async () => {
    const r = await ws.run("bash", {
      command:
        "sleep 300 & echo $! > child.pid; bash -c 'sleep 301 & echo $! > grandchild.pid; wait' & sleep 0.2; echo started; wait",
      timeout: 0.8,
    });
    expect(r.isError).toBe(true);
    expect(r.content).toMatch(
      /^started\n\[timed out after 0\.8 s: the command and every process it started were killed/,
    );
    expect(r.details).toMatchObject({ timedOut: true, exitCode: null });
    for (const file of ["child.pid", "grandchild.pid"]) {
      const pid = await pidFrom(file);
      expect(pid).toBeGreaterThan(1);
      expect(await goneWithin(pid, 3_000)).toBe(true);
    }
  });

  it("escalates to SIGKILL when the command ignores SIGTERM", async () => {
    const started = Date.now();
    const r = await ws.run("bash", {
      command: "trap '' TERM; sleep 300 & echo $! > stubborn.pid; wait",
      timeout: 0.3,
    });
    expect(r.details).toMatchObject({ timedOut: true });
    expect(await goneWithin(await pidFrom("stubborn.pid"), 3_000)).toBe(true);
    expect(Date.now() - started).toBeLessThan(8_000);
  });

  it("kills background processes left behind when the command finishes", async () => {
    const r = await ws.run("bash", { command: "sleep 300 >/dev/null 2>&1 & echo $! > bg.pid; echo done" });
    expect(r.content).toBe("done\n[exit code 0]");
    expect(await goneWithin(await pidFrom("bg.pid"), 3_000)).toBe(true);
  });

  it("is killed with its group when the run is aborted", async () => {
    const abort = new AbortController();
    setTimeout(() => abort.abort(), 400);
    const r = await ws.run(
      "bash",
      { command: "sleep 300 & echo $! > aborted.pid; echo waiting; wait" },
      abort.signal,
    );
    expect(r.isError).toBe(true);
    expect(r.content).toBe(
      "the bash tool was aborted because the run was cancelled\n\nwaiting\n[aborted: the run was cancelled and the command's processes were killed]",
    );
    expect(await goneWithin(await pidFrom("aborted.pid"), 3_000)).toBe(true);
  });

  it("is killed when the registry's per-call timeout is shorter than its own", async () => {
    const reg = new ToolRegistry(baseTools);
    const r = await reg.execute(
      "bash",
      { command: "sleep 300 & echo $! > short.pid; wait" },
      { workspace: ws.root, signal: new AbortController().signal, timeoutMs: 300 },
    );
    expect(r.content).toMatch(/^the bash tool timed out after 300 ms/);
    expect(await goneWithin(await pidFrom("short.pid"), 3_000)).toBe(true);
  });

  it("rejects a timeout over the maximum, naming the unit and the limit", async () => {
    const r = await ws.run("bash", { command: "true", timeout: 120_000 });
    expect(r.isError).toBe(true);
    expect(r.content).toMatch(
      /^the bash tool was called with invalid input: timeout: .*<=600 — rewrite the input$/,
    );
    const empty = await ws.run("bash", { command: "" });
    expect(empty.content).toMatch(/command: /);
  });

  it("reports a workspace that is gone instead of a confusing spawn error", async () => {
    const reg = new ToolRegistry(baseTools);
    const missing = path.join(ws.root, "no-such-dir");
    const r = await reg.execute(
      "bash",
      { command: "true" },
      { workspace: missing, signal: new AbortController().signal },
    );
    expect(r.isError).toBe(true);
    expect(r.content).toMatch(new RegExp(`^could not start bash in ${missing}: `));
  });

  it("says in its description that it is not path-confined", () => {
    const bash = baseTools.find((t) => t.name === "bash")!;
    expect(bash.description).toMatch(/not confined to the workspace/);
    expect(path.isAbsolute(ws.root)).toBe(true);
  });
});
