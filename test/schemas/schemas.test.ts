import { describe, expect, it } from "vitest";
import { z } from "zod";
import {
  Candidate,
  ChatRequest,
  ErrorBody,
  EvalRequest,
  EvalResponse,
  fixedPointSchemas,
  GenerationRecord,
  HINT_MAX_CHARS,
  LabStatus,
  PROGRAM_MAX_BYTES,
  ProgramContract,
  PromoteRequest,
  PromoteResponse,
  ReviewVerdict,
  RollbackRequest,
  RollbackResponse,
  SpawnRequest,
  SpawnResponse,
  Usage,
} from "../../schemas/index.ts";
import { Usage as UsageFromEvents } from "../../src/shared/events.ts";

/** Fails the test with the value when `schema` rejects it. */
const ok = (schema: z.ZodType, value: unknown) => {
  const r = schema.safeParse(value);
  expect(r.error?.issues ?? [], JSON.stringify(value)).toEqual([]);
};
/** Expects a rejection whose issue names `path` (and `code` when given). */
const bad = (schema: z.ZodType, value: unknown, path: string, code?: string) => {
  const r = schema.safeParse(value);
  expect(r.success, JSON.stringify(value)).toBe(false);
  const issue = r.error?.issues.find((i) => i.path.join(".") === path);
  expect(issue, `no issue at "${path}": ${JSON.stringify(r.error?.issues)}`).toBeDefined();
  if (code) expect(issue?.code).toBe(code);
};

describe("fixed-point JSON Schemas", () => {
  // Drift in any schema fails here; update the snapshot only for a deliberate protocol change.
  for (const [name, schema] of Object.entries(fixedPointSchemas)) {
    it(`${name} matches its snapshot`, () => {
      expect(z.toJSONSchema(schema, { io: "input" })).toMatchSnapshot();
    });
  }

  it("lists every schema exported from schemas/index.ts", async () => {
    const mod: Record<string, unknown> = await import("../../schemas/index.ts");
    const exported = Object.entries(mod)
      .filter(([, v]) => v instanceof z.ZodType)
      .map(([k]) => k)
      .sort();
    expect(Object.keys(fixedPointSchemas).sort()).toEqual(exported);
  });

  it("events.ts re-exports the one Usage definition", () => {
    expect(UsageFromEvents).toBe(Usage);
  });
});

describe("Usage", () => {
  it("accepts non-negative ints and rejects negatives, fractions and missing counters", () => {
    ok(Usage, { input: 1, output: 0, cacheRead: 5, cacheWrite: 0 });
    bad(Usage, { input: -1, output: 0, cacheRead: 0, cacheWrite: 0 }, "input", "too_small");
    bad(Usage, { input: 1.5, output: 0, cacheRead: 0, cacheWrite: 0 }, "input", "invalid_type");
    bad(Usage, { input: 1, output: 0, cacheRead: 0 }, "cacheWrite", "invalid_type");
  });
});

describe("EvalRequest / EvalResponse", () => {
  it("accepts the original's shapes", () => {
    ok(EvalRequest, { form: "1 + 1" });
    ok(EvalRequest, { form: "x", timeout: 60_000 });
    ok(EvalResponse, { status: "ok", value: { any: ["thing"] } });
    ok(EvalResponse, { status: "error", message: "boom" });
  });

  it("rejects unknown fields, bad timeouts and wrong status", () => {
    bad(EvalRequest, { form: "x", timout: 5 }, "", "unrecognized_keys");
    bad(EvalRequest, { form: "x", timeout: 0 }, "timeout", "too_small");
    bad(EvalRequest, { form: "x", timeout: 60_001 }, "timeout", "too_big");
    bad(EvalRequest, { form: "x", timeout: 1.5 }, "timeout", "invalid_type");
    bad(EvalRequest, { timeout: 5 }, "form", "invalid_type");
    bad(EvalResponse, { status: "fine" }, "status", "invalid_value");
    bad(EvalResponse, { status: "error", message: 3 }, "message", "invalid_type");
  });
});

describe("LabStatus", () => {
  it("accepts the base shape and the optional counters", () => {
    ok(LabStatus, { status: "starting", progress: "", error: null });
    ok(LabStatus, {
      status: "failed",
      progress: "iteration 3",
      error: "model error",
      toolCalls: { read_file: { calls: 4, errors: 1 } },
      generation: 7,
    });
  });

  it("rejects a wrong state, a missing error, negative counters and generation 0", () => {
    bad(LabStatus, { status: "finished", progress: "", error: null }, "status", "invalid_value");
    bad(LabStatus, { status: "done", progress: "" }, "error", "invalid_type");
    bad(
      LabStatus,
      { status: "done", progress: "", error: null, toolCalls: { x: { calls: -1, errors: 0 } } },
      "toolCalls.x.calls",
    );
    bad(LabStatus, { status: "done", progress: "", error: null, generation: 0 }, "generation", "too_small");
  });
});

