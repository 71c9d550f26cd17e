import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EvalEngine } from "../../lab-runtime/eval/engine.ts";
import { makeWorkspace } from "./workspace.ts";

let ws: Awaited<ReturnType<typeof makeWorkspace>>;
let engine: EvalEngine;

beforeAll(async () => {
  ws = await makeWorkspace({
    "src/counter.ts": "let n = 0;\nexport const next = (): number => ++n;\n",
    "src/spin.ts": "while (true) {}\nexport const never = 1;\n",
  });
  engine = new EvalEngine({ workspace: ws.root, memoryLimitMb: 64, offHeapLimitMb: 192, timeoutMs: 400 });
  await engine.warm();
});

afterAll(async () => {
  await engine?.close();
  await ws?.remove();
});

const COUNT = `import { next } from "./src/counter.ts"; next()`;

/** The worker keeps module state (counter goes up), then `form` ends it, then state starts over. */
async function expectResetBy(form: string, messagePattern: RegExp, timeoutMs?: number) {
  await engine.eval(COUNT);
  const before = await engine.eval(COUNT);
  expect(before.status).toBe("ok");
  expect(before.value).toBeGreaterThanOrEqual(2);
  const started = Date.now();
  const res = await engine.eval(form, timeoutMs);
  const elapsed = Date.now() - started;
  expect(res.status).toBe("error");
  expect(res.message).toMatch(messagePattern);
  expect(res.message).toContain("module state was reset");
  // Module state was reset: the counter module ran again in a fresh worker.
  expect(await engine.eval(COUNT)).toEqual({ status: "ok", value: 1 });
  return elapsed;
}

describe("timeouts terminate the worker and a fresh one answers", () => {
  it("stops a synchronous loop", async () => {
    const elapsed = await expectResetBy(
      "while (true) {}",
      /^TimeoutError: the eval did not finish within 400 ms/,
    );
    expect(elapsed).toBeLessThan(3000);
  });

  it("stops a microtask loop", async () => {
    await expectResetBy("for (;;) await null;", /TimeoutError: .* 400 ms/);
  });

  it("stops a timer loop and a promise that never settles", async () => {
    await expectResetBy(
      "setInterval(() => {}, 1); await new Promise(() => {});",
      /TimeoutError: .* 250 ms/,
      250,
    );
  });

  it("stops a loop at the top level of an imported module", async () => {
    await expectResetBy(`import { never } from "./src/spin.ts"; never`, /TimeoutError/);
  });

  it("uses the request's timeout over the default", async () => {
    const started = Date.now();
    const res = await engine.eval("await new Promise((r) => setTimeout(r, 700)); 'done'", 2000);
    expect(res).toEqual({ status: "ok", value: "done" });
    expect(Date.now() - started).toBeGreaterThanOrEqual(650);
  });
});

describe("forms that would end the worker or the process", () => {
  it("reports process.exit() and starts a fresh worker", async () => {
    await expectResetBy("process.exit(3)", /exited with code 3/);
  });

  it("reports running out of memory and starts a fresh worker", async () => {
    await expectResetBy(
      "const keep: string[][] = []; for (;;) keep.push(new Array(100_000).fill('x'))",
      /^RangeError: out of memory — the eval exceeded the worker's 64 MB heap limit/,
      30_000,
    );
  });

  it("stops an allocation loop outside the heap (Buffers) at the evaluator's address-space limit", async () => {
    await engine.eval(COUNT);
    const res = await engine.eval(
      "const keep: Buffer[] = []; for (;;) keep.push(Buffer.alloc(8 * 1024 * 1024, 1))",
      30_000,
    );
    expect(res.status).toBe("error");
    expect(res.message).toMatch(/^RangeError: Array buffer allocation failed/);
    // The evaluator is replaced after answering (its address space is full until a GC).
    const next = await engine.eval(COUNT);
    expect(next.value).toBe(1);
    expect(next.message).toMatch(/recycled after an allocation failed at its memory limit/);
  });

  it("keeps module state when a timer throws or a promise rejects unhandled, reporting them", async () => {
    await engine.eval(COUNT);
    const res = await engine.eval(`setTimeout(() => { throw new Error("late boom") }, 1);
Promise.reject(new TypeError("nobody listens"));
await new Promise((r) => setTimeout(r, 20));
"survived"`);
    expect(res.status).toBe("ok");
    expect(res.value).toBe("survived");
    expect(res.message).toContain("[uncaught] Error: late boom");
    expect(res.message).toContain("[unhandled rejection] TypeError: nobody listens");
    const after = await engine.eval(COUNT);
    expect(after.value).toBeGreaterThanOrEqual(2);
  });

  it("refuses process.abort() and process.kill() of its own process", async () => {
    const abort = await engine.eval("process.abort()");
    expect(abort).toMatchObject({
      status: "error",
      message: expect.stringContaining("process.abort() is disabled"),
    });
    const kill = await engine.eval("process.kill(process.pid, 'SIGKILL')");
    expect(kill).toMatchObject({
      status: "error",
      message: expect.stringContaining("is disabled inside eval"),
    });
  });

  it("reports an evaluator that exits between evals in the next response", async () => {
    await engine.eval(COUNT);
    // A callback of I/O the form started (its timers would have been cancelled when it answered): a
    // child process that ends a moment later, so the exit never races the eval's own answer.
    const res = await engine.eval(
      "require('node:child_process').execFile('sleep', ['0.3'], () => process.exit(9)); 'scheduled'",
    );
    expect(res).toEqual({ status: "ok", value: "scheduled" });
    // Wait (bounded) until the engine has seen the exit: a fixed pause lost the race on a loaded machine.
    const seen = () => (engine as unknown as { notes: string[] }).notes.length > 0;
    for (let i = 0; i < 200 && !seen(); i++) await new Promise((r) => setTimeout(r, 50));
    const next = await engine.eval(COUNT);
    expect(next.value).toBe(1);
    expect(next.message).toMatch(/^\[lab\] module state was reset: the eval worker exited with code 9/);
  });
});

describe("recycling bounds memory", () => {
  it("replaces the worker after maxEvalsPerWorker evals and says so", async () => {
    const small = new EvalEngine({ workspace: ws.root, maxEvalsPerWorker: 3 });
    try {
      const values = [];
      for (let i = 0; i < 4; i++) values.push((await small.eval(COUNT)).value);
      expect(values).toEqual([1, 2, 3, 1]);
      expect(small.stats.recycles).toBe(1);
      expect(small.stats.workersStarted).toBe(2);
    } finally {
      await small.close();
    }
  });

  it("replaces the worker once its module cache passes maxModules", async () => {
    const small = new EvalEngine({ workspace: ws.root, maxModules: 0 });
    try {
      expect((await small.eval(COUNT)).value).toBe(1);
      const second = await small.eval(COUNT);
      expect(second.value).toBe(1);
      expect(second.message).toBe(
        "[lab] module state was reset: the evaluator was recycled after 1 cached modules",
      );
    } finally {
      await small.close();
    }
  });
});
