import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ErrorBody, GenerationRecord, SpawnResponse } from "../../../schemas/index.ts";
import type { ScriptTurnInput } from "../../../src/shared/scripted-model/index.ts";
import { LocalRuntime } from "../../../src/supervisor/runtime/index.ts";
import { GenerationStore } from "../../../src/supervisor/store/index.ts";
import { type Supervisor, startSupervisor } from "../../../src/supervisor/supervisor.ts";
import { entries, type Fixture, git, makeFixture } from "../lifecycle-fixture.ts";

const fixtures: Fixture[] = [];
const supervisors: Supervisor[] = [];
afterEach(async () => {
  for (const s of supervisors.splice(0)) await s.close().catch(() => {});
  await Promise.all(fixtures.splice(0).map((f) => f.cleanup()));
});

const PROGRAM = "# Task\nWrite one file.\n";
const HINTS = ["hint-alpha", "hint-beta", "hint-gamma"];

/**
 * One shared scripted model for every Lab of the round: each Lab's first request carries its own hint
 * (added to its program.md), so it picks that candidate's write; a request carrying a tool result ends
 * whichever Lab sent it.
 */
const roundScript = (names: readonly string[]): ScriptTurnInput[] => [
  ...names.map((name, i) => ({
    when: { lastUserTextIncludes: HINTS[i] as string },
    tool: "write_file",
    input: { path: `${name}.txt`, content: `written by ${name}\n` },
  })),
  ...names.map(() => ({ when: { toolResultIsError: false }, text: "done" })),
];

async function start(script: ScriptTurnInput[], env: Record<string, string> = {}) {
  const fx = await makeFixture(script);
  fixtures.push(fx);
  const config = fx.config(env);
  const sup = await startSupervisor({ config, port: 0, log: () => {}, pollMs: 100 });
  supervisors.push(sup);
  const post = async (body: unknown) => {
    const res = await fetch(`${sup.url}/spawn`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as unknown };
  };
  const get = async (route: string) => (await fetch(`${sup.url}${route}`)).json() as Promise<unknown>;
  return { fx, config, sup, post, get, store: await GenerationStore.open(config.stateDir) };
}

