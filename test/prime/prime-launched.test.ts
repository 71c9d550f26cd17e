import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PrimeHealth, PrimeStats } from "../../schemas/prime.ts";
import { SupervisorStats } from "../../schemas/supervisor.ts";
import { type ScriptedModelServer, startScriptedModel } from "../../src/shared/scripted-model/index.ts";
import { freePort } from "../../src/supervisor/lifecycle/free-port.ts";
import { type Supervisor, startSupervisor } from "../../src/supervisor/supervisor.ts";
import { type Fixture, makeFixture, WRITE_AND_END } from "../supervisor/lifecycle-fixture.ts";
import { chat } from "./prime-helpers.ts";

const LOOM_ROOT = fileURLToPath(new URL("../..", import.meta.url));
const TOKEN = "launch-token";
let fx: Fixture;
let primeModel: ScriptedModelServer;
let sup: Supervisor;
let primeUrl: string;

beforeAll(async () => {
  fx = await makeFixture(WRITE_AND_END);
  primeModel = await startScriptedModel([
    { tool: "spawn_lab", input: { program: "# Task\nwrite hello.txt\n" } },
    { text: "Generation 1 is ready to verify." },
  ]);
  const port = await freePort();
  primeUrl = `http://127.0.0.1:${port}`;
  // The fixture's repo is not a Loom checkout, so the Supervisor runs this checkout's `loom prime`.
  sup = await startSupervisor({
    config: fx.config({ LOOM_SUPERVISOR_TOKEN: TOKEN, ANTHROPIC_BASE_URL: primeModel.url }),
    port: 0,
    log: () => {},
    pollMs: 100,
    prime: { port, loomRoot: LOOM_ROOT, healthTimeoutMs: 120_000, stopGraceMs: 5_000 },
  });
}, 180_000);
afterAll(async () => {
  await sup?.close();
  await primeModel?.close();
  await fx?.cleanup();
});

describe("the real Prime as the Supervisor launches it", () => {
  it("is healthy, knows the Supervisor, and its tools reach the Supervisor with the token", async () => {
    const stats = SupervisorStats.parse(await (await fetch(`${sup.url}/stats`)).json());
    expect(stats.prime).toMatchObject({ state: "running", url: primeUrl });
    const health = await fetch(`${primeUrl}/health`);
    expect(health.status).toBe(200);
    expect(PrimeHealth.parse(await health.json()).ok).toBe(true);
    const primeStats = PrimeStats.parse(await (await fetch(`${primeUrl}/stats`)).json());
    expect(primeStats.supervisorUrl).toBe(sup.url);
    const r = await chat(primeUrl, "Spawn a Lab that writes hello.txt.");
    const end = r.events.find((e) => e.type === "tool_end") as { isError: boolean; output: string };
    expect(end.isError, end.output).toBe(false);
    expect(end.output).toMatch(/^generation 1 \(lab\/gen-1\): verifying/);
    expect(r.events.at(-1)).toMatchObject({ type: "done", reason: "end_turn" });
    // Prime's key went to Prime's model, not to the Lab's.
    const key = (q: { headers: Record<string, unknown> }) =>
      `${q.headers["x-api-key"] ?? q.headers.authorization}`;
    expect(new Set(primeModel.requests.map(key))).toEqual(new Set(["Bearer prime-key-must-not-reach-labs"]));
    // The Lab's key reaches its model through the Supervisor's model proxy, which sends it as x-api-key.
    expect(new Set(fx.model.requests.map(key))).toEqual(new Set(["lab-key"]));
  }, 180_000);
});
