import { describe, expect, it } from "vitest";
import type { GenerationRecord } from "../../../schemas/generation-record.ts";
import {
  deriveLineageTree,
  isStopPoint,
  type LineageNode,
  lineageRows,
  stoppedAt,
} from "../../../src/supervisor/store/lineage-tree.ts";
import { record, verification } from "../../prime/records.ts";
import { candidate, cascadeVerification, roundOfThree } from "./lineage-fixture.ts";

const approved = { approved: true, issues: [], confidence: 0.9, summary: "ok" };

/** Round 1 (roundOfThree), round 2 from gen-1, round 3 from gen-5, and one built on the archived gen-3. */
function threeRounds(): GenerationRecord[] {
  return [
    ...roundOfThree(),
    candidate(4, "rolled_back", {
      round: 2,
      index: 1,
      of: 2,
      parent: 1,
      costUsd: 0.01,
      reason: "review rejected: it rewrites schemas/",
      verification: cascadeVerification({
        verdict: { approved: false, issues: ["rewrites schemas/"], confidence: 0.7, summary: "no" },
      }),
    }),
    candidate(5, "promoted", {
      round: 2,
      index: 2,
      of: 2,
      parent: 1,
      costUsd: 0.02,
      fitness: 0.9,
      verification: cascadeVerification({ verdict: approved, score: 0.9 }),
    }),
    candidate(6, "failed", {
      round: 3,
      index: 1,
      of: 2,
      parent: 5,
      costUsd: null,
      reason: "the Lab exited 1",
    }),
    candidate(7, "running", { round: 3, index: 2, of: 2, parent: 5 }),
    candidate(8, "verifying", { round: 4, index: 1, of: 1, parent: 3, costUsd: 0.004 }),
  ];
}

const shape = (n: LineageNode): unknown => ({
  [`gen-${n.generation}`]: n.children.map(shape),
});