describe("a round of K candidates (local runtime, real Labs, one scripted model)", () => {
  it("K=3: three generations of one round, each on its own branch with its own work, models drawn in turn; a spawn meanwhile is refused naming them; K=1 after it is round 2", async () => {
    const s = await start(roundScript(["alpha", "beta", "gamma"]), { LOOM_LAB_MODELS: "model-a,model-b" });
    const main = (await git(s.fx.repo, ["rev-parse", "main"])).trim();
    const spawned = await s.post({ program: PROGRAM, candidates: 3, hints: HINTS });
    expect(spawned.status, JSON.stringify(spawned.body)).toBe(202);
    const round = SpawnResponse.parse(spawned.body);
    expect(round).toMatchObject({ generation: 1, branch: "lab/gen-1", outcome: "pending", round: 1 });
    expect(round.generations.map((g) => [g.generation, g.branch, g.candidate])).toEqual([
      [1, "lab/gen-1", { index: 1, of: 3, model: "model-a", hint: "hint-alpha" }],
      [2, "lab/gen-2", { index: 2, of: 3, model: "model-b", hint: "hint-beta" }],
      [3, "lab/gen-3", { index: 3, of: 3, model: "model-a", hint: "hint-gamma" }],
    ]);

    const busy = await s.post({ program: PROGRAM });
    expect(busy.status).toBe(409);
    const refusal = ErrorBody.parse(busy.body).error;
    expect(refusal.code).toBe("GENERATION_RUNNING");
    expect(refusal.message).toMatch(/round 1 is still running \(gen-1, gen-2, gen-3\)/);
    // GET /stats names the whole round while it runs (what has not finished yet).
    const stats = (await s.get("/stats")) as { running: number | null; runningGenerations: number[] };
    expect(stats.runningGenerations.length).toBeGreaterThan(0);
    expect(stats.running).toBe(stats.runningGenerations[0]);
    expect([1, 2, 3]).toEqual(expect.arrayContaining(stats.runningGenerations));

    await s.sup.controller.idle();
    const records = (await s.store.list()).map((r) => GenerationRecord.parse(r));
    expect(records.map((r) => [r.generation, r.outcome, r.reason, r.round, r.parent])).toEqual([
      [1, "verifying", null, 1, null],
      [2, "verifying", null, 1, null],
      [3, "verifying", null, 1, null],
    ]);
    for (const [i, name] of ["alpha", "beta", "gamma"].entries()) {
      const branch = `lab/gen-${i + 1}`;
      expect(await git(s.fx.repo, ["show", `${branch}:${name}.txt`])).toBe(`written by ${name}`);
      // Only its own work: no sibling's file on its branch.
      const files = (await git(s.fx.repo, ["ls-tree", "--name-only", branch])).split("\n");
      expect(files.filter((f) => f.endsWith(".txt"))).toEqual([`${name}.txt`]);
      // Its program.md is the round's, with its hint as the last section.
      expect(await git(s.fx.repo, ["show", `${branch}:program.md`])).toBe(
        `${PROGRAM.trim()}\n\n## Approach hint\n\n${HINTS[i]}`,
      );
      expect(await git(s.fx.repo, ["merge-base", main, branch])).toBe(main);
    }
    // Every request named the model its candidate drew: model-a, model-b, model-a, two requests each.
    const models = s.fx.model.requests.map((r) => (r.body as { model: string }).model);
    expect(models.filter((m) => m === "model-a")).toHaveLength(4);
    expect(models.filter((m) => m === "model-b")).toHaveLength(2);
    // Each Lab had its own proxy token: three counts, one per generation.
    for (const r of records) expect(r.modelUsage).toMatchObject({ source: "model-proxy", requests: 2 });
    // The JSON of GET /generations and /generations/N carries round and candidate.
    const listed = (await s.get("/generations")) as GenerationRecord[];
    expect(listed.map((r) => [r.round, r.candidate?.index])).toEqual([
      [1, 1],
      [1, 2],
      [1, 3],
    ]);
    expect(await s.get("/generations/2")).toMatchObject({
      round: 1,
      candidate: { index: 2, of: 3, model: "model-b", hint: "hint-beta" },
    });
    expect(await new LocalRuntime({ stateDir: s.config.stateDir }).list({ loom: "1" })).toEqual([]);
    expect(await entries(path.join(s.config.stateDir, "workspaces"))).toEqual([]);
    expect((await git(s.fx.repo, ["rev-parse", "main"])).trim()).toBe(main);
    expect(await s.get("/stats")).toMatchObject({ running: null, runningGenerations: [] });

    // K=1 (LOOM_CANDIDATES's default): one generation, a round of its own, program.md as given.
    const single = SpawnResponse.parse((await s.post({ program: PROGRAM })).body);
    expect(single).toMatchObject({ generation: 4, round: 2 });
    expect(single.generations.map((g) => g.candidate)).toEqual([{ index: 1, of: 1, model: "model-a" }]);
    await s.sup.controller.idle();
    const four = GenerationRecord.parse(await s.store.get(4));
    expect(four).toMatchObject({ round: 2, candidate: { index: 1, of: 1, model: "model-a" } });
    expect(await git(s.fx.repo, ["show", "lab/gen-4:program.md"])).toBe(PROGRAM.trim());
  }, 120_000);

  it("refuses a bad round with 400 naming the value and what is accepted, and allocates nothing", async () => {
    const s = await start([], { LOOM_CANDIDATES: "2" });
    const cases: [unknown, RegExp][] = [
      [{ program: PROGRAM, candidates: 0 }, /candidates: .*(>=1|at least 1)/i],
      [{ program: PROGRAM, candidates: 17 }, /candidates: expected at most 16 candidates/],
      [{ program: PROGRAM, candidates: "3" }, /candidates: .*expected number, received string/],
      [{ program: PROGRAM, candidates: 1.5 }, /candidates: .*expected int/i],
      [{ program: PROGRAM, hints: ["  "] }, /hints\[0\]: a hint must not be empty/],
      // Three hints for LOOM_CANDIDATES=2: only the domain knows the round's size.
      [
        { program: PROGRAM, hints: ["a", "b", "c"] },
        /3 hints for 2 candidates: give at most one hint per candidate/,
      ],
      [{ program: PROGRAM, candidates: 1, hints: ["a", "b"] }, /2 hints for 1 candidate:/],
    ];
    for (const [body, message] of cases) {
      const res = await s.post(body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(ErrorBody.parse(res.body).error.message, JSON.stringify(body)).toMatch(message);
    }
    expect(await s.store.list()).toEqual([]);
    // In-process callers get the same refusal from the domain.
    await expect(s.sup.controller.spawn(PROGRAM, { candidates: 0 })).rejects.toMatchObject({
      code: "INVALID_SPAWN",
      message: expect.stringMatching(/candidates 0 is not accepted; expected a whole number from 1 to 16/),
    });
    await expect(s.sup.controller.spawn(PROGRAM, { candidates: 17 })).rejects.toMatchObject({
      code: "INVALID_SPAWN",
    });
    expect(await s.store.list()).toEqual([]);
  }, 60_000);

  it("a round whose Labs all fail: every record failed with its reason, main untouched, nothing left running", async () => {
    const s = await start([{ fault: "auth" }, { fault: "auth" }, { fault: "auth" }], {
      LOOM_CANDIDATES: "3",
    });
    const main = (await git(s.fx.repo, ["rev-parse", "main"])).trim();
    const round = SpawnResponse.parse((await s.post({ program: PROGRAM })).body);
    expect(round.generations.map((g) => g.generation)).toEqual([1, 2, 3]);
    await s.sup.controller.idle();
    const records = (await s.store.list()).map((r) => GenerationRecord.parse(r));
    expect(records).toHaveLength(3);
    for (const r of records) {
      expect(r.outcome).toBe("failed");
      expect(r.reason).toMatch(/the Lab failed/);
      expect(r.finishedAt).not.toBeNull();
      expect(r.round).toBe(1);
    }
    expect((await git(s.fx.repo, ["rev-parse", "main"])).trim()).toBe(main);
    expect(await git(s.fx.repo, ["tag", "--list"])).toBe("");
    expect(await new LocalRuntime({ stateDir: s.config.stateDir }).list({ loom: "1" })).toEqual([]);
    expect(await entries(path.join(s.config.stateDir, "workspaces"))).toEqual([]);
    // The round is over: the next spawn is accepted.
    expect((await s.post({ program: PROGRAM, candidates: 1 })).status).toBe(202);
  }, 90_000);

  it("one candidate failing does not stop its siblings", async () => {
    const script: ScriptTurnInput[] = [
      { when: { lastUserTextIncludes: "hint-alpha" }, fault: "auth" },
      ...roundScript(["alpha", "beta"]).slice(1, 2),
      { when: { toolResultIsError: false }, text: "done" },
    ];
    const s = await start(script);
    await s.post({ program: PROGRAM, candidates: 2, hints: HINTS.slice(0, 2) });
    await s.sup.controller.idle();
    const [first, second] = (await s.store.list()).map((r) => GenerationRecord.parse(r));
    expect(first?.outcome).toBe("failed");
    expect(second?.outcome, second?.reason ?? "").toBe("verifying");
    expect(await git(s.fx.repo, ["show", "lab/gen-2:beta.txt"])).toBe("written by beta");
  }, 90_000);
});
