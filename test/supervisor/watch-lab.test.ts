import { mkdtemp, rm } from "node:fs/promises";
import http from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../../src/supervisor/lifecycle/free-port.ts";
import { watchLab } from "../../src/supervisor/lifecycle/watch-lab.ts";
import {
  LocalRuntime,
  RuntimeError,
  type WaitOptions,
  type WaitOutcome,
} from "../../src/supervisor/runtime/index.ts";

/** The real local runtime whose engine wait fails, as a wedged or missing `docker wait` would. */
class NoWaitRuntime extends LocalRuntime {
  override wait(_id: string, _options: WaitOptions): Promise<WaitOutcome> {
    return Promise.reject(new RuntimeError("ENGINE_FAILED", "wait is broken here"));
  }
}

let dir: string;
let closedUrl: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "loom-watch-"));
  // A URL where nothing answers: the Lab never serves /status.
  closedUrl = `http://127.0.0.1:${await freePort()}`;
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const watch = (runtime: LocalRuntime, containerId: string, pollMs: number) =>
  watchLab({
    runtime,
    containerId,
    lab: { url: closedUrl },
    timeoutMs: 60_000,
    readyTimeoutMs: 30_000,
    pollMs,
    signal: new AbortController().signal,
    now: Date.now,
    onStatus: () => {},
  });

describe("watchLab", () => {
  it("sees a Lab that exits before answering /status the moment it exits, from the engine's wait", async () => {
    const rt = new LocalRuntime({ stateDir: path.join(dir, "a"), sandbox: "none" });
    const h = await rt.run({ image: "host", command: ["sh", "-c", "sleep 0.5; exit 4"] });
    const t0 = Date.now();
    // Polls 20 s apart: only the wait can end the watch this soon.
    const end = await watch(rt, h.id, 20_000);
    expect(end).toEqual({ kind: "exited", exitCode: 4, last: undefined });
    expect(Date.now() - t0).toBeLessThan(10_000);
    await rt.remove(h.id);
  });

  it("falls back to asking the engine when its wait fails", async () => {
    const rt = new NoWaitRuntime({ stateDir: path.join(dir, "b"), sandbox: "none" });
    const h = await rt.run({ image: "host", command: ["sh", "-c", "sleep 0.5; exit 6"] });
    const end = await watch(rt, h.id, 100);
    expect(end).toEqual({ kind: "exited", exitCode: 6, last: undefined });
    await rt.remove(h.id);
  });

  it("sees a Lab that starts listening late within a short ready poll, not a whole pollMs later; its work is then polled at pollMs", async () => {
    const rt = new LocalRuntime({ stateDir: path.join(dir, "c"), sandbox: "none" });
    const h = await rt.run({ image: "host", command: ["sh", "-c", "sleep 30"] });
    const socketPath = path.join(dir, "lab-late.sock");
    let polls = 0;
    let answered = 0;
    const server = http.createServer((_req, res) => {
      polls++;
      res.setHeader("content-type", "application/json");
      res.end(
        JSON.stringify({ status: polls >= 2 ? "done" : "running", progress: `poll ${polls}`, error: null }),
      );
    });
    const t0 = performance.now();
    // Listening 300 ms after the watch starts, as a booting Lab would.
    const listening = new Promise<void>((ok) => setTimeout(() => server.listen(socketPath, () => ok()), 300));
    const end = await watchLab({
      runtime: rt,
      containerId: h.id,
      lab: { socketPath, hostHeader: "127.0.0.1:1" },
      timeoutMs: 60_000,
      readyTimeoutMs: 30_000,
      pollMs: 1_500,
      signal: new AbortController().signal,
      now: Date.now,
      onStatus: (s) => {
        if (s.status === "running") answered = performance.now() - t0;
      },
    });
    await listening;
    const total = performance.now() - t0;
    await new Promise<void>((ok) => server.close(() => ok()));
    expect(end).toMatchObject({ kind: "finished", status: { status: "done", progress: "poll 2" } });
    // Seen ready well before one pollMs had passed; the next poll came a whole pollMs after it.
    expect(answered).toBeGreaterThanOrEqual(300);
    expect(answered).toBeLessThan(1_200);
    expect(total - answered).toBeGreaterThanOrEqual(1_400);
    await rt.stop(h.id, { timeoutMs: 0 }).catch(() => {});
    await rt.remove(h.id);
  });
});
