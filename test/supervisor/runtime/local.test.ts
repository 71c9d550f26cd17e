import { promises as fs } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LocalRuntime } from "../../../src/supervisor/runtime/local.ts";

/** What only the local backend has: its registry across restarts, pid-reuse safety, process-group kills. */

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function waitFor(what: string, check: () => Promise<boolean> | boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe.skipIf(process.platform === "win32")("LocalRuntime", () => {
  let dir: string;
  let stateDir: string;
  const labels = { "loom.test": "local" };
  const recordPath = (id: string) => path.join(stateDir, "runtime-local", id, "record.json");

  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), "loom-local-"));
    stateDir = path.join(dir, "state");
  });
  afterAll(async () => {
    const rt = new LocalRuntime({ stateDir });
    for (const c of await rt.list({})) await rt.remove(c.id);
    await fs.rm(dir, { recursive: true, force: true });
  });

  it("a restarted supervisor (new instance, same state dir) finds, stops and removes what the old one started", async () => {
    const first = new LocalRuntime({ stateDir });
    const h = await first.run({
      image: "host",
      command: ["sleep", "30"],
      labels: { ...labels, case: "restart" },
    });
    const second = new LocalRuntime({ stateDir });
    const [found] = await second.list({ case: "restart" });
    expect(found).toMatchObject({ id: h.id, state: "running", labels: { case: "restart" } });
    await second.stop(h.id, { timeoutMs: 2_000 });
    expect((await second.inspect(h.id))?.state).toBe("exited");
    await second.remove(h.id);
    expect(await second.list({ case: "restart" })).toEqual([]);
    await expect(fs.stat(path.join(stateDir, "runtime-local", h.id))).rejects.toMatchObject({
      code: "ENOENT",
    });
  });

  it("a background-priority process runs niced, and so do its children; normal ones are not", async () => {
    const rt = new LocalRuntime({ stateDir });
    const niceness = async (priority?: "background") => {
      const h = await rt.run({
        image: "host",
        command: ["sh", "-c", "nice; sh -c nice"],
        labels: { ...labels, case: `nice-${priority ?? "normal"}` },
        ...(priority ? { limits: { priority } } : {}),
      });
      expect(await rt.wait(h.id, { timeoutMs: 10_000 })).toEqual({ kind: "exited", exitCode: 0 });
      const out = await rt.logs(h.id);
      await rt.remove(h.id);
      return out.trim().split("\n");
    };
    const base = os.getPriority();
    expect(await niceness("background")).toEqual([String(base + 10), String(base + 10)]);
    expect(await niceness()).toEqual([String(base), String(base)]);
  });

  it("a recorded pid now belonging to another process is neither reported running nor signalled", async () => {
    const first = new LocalRuntime({ stateDir, sandbox: "none" });
    const h = await first.run({
      image: "host",
      command: ["sleep", "30"],
      labels: { ...labels, case: "reuse" },
    });
    const record = JSON.parse(await fs.readFile(recordPath(h.id), "utf8"));
    // Same pid, different start time: what a reused pid looks like to the registry.
    await fs.writeFile(recordPath(h.id), JSON.stringify({ ...record, startTime: "1" }));
    const restarted = new LocalRuntime({ stateDir, sandbox: "none" });
    expect((await restarted.inspect(h.id))?.state).toBe("exited");
    await restarted.stop(h.id, { timeoutMs: 200 });
    await restarted.remove(h.id);
    expect(alive(record.pid)).toBe(true);
    process.kill(-record.pid, "SIGKILL");
    await waitFor("the sleep to die", () => !alive(record.pid));
  });

  it("stop escalates to SIGKILL for a process that ignores SIGTERM, and kills its background children", async () => {
    const ws = path.join(dir, "ws-kill");
    await fs.mkdir(ws);
    const rt = new LocalRuntime({ stateDir, sandbox: "none" });
    const script = "trap '' TERM; sleep 30 & echo $! > child.pid; wait";
    const h = await rt.runOnHost(
      {
        image: "host",
        command: ["sh", "-c", script],
        workdir: "/w",
        labels,
      },
      { mounts: [{ host: ws, container: "/w" }] },
    );
    await waitFor("child.pid", () =>
      fs.stat(path.join(ws, "child.pid")).then(
        () => true,
        () => false,
      ),
    );
    const childPid = Number(await fs.readFile(path.join(ws, "child.pid"), "utf8"));
    expect(alive(childPid)).toBe(true);
    const started = Date.now();
    await rt.stop(h.id, { timeoutMs: 300 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
    const info = await rt.inspect(h.id);
    expect(info).toMatchObject({ state: "exited", exitCode: 137 });
    // Bounded, not timed: a SIGKILLed group is reaped by init when the machine gets to it.
    await waitFor("the background child to be gone", () => !alive(childPid), 10_000);
  });

  it("without a working bubblewrap it falls back and says why and exactly what is not contained", async () => {
    const rt = new LocalRuntime({ stateDir, bwrapBinary: "/bin/false" });
    const a = await rt.available();
    expect(a.ok).toBe(true);
    expect(a.warning).toMatch(/NOT CONTAINED \(\/bin\/false is installed but does not work/);
    for (const part of ["network: not contained", "filesystem: not contained", "processes: not contained"])
      expect(a.warning).toContain(part);
    expect(a.warning).toMatch(
      /secrets: .*read-only mounts not enforced|read-only mounts not enforced.*secrets: /,
    );
    const ro = path.join(dir, "ro-fallback");
    await fs.mkdir(ro);
    const h = await rt.runOnHost(
      {
        image: "host",
        command: ["true"],
        limits: { memoryMb: 64 },
        labels,
      },
      { mounts: [{ host: ro, container: "/ro", readOnly: true }] },
    );
    expect(h.warnings).toEqual([
      "image host ignored: the local runtime runs host programs",
      "limits not enforced by the local runtime: memoryMb",
      "read-only mounts not enforced without bubblewrap",
    ]);
    const missing = new LocalRuntime({ stateDir, bwrapBinary: "/nonexistent/bwrap" });
    expect((await missing.available()).warning).toMatch(/not installed/);
  });

  it("refuses a workdir no mount maps, and a program that cannot start, leaving no record", async () => {
    const rt = new LocalRuntime({ stateDir, sandbox: "none" });
    const before = (await rt.list({})).length;
    await expect(rt.run({ image: "host", command: ["true"], workdir: "/nowhere" })).rejects.toMatchObject({
      code: "INVALID_SPEC",
      message: expect.stringContaining("workdir /nowhere is not inside any mount"),
    });
    await expect(rt.run({ image: "host", command: ["/nonexistent/program"] })).rejects.toMatchObject({
      code: "ENGINE_FAILED",
      message: expect.stringContaining("ENOENT"),
    });
    expect((await rt.list({})).length).toBe(before);
  });

  it("ids that are not registry ids never reach the filesystem", async () => {
    const rt = new LocalRuntime({ stateDir });
    expect(await rt.inspect("../../etc")).toBeUndefined();
    await expect(rt.logs("../x")).rejects.toMatchObject({ code: "NOT_FOUND" });
  });
});
