import { createHash } from "node:crypto";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { fetchLabBranch, prepareWorkspace } from "../../src/supervisor/git/index.ts";
import { freePort } from "../../src/supervisor/lifecycle/free-port.ts";
import { type LifecyclePorts, runGeneration } from "../../src/supervisor/lifecycle/run-generation.ts";
import { LocalRuntime } from "../../src/supervisor/runtime/index.ts";
import { GenerationStore } from "../../src/supervisor/store/index.ts";
import { type Fixture, makeFixture, WRITE_AND_END } from "./lifecycle-fixture.ts";

const LOOM_ROOT = fileURLToPath(new URL("../..", import.meta.url));
const fixtures: Fixture[] = [];
afterEach(async () => {
  await Promise.all(fixtures.splice(0).map((f) => f.cleanup()));
});

/** One generation on the local runtime with a real `loom lab` process, under the given environment. */
async function runOne(env: Record<string, string>) {
  const fx = await makeFixture(WRITE_AND_END);
  fixtures.push(fx);
  const config = fx.config(env);
  const store = await GenerationStore.open(config.stateDir);
  const runtime = new LocalRuntime({ stateDir: config.stateDir });
  const ports: LifecyclePorts = {
    store,
    runtime,
    git: { prepareWorkspace, fetchLabBranch },
    config,
    emit: () => {},
    loomRoot: LOOM_ROOT,
    pollMs: 100,
    readyTimeoutMs: 30_000,
  };
  const program = "# Task: write hello.txt\n";
  const { generation } = await store.allocate({
    programHash: createHash("sha256").update(program).digest("hex"),
    parent: null,
  });
  const record = await runGeneration(ports, { generation, program });
  expect(await runtime.list({ loom: "1" })).toEqual([]);
  return { record, fx };
}

/*
 * Through the Supervisor a Lab reaches its model over the model proxy, which holds the key: the
 * failure then comes back as the proxy's answer and the Lab's report carries it into the record.
 */
describe("a Lab that fails at start: the generation's record names why", () => {
  it("no model key where the Supervisor runs", async () => {
    const { record } = await runOne({ LOOM_LAB_API_KEY: "", ANTHROPIC_API_KEY: "" });
    expect(record.outcome).toBe("failed");
    expect(record.reason).toMatch(/LOOM_LAB_API_KEY/);
  }, 60_000);

  it("an unreachable model API: its address and the system's cause", async () => {
    const closed = await freePort();
    const { record } = await runOne({ LOOM_LAB_API_BASE: `http://127.0.0.1:${closed}` });
    expect(record.outcome).toBe("failed");
    expect(record.reason).toContain(`127.0.0.1:${closed}`);
    expect(record.reason).toContain("ECONNREFUSED");
  }, 60_000);
});
