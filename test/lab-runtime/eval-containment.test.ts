import { type ChildProcess, spawn } from "node:child_process";
import { setPriority } from "node:os";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EvalEngine } from "../../lab-runtime/eval/engine.ts";
import { makeWorkspace } from "./workspace.ts";

/**
 * A form must not be able to take the engine's process down, outlive its answer, or read the
 * process's secrets. Timing bounds are measured with the other core kept busy.
 */

const SECRETS = {
  LOOM_LAB_API_KEY: "sk-lab-secret-1",
  ANTHROPIC_API_KEY: "sk-ant-secret-2",
  LOOM_LAB_TOKEN: "lab-token-secret-3",
  LOOM_SUPERVISOR_KEY: "sup-secret-4",
};

let ws: Awaited<ReturnType<typeof makeWorkspace>>;
let engine: EvalEngine;
let load: ChildProcess | undefined;

/**
 * One busy process for the whole file (2 cores: the engine gets one, this takes the other), at the
 * lowest priority: run alone it takes the idle core; in the whole suite, where the other files keep
 * every core busy already, it takes next to nothing from them.
 */
function startLoad(): ChildProcess {
  const child = spawn(
    process.execPath,
    ["-e", "const end = Date.now() + 180000; while (Date.now() < end) {}"],
    {
      stdio: "ignore",
    },
  );
  child.unref();
  if (child.pid !== undefined) setPriority(child.pid, 19);
  return child;
}

beforeAll(async () => {
  Object.assign(process.env, SECRETS);
  ws = await makeWorkspace({ "src/counter.ts": "let n = 0;\nexport const next = (): number => ++n;\n" });
  engine = new EvalEngine({ workspace: ws.root, timeoutMs: 2000 });
  await engine.warm();
  load = startLoad();
});

afterAll(async () => {
  load?.kill("SIGKILL");
  for (const key of Object.keys(SECRETS)) delete process.env[key];
  await engine?.close();
  await ws?.remove();
});

async function timed<T>(work: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const started = performance.now();
  const value = await work();
  return { value, ms: performance.now() - started };
}

/** Numbers for the notes: printed, since what the machine does under load is the point. */
function report(what: string, ms: number | number[]): void {
  const list = Array.isArray(ms) ? ms : [ms];
  console.log(`[measured] ${what}: ${list.map((m) => `${Math.round(m)} ms`).join(", ")}`);
}

/** `runs` evals of `form` that must fail by `timeoutMs` (or sooner, by memory): how long each took. */
async function timeoutRuns(
  form: string,
  timeoutMs: number,
  runs: number,
  expected: RegExp,
): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    // The clock starts with the eval: after a kill, the next one first waits for a fresh evaluator.
    await engine.warm();
    const { value: res, ms } = await timed(() => engine.eval(form, timeoutMs));
    expect(res.status).toBe("error");
    expect(res.message).toMatch(expected);
    times.push(ms);
  }
  return times;
}

/**
 * The median answer comes within the timeout + 100 ms. Single runs may exceed it when the machine
 * stalls every thread (other test files, CPU quota): those are bounded more loosely, and every one
 * is still far from the old behaviour (an answer only once the builtin returned, or the process died).
 */
function expectWithin(times: number[], timeoutMs: number): void {
  const sorted = [...times].sort((a, b) => a - b);
  expect(sorted[Math.floor(sorted.length / 2)]).toBeLessThan(timeoutMs + 100);
  expect(sorted[sorted.length - 1]).toBeLessThan(timeoutMs + 500);
}

async function expectAliveAfter(): Promise<void> {
  expect(await engine.eval("1 + 1")).toMatchObject({ status: "ok", value: 2 });
}

describe("memory a form cannot use to take the process down", () => {
  it("answers a billion-element array within the timeout + 100 ms, and the engine lives on", async () => {
    const times = await timeoutRuns("new Array(1e9).fill(0).length", 2000, 3, /TimeoutError|out of memory/);
    report("new Array(1e9).fill(0), timeout 2000 ms, other core busy", times);
    expectWithin(times, 2000);
    await expectAliveAfter();
  }, 60_000);

  it("answers a heap-filling loop with out of memory, well within the timeout", async () => {
    const small = new EvalEngine({ workspace: ws.root, memoryLimitMb: 64, timeoutMs: 20_000 });
    try {
      const { value: res, ms } = await timed(() =>
        small.eval("const keep: string[][] = []; for (;;) keep.push(new Array(100_000).fill('x'))"),
      );
      report("heap-filling loop, 64 MB heap limit", ms);
      expect(res.status).toBe("error");
      expect(res.message).toMatch(/^RangeError: out of memory/);
      expect(ms).toBeLessThan(20_100);
      expect(await small.eval("'still here'")).toEqual({ status: "ok", value: "still here" });
    } finally {
      await small.close();
    }
  }, 60_000);

  it("refuses 3 GB of Buffers allocated in 100 MB pieces", async () => {
    const res = await engine.eval(
      "const keep: Buffer[] = []; for (let i = 0; i < 30; i++) keep.push(Buffer.alloc(100 * 1024 * 1024)); keep.length",
      20_000,
    );
    expect(res.status).toBe("error");
    expect(res.message).toMatch(/out of memory|allocation failed/i);
    await expectAliveAfter();
  }, 60_000);

  it("refuses 3 GB of ArrayBuffers written to, piece by piece", async () => {
    const res = await engine.eval(
      "const keep: Uint8Array[] = []; for (let i = 0; i < 30; i++) keep.push(new Uint8Array(100 * 1024 * 1024).fill(1)); keep.length",
      // Writing gigabytes: 17 s alone on a slow day here, more beside the suite. What is checked is that
      // the cap answers it as out of memory, not how fast.
      60_000,
    );
    expect(res.status).toBe("error");
    expect(res.message).toMatch(/out of memory|allocation failed/i);
    await expectAliveAfter();
  }, 120_000);

  it("still runs a form that uses a few hundred MB of Buffers and heap", async () => {
    const res = await engine.eval(
      "const b = [0, 1, 2].map(() => Buffer.alloc(100 * 1024 * 1024, 1)); const a = new Array(20_000_000).fill(1.5); b.length + a.length",
      20_000,
    );
    expect(res).toEqual({ status: "ok", value: 20_000_003 });
  }, 60_000);

  it("still gives a form WebAssembly memory under the address-space limit", async () => {
    const res = await engine.eval("new WebAssembly.Memory({ initial: 16, maximum: 1024 }).buffer.byteLength");
    expect(res).toEqual({ status: "ok", value: 16 * 65536 });
  });
});

