import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { GenerationRecord } from "../../schemas/generation-record.ts";
import { roundReport } from "../../src/demo/round-report.ts";

// The records of a real `loom demo --candidates 3 --keep` run (local runtime), as the Supervisor wrote them.
const load = async (): Promise<GenerationRecord[]> =>
  (
    JSON.parse(
      await readFile(new URL("../fixtures/demo-round/records.json", import.meta.url), "utf8"),
    ) as unknown[]
  ).map((r) => GenerationRecord.parse(r));
const REFS = ["refs/heads/main", "refs/loom/archive/gen-2", "refs/tags/gen-3"];
const TAGS = ["gen-3"];

describe("roundReport: what makes loom demo --candidates 3 exit 1", () => {
  it("the round as scripted: no problem; one line per candidate with its stop or fitness and times, and why the archived one scored lower", async () => {
    const report = roundReport(await load(), REFS, TAGS);
    expect(report.problems).toEqual([]);
    expect(report.lines[0]).toMatch(
      /^gen-1 {2}candidate 1 \(demo-lab-careless\) {2}rolled_back {2}stopped at reachable_tests \(test\/banner\.test\.ts > banner greets everyone\)\n {4}stage 1 3\.3 s \(fixed_points 0\.7 s, check 0\.7 s, reachable_tests 1\.6 s\); spawn to end 30\.4 s$/,
    );
    expect(report.lines[1]).toMatch(
      /^gen-2 .*archived {5}fitness 0\.711\n.*full_tests 3\.8 s\), review 0\.0 s/,
    );
    expect(report.lines[2]).toMatch(/^gen-3 .*promoted {5}fitness 0\.9346\n/);
    expect(report.lines[3]).toBe(
      "gen-2 scored 0.711 against gen-3's 0.9346, lower on size 0.7366 vs 0.9153 (143 vs 37 changed lines); " +
        "review confidence 0.6 vs 0.9; issues 0.5 vs 1 (the reviewer listed: test/greet-user.test.ts repeats one " +
        "assertion for twelve names in twelve blocks: about a hundred lines that check nothing the first case does not)",
    );
  });

  it("any other ending is a problem, named", async () => {
    const records = await load();
    const [careless, verbose, tidy] = records as [GenerationRecord, GenerationRecord, GenerationRecord];
    // The finalists the other way round: the verbose one promoted, the tidy one archived.
    const swapped = roundReport(
      [careless, { ...verbose, outcome: "promoted", reason: null }, { ...tidy, outcome: "archived" }],
      REFS,
      TAGS,
    );
    expect(swapped.problems).toEqual([
      "gen-2 (demo-lab-verbose) ended promoted, not archived",
      "gen-3 (demo-lab-tidy) ended archived, not promoted",
    ]);
    // No archive ref, no tag, a round of two.
    expect(roundReport(records, ["refs/heads/main"], []).problems).toEqual([
      "gen-2 has no refs/loom/archive/gen-2",
      "main has no tag gen-3",
    ]);
    expect(roundReport([careless, tidy], REFS, TAGS).problems).toEqual([
      "expected one round of 3 candidates, found 2 generation(s) in rounds",
      "no candidate drew demo-lab-verbose",
    ]);
    // The careless one stopped by the type check instead, and one that ran its full suite anyway.
    const stages = careless.verification!.mechanical.stages!;
    const withStages = (states: Record<string, "passed" | "failed" | "not_run">) => ({
      ...careless,
      verification: {
        ...careless.verification!,
        mechanical: {
          ...careless.verification!.mechanical,
          stages: stages.map((s) => (states[s.name] ? { ...s, state: states[s.name]! } : s)),
        },
      },
    });
    expect(
      roundReport([withStages({ check: "failed", reachable_tests: "not_run" }), verbose, tidy], REFS, TAGS)
        .problems,
    ).toEqual(["gen-1 was not stopped at reachable_tests (first failed stage: check)"]);
    expect(roundReport([withStages({ full_tests: "passed" }), verbose, tidy], REFS, TAGS).problems).toEqual([
      "gen-1 ran the full suite (passed) after failing earlier",
    ]);
    // Archived on the cheap stages only, and archived with the higher fitness.
    const cheapOnly = {
      ...verbose,
      verification: {
        ...verbose.verification!,
        mechanical: { ...verbose.verification!.mechanical, complete: false },
      },
    };
    expect(roundReport([careless, cheapOnly, tidy], REFS, TAGS).problems).toEqual([
      "gen-2 was archived without the full suite and the review",
    ]);
    expect(roundReport([careless, { ...verbose, fitness: 0.95 }, tidy], REFS, TAGS).problems).toEqual([
      "gen-2's fitness 0.95 is not below gen-3's 0.9346",
    ]);
  });
});
