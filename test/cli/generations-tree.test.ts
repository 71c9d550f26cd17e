import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deriveLineageTree } from "../../src/supervisor/store/lineage-tree.ts";
import { loom } from "../helpers/cli.ts";
import {
  candidate,
  cascadeVerification,
  roundOfThree,
  writeRecords,
} from "../supervisor/store/lineage-fixture.ts";

let root: string;
let stateDir: string;
beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), "loom-gen-tree-"));
  stateDir = path.join(root, "state");
  await writeRecords(stateDir, roundOfThree());
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const generations = (args: string[], dir = stateDir) =>
  loom(["generations", ...args], { env: { LOOM_STATE_DIR: dir } });

describe("loom generations --tree", () => {
  it("draws a round of three: one promoted (★), one rolled back at the reachable tests, one archived; then the cost per promoted generation", async () => {
    const { code, stdout, stderr } = await generations(["--tree"]);
    expect(stderr).toBe("");
    expect(code).toBe(0);
    expect(stdout).toBe(
      [
        "initial main",
        "├─ gen-2    rolled_back  r1#2  fitness –     $0.0090  stopped at reachable_tests",
        "├─ gen-3    archived     r1#3  fitness 0.61  $0.0150  stopped at promotion",
        "└─ ★ gen-1  promoted     r1#1  fitness 0.82  $0.0120",
        "",
        "round 1: 3 candidates, $0.0360, gen-1 promoted",
        "3 generations in 1 round, 1 promoted; cost $0.0360, $0.0360 per promoted generation",
        "★ = on the promoted path to main",
      ].join("\n"),
    );
  });

  it("--tree --json prints the derived tree, the same the dashboard draws", async () => {
    const { code, stdout } = await generations(["--tree", "--json"]);
    expect(code).toBe(0);
    const printed = JSON.parse(stdout);
    expect(printed).toEqual(JSON.parse(JSON.stringify(deriveLineageTree(roundOfThree()))));
    expect(printed).toMatchObject({ promotedPath: [1], promoted: 1, costPerPromotedUsd: 0.036 });
    expect(
      printed.roots.map((n: { generation: number; stoppedAt: string | null }) => [n.generation, n.stoppedAt]),
    ).toEqual([
      [2, "reachable_tests"],
      [3, "promotion"],
      [1, null],
    ]);
    // Without --tree, --json stays the records as they are.
    const records = JSON.parse((await generations(["--json"])).stdout);
    expect(records.map((r: { generation: number }) => r.generation)).toEqual([1, 2, 3]);
  });

  it("a next round nests under the promoted generation it was spawned from", async () => {
    const dir = path.join(root, "two-rounds");
    await writeRecords(dir, [
      ...roundOfThree(),
      candidate(4, "failed", {
        round: 2,
        index: 1,
        of: 2,
        parent: 1,
        costUsd: null,
        reason: "the Lab exited 1",
      }),
      candidate(5, "rolled_back", {
        round: 2,
        index: 2,
        of: 2,
        parent: 1,
        costUsd: 0.004,
        reason: "type check failed",
        verification: cascadeVerification({ failures: ["check failed"], failedAt: "check" }),
      }),
    ]);
    const { code, stdout } = await generations(["--tree"], dir);
    expect(code).toBe(0);
    expect(stdout.split("\n").slice(3, 6)).toEqual([
      "└─ ★ gen-1   promoted     r1#1  fitness 0.82  $0.0120",
      "   ├─ gen-4  failed       r2#1  fitness –     –        stopped at lab",
      "   └─ gen-5  rolled_back  r2#2  fitness –     $0.0040  stopped at check",
    ]);
    expect(stdout).toContain("round 2: 2 candidates, $0.0040 (1 without a known cost), none promoted");
    // A round whose cost is nowhere known says so instead of $0.
    const unpriced = path.join(root, "unpriced");
    await writeRecords(unpriced, [
      candidate(1, "failed", { round: 1, index: 1, of: 1, parent: null, costUsd: null, reason: "x" }),
    ]);
    const none = await generations(["--tree"], unpriced);
    expect(none.stdout.split("\n").slice(-3)).toEqual([
      "round 1: 1 candidate, cost not known, none promoted",
      "1 generation in 1 round, 0 promoted; cost not known (no generation has a priced model count)",
      "★ = on the promoted path to main",
    ]);
    expect(stdout).toContain(
      "5 generations in 2 rounds, 1 promoted; cost $0.0400 (1 without a known cost), $0.0400 per promoted generation",
    );
  });

  it("no state folder: says so and creates none", async () => {
    const none = path.join(root, "never");
    const { code, stdout } = await generations(["--tree"], none);
    // (execa drops the last newline.)
    expect([code, stdout]).toEqual([0, "No generations yet."]);
    const json = await generations(["--tree", "--json"], none);
    expect(JSON.parse(json.stdout)).toMatchObject({ roots: [], generations: 0, costPerPromotedUsd: null });
    expect(existsSync(none)).toBe(false);
  });

  it("refuses a stray word or an unknown flag, naming it", async () => {
    const stray = await generations(["tree"]);
    expect(stray.code).toBe(2);
    expect(stray.stderr).toMatch(/too many arguments for 'generations'. Expected 0 arguments but got 1/);
    const flag = await generations(["--tree", "--depth", "2"]);
    expect(flag.code).toBe(2);
    expect(flag.stderr).toContain("unknown option '--depth'");
  });
});