describe("the timeout holds under load", () => {
  it("answers within its timeout + 100 ms while a builtin that ignores interrupts runs", async () => {
    // Filling 2 M elements of a dictionary-mode array takes seconds inside one builtin call, which
    // neither a worker's terminate() nor any timer can interrupt.
    const times = await timeoutRuns(
      "const a = new Array(1e9); a.fill(0, 0, 2e6); 'filled'",
      500,
      3,
      /TimeoutError/,
    );
    report("dictionary fill (seconds in one builtin), timeout 500 ms, other core busy", times);
    expectWithin(times, 500);
  }, 60_000);

  it("answers a synchronous loop within its timeout + 100 ms", async () => {
    const times = await timeoutRuns(
      "while (true) {}",
      1000,
      5,
      /^TimeoutError: the eval did not finish within 1000 ms/,
    );
    report("while (true) {}, timeout 1000 ms, other core busy", times);
    expectWithin(times, 1000);
    await expectAliveAfter();
  }, 60_000);
});

describe("nothing a form leaves behind reaches the next eval", () => {
  it("cancels a leftover setInterval when its eval answers", async () => {
    const started = await engine.eval(
      "globalThis.ticks = 0; setInterval(() => { globalThis.ticks++ }, 5); 'started'",
    );
    expect(started.status).toBe("ok");
    expect(started.message).toMatch(/1 timer .*cancelled/);
    await new Promise((r) => setTimeout(r, 300));
    expect(await engine.eval("globalThis.ticks")).toEqual({ status: "ok", value: 0 });
  });

  it("cancels timers set by an imported module's top level and by node:timers", async () => {
    await ws.write("src/ticker.ts", "export const state = { n: 0 };\nsetInterval(() => { state.n++ }, 5);\n");
    const res = await engine.eval(`import { setTimeout as later } from "node:timers";
import { state } from "./src/ticker.ts";
later(() => { state.n += 1000 }, 50);
state.n`);
    expect(res.status).toBe("ok");
    expect(res.message).toMatch(/2 timers .*cancelled/);
    await new Promise((r) => setTimeout(r, 300));
    expect(await engine.eval(`import { state } from "./src/ticker.ts"; state.n`)).toEqual({
      status: "ok",
      value: 0,
    });
  });

  it("reports an error thrown later by one eval's callback as that eval's, not as the next one's", async () => {
    const first = await engine.eval(`import fs from "node:fs";
fs.readFile("${ws.root}/src/counter.ts", () => { throw new Error("late boom") });
"scheduled"`);
    expect(first).toEqual({ status: "ok", value: "scheduled" });
    await new Promise((r) => setTimeout(r, 300));
    const next = await engine.eval(`console.log("mine"); 42`);
    expect(next.value).toBe(42);
    const lines = (next.message ?? "").split("\n");
    // The next eval's own output is only its own line; the late error is labelled with where it came from.
    expect(lines).toContain("[log] mine");
    const late = lines.findIndex((l) => l.includes("late boom"));
    expect(late).toBeGreaterThan(0);
    expect(lines[late - 1]).toMatch(/^\[lab\] printed by the previous eval after it had answered:/);
    expect(lines[late]).toMatch(/^\[uncaught\] Error: late boom/);
  });

  it("keeps a late error from an eval inside the eval when it is still running", async () => {
    const res = await engine.eval(`import fs from "node:fs";
fs.readFile("${ws.root}/src/counter.ts", () => { throw new Error("in time") });
await new Promise((r) => setTimeout(r, 200));
"done"`);
    expect(res.value).toBe("done");
    expect(res.message).toMatch(/^\[uncaught\] Error: in time/);
  });
});

describe("the evaluator's environment", () => {
  it("holds no API key, token or other secret of the engine's process", async () => {
    const res = await engine.eval("JSON.stringify(process.env)");
    expect(res.status).toBe("ok");
    const env = JSON.parse(res.value as string) as Record<string, string>;
    for (const [key, secret] of Object.entries(SECRETS)) {
      expect(env[key]).toBeUndefined();
      expect(res.value).not.toContain(secret);
    }
    expect(Object.keys(env).filter((k) => /KEY|TOKEN|SECRET|ANTHROPIC|^LOOM_/.test(k))).toEqual([]);
    expect(env.PATH).toBeTruthy();
  });
});
