import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { GenerationRecord } from "../../schemas/generation-record.ts";
import {
  demoRoundLabScript,
  ROUND_LAB_MODELS,
  roundCandidates,
  roundLabScript,
} from "../../src/demo/demo-script.ts";
import { roundReport } from "../../src/demo/round-report.ts";
import { runDemoRound } from "../../src/demo/run-round.ts";

// The records of a real `loom demo --candidates 3 --keep` run (local runtime), as the Supervisor wrote them.
const load = async (): Promise<GenerationRecord[]> =>
  (
    JSON.parse(
      await readFile(new URL("../fixtures/demo-round/records.json", import.meta.url), "utf8"),
    ) as unknown[]
  ).map((r) => GenerationRecord.parse(r));

describe("demo rounds of other sizes (the rounds benchmark's K = 2 and 4)", () => {
  it("candidate i plays careless, verbose, tidy in turn, each on a model of its own; 3 is exactly loom demo --candidates 3", () => {
    expect(roundCandidates(3).map((c) => c.model)).toEqual([...ROUND_LAB_MODELS]);
    expect(roundCandidates(2)).toEqual([
      { role: "careless", model: "demo-lab-careless" },
      { role: "verbose", model: "demo-lab-verbose" },
    ]);
    expect(roundCandidates(4).map((c) => [c.role, c.model])).toEqual([
      ["careless", "demo-lab-careless"],
      ["verbose", "demo-lab-verbose"],
      ["tidy", "demo-lab-tidy"],
      ["careless", "demo-lab-careless-2"],
    ]);
    expect(roundLabScript(roundCandidates(3))).toEqual(demoRoundLabScript);
    // The fourth Lab is played the careless part again, on its own model: every turn once per Lab.
    const four = roundLabScript(roundCandidates(4));
    const turnsOf = (model: string) => four.filter((t) => t.when?.model === model);
    expect(turnsOf("demo-lab-careless-2").map((t) => ("tool" in t ? t.tool : undefined))).toEqual(
      turnsOf("demo-lab-careless").map((t) => ("tool" in t ? t.tool : undefined)),
    );
    expect(four).toHaveLength(demoRoundLabScript.length + turnsOf("demo-lab-careless").length);
  });

  it("the report expects what each size should end as: with no tidy candidate the verbose one is promoted; a second careless one is rolled back too", async () => {
    const [careless, verbose, tidy] = (await load()) as [
      GenerationRecord,
      GenerationRecord,
      GenerationRecord,
    ];
    const promotedVerbose = { ...verbose, outcome: "promoted" as const, reason: null };
    const two = roundCandidates(2);
    expect(
      roundReport([careless, promotedVerbose], ["refs/heads/main", "refs/tags/gen-2"], ["gen-2"], two)
        .problems,
    ).toEqual([]);
    // The three-candidate ending is wrong for two: the verbose one should have been promoted.
    expect(
      roundReport([careless, { ...verbose, reason: null }], ["refs/heads/main"], [], two).problems,
    ).toEqual(["gen-2 (demo-lab-verbose) ended archived, not promoted", "main has no tag gen-2"]);
    const second = {
      ...careless,
      generation: 4,
      candidate: { index: 4, of: 4, model: "demo-lab-careless-2" },
    };
    const refs = ["refs/heads/main", "refs/loom/archive/gen-2", "refs/tags/gen-3"];
    const four = roundCandidates(4);
    expect(roundReport([careless, verbose, tidy, second], refs, ["gen-3"], four).problems).toEqual([]);
    expect(roundReport([careless, verbose, tidy], refs, ["gen-3"], four).problems).toEqual([
      "expected one round of 4 candidates, found 3 generation(s) in rounds",
      "no candidate drew demo-lab-careless-2",
    ]);
    expect(
      roundReport(
        [careless, verbose, tidy, { ...second, outcome: "archived" as const, reason: null }],
        refs,
        ["gen-3"],
        four,
      ).problems,
    ).toEqual(["gen-4 (demo-lab-careless-2) ended archived, not rolled_back"]);
  });

  it("refuses a size it has no determined ending for, naming it, before it starts anything", async () => {
    for (const k of [1, 5, 2.5]) {
      await expect(runDemoRound({ log: () => {}, candidates: k })).rejects.toThrow(
        `a demo round of ${k} candidates has no script: its size is a whole number from 2 to 4`,
      );
    }
  });
});