describe("Supervisor bodies", () => {
  it("SpawnRequest: non-empty, at most 64 KiB of UTF-8, no unknown fields", () => {
    ok(SpawnRequest, { program: "# Task\nx" });
    ok(SpawnRequest, { program: "a".repeat(PROGRAM_MAX_BYTES) });
    bad(SpawnRequest, { program: "" }, "program", "too_small");
    bad(SpawnRequest, { program: " \n\t" }, "program", "custom");
    bad(SpawnRequest, { program: "a".repeat(PROGRAM_MAX_BYTES + 1) }, "program", "too_big");
    // 3 bytes per char: under the char limit, over the byte limit.
    bad(SpawnRequest, { program: "€".repeat(PROGRAM_MAX_BYTES / 2) }, "program", "custom");
    bad(SpawnRequest, { program: "x", programm: "x" }, "", "unrecognized_keys");
  });

  it("SpawnRequest: candidates 1–16, at most 16 non-blank hints", () => {
    ok(SpawnRequest, { program: "x", candidates: 1 });
    ok(SpawnRequest, { program: "x", candidates: 16, hints: ["try a table", "try a map"] });
    bad(SpawnRequest, { program: "x", candidates: 0 }, "candidates", "too_small");
    bad(SpawnRequest, { program: "x", candidates: 17 }, "candidates", "too_big");
    bad(SpawnRequest, { program: "x", candidates: "3" }, "candidates", "invalid_type");
    bad(SpawnRequest, { program: "x", candidates: 2.5 }, "candidates", "invalid_type");
    bad(SpawnRequest, { program: "x", hints: [" "] }, "hints.0", "custom");
    bad(SpawnRequest, { program: "x", hints: Array(17).fill("h") }, "hints", "too_big");
    bad(SpawnRequest, { program: "x", hints: ["a".repeat(HINT_MAX_CHARS + 1)] }, "hints.0", "too_big");
  });

  it("SpawnResponse: branch must be lab/gen-N for its generation; the first candidate is the top-level one", () => {
    const candidate = (n: number, index: number) => ({
      generation: n,
      branch: `lab/gen-${n}`,
      outcome: "pending",
      reason: null,
      candidate: { index, of: 2, model: "m" },
    });
    const round = { round: 1, generations: [candidate(3, 1), candidate(4, 2)] };
    ok(SpawnResponse, { generation: 3, branch: "lab/gen-3", outcome: "running", reason: null, ...round });
    bad(
      SpawnResponse,
      { generation: 3, branch: "lab/gen-4", outcome: "running", reason: null, ...round },
      "branch",
      "custom",
    );
    bad(
      SpawnResponse,
      { generation: 3, branch: "gen-3", outcome: "running", reason: null, ...round },
      "branch",
    );
    bad(
      SpawnResponse,
      { generation: 3, branch: "lab/gen-3", outcome: "done", reason: null, ...round },
      "outcome",
    );
    bad(
      SpawnResponse,
      { generation: 4, branch: "lab/gen-4", outcome: "pending", reason: null, ...round },
      "generations.0",
      "custom",
    );
    bad(SpawnResponse, { generation: 3, branch: "lab/gen-3", outcome: "pending", reason: null }, "round");
    bad(
      SpawnResponse,
      { generation: 3, branch: "lab/gen-3", outcome: "pending", reason: null, round: 1, generations: [] },
      "generations",
      "too_small",
    );
  });

  it("Candidate: index within of, temperature 0–1, no unknown fields", () => {
    ok(Candidate, { index: 1, of: 1 });
    ok(Candidate, { index: 3, of: 4, model: "m", temperature: 0.7, hint: "smaller diff" });
    bad(Candidate, { index: 3, of: 2 }, "index", "custom");
    bad(Candidate, { index: 0, of: 2 }, "index", "too_small");
    bad(Candidate, { index: 1, of: 17 }, "of", "too_big");
    bad(Candidate, { index: 1, of: 1, temperature: 1.5 }, "temperature", "too_big");
    bad(Candidate, { index: 1, of: 1, seed: 1 }, "", "unrecognized_keys");
  });

  it("GenerationRecord: round and candidate are optional, but go together", () => {
    const base = {
      version: 1,
      generation: 2,
      parent: null,
      branch: "lab/gen-2",
      programHash: "a".repeat(64),
      outcome: "pending",
      reason: null,
      createdAt: "2026-01-01T00:00:00.000Z",
      finishedAt: null,
      containerId: null,
      tokens: { input: 0, output: 0, cacheRead: 0, cacheWrite: 0 },
      fitness: null,
      verification: null,
    };
    ok(GenerationRecord, base);
    ok(GenerationRecord, { ...base, round: 1, candidate: { index: 2, of: 3, model: "m" } });
    bad(GenerationRecord, { ...base, round: 1 }, "candidate", "custom");
    bad(GenerationRecord, { ...base, candidate: { index: 1, of: 1 } }, "round", "custom");
    bad(GenerationRecord, { ...base, round: 0, candidate: { index: 1, of: 1 } }, "round", "too_small");
  });

  it("PromoteRequest / PromoteResponse", () => {
    ok(PromoteRequest, { generation: 1 });
    bad(PromoteRequest, { generation: 0 }, "generation", "too_small");
    bad(PromoteRequest, { generation: "1" }, "generation", "invalid_type");
    bad(PromoteRequest, { generation: 1, force: true }, "", "unrecognized_keys");
    const sha = "a".repeat(40);
    ok(PromoteResponse, { generation: 2, tag: "gen-2", mergeCommit: sha });
    ok(PromoteResponse, { generation: 2, tag: "gen-2", mergeCommit: "b".repeat(64) });
    bad(PromoteResponse, { generation: 2, tag: "gen-3", mergeCommit: sha }, "tag", "custom");
    bad(PromoteResponse, { generation: 2, tag: "gen-2", mergeCommit: "abc123" }, "mergeCommit");
  });

  it("RollbackRequest / RollbackResponse", () => {
    ok(RollbackRequest, { generation: 4 });
    ok(RollbackRequest, { generation: 4, reason: "tests failed" });
    bad(RollbackRequest, { generation: 4, reason: "" }, "reason", "too_small");
    bad(RollbackRequest, { generation: 4, why: "x" }, "", "unrecognized_keys");
    ok(RollbackResponse, { generation: 4, outcome: "rolled_back", reason: "tests failed" });
    bad(RollbackResponse, { generation: 4, outcome: "promoted", reason: "x" }, "outcome");
  });

  it("ErrorBody: UPPER_SNAKE code and a message", () => {
    ok(ErrorBody, { error: { code: "BAD_REQUEST", message: "generation: expected int" } });
    bad(ErrorBody, { error: { code: "bad request", message: "x" } }, "error.code");
    bad(ErrorBody, { error: { code: "X", message: "" } }, "error.message", "too_small");
    bad(ErrorBody, { code: "X", message: "y" }, "error", "invalid_type");
  });
});

