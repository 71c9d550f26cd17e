import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GenerationRecord } from "../../schemas/index.ts";
import { type Supervisor, startSupervisor } from "../../src/supervisor/supervisor.ts";
import { type Fixture, makeFixture } from "./lifecycle-fixture.ts";
import { candidate, cascadeVerification, roundOfThree, writeRecords } from "./store/lineage-fixture.ts";

const records = [
  ...roundOfThree(),
  candidate(4, "rolled_back", {
    round: 2,
    index: 1,
    of: 1,
    parent: 1,
    costUsd: 0.0042,
    reason: "type check failed",
    verification: cascadeVerification({ failures: ["check failed"], failedAt: "check" }),
  }),
];

let fx: Fixture;
let sup: Supervisor;

describe("GET /generations/N as JSON", () => {
  beforeAll(async () => {
    fx = await makeFixture([]);
    await writeRecords(fx.stateDir, records);
    sup = await startSupervisor({ config: fx.config(), port: 0, log: () => {}, pollMs: 100 });
  }, 60_000);
  afterAll(async () => {
    await sup?.close();
    await fx?.cleanup();
  });

  const get = async (route: string) => {
    const res = await fetch(`${sup.url}${route}`, { headers: { accept: "application/json" } });
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    return { status: res.status, body: (await res.json()) as unknown };
  };

  it("carries the parent, the round and candidate, the cascade's stages and the cost, exactly as recorded", async () => {
    for (const r of records) {
      const { status, body } = await get(`/generations/${r.generation}`);
      expect(status).toBe(200);
      expect(GenerationRecord.parse(body)).toEqual(r);
    }
    const rejected = GenerationRecord.parse((await get("/generations/2")).body);
    expect(rejected.parent).toBeNull();
    expect([rejected.round, rejected.candidate]).toEqual([
      1,
      { index: 2, of: 3, model: "model-b", hint: "rewrite the parser" },
    ]);
    expect(rejected.modelUsage?.costUsd).toBe(0.009);
    expect(rejected.verification?.mechanical.stages?.map((s) => [s.name, s.state])).toEqual([
      ["fixed_points", "passed"],
      ["install", "passed"],
      ["check", "passed"],
      ["reachable_tests", "failed"],
      ["full_tests", "not_run"],
      ["acceptance", "not_run"],
    ]);
    expect(rejected.verification?.mechanical.stages?.[3]).toMatchObject({
      durationMs: 2_500,
      detail: "reachable_tests failed: 1 test of 4 failed",
    });
    const child = GenerationRecord.parse((await get("/generations/4")).body);
    expect([child.parent, child.round, child.candidate?.index, child.modelUsage?.costUsd]).toEqual([
      1, 2, 1, 0.0042,
    ]);
    expect(child.verification?.mechanical.stages?.find((s) => s.state === "failed")?.name).toBe("check");
    const archived = GenerationRecord.parse((await get("/generations/3")).body);
    expect([archived.outcome, archived.fitness, archived.verification?.mechanical.complete]).toEqual([
      "archived",
      0.61,
      undefined,
    ]);
  });

  it("GET /generations lists the same records, in order", async () => {
    const { body } = await get("/generations");
    expect((body as unknown[]).map((r) => GenerationRecord.parse(r))).toEqual(records);
  });
});
