import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EvalEngine } from "../../lab-runtime/eval/engine.ts";

/** The evaluator process dies with its engine, however the engine ends. */

const ENGINE = fileURLToPath(new URL("../../lab-runtime/eval/engine.ts", import.meta.url));
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "loom-eval-lifecycle-"));
});

const spawned: ChildProcess[] = [];

afterAll(async () => {
  for (const child of spawned)
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  await rm(dir, { recursive: true, force: true });
});

/** Alive and not a zombie. */
function running(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false;
  }
}

async function waitGone(pid: number, withinMs: number): Promise<boolean> {
  const deadline = Date.now() + withinMs;
  while (Date.now() < deadline) {
    if (!running(pid)) return true;
    await new Promise((r) => setTimeout(r, 25));
  }
  return !running(pid);
}

/**
 * A process that starts an engine, prints its evaluator's pid, runs `form` (never answering) and then
 * ends the way `end` says.
 */
async function engineProcess(end: "sigkill" | "crash") {
  const script = path.join(dir, `engine-${end}.mts`);
  await writeFile(
    script,
    `import { EvalEngine } from ${JSON.stringify(ENGINE)};
const engine = new EvalEngine({ workspace: ${JSON.stringify(dir)}, timeoutMs: 60_000 });
const res = await engine.eval("process.pid");
console.log("EVALUATOR " + res.value);
void engine.eval("while (true) {}");
${end === "crash" ? 'setTimeout(() => { throw new Error("the engine process crashed") }, 300);' : ""}
`,
  );
  const child = spawn(process.execPath, ["--import", "tsx", script], { stdio: ["ignore", "pipe", "pipe"] });
  // Killed on every path, a failed test included (its evaluator follows it).
  spawned.push(child);
  child.stderr.resume();
  const pid = await new Promise<number>((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error(`no evaluator pid within 20 s; stdout: ${out}`)), 20_000);
    child.stdout.on("data", (c: Buffer) => {
      out += c.toString();
      const m = /EVALUATOR (\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`the engine process exited (${code}) before printing`));
    });
  });
  return { child, evaluatorPid: pid };
}

describe("evaluator lifetime", () => {
  it("runs forms in a process of its own, which close() ends", async () => {
    const engine = new EvalEngine({ workspace: dir });
    const res = await engine.eval("process.pid");
    const pid = res.value as number;
    expect(pid).not.toBe(process.pid);
    expect(running(pid)).toBe(true);
    await engine.close();
    expect(await waitGone(pid, 2000)).toBe(true);
  });

  it("ends when the engine's process is SIGKILLed, even with a form spinning", async () => {
    const { child, evaluatorPid } = await engineProcess("sigkill");
    try {
      expect(running(evaluatorPid)).toBe(true);
      child.kill("SIGKILL");
      expect(await waitGone(evaluatorPid, 3000)).toBe(true);
    } finally {
      child.kill("SIGKILL");
    }
  }, 30_000);

  it("ends when the engine's process crashes", async () => {
    const { child, evaluatorPid } = await engineProcess("crash");
    try {
      await new Promise((r) => child.once("exit", r));
      expect(await waitGone(evaluatorPid, 3000)).toBe(true);
    } finally {
      child.kill("SIGKILL");
    }
  }, 30_000);

  it.runIf(process.platform === "linux")(
    "is the first process the kernel's out-of-memory killer takes",
    async () => {
      const engine = new EvalEngine({ workspace: dir });
      try {
        const res = await engine.eval(
          "require('node:fs').readFileSync('/proc/self/oom_score_adj', 'utf8').trim()",
        );
        expect(res).toEqual({ status: "ok", value: "1000" });
      } finally {
        await engine.close();
      }
    },
  );

  it("replaces a killed evaluator with a fresh one", async () => {
    const engine = new EvalEngine({ workspace: dir });
    try {
      const first = (await engine.eval("process.pid")).value as number;
      process.kill(first, "SIGKILL");
      await waitGone(first, 2000);
      // Right away: the engine may not have read the exit yet, and the form must not pay for it.
      const next = await engine.eval("process.pid");
      expect(next.status).toBe("ok");
      expect(next.value).not.toBe(first);
      expect(next.message).toMatch(
        /module state was reset: the (eval's evaluator process was killed by SIGKILL|evaluator process died between evals)/,
      );
    } finally {
      await engine.close();
    }
  });
});