describe("ReviewVerdict, ChatRequest, ProgramContract", () => {
  it("ReviewVerdict: confidence within [0, 1]", () => {
    ok(ReviewVerdict, { approved: true, issues: [], confidence: 1, summary: "fine" });
    bad(ReviewVerdict, { approved: true, issues: [], confidence: 1.1, summary: "" }, "confidence", "too_big");
    bad(
      ReviewVerdict,
      { approved: true, issues: [], confidence: -0.1, summary: "" },
      "confidence",
      "too_small",
    );
    bad(
      ReviewVerdict,
      { approved: "yes", issues: [], confidence: 0, summary: "" },
      "approved",
      "invalid_type",
    );
    bad(
      ReviewVerdict,
      { approved: false, issues: [1], confidence: 0, summary: "" },
      "issues.0",
      "invalid_type",
    );
  });

  it("ChatRequest: non-empty, bounded, strict", () => {
    ok(ChatRequest, { message: "hello" });
    bad(ChatRequest, { message: "" }, "message", "too_small");
    bad(ChatRequest, { message: "   " }, "message", "custom");
    bad(ChatRequest, { message: "x".repeat(100_001) }, "message", "too_big");
    bad(ChatRequest, { message: "hi", stream: true }, "", "unrecognized_keys");
  });

  it("ProgramContract: every section non-empty", () => {
    const c = { task: "t", objective: "o", files: ["a"], acceptanceCriteria: ["b"], constraints: ["c"] };
    ok(ProgramContract, c);
    bad(ProgramContract, { ...c, files: [] }, "files", "too_small");
    bad(ProgramContract, { ...c, constraints: [""] }, "constraints.0", "too_small");
    bad(ProgramContract, { ...c, task: "" }, "task", "too_small");
  });
});
