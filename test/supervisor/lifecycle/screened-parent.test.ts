import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GenerationRecord } from "../../../schemas/index.ts";
import { SupervisorClient } from "../../../src/prime/supervisor-client.ts";
import { type ScriptedModelServer, startScriptedModel } from "../../../src/shared/scripted-model/index.ts";
import { GenerationStore } from "../../../src/supervisor/store/index.ts";
import { type Supervisor, startSupervisor } from "../../../src/supervisor/supervisor.ts";
import {
  git,
  mainFiles,
  makeVerifyFixture,
  tests,
  type VerifyFixture,
  verifyingGeneration,
} from "../verify-fixture.ts";

/**
 * A round's candidate that passed only the cheap stages is kept `screened` (issue 15: "finishes
 * verification if it is later chosen as a parent"). Drawn as a parent, it is verified in full first,
 * where it is: passing, it is archived and the child builds on it; failing, it is rolled back and the
 * child builds on main. Real git, real verification steps, real local Labs on a scripted model.
 */
let fx: VerifyFixture;
let model: ScriptedModelServer;
let sup: Supervisor;
let client: SupervisorClient;
let store: GenerationStore;

const write = (name: string) => [
  {
    when: { lastUserTextIncludes: `Write ${name}` },
    tool: "write_file",
    input: { path: `${name}.txt`, content: `${name}\n` },
  },
  { when: { lastToolResultIncludes: `${name}.txt` }, text: `Wrote ${name}.txt.` },
];

beforeAll(async () => {
  fx = await makeVerifyFixture(mainFiles);
  model = await startScriptedModel([...write("one"), ...write("two")]);
  sup = await startSupervisor({
    config: fx.config({
      LOOM_RUNTIME: "local",
      LOOM_LAB_API_BASE: model.url,
      LOOM_LAB_API_KEY: "lab-key",
      LOOM_MAX_RETRIES: "0",
    }),
    port: 0,
    log: () => {},
    pollMs: 100,
  });
  client = new SupervisorClient({ baseUrl: sup.url });
  store = await GenerationStore.open(fx.stateDir);
}, 60_000);
afterAll(async () => {
  await sup?.close();
  await model?.close();
  await fx?.cleanup();
});

/** A candidate screened as Prime's round step leaves one: the cheap stages, then POST /archive. */
async function screened(files: Record<string, string>): Promise<number> {
  const { generation } = await verifyingGeneration(fx, store, files);
  const m = await client.verify(generation, undefined, { through: "reachable" });
  expect(m).toMatchObject({ passed: true, complete: false });
  expect(await client.archive(generation, "not promoted: not a finalist")).toMatchObject({
    outcome: "screened",
  });
  return generation;
}

const spawnOn = async (parent: number, program: string): Promise<GenerationRecord> => {
  const spawned = await client.spawn({ program, parent });
  await sup.controller.idle();
  return GenerationRecord.parse(await store.get(spawned.generation));
};
const files = async (ref: string) => (await git(fx.repo, ["ls-tree", "--name-only", ref])).split("\n");

describe("a screened candidate drawn as a parent", () => {
  it("is verified in full first; passing, it is archived and the child builds on it", async () => {
    const p = await screened({ "test/kept.test.ts": tests(2).replaceAll('test("add', 'test("kept') });
    const child = await spawnOn(p, "# Task\nWrite one.\n");
    const parent = GenerationRecord.parse(await store.get(p));
    expect(parent).toMatchObject({
      outcome: "archived",
      verification: { mechanical: { passed: true, complete: true } },
    });
    expect(parent.reason).toMatch(/^drawn as a parent in round \d+: verified in full/);
    expect(parent.verification?.mechanical.stages?.find((s) => s.name === "full_tests")?.state).toBe(
      "passed",
    );
    expect(child).toMatchObject({ parent: p, outcome: "verifying" });
    expect(await files(`lab/gen-${child.generation}`)).toEqual(expect.arrayContaining(["one.txt", "test"]));
    const archived = (await git(fx.repo, ["rev-parse", `refs/loom/archive/gen-${p}`])).trim();
    await expect(
      git(fx.repo, ["merge-base", "--is-ancestor", archived, `lab/gen-${child.generation}`]),
    ).resolves.toBeDefined();
    await client.rollback(child.generation, "done with it");
  }, 120_000);

  it("failing its full verification, it is rolled back with the reason and the child builds on main", async () => {
    // Types check and the cheap stages pass; the full suite finds add() broken.
    const p = await screened({
      "src/math.ts": "export function add(a: number, b: number): number {\n  return a - b;\n}\n",
    });
    const child = await spawnOn(p, "# Task\nWrite two.\n");
    const parent = GenerationRecord.parse(await store.get(p));
    expect(parent.outcome).toBe("rolled_back");
    expect(parent.reason).toMatch(/^drawn as a parent in round \d+, it failed its full verification: tests/);
    expect(child).toMatchObject({ parent: null, outcome: "verifying" });
    const built = await files(`lab/gen-${child.generation}`);
    expect(built).toContain("two.txt");
    expect(await git(fx.repo, ["show", `lab/gen-${child.generation}:src/math.ts`])).toContain("a + b");
    expect(await git(fx.repo, ["branch", "--list", `lab/gen-${p}`])).toBe("");
  }, 120_000);

  it("a Supervisor stopped while the parent is verified leaves it screened and the child aborted, nothing half done", async () => {
    const p = await screened({ "test/stop.test.ts": tests(1).replaceAll('test("add', 'test("stop') });
    const spawned = await client.spawn({ program: "# Task\nWrite one.\n", parent: p });
    // Stopped as soon as the parent's full verification has started.
    await client.awaitRecord(p, (r) => r.verificationRun?.state === "running", { timeoutMs: 30_000 });
    await sup.close();
    sup = await startSupervisor({
      config: fx.config({ LOOM_RUNTIME: "local", LOOM_LAB_API_BASE: model.url, LOOM_LAB_API_KEY: "lab-key" }),
      port: 0,
      log: () => {},
      pollMs: 100,
    });
    client = new SupervisorClient({ baseUrl: sup.url });
    const parent = GenerationRecord.parse(await store.get(p));
    expect(parent).toMatchObject({ outcome: "screened", verificationRun: { state: "stopped" } });
    expect(parent.verification?.mechanical.complete).toBe(false);
    expect(await git(fx.repo, ["branch", "--list", `lab/gen-${p}`])).toContain(`lab/gen-${p}`);
    const child = GenerationRecord.parse(await store.get(spawned.generation));
    expect(child.outcome).toBe("aborted");
    expect(child.reason).toContain(`its parent gen-${p} (screened) could not be verified in full`);
  }, 120_000);
});