describe("deriveLineageTree", () => {
  it("hangs each generation under its parent, marks the promoted path, and says where each discarded one stopped", () => {
    const tree = deriveLineageTree(threeRounds());
    // Siblings oldest first, the one continuing the promoted path last.
    expect(tree.roots.map(shape)).toEqual([
      { "gen-2": [] },
      { "gen-3": [{ "gen-8": [] }] },
      { "gen-1": [{ "gen-4": [] }, { "gen-5": [{ "gen-6": [] }, { "gen-7": [] }] }] },
    ]);
    expect(tree.promotedPath).toEqual([1, 5]);
    const rows = lineageRows(tree);
    expect(rows.map((r) => `${r.prefix}gen-${r.node.generation}`)).toEqual([
      "├─ gen-2",
      "├─ gen-3",
      "│  └─ gen-8",
      "└─ gen-1",
      "   ├─ gen-4",
      "   └─ gen-5",
      "      ├─ gen-6",
      "      └─ gen-7",
    ]);
    const byGen = new Map(rows.map((r) => [r.node.generation, r.node]));
    expect(
      [...byGen.values()]
        .sort((a, b) => a.generation - b.generation)
        .map((n) => [
          n.generation,
          n.outcome,
          n.round,
          n.candidate,
          n.of,
          n.fitness,
          n.costUsd,
          n.stoppedAt,
          n.onPromotedPath,
        ]),
    ).toEqual([
      [1, "promoted", 1, 1, 3, 0.82, 0.012, null, true],
      [2, "rolled_back", 1, 2, 3, null, 0.009, "reachable_tests", false],
      [3, "archived", 1, 3, 3, 0.61, 0.015, "promotion", false],
      [4, "rolled_back", 2, 1, 2, null, 0.01, "review", false],
      [5, "promoted", 2, 2, 2, 0.9, 0.02, null, true],
      [6, "failed", 3, 1, 2, null, null, "lab", false],
      [7, "running", 3, 2, 2, null, null, null, false],
      [8, "verifying", 4, 1, 1, null, 0.004, null, false],
    ]);
    expect(byGen.get(1)?.model).toBe("model-a");
  });

  it("costs: the total over every generation, per promoted generation, and per round", () => {
    const tree = deriveLineageTree(threeRounds());
    expect(tree.generations).toBe(8);
    expect(tree.promoted).toBe(2);
    expect(tree.totalCostUsd).toBeCloseTo(0.07, 10);
    // gen-6 had an unpriced model, gen-7 has no count yet.
    expect(tree.uncosted).toBe(2);
    expect(tree.costPerPromotedUsd).toBeCloseTo(0.035, 10);
    expect(
      tree.rounds.map((r) => [
        r.round,
        r.generations,
        r.costUsd === null ? null : Number(r.costUsd.toFixed(6)),
        r.uncosted,
        r.promoted,
      ]),
    ).toEqual([
      [1, [1, 2, 3], 0.036, 0, 1],
      [2, [4, 5], 0.03, 0, 5],
      // Nothing known in round 3: its cost is not known, not zero.
      [3, [6, 7], null, 2, null],
      [4, [8], 0.004, 0, null],
    ]);
  });

  it("no promoted generation: no cost per promoted generation and an empty path; no records: an empty tree", () => {
    const tree = deriveLineageTree(
      threeRounds().filter((r) => r.outcome !== "promoted" && r.parent === null),
    );
    expect(tree.promotedPath).toEqual([]);
    expect(tree.costPerPromotedUsd).toBeNull();
    expect(tree.totalCostUsd).toBeCloseTo(0.024, 10);
    expect(deriveLineageTree([])).toMatchObject({
      roots: [],
      promotedPath: [],
      generations: 0,
      costPerPromotedUsd: null,
      rounds: [],
    });
  });

  it("a promoted candidate built on an archived one carries it onto the promoted path", () => {
    const records = [
      ...roundOfThree(),
      candidate(4, "promoted", { round: 2, index: 1, of: 1, parent: 3, costUsd: 0.01, fitness: 0.95 }),
    ];
    const tree = deriveLineageTree(records);
    expect(tree.promotedPath).toEqual([1, 3, 4]);
    // Both path children come after the dead end, oldest first.
    expect(tree.roots.map((n) => [n.generation, n.onPromotedPath])).toEqual([
      [2, false],
      [1, true],
      [3, true],
    ]);
  });

  it("records from before rounds and the cascade: no round, the failed step read from the old fields; a parent without a record hangs at the top", () => {
    const old = [
      record(1, "promoted", { parent: null, fitness: 0.5 }),
      record(2, "rolled_back", {
        parent: 1,
        verification: (() => {
          const v = verification({ failures: ["check failed"] });
          return { ...v, mechanical: { ...v.mechanical, check: { ...v.mechanical.check, passed: false } } };
        })(),
      }),
      record(3, "rolled_back", { parent: 1, verification: verification({ failures: ["tests failed"] }) }),
      record(4, "timed_out", { parent: 1 }),
      record(9, "aborted", { parent: 7 }),
    ];
    const tree = deriveLineageTree(old);
    const nodes = lineageRows(tree).map((r) => r.node);
    expect(nodes.map((n) => [n.generation, n.round, n.candidate, n.costUsd, n.stoppedAt])).toEqual([
      [9, null, null, null, "it failed"],
      [1, null, null, null, null],
      [2, null, null, null, "check"],
      [3, null, null, null, "full_tests"],
      [4, null, null, null, "lab"],
    ]);
    expect(tree.rounds).toEqual([]);
    expect(tree.uncosted).toBe(5);
    // No cost known anywhere: neither a total nor a cost per promoted generation, rather than $0.
    expect([tree.totalCostUsd, tree.costPerPromotedUsd]).toEqual([null, null]);
  });

  it("stoppedAt: a failed stage wins over the reason; in-progress and promoted generations have none", () => {
    const rb = candidate(2, "rolled_back", {
      round: 1,
      index: 1,
      of: 1,
      parent: null,
      reason: "anything at all",
      verification: cascadeVerification({ failures: ["type check failed"], failedAt: "check" }),
    });
    expect(stoppedAt(rb)).toBe("check");
    // Not a finalist: stopped through the reachable tests, rolled back with its reason.
    const loser = candidate(3, "rolled_back", {
      round: 1,
      index: 1,
      of: 1,
      parent: null,
      reason: "not a finalist: gen-1 won the round",
      verification: cascadeVerification({ through: "reachable_tests" }),
    });
    expect(stoppedAt(loser)).toBe("full_tests");
    // Nothing on the record says where: the reason's first five words, trailing punctuation dropped.
    const byHand = record(6, "rolled_back", {
      reason: "Prime rolled it back, because the diff was far too large",
    });
    expect(stoppedAt(byHand)).toBe("Prime rolled it back, because…");
    expect(stoppedAt(record(7, "aborted", { reason: "  stopped by a person.  " }))).toBe(
      "stopped by a person",
    );
    expect(stoppedAt(record(4, "verifying"))).toBeNull();
    // Stage names read as stages; a reason's words do not.
    expect(["reachable_tests", "lab", "review", "promotion"].map(isStopPoint)).toEqual([
      true,
      true,
      true,
      true,
    ]);
    expect(isStopPoint("stopped by a person")).toBe(false);
    expect(stoppedAt(record(5, "promoted", { parent: null }))).toBeNull();
  });
});
