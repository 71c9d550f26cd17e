import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { changedFiles, reachablePlan } from "../../../src/supervisor/verify/reachable.ts";

const pkg = (scripts: Record<string, string>) => JSON.stringify({ name: "x", scripts });
const LOOM = readFileSync(new URL("../../../package.json", import.meta.url), "utf8");
const RUN = 'PATH="$PWD/node_modules/.bin:$PATH" vitest related --run --passWithNoTests --bail=1';

describe("the reachable-tests plan", () => {
  it("on Loom's own package.json: vitest related on the changed files, each as ./path, quoted and once", () => {
    expect(reachablePlan(LOOM, ["src/a.ts", "test/a.test.ts", "src/a.ts"])).toEqual({
      kind: "run",
      command: `${RUN} './src/a.ts' './test/a.test.ts'`,
      files: ["src/a.ts", "test/a.test.ts"],
    });
    // A name that starts with a dash stays a file; a quote in a name stays inside its word.
    expect(reachablePlan(LOOM, ["-x.ts", "it's.ts"])).toMatchObject({
      command: `${RUN} './-x.ts' './it'\\''s.ts'`,
    });
  });

  it("a snapshot stands for its test file; other .snap-like names are themselves", () => {
    expect(reachablePlan(LOOM, ["test/__snapshots__/a.test.ts.snap.orig"])).toMatchObject({
      files: ["test/__snapshots__/a.test.ts.snap.orig"],
    });
    expect(reachablePlan(LOOM, ["test/__snapshots__/a.test.ts.snap", "test/a.test.ts"])).toMatchObject({
      files: ["test/a.test.ts"],
    });
    expect(reachablePlan(LOOM, ["test/x/__snapshots__/b.test.ts.snap"])).toMatchObject({
      files: ["test/x/b.test.ts"],
    });
  });

  it("finds vitest through npm run, npm test and npx, keeping its flags", () => {
    const through = pkg({
      test: "npm run unit && npm run-script lint",
      unit: "npx vitest run --pool=forks",
      lint: "biome check .",
    });
    expect(reachablePlan(through, ["src/a.ts"])).toMatchObject({
      kind: "run",
      command: `${RUN} '--pool=forks' './src/a.ts'`,
    });
    expect(reachablePlan(pkg({ test: "vitest" }), ["src/a.ts"])).toMatchObject({
      command: `${RUN} './src/a.ts'`,
    });
    expect(reachablePlan(pkg({ test: "tsc; (vitest run)" }), ["a.ts"])).toMatchObject({ kind: "run" });
    // Words apart by more than one space; npx with --no / --no-install; vitest without `run` keeps its flags.
    for (const test of [
      "npm  run  unit",
      "npm   run-script   unit",
      "npx  vitest  run  --silent",
      "npx --no vitest run --silent",
      "npx --no-install  vitest --silent",
      "vitest --silent",
    ]) {
      expect(reachablePlan(pkg({ test, unit: "vitest run --silent" }), ["a.ts"]), test).toMatchObject({
        kind: "run",
        command: `${RUN} '--silent' './a.ts'`,
      });
    }
    // The unit run, not the acceptance run that names its own config (--config x, --config=x, -c x).
    expect(
      reachablePlan(pkg({ test: "vitest run --config=acceptance/v.ts; vitest run -c x.ts; vitest run" }), [
        "a.ts",
      ]),
    ).toMatchObject({ command: `${RUN} './a.ts'` });
    const both = pkg({ test: "vitest run --config acceptance/vitest.config.ts && vitest run --silent" });
    expect(reachablePlan(both, ["a.ts"])).toMatchObject({ command: `${RUN} '--silent' './a.ts'` });
  });

  it("skips, saying why, when the test script is not vitest", () => {
    const notVitest = {
      kind: "skip",
      reason: "main's test script does not run vitest, so the reachable tests are not known",
    };
    expect(reachablePlan(pkg({ test: "node --test test/*.test.ts" }), ["a.ts"])).toEqual(notVitest);
    expect(reachablePlan(pkg({ test: "npm test" }), ["a.ts"])).toEqual(notVitest);
    expect(reachablePlan(pkg({ test: "npm run missing" }), ["a.ts"])).toEqual(notVitest);
    expect(reachablePlan(pkg({ test: "vitest run -c other.config.ts" }), ["a.ts"])).toEqual(notVitest);
    expect(reachablePlan(pkg({ check: "vitest run" }), ["a.ts"])).toEqual(notVitest);
    expect(reachablePlan(pkg({ test: "myvitest run" }), ["a.ts"])).toEqual(notVitest);
    expect(reachablePlan("{ not json", ["a.ts"])).toEqual(notVitest);
    expect(reachablePlan(undefined, ["a.ts"])).toEqual(notVitest);
    expect(reachablePlan(JSON.stringify({ scripts: null }), ["a.ts"])).toEqual(notVitest);
    expect(reachablePlan("null", ["a.ts"])).toEqual(notVitest);
    expect(reachablePlan(pkg({ test: "vitest run test/a.test.ts test/b.test.ts" }), ["a.ts"])).toEqual({
      kind: "skip",
      reason: "main's test script runs vitest on chosen files (test/a.test.ts test/b.test.ts)",
    });
    // A script that runs itself is written out once.
    expect(reachablePlan(pkg({ test: "npm run a", a: "npm run a && npm test" }), ["a.ts"])).toEqual(
      notVitest,
    );
  });

  it("skips as not narrower when the change reaches every test (packages, compiler or runner configuration)", () => {
    for (const file of [
      "package.json",
      "packages/a/package.json",
      "package-lock.json",
      "npm-shrinkwrap.json",
      "tsconfig.json",
      "lab-runtime/tsconfig.build.json",
      "vitest.config.ts",
      "acceptance/vitest.config.mts",
      "vite.config.js",
      "vitest.workspace.ts",
    ]) {
      expect(reachablePlan(LOOM, ["src/a.ts", file]), file).toEqual({
        kind: "skip",
        reason: `not narrower than the full suite: the change reaches every test (${file})`,
      });
    }
    // At most five named.
    const many = ["a", "b", "c", "d", "e", "f"].map((d) => `${d}/package.json`);
    expect(reachablePlan(LOOM, many)).toMatchObject({
      reason: `not narrower than the full suite: the change reaches every test (${many.slice(0, 5).join(", ")})`,
    });
    // Names that only look alike are ordinary files.
    for (const file of [
      "src/package.json.ts",
      "src/my-package.json",
      "src/tsconfig.ts",
      "docs/vitest.md",
      "package-lock.json.orig",
      "npm-shrinkwrap.json.orig",
      "tsconfig.json.md",
      "docs/vitest.config.d/notes.md",
    ])
      expect(reachablePlan(LOOM, [file]), file).toMatchObject({ kind: "run" });
    expect(reachablePlan(LOOM, [])).toEqual({ kind: "skip", reason: "the change touches no file" });
  });
});

describe("the files a change touches", () => {
  it("a git failure names the two commits", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "loom-reach-"));
    try {
      await expect(changedFiles(dir, "a".repeat(40), "b".repeat(40))).rejects.toThrow(
        /^listing the files changed between aaaaaaaaaaaa and bbbbbbbbbbbb failed: /,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
