import { afterEach, describe, expect, it } from "vitest";
import { ErrorBody, GenerationRecord, SpawnResponse } from "../../../schemas/index.ts";
import type { ScriptTurnInput } from "../../../src/shared/scripted-model/index.ts";
import { chooseParents, parentPool, parentWeight } from "../../../src/supervisor/lifecycle/choose-parent.ts";
import { GenerationStore } from "../../../src/supervisor/store/index.ts";
import { type Supervisor, startSupervisor } from "../../../src/supervisor/supervisor.ts";
import { record } from "../../prime/records.ts";
import { type Fixture, git, makeFixture } from "../lifecycle-fixture.ts";
import { passedVerification, recordPassedVerification } from "../passed-verification.ts";

/**
 * What a candidate builds on (LOOM_PARENT, POST /spawn {parent}): main, or a stepping stone of the
 * archive, drawn with the Darwin Gödel Machine's weight sigmoid(10·(score − 0.5)) / (1 + children).
 */
describe("parent selection over the lineage", () => {
  const v = passedVerification("a".repeat(40), "b".repeat(40));
  const archived = (n: number, score: number, parent: number | null = null) =>
    record(n, "archived", {
      parent,
      reason: "not promoted",
      fitness: score,
      verification: { ...v, fitness: { score, gated: true, components: {} } },
    });
  const cheapOnly = record(9, "archived", {
    reason: "not a finalist",
    verification: { ...v, passed: false, review: null, mechanical: { ...v.mechanical, complete: false } },
  });

  it("weighs a good score up and many children down, as DGM does", () => {
    expect(parentWeight(0.5, 0)).toBeCloseTo(0.5);
    expect(parentWeight(0.9, 0)).toBeCloseTo(1 / (1 + Math.exp(-4)));
    expect(parentWeight(0.9, 3)).toBeCloseTo(parentWeight(0.9, 0) / 4);
    expect(parentWeight(0.1, 0)).toBeLessThan(0.02);
  });

  it("pools main, the archived generations and the screened ones (to be verified in full when drawn)", () => {
    const screened = record(6, "screened", {
      parent: 1,
      reason: "not a finalist",
      verification: { ...v, passed: false, review: null, mechanical: { ...v.mechanical, complete: false } },
    });
    const screenedFailed = record(7, "screened", {
      parent: 1,
      reason: "not a finalist",
      verification: {
        ...v,
        passed: false,
        review: null,
        mechanical: { ...v.mechanical, passed: false, complete: true },
      },
    });
    const lineage = [
      record(1, "promoted", { parent: null, fitness: 0.6 }),
      archived(2, 0.7, 1),
      archived(3, 0.4, 1),
      cheapOnly,
      record(4, "rolled_back", { parent: 1 }),
      record(5, "verifying", { parent: 2 }),
      screened,
      screenedFailed,
      // Archived in full without a review: its fitness is unknown, the middle of the scale.
      record(10, "archived", {
        parent: 1,
        reason: "drawn as a parent",
        verification: { ...v, review: null, fitness: null },
      }),
    ];
    expect(parentPool(lineage)).toEqual([
      { generation: 1, ref: "refs/heads/main", score: 0.6, children: 6 },
      { generation: 2, ref: "refs/loom/archive/gen-2", score: 0.7, children: 1 },
      { generation: 3, ref: "refs/loom/archive/gen-3", score: 0.4, children: 0 },
      { generation: 6, ref: "refs/heads/lab/gen-6", score: 0.5, children: 0, screened: true },
      { generation: 10, ref: "refs/loom/archive/gen-10", score: 0.5, children: 0 },
    ]);
    // A draw keeps the mark: the spawn finishes that parent's verification first.
    expect(chooseParents(lineage, 1, "main", { explicit: 6 })).toEqual([
      { generation: 6, ref: "refs/heads/lab/gen-6", screened: true },
    ]);
  });

  it("draws by weight, counting each draw as a child: a round spreads over its stepping stones", () => {
    const lineage = [archived(1, 0.9), archived(2, 0.9)];
    // Pool: the initial main (score 0.5, 2 children: both archived ones were spawned from it), gen-1 and
    // gen-2 (0.9, none). A draw at 0.99 of the total lands on the last node, gen-2; its weight halves,
    // and 0.99 of the smaller total still lands on it; a draw at 0 lands on the first node, main.
    const draws = [0.99, 0.99, 0.0];
    const picked = chooseParents(lineage, 3, "archive", { random: () => draws.shift() as number });
    expect(picked).toEqual([
      { generation: 2, ref: "refs/loom/archive/gen-2" },
      { generation: 2, ref: "refs/loom/archive/gen-2" },
      { generation: null, ref: "refs/heads/main" },
    ]);
    // main mode: every candidate on main, whatever the archive holds.
    expect(chooseParents(lineage, 2, "main")).toEqual([
      { generation: null, ref: "refs/heads/main" },
      { generation: null, ref: "refs/heads/main" },
    ]);
  });

  it("takes an explicit parent only from the pool, naming what is accepted", () => {
    const lineage = [record(1, "promoted", { parent: null, fitness: 0.6 }), archived(2, 0.7, 1), cheapOnly];
    expect(chooseParents(lineage, 2, "main", { explicit: 2 })).toEqual([
      { generation: 2, ref: "refs/loom/archive/gen-2" },
      { generation: 2, ref: "refs/loom/archive/gen-2" },
    ]);
    expect(() => chooseParents(lineage, 1, "main", { explicit: 9 })).toThrow(
      "parent 9 is not a generation a candidate can build on; accepted: main's latest promoted generation (gen-1) or an archived or screened generation (gen-2)",
    );
  });
});

