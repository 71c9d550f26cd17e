import { createHash } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import type { SupervisorEvent } from "../../../schemas/events.ts";
import { LabReport } from "../../../schemas/index.ts";
import { fetchLabBranch, prepareWorkspace } from "../../../src/supervisor/git/index.ts";
import { reportPath } from "../../../src/supervisor/lifecycle/lab-end.ts";
import { type LifecyclePorts, runGeneration } from "../../../src/supervisor/lifecycle/run-generation.ts";
import { LocalRuntime } from "../../../src/supervisor/runtime/index.ts";
import { GenerationStore } from "../../../src/supervisor/store/index.ts";
import { entries, type Fixture, git, makeFixture, WRITE_AND_END } from "../lifecycle-fixture.ts";

const LOOM_ROOT = fileURLToPath(new URL("../../..", import.meta.url));
const fixtures: Fixture[] = [];

/** The stand-in Labs below are plain host scripts; they run unsandboxed (bubblewrap is covered by the conformance suite). */
const unsandboxed = (s: { config: { stateDir: string } }) =>
  new LocalRuntime({ stateDir: s.config.stateDir, sandbox: "none" });

/** A stand-in Loom installation whose `bin/loom.js` runs the given code instead of a Lab. */
async function fakeLoom(root: string, code: string): Promise<string> {
  const dir = path.join(root, "fake-loom");
  await mkdir(path.join(dir, "bin"), { recursive: true });
  await writeFile(path.join(dir, "bin", "loom.js"), code);
  return dir;
}
afterEach(async () => {
  await Promise.all(fixtures.splice(0).map((f) => f.cleanup()));
});

async function setup(script: Parameters<typeof makeFixture>[0], env: Record<string, string> = {}) {
  const fx = await makeFixture(script);
  fixtures.push(fx);
  const config = fx.config(env);
  const store = await GenerationStore.open(config.stateDir);
  const runtime = new LocalRuntime({ stateDir: config.stateDir });
  const events: SupervisorEvent[] = [];
  const ports: LifecyclePorts = {
    store,
    runtime,
    git: { prepareWorkspace, fetchLabBranch },
    config,
    emit: (e) => events.push(e),
    loomRoot: LOOM_ROOT,
    pollMs: 100,
    readyTimeoutMs: 30_000,
  };
  const program = "# Task: write hello.txt\n";
  const record = await store.allocate({
    programHash: createHash("sha256").update(program).digest("hex"),
    parent: null,
  });
  return { fx, config, store, runtime, events, ports, program, n: record.generation };
}

