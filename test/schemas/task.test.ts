import { describe, expect, it } from "vitest";
import type { z } from "zod";
import { BenchAgentResult, TaskSpec } from "../../schemas/index.ts";

const ok = (schema: z.ZodType, value: unknown) => {
  const r = schema.safeParse(value);
  expect(r.error?.issues ?? [], JSON.stringify(value)).toEqual([]);
};
/** Expects a rejection with an issue at `path`; returns its message. */
const bad = (schema: z.ZodType, value: unknown, path: string, code?: string): string => {
  const r = schema.safeParse(value);
  expect(r.success, JSON.stringify(value)).toBe(false);
  const issue = r.error?.issues.find((i) => i.path.join(".") === path);
  expect(issue, `no issue at "${path}": ${JSON.stringify(r.error?.issues)}`).toBeDefined();
  if (code) expect(issue?.code).toBe(code);
  return issue?.message ?? "";
};

describe("TaskSpec", () => {
  const spec = { statement: "Fix ms(-1000).", test: "tsx --test hidden-tests/a.test.ts" };

  it("accepts the minimal and the full form", () => {
    ok(TaskSpec, spec);
    ok(TaskSpec, { ...spec, timeoutMs: 5000, tags: ["bugfix", "small", "ms"], source: { npm: "ms@2.1.3" } });
    ok(TaskSpec, { ...spec, source: { npm: "@preact/signals-core@1.8.0" } });
    ok(TaskSpec, { ...spec, source: { npm: "pkg@1.0.0-beta.2+build.5" } });
  });

  it("refuses empty or non-string statement and test, bad timeouts and unknown keys", () => {
    bad(TaskSpec, { ...spec, test: 3 }, "test", "invalid_type");
    bad(TaskSpec, { ...spec, test: "  " }, "test", "too_small");
    bad(TaskSpec, { test: "x" }, "statement", "invalid_type");
    bad(TaskSpec, { ...spec, timeoutMs: 0 }, "timeoutMs", "too_small");
    bad(TaskSpec, { ...spec, timeoutMs: 1.5 }, "timeoutMs", "invalid_type");
    bad(TaskSpec, { ...spec, tags: [""] }, "tags.0", "too_small");
    bad(TaskSpec, { ...spec, timeout: 5 }, "", "unrecognized_keys");
    bad(TaskSpec, { ...spec, source: { npm: "ms@2.1.3", git: "x" } }, "source", "unrecognized_keys");
  });

  it("source.npm: an exact version only, saying what is accepted", () => {
    for (const npm of [
      "ms@^2.1.3",
      "ms@latest",
      "ms",
      "ms@2.1",
      "ms@~2.1.3",
      "MS@2.1.3",
      "ms@02.1.3",
      "@x@1.0.0",
    ]) {
      const message = bad(TaskSpec, { ...spec, source: { npm } }, "source.npm", "invalid_format");
      expect(message).toContain("<package>@<exact version>");
    }
  });
});

describe("BenchAgentResult", () => {
  const task = { name: "ms-negative", solved: true, tokens: 1200, durationMs: 3400, toolCalls: 4 };
  const result = {
    ref: "a".repeat(40),
    model: "claude-x",
    apiBase: "http://127.0.0.1:9999",
    taskSet: "b".repeat(64),
    solved: 1,
    total: 2,
    costUsd: null,
    tasks: [task, { ...task, name: "other", solved: false, reason: "test exited 1" }],
  };

  it("accepts the harness output, with an unknown or a known cost", () => {
    ok(BenchAgentResult, result);
    ok(BenchAgentResult, { ...result, costUsd: 0.42 });
  });

  it("refuses counts that disagree with the tasks, negative numbers and a taskSet that is not a sha256", () => {
    bad(BenchAgentResult, { ...result, solved: 2 }, "solved", "custom");
    bad(BenchAgentResult, { ...result, total: 3 }, "total", "custom");
    bad(BenchAgentResult, { ...result, costUsd: -1 }, "costUsd", "too_small");
    bad(BenchAgentResult, { ...result, taskSet: "abc" }, "taskSet", "invalid_format");
    bad(
      BenchAgentResult,
      { ...result, tasks: [{ ...task, tokens: -1 }, task] },
      "tasks.0.tokens",
      "too_small",
    );
    bad(BenchAgentResult, { ...result, tasks: [{ ...task, toolCalls: 1.5 }, task] }, "tasks.0.toolCalls");
    bad(BenchAgentResult, { ...result, tasks: [{ ...task, name: "Bad Name" }, task] }, "tasks.0.name");
    bad(BenchAgentResult, { ...result, apiBase: undefined }, "apiBase", "invalid_type");
  });
});
