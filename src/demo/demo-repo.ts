/** The small repository `loom demo` works on: a function, its caller, one test, and a type check. */
export const demoRepoFiles: Record<string, string> = {
  "package.json": `${JSON.stringify(
    {
      name: "loom-demo-repo",
      private: true,
      type: "module",
      scripts: { check: "tsc --noEmit -p tsconfig.json", test: "node --import tsx --test test/*.test.ts" },
    },
    null,
    2,
  )}\n`,
  "tsconfig.json": `${JSON.stringify(
    {
      compilerOptions: {
        target: "ES2022",
        // A Node program: the language's own library without the browser's (DOM), node's from @types/node.
        lib: ["ES2022"],
        module: "NodeNext",
        moduleResolution: "NodeNext",
        strict: true,
        allowImportingTsExtensions: true,
        noEmit: true,
        // As \`tsc --init\` writes it: the packages' own .d.ts files are theirs to check.
        skipLibCheck: true,
        types: ["node"],
      },
      include: ["src", "test"],
    },
    null,
    2,
  )}\n`,
  ".gitignore": "node_modules\n",
  "src/greet.ts": `/** Builds the greeting shown to a user. */
export function greet(name: string): string {
  return \`Hello, \${name}!\`;
}
`,
  "src/banner.ts": `import { greet } from "./greet.ts";

export function banner(names: string[]): string {
  return names.map((name) => greet(name)).join("\\n");
}
`,
  "test/banner.test.ts": `import assert from "node:assert/strict";
import { test } from "node:test";
import { banner } from "../src/banner.ts";

test("banner greets everyone", () => {
  assert.equal(banner(["Ada", "Linus"]), "Hello, Ada!\\nHello, Linus!");
});
`,
};

export const demoProgram = `# Task: Rename greet to greetUser

## Objective
The name \`greet\` is too vague next to the other helpers. Rename it to \`greetUser\` everywhere and
cover it with a test of its own.

## Files
- src/greet.ts
- src/banner.ts
- test/greet-user.test.ts

## Acceptance criteria
- \`greetUser\` replaces \`greet\` in every file; nothing still imports \`greet\`.
- test/greet-user.test.ts checks greetUser("Ada") returns "Hello, Ada!".
- \`npm test\` passes.

## Constraints
- Use the structural rename so imports stay correct.
- Do not change behaviour.
`;

/**
 * The repository of `loom demo --candidates 3`: the same code, tested with vitest, so the cascade's
 * reachable-tests stage can pick the tests a change reaches (it needs vitest's import graph). Beside
 * the unit tests, a slower test of another part stands for the rest of a real suite: the full suite
 * runs it, the tests a change of src/greet.ts reaches do not.
 */
export const demoRoundRepoFiles: Record<string, string> = {
  ...demoRepoFiles,
  "package.json": `${JSON.stringify(
    {
      name: "loom-demo-repo",
      private: true,
      type: "module",
      scripts: { check: "tsc --noEmit -p tsconfig.json", test: "vitest run" },
    },
    null,
    2,
  )}\n`,
  "test/banner.test.ts": `import { expect, test } from "vitest";
import { banner } from "../src/banner.ts";

test("banner greets everyone", () => {
  expect(banner(["Ada", "Linus"])).toBe("Hello, Ada!\\nHello, Linus!");
});
`,
  "src/report.ts": `/** Totals per day of a list of timestamped amounts (the repository's slower, unrelated part). */
export function dailyTotals(entries: { at: string; amount: number }[]): Map<string, number> {
  const totals = new Map<string, number>();
  for (const { at, amount } of entries) {
    const day = at.slice(0, 10);
    totals.set(day, (totals.get(day) ?? 0) + amount);
  }
  return totals;
}
`,
  "test/report.test.ts": `import { expect, test } from "vitest";
import { dailyTotals } from "../src/report.ts";

// A larger input than the other tests: the slow part of this suite, unrelated to greet.
test("dailyTotals adds up a year of entries per day", () => {
  const entries: { at: string; amount: number }[] = [];
  const start = Date.UTC(2025, 0, 1);
  for (let i = 0; i < 1_000_000; i++) {
    entries.push({ at: new Date(start + (i % 365) * 86_400_000).toISOString(), amount: 1 });
  }
  const totals = dailyTotals(entries);
  expect(totals.size).toBe(365);
  expect(totals.get("2025-01-01")).toBe(Math.ceil(1_000_000 / 365));
  // About a second alone; a loaded machine (a round's other Labs and verifications) may take several.
}, 120_000);
`,
};
