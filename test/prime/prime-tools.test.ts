import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { allTools, labTools } from "../../src/agent/catalog.ts";
import { createModelClient } from "../../src/agent/model-client.ts";
import { defineTool, type ToolEffect, type ToolRole } from "../../src/agent/tool.ts";
import { ToolRegistry } from "../../src/agent/tool-registry.ts";
import { autonomousEngine } from "../../src/prime/autonomous-engine.ts";
import { AutonomousRunner } from "../../src/prime/autonomous-runner.ts";
import { PRIME_EFFECTS, primeManifest, primeTools } from "../../src/prime/catalog.ts";
import type { PrimeCoreDeps, PrimeToolDeps } from "../../src/prime/ports.ts";
import { SupervisorClient } from "../../src/prime/supervisor-client.ts";
import { primeThinking } from "../../src/prime/thinking.ts";
import { type ScriptedModelServer, startScriptedModel } from "../../src/shared/scripted-model/index.ts";
import { primeConfig, tempDir } from "./prime-helpers.ts";

let model: ScriptedModelServer;
let supervisor: http.Server;
let supervisorUrl: string;
const requests: string[] = [];
let registry: ToolRegistry;
let deps: PrimeToolDeps;
let runner: AutonomousRunner;
let dir: { dir: string; cleanup: () => Promise<void> };
const ctx = () => ({ workspace: dir.dir, signal: new AbortController().signal });

beforeAll(async () => {
  dir = await tempDir("loom-prime-tools-");
  model = await startScriptedModel([]);
  // A Supervisor stand-in that records what reaches it: the tool checks happen before any request.
  supervisor = http.createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    if (req.url === "/generations") return; // never answers: keeps an autonomous run busy
    res.writeHead(404, { "content-type": "application/json" });
    res.end(
      JSON.stringify({ error: { code: "GENERATION_NOT_FOUND", message: "generation 7 does not exist" } }),
    );
  });
  await new Promise<void>((ok) => supervisor.listen(0, "127.0.0.1", ok));
  supervisorUrl = `http://127.0.0.1:${(supervisor.address() as AddressInfo).port}`;
  const config = primeConfig(model, { LOOM_SUPERVISOR_URL: supervisorUrl });
  const client = new SupervisorClient({ baseUrl: supervisorUrl });
  const modelClient = createModelClient({
    apiKey: "k",
    baseURL: model.url,
    model: "m",
    timeoutMs: 5000,
    maxRetries: 0,
  });
  const core: PrimeCoreDeps = {
    client,
    model: modelClient,
    repo: dir.dir,
    stateDir: path.join(dir.dir, "state"),
    review: primeThinking.review,
    reflect: primeThinking.reflect,
    labWaitMs: 60_000,
  };
  runner = new AutonomousRunner(
    autonomousEngine(core, config, () => 0),
    () => {},
  );
  deps = { ...core, autonomous: runner };
  registry = new ToolRegistry(primeTools(deps));
});
afterAll(async () => {
  await runner?.stop();
  supervisor?.closeAllConnections();
  await new Promise((ok) => supervisor?.close(ok));
  await model?.close();
  await dir?.cleanup();
});

describe("Prime's catalog", () => {
  it("has only read and self-modify tools, and the Lab's has none of the self-modify ones", () => {
    expect(PRIME_EFFECTS).toEqual(["read", "self-modify"]);
    const names = registry.names();
    for (const name of names) expect(["read", "self-modify"], name).toContain(registry.get(name)!.effect);
    const selfModify = names.filter((n) => registry.get(n)!.effect === "self-modify").sort();
    expect(selfModify).toEqual([
      "promote_generation",
      "reflect_and_propose",
      "rollback_generation",
      "run_autonomous_loop",
      "spawn_lab",
      "verify_generation",
    ]);
    expect(names).toEqual(expect.arrayContaining(["read_file", "ts_outline", "ts_read", "analyze"]));
    for (const lab of [labTools(), allTools()]) {
      expect(lab.map((t) => t.effect)).not.toContain("self-modify");
      for (const name of selfModify) expect(lab.map((t) => t.name)).not.toContain(name);
    }
  });
});