const fixtures: Fixture[] = [];
const supervisors: Supervisor[] = [];
afterEach(async () => {
  for (const s of supervisors.splice(0)) await s.close().catch(() => {});
  await Promise.all(fixtures.splice(0).map((f) => f.cleanup()));
});

const writes = (names: readonly string[]): ScriptTurnInput[] => [
  ...names.map((name) => ({
    when: { lastUserTextIncludes: `hint-${name}` },
    tool: "write_file",
    input: { path: `${name}.txt`, content: `written by ${name}\n` },
  })),
  ...names.map(() => ({ when: { toolResultIsError: false }, text: "done" })),
];

describe("a candidate built on an archived generation (local runtime, real Labs)", () => {
  it("starts its branch from refs/loom/archive/gen-P and records the parent; a parent that is not a stepping stone is refused", async () => {
    const fx = await makeFixture(writes(["alpha", "beta", "gamma"]));
    fixtures.push(fx);
    const config = fx.config({});
    const sup = await startSupervisor({ config, port: 0, log: () => {}, pollMs: 100 });
    supervisors.push(sup);
    const store = await GenerationStore.open(config.stateDir);
    const spawn = async (body: unknown) => {
      const res = await fetch(`${sup.url}/spawn`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      return { status: res.status, body: (await res.json()) as unknown };
    };
    const first = await spawn({
      program: "# Task\nWrite.\n",
      candidates: 2,
      hints: ["hint-alpha", "hint-beta"],
    });
    expect(first.status, JSON.stringify(first.body)).toBe(202);
    await sup.controller.idle();
    // gen-1 passed (recorded here: this repo has nothing to verify) and is archived as a stepping stone.
    const verification = await recordPassedVerification(store, fx.repo, 1);
    await store.update(1, {
      verification: { ...verification, fitness: { score: 0.7, gated: true, components: {} } },
    });
    await sup.controller.archive(1, "not promoted: kept as a stepping stone");

    const refused = await spawn({ program: "# Task\nWrite.\n", parent: 2 });
    expect(refused.status).toBe(400);
    expect(ErrorBody.parse(refused.body).error).toMatchObject({
      code: "INVALID_SPAWN",
      message:
        "parent 2 is not a generation a candidate can build on; accepted: main's latest promoted generation (none yet: leave parent out) or an archived or screened generation (gen-1)",
    });

    const built = await spawn({ program: "# Task\nWrite.\n", parent: 1, hints: ["hint-gamma"] });
    expect(built.status, JSON.stringify(built.body)).toBe(202);
    const n = SpawnResponse.parse(built.body).generation;
    await sup.controller.idle();
    const rec = GenerationRecord.parse(await store.get(n));
    expect(rec).toMatchObject({ parent: 1, outcome: "verifying" });
    // The new branch holds gen-1's work and its own.
    const files = (await git(fx.repo, ["ls-tree", "--name-only", `lab/gen-${n}`])).split("\n");
    expect(files).toEqual(expect.arrayContaining(["alpha.txt", "gamma.txt"]));
    expect(files).not.toContain("beta.txt");
    const archivedCommit = (await git(fx.repo, ["rev-parse", "refs/loom/archive/gen-1"])).trim();
    const isAncestor = await git(fx.repo, ["merge-base", "--is-ancestor", archivedCommit, `lab/gen-${n}`])
      .then(() => true)
      .catch(() => false);
    expect(isAncestor).toBe(true);
  }, 120_000);
});
