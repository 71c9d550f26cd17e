import { fileURLToPath } from "node:url";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { GATE_MODULES } from "../../scripts/mutation/gate-modules.ts";
import { MutationSetupError, preflight } from "../../scripts/mutation/preflight.ts";
import { belowFloors, scoresOf } from "../../scripts/mutation/scores.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

const fails = (run: () => void): string => {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(MutationSetupError);
    return (err as Error).message;
  }
  throw new Error("expected a MutationSetupError");
};

describe("a mutation run that cannot start says why", () => {
  it("every gate module and its tests exist, and the packages a run needs are installed", () => {
    expect(() => preflight(ROOT, GATE_MODULES)).not.toThrow();
  });

  it("a missing runner package is named, with the way to get it", () => {
    const missing = (pkg: string) => {
      if (pkg.startsWith("@stryker-mutator/vitest-runner")) throw new Error("Cannot find module");
      return pkg;
    };
    expect(fails(() => preflight(ROOT, GATE_MODULES, missing))).toBe(
      "@stryker-mutator/vitest-runner is not installed, so the mutation run cannot start; run npm install (it is a devDependency)",
    );
  });

  it("no tests found: a module listing none or a test file that does not exist", () => {
    expect(fails(() => preflight(ROOT, [{ mutate: "src/supervisor/verify/fitness.ts", tests: [] }]))).toBe(
      "no tests found for src/supervisor/verify/fitness.ts: it lists none",
    );
    expect(
      fails(() =>
        preflight(ROOT, [{ mutate: "src/supervisor/verify/fitness.ts:1-5", tests: ["test/gone.test.ts"] }]),
      ),
    ).toMatch(/^no tests found for src\/supervisor\/verify\/fitness\.ts: test\/gone\.test\.ts/);
    expect(
      fails(() =>
        preflight(ROOT, [{ mutate: "src/gone.ts", tests: ["test/supervisor/verify/fitness.test.ts"] }]),
      ),
    ).toMatch(/gate module src\/gone\.ts does not exist/);
    expect(fails(() => preflight(ROOT, []))).toMatch(/no gate module to mutate/);
  });

  it("npm run mutation refuses unknown modules and arguments with exit 2 before starting Stryker", async () => {
    const run = (args: string[]) =>
      execa(process.execPath, ["--import", "tsx", "scripts/mutation/run.ts", ...args], {
        cwd: ROOT,
        reject: false,
      });
    const unknown = await run(["--module", "src/nope.ts"]);
    expect(unknown.exitCode).toBe(2);
    expect(unknown.stderr).toMatch(
      /cannot start: src\/nope\.ts is not a gate module; accepted: src\/supervisor\/verify\/fitness\.ts/,
    );
    const bogus = await run(["--bogus"]);
    expect(bogus.exitCode).toBe(2);
    expect(bogus.stderr).toMatch(/unknown argument "--bogus"; accepted: --changed/);
    const shallow = await run(["--changed", "--base", "no-such-ref-0"]);
    expect(shallow.exitCode).toBe(2);
    expect(shallow.stderr).toMatch(/the base no-such-ref-0 is not a commit in this clone/);
    const noValue = await run(["--base"]);
    expect(noValue.exitCode).toBe(2);
    expect(noValue.stderr).toMatch(/--base needs a value/);
  });
});

describe("scores and floors", () => {
  const mutant = (status: string, line = 1) => ({
    status,
    mutatorName: "EqualityOperator",
    replacement: "a < b",
    location: { start: { line, column: 3 } },
  });
  it("score = killed or timed out over those plus survivors and uncovered; errors do not count", () => {
    const [s] = scoresOf(
      {
        files: {
          [`${ROOT}src/x.ts`]: {
            mutants: [
              mutant("Killed"),
              mutant("Timeout"),
              mutant("Killed"),
              mutant("Survived", 7),
              mutant("CompileError"),
              mutant("RuntimeError"),
              mutant("Ignored"),
            ],
          },
        },
      },
      ROOT,
    );
    expect(s).toEqual({
      file: "src/x.ts",
      detected: 3,
      undetected: 1,
      score: 75,
      survivors: ['7:3 Survived EqualityOperator → "a < b"'],
    });
    expect(scoresOf({ files: { "src/y.ts": { mutants: [mutant("NoCoverage")] } } }, ROOT)[0]?.score).toBe(0);
    expect(scoresOf({ files: { "src/z.ts": { mutants: [] } } }, ROOT)[0]?.score).toBe(100);
  });

  it("a module below its floor (or the target, without one) is reported with its survivors", () => {
    const s = { file: "src/x.ts", detected: 3, undetected: 1, score: 75, survivors: ["7:3 Survived m"] };
    expect(belowFloors([s], { "src/x.ts": 75 }, 90)).toEqual([]);
    expect(belowFloors([s], {}, 90)).toEqual([
      "src/x.ts: mutation score 75 % is below its floor of 90 % (1 mutant(s) not detected: 7:3 Survived m)",
    ]);
    expect(belowFloors([s], { "src/x.ts": 80 }, 70)).toHaveLength(1);
  });
});
