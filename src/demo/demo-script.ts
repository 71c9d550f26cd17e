import type { ScriptTurnInput } from "../shared/scripted-model/index.ts";

const greetUserTest = `import assert from "node:assert/strict";
import { test } from "node:test";
import { greetUser } from "../src/greet.ts";

test("greetUser greets by name", () => {
  assert.equal(greetUser("Ada"), "Hello, Ada!");
});
`;

/**
 * What the scripted model "thinks" during the demo. Each turn names what it expects to have seen, so
 * if a tool misbehaves the script stops matching and the demo fails loudly instead of pretending.
 */
export const demoLabScript: ScriptTurnInput[] = [
  {
    text: "I'll look at the code first.",
    tool: "ts_outline",
    input: { path: "src" },
    when: { lastUserTextIncludes: "program.md" },
  },
  {
    text: "greet is used by banner; a structural rename keeps the import correct.",
    tool: "ts_rename",
    input: { path: "src/greet.ts#greet", newName: "greetUser" },
    when: { lastToolResultIncludes: "greet" },
  },
  {
    text: "Probe the renamed function through the eval server before writing the test.",
    tool: "eval",
    input: { form: 'import { greetUser } from "./src/greet.ts";\ngreetUser("Ada")' },
    when: { lastToolResultIncludes: "greetUser" },
  },
  {
    text: "It answers as before. Now a test of its own.",
    tool: "write_file",
    input: { path: "test/greet-user.test.ts", content: greetUserTest },
    when: { lastToolResultIncludes: "Hello, Ada!" },
  },
  {
    tool: "bash",
    input: { command: "node --import tsx --test test/*.test.ts 2>&1 | tail -n 12" },
    when: { lastToolResultIncludes: "test/greet-user.test.ts" },
  },
  {
    text: "Renamed greet to greetUser across src/ with ts_rename (banner's import followed), added test/greet-user.test.ts, and the whole suite passes.",
    when: { lastToolResultIncludes: "# fail 0" },
  },
];
