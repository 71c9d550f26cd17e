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