describe("Prime's catalog is a filter of the manifest", () => {
  const extra = (name: string, effect: ToolEffect, roles: readonly ToolRole[]) =>
    defineTool({
      name,
      description: "added by the test",
      input: z.object({}),
      effect,
      roles,
      run: async () => ({ content: name }),
    });

  it("a tool added with role prime appears; one for the Lab only, or with an effect Prime may not use, does not", () => {
    const manifest = primeManifest(deps);
    const names = (m: typeof manifest) => primeTools(deps, m).map((t) => t.name);
    expect(names(manifest)).toEqual(registry.names());
    expect(
      names([
        ...manifest,
        extra("prime_probe", "read", ["prime"]),
        extra("lab_probe", "read", ["lab"]),
        extra("prime_exec", "exec", ["prime"]),
        extra("prime_edit", "edit", ["prime", "lab"]),
      ]),
    ).toEqual([...registry.names(), "prime_probe"]);
  });

  it("the self-modify tools are Prime's alone, never the Lab's", () => {
    const selfModify = primeManifest(deps).filter((t) => t.effect === "self-modify");
    expect(selfModify).toHaveLength(6);
    for (const t of selfModify) expect(t.roles, t.name).toEqual(["prime"]);
  });
});

describe("Prime's tools validate their input before touching the Supervisor or the model", () => {
  const cases: [string, unknown, RegExp][] = [
    ["spawn_lab", {}, /program: required/],
    ["spawn_lab", { program: "   " }, /program: program must not be only whitespace/],
    ["spawn_lab", { program: "# Task", extra: 1 }, /extra/],
    ["spawn_lab", { program: "# Task", candidates: 0 }, /candidates: .*>=1/],
    ["spawn_lab", { program: "# Task", candidates: 17 }, /candidates: expected at most 16 candidates/],
    ["spawn_lab", { program: "# Task", candidates: "3" }, /candidates: expected number/],
    ["spawn_lab", { program: "# Task", hints: [""] }, /hints\[0\]: a hint must not be empty/],
    ["verify_generation", { generation: 0 }, /generation: .*>=1/],
    ["verify_generation", { generation: "1" }, /generation: expected number/],
    ["promote_generation", { generation: 1.5 }, /generation: expected int/],
    ["promote_generation", {}, /generation: required/],
    ["rollback_generation", { generation: 1 }, /reason: required/],
    ["rollback_generation", { generation: 1, reason: "" }, /reason: .*>=1/],
    ["reflect_and_propose", { guidance: 5 }, /guidance: expected string/],
    ["reflect_and_propose", { program: "x" }, /program/],
    ["run_autonomous_loop", { maxGenerations: 0 }, /maxGenerations: .*>=1/],
    ["run_autonomous_loop", { maxGenerations: "3" }, /maxGenerations: expected number/],
    ["analyze", { top: 0 }, /top: .*>=1/],
  ];
  it.each(cases)("%s %j is refused naming the field", async (name, input, why) => {
    const result = await registry.execute(name, input, ctx());
    expect(result.isError).toBe(true);
    expect(result.content).toMatch(new RegExp(`^the ${name} tool was called with invalid input: `));
    expect(result.content).toMatch(why);
    expect(requests).toEqual([]);
    expect(model.requests).toEqual([]);
  });
});

describe("Prime's tools against a Supervisor that refuses", () => {
  it("a Supervisor ErrorBody comes back to the model as its code and message", async () => {
    const result = await registry.execute("promote_generation", { generation: 7 }, ctx());
    expect(result.isError).toBe(true);
    expect(result.content).toBe("the Supervisor answered GENERATION_NOT_FOUND: generation 7 does not exist");
    expect(requests).toEqual(["POST /promote"]);
  });

  it("run_autonomous_loop refuses a second run while one is running", async () => {
    const first = await registry.execute("run_autonomous_loop", { maxGenerations: 2 }, ctx());
    expect(first.isError, first.content).toBe(false);
    expect((await runner.snapshot()).running).toBe(true);
    const second = await registry.execute("run_autonomous_loop", {}, ctx());
    expect(second.isError).toBe(true);
    expect(second.content).toMatch(/already running/);
    await runner.stop();
    expect((await runner.snapshot()).running).toBe(false);
  });
});