describe("runGeneration (local runtime)", () => {
  it("runs a Lab to done: verifying, branch fetched with the work, tokens stored, nothing left running", async () => {
    const s = await setup(WRITE_AND_END);
    // Work that waits for the Lab's start (main's baseline) is told once, while the Lab runs.
    const startedWhile: (string | undefined)[] = [];
    const record = await runGeneration(s.ports, {
      generation: s.n,
      program: s.program,
      onLabStarted: () => {
        void s.store.get(s.n).then((r) => startedWhile.push(r?.outcome));
      },
    });
    expect(startedWhile).toEqual(["running"]);
    expect(record.outcome, record.reason ?? "").toBe("verifying");
    expect(record.reason).toBeNull();
    expect(record.containerId).toMatch(/.+/);
    // Usage scripted for the two model calls, as the Lab's report gave it.
    expect(record.tokens.input).toBe(250);
    expect(record.tokens.output).toBe(30);
    // Counted by the model proxy (the two requests it forwarded), the Lab's own report beside it.
    expect(record.modelUsage).toMatchObject({ source: "model-proxy", requests: 2, budgetExceeded: false });
    expect(record.modelUsage?.labReported).toMatchObject({ input: 250, output: 30 });
    expect(await git(s.fx.repo, ["show", `lab/gen-${s.n}:hello.txt`])).toBe("hello from the lab");
    const kept = LabReport.parse(JSON.parse(await readFile(reportPath(s.config.stateDir, s.n), "utf8")));
    expect(kept).toMatchObject({
      generation: s.n,
      status: "done",
      filesChanged: expect.arrayContaining(["hello.txt"]),
    });
    expect(await git(s.fx.repo, ["show", `lab/gen-${s.n}:program.md`])).toBe(s.program.trim());
    expect(await s.runtime.list({ loom: "1" })).toEqual([]);
    expect(await entries(path.join(s.config.stateDir, "workspaces"))).toEqual([]);
    const outcomes = s.events.flatMap((e) => (e.type === "generation" ? [e.outcome] : []));
    expect(outcomes).toEqual(["running", "verifying"]);
    expect(s.events.some((e) => e.type === "lab_status" && e.status === "running")).toBe(true);
    // Only the Lab key reached the model (added by the Supervisor's model proxy): Prime's never did.
    const keys = new Set(
      s.fx.model.requests.map((r) =>
        String(r.headers["x-api-key"] ?? r.headers.authorization).replace(/^Bearer /, ""),
      ),
    );
    expect([...keys]).toEqual(["lab-key"]);
  }, 60_000);

  it("kills a Lab whose model hangs at LOOM_LAB_TIMEOUT_MS, still fetches the branch, records timed_out", async () => {
    const s = await setup([{ fault: "slow", delayMs: 60_000 }], { LOOM_LAB_TIMEOUT_MS: "2500" });
    const started = Date.now();
    const record = await runGeneration(s.ports, { generation: s.n, program: s.program });
    expect(record.outcome).toBe("timed_out");
    expect(record.reason).toMatch(/LOOM_LAB_TIMEOUT_MS=2500/);
    expect(Date.now() - started).toBeLessThan(30_000);
    // The branch carries what the Lab had: at least the program commit.
    expect(await git(s.fx.repo, ["show", `lab/gen-${s.n}:program.md`])).toBe(s.program.trim());
    expect(await s.runtime.list({ loom: "1" })).toEqual([]);
    expect(await entries(path.join(s.config.stateDir, "workspaces"))).toEqual([]);
  }, 60_000);

  it("records failed with the Lab's error when the model refuses the key", async () => {
    const s = await setup([{ fault: "auth" }]);
    const record = await runGeneration(s.ports, { generation: s.n, program: s.program });
    expect(record.outcome).toBe("failed");
    expect(record.reason).toMatch(/the Lab failed/);
    expect(await git(s.fx.repo, ["branch", "--list", `lab/gen-${s.n}`])).toContain(`lab/gen-${s.n}`);
    expect(await s.runtime.list({ loom: "1" })).toEqual([]);
    expect(await entries(path.join(s.config.stateDir, "workspaces"))).toEqual([]);
  }, 60_000);

  it("records failed with the reason when the workspace cannot be cloned, leaving nothing behind", async () => {
    const s = await setup(WRITE_AND_END);
    await git(s.fx.repo, ["branch", "-m", "main", "trunk"]);
    let started = 0;
    const record = await runGeneration(s.ports, {
      generation: s.n,
      program: s.program,
      onLabStarted: () => started++,
    });
    expect(started).toBe(0);
    expect(record.outcome).toBe("failed");
    expect(record.reason).toMatch(/main/);
    expect(record.containerId).toBeNull();
    expect(await entries(path.join(s.config.stateDir, "workspaces"))).toEqual([]);
  }, 30_000);

  it("aborts a running Lab when the signal fires: container removed, branch fetched, outcome aborted", async () => {
    const s = await setup([{ fault: "slow", delayMs: 60_000 }]);
    const abort = new AbortController();
    const running = runGeneration(s.ports, { generation: s.n, program: s.program, signal: abort.signal });
    const deadline = Date.now() + 30_000;
    while (!s.events.some((e) => e.type === "lab_status") && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 100));
    abort.abort();
    const record = await running;
    expect(record.outcome).toBe("aborted");
    expect(record.reason).toMatch(/shut down/);
    expect(await git(s.fx.repo, ["branch", "--list", `lab/gen-${s.n}`])).toContain(`lab/gen-${s.n}`);
    expect(await s.runtime.list({ loom: "1" })).toEqual([]);
    expect(await entries(path.join(s.config.stateDir, "workspaces"))).toEqual([]);
  }, 60_000);
  it("records failed with the Lab's last output when it exits before answering /status", async () => {
    const s = await setup(WRITE_AND_END);
    const fake = await fakeLoom(s.fx.root, 'process.stderr.write("boom: cannot start\\n"); process.exit(3);');
    const record = await runGeneration(
      { ...s.ports, runtime: unsandboxed(s), loomRoot: fake },
      { generation: s.n, program: s.program },
    );
    expect(record.outcome).toBe("failed");
    expect(record.reason).toMatch(/exited \(code 3\).*boom: cannot start/s);
    expect(await s.runtime.list({ loom: "1" })).toEqual([]);
    expect(await entries(path.join(s.config.stateDir, "workspaces"))).toEqual([]);
  }, 30_000);

  it("records failed and stops the Lab when it never answers /status within LOOM_LAB_READY_TIMEOUT_MS", async () => {
    const s = await setup(WRITE_AND_END, { LOOM_LAB_READY_TIMEOUT_MS: "1500" });
    const fake = await fakeLoom(s.fx.root, "setTimeout(() => {}, 60_000);");
    // The limit comes from the configuration alone, not from the ports' own option.
    const { readyTimeoutMs: _fromPorts, ...ports } = s.ports;
    const record = await runGeneration(
      { ...ports, runtime: unsandboxed(s), loomRoot: fake },
      { generation: s.n, program: s.program },
    );
    expect(record.outcome).toBe("failed");
    expect(record.reason).toMatch(/did not answer GET \/status within 1500 ms \(LOOM_LAB_READY_TIMEOUT_MS\)/);
    expect(await s.runtime.list({ loom: "1" })).toEqual([]);
    expect(await entries(path.join(s.config.stateDir, "workspaces"))).toEqual([]);
  }, 30_000);
});
