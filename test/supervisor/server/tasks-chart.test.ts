import { describe, expect, it } from "vitest";
import type { TaskScore } from "../../../schemas/verification.ts";
import { renderTasksChart } from "../../../src/supervisor/server/pages/tasks-chart.ts";
import { record, verification } from "../../prime/records.ts";

const score = (solved: number, total: number, costUsd: number | null): TaskScore => ({
  ref: "c".repeat(40),
  solved,
  total,
  solvedTasks: Array.from({ length: solved }, (_, i) => `task-${i}`),
  costUsd,
  taskSet: "d".repeat(64),
});

/** A generation verified under LOOM_FITNESS=tasks: its agent solved `solved` of 25, main 20. */
function measured(n: number, solved: number, costUsd: number | null) {
  const v = verification();
  v.mechanical.taskFitness = {
    screen: null,
    full: {
      candidate: score(solved, 25, costUsd),
      main: score(20, 25, 0.4),
      candidateOnly: Math.max(0, solved - 20),
      mainOnly: Math.max(0, 20 - solved),
      pValue: 0.03,
      verdict: solved > 20 ? "candidate better" : "within noise",
      gain: (solved - 20) / 25,
      minGain: 0,
    },
  };
  return record(n, solved > 20 ? "promoted" : "rolled_back", { verification: v });
}

describe("the dashboard's tasks chart (LOOM_FITNESS=tasks)", () => {
  it("plots each measured generation's solved share, main's beside it, and its task run's cost", () => {
    const out = renderTasksChart([
      measured(3, 24, 0.52),
      record(1, "failed"),
      measured(2, 18, null),
    ]).toString();
    const shares = [
      ...out.matchAll(/class="share-point[^"]*" data-generation="(\d+)" data-share="([\d.]+)"/g),
    ].map((m) => [Number(m[1]), Number(m[2])]);
    // In generation order, only the measured ones; gen-1 (no task stage) is not on it.
    expect(shares).toEqual([
      [2, 0.72],
      [3, 0.96],
    ]);
    // A cost bar only where the cost is known; the title says main's share and the paired verdict.
    expect([...out.matchAll(/class="cost-bar" data-generation="(\d+)"/g)].map((m) => m[1])).toEqual(["3"]);
    expect(out).toContain(
      "gen-3 (promoted): 96 % of main's tasks solved, main 80 %; candidate better, p = 0.030",
    );
    expect(out).toContain("its task run cost $0.520");
  });

  it("is absent when no generation was measured on tasks (LOOM_FITNESS=gates)", () => {
    expect(renderTasksChart([record(1, "promoted", { verification: verification() })])).toBe("");
  });
});
