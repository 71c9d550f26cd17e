import { afterEach, describe, expect, it } from "vitest";
import { ReviewStage } from "../../schemas/verification.ts";
import { createModelClient } from "../../src/agent/model-client.ts";
import { summarizeDeclarations } from "../../src/analyze/declaration-diff.ts";
import {
  digestDiff,
  parseUnifiedDiff,
  renderDeclarations,
  reviewGeneration,
} from "../../src/prime/review/index.ts";
import {
  type ScriptedModelServer,
  type ScriptTurnInput,
  startScriptedModel,
} from "../../src/shared/scripted-model/index.ts";
import { generationDiff, readRepoFile } from "./generation-diff-fixture.ts";

const servers: ScriptedModelServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function model(script: ScriptTurnInput[], maxRetries = 0) {
  const server = await startScriptedModel(script);
  servers.push(server);
  const client = createModelClient({
    apiKey: "sk-test",
    baseURL: server.url,
    model: "claude-test",
    timeoutMs: 5_000,
    maxRetries,
  });
  return { server, client };
}

interface SentRequest {
  system: { text: string }[];
  messages: { role: string; content: string | { type: string; text?: string }[] }[];
  tools: { name: string; input_schema: { properties: Record<string, unknown>; required: string[] } }[];
  tool_choice: unknown;
}
const sent = (server: ScriptedModelServer, i = 0) => server.requests[i]!.body as SentRequest;
const userText = (r: SentRequest): string => {
  const c = r.messages[0]!.content;
  return typeof c === "string" ? c : c.map((b) => b.text ?? "").join("");
};

const PROGRAM = [
  "# Task",
  "Rename describeDecl to describeDeclaration",
  "## Objective",
  "Clearer names.",
  "## Files",
  "- src/agent/ts/syntax/declarations.ts",
  "## Acceptance criteria",
  "- tests pass",
  "## Constraints",
  "- no behaviour change",
  "",
].join("\n");

const DECLS = "src/agent/ts/syntax/declarations.ts";
const small = () => {
  const text = readRepoFile(DECLS);
  return generationDiff(
    { [DECLS]: text },
    { [DECLS]: text.replace("export function describeDecl(", "export function describeDeclaration(") },
    PROGRAM,
  );
};

const verdict = { approved: true, issues: [], confidence: 0.9, summary: "Renames describeDecl." };

describe("reviewGeneration over the real SDK and the scripted model", () => {
  it("returns an approving verdict and sends program.md, declarations and diff with a forced submit_review", async () => {
    const { server, client } = await model([{ tool: "submit_review", input: verdict }]);
    const stage = await reviewGeneration({ model: client, diff: await small() });
    expect(ReviewStage.parse(stage)).toEqual(stage);
    expect(stage.verdict).toEqual(verdict);
    expect(stage.error).toBeNull();
    const req = sent(server);
    expect(req.tool_choice).toEqual({ type: "tool", name: "submit_review" });
    expect(req.tools.map((t) => t.name)).toEqual(["submit_review"]);
    expect(req.tools[0]!.input_schema.required.sort()).toEqual([
      "approved",
      "confidence",
      "issues",
      "summary",
    ]);
    const text = userText(req);
    expect(text).toContain("Rename describeDecl to describeDeclaration");
    expect(text).toContain(`removed function ${DECLS}#describeDecl (4 lines)`);
    expect(text).toContain(`added function ${DECLS}#describeDeclaration (4 lines)`);
    expect(text).toContain("+export function describeDeclaration(d: Decl): string {");
    expect(text).toContain("The diff below is complete");
    expect(text).not.toContain("LEFT OUT");
  });

  it("fences the diff with more backticks than any run inside it", async () => {
    const { server, client } = await model([{ tool: "submit_review", input: verdict }]);
    const diff = await generationDiff(
      { "README.md": "# Loom\n" },
      { "README.md": "# Loom\n\n```sh\nnpx loom demo\n```\n" },
      PROGRAM,
    );
    await reviewGeneration({ model: client, diff });
    const text = userText(sent(server));
    expect(text).toContain("\n````diff\n");
    expect(text).toContain("+```sh\n+npx loom demo\n+```\n");
    expect(text.trimEnd()).toMatch(/\n````\n\nCall submit_review with your verdict\.$/);
    expect(text).toContain("Other files changed: README.md\n");
  });

  it("returns a rejection with the model's issues, and an approval with issues as the model says", async () => {
    const reject = { approved: false, issues: ["tests deleted"], confidence: 0.8, summary: "Deletes tests." };
    const withIssues = {
      approved: true,
      issues: ["a name could be clearer"],
      confidence: 0.6,
      summary: "ok",
    };
    const { client } = await model([
      { tool: "submit_review", input: reject },
      { tool: "submit_review", input: withIssues },
    ]);
    const diff = await small();
    expect((await reviewGeneration({ model: client, diff })).verdict).toEqual(reject);
    const second = await reviewGeneration({ model: client, diff });
    expect(second.verdict).toEqual(withIssues);
    expect(second.error).toBeNull();
  });

  it("treats an invalid verdict as a rejection naming the field", async () => {
    const { client } = await model([{ tool: "submit_review", input: { ...verdict, confidence: 2 } }]);
    const stage = await reviewGeneration({ model: client, diff: await small() });
    expect(stage.verdict).toBeNull();
    expect(stage.error).toMatch(/submit_review input is invalid: confidence: .*<=1/);
  });

  it("treats an answer without the tool call as a rejection quoting what the model wrote", async () => {
    const { client } = await model([{ text: "Looks fine to me." }]);
    const stage = await reviewGeneration({ model: client, diff: await small() });
    expect(stage.verdict).toBeNull();
    expect(stage.error).toMatch(
      /did not call submit_review \(stop_reason end_turn; it wrote: "Looks fine to me\."\)/,
    );
  });

  it("treats a model that keeps failing with 500 as a rejection after the client's retries", async () => {
    const { server, client } = await model(
      [
        { fault: "server_error", retryAfterMs: 0 },
        { fault: "server_error", retryAfterMs: 0 },
        { tool: "submit_review", input: verdict },
      ],
      1,
    );
    const stage = await reviewGeneration({ model: client, diff: await small() });
    expect(stage.verdict).toBeNull();
    expect(stage.error).toMatch(/^review model call failed \(MODEL_SERVER_ERROR\): .*2 attempts/);
    expect(server.requests).toHaveLength(2);
  });

  it("summarises a huge diff within budget and says exactly what was left out", async () => {
    const files = [
      DECLS,
      "src/agent/ts/syntax/symbol-path.ts",
      "src/agent/model-client.ts",
      "src/agent/loop.ts",
      "src/shared/program.ts",
      "src/analyze/declarations.ts",
    ];
    const before: Record<string, string> = {};
    const after: Record<string, string> = {};
    for (const f of files) {
      before[f] = readRepoFile(f);
      // A note every 8 lines: many hunks per file, of several sizes.
      after[f] = before[f]
        .split("\n")
        .map((line, i) => (i % 8 === 4 ? `${line}\n// reviewed ${i}` : line))
        .join("\n");
    }
    const diff = { ...(await generationDiff(before, after, PROGRAM)), truncated: true };
    const budget = 20_000;
    expect(diff.diff.length).toBeGreaterThan(budget * 2);
    const { server, client } = await model([{ tool: "submit_review", input: verdict }]);
    const stage = await reviewGeneration({ model: client, diff, maxDiffChars: budget });
    expect(stage.verdict).toEqual(verdict);

    const text = userText(sent(server));
    const fence = /\n(`{3,})diff\n/.exec(text)![1]!;
    const shown = text.slice(text.indexOf(`${fence}diff\n`) + fence.length + 5, text.lastIndexOf(fence));
    expect(shown.length).toBeLessThanOrEqual(budget);
    // The prompt as a whole stays bounded: the diff budget plus program.md and the summaries.
    expect(text.length).toBeLessThan(budget + 12_000);
    const digest = digestDiff(diff.diff, budget);
    expect(text).toContain(
      `LEFT OUT: ${digest.omittedHunks.toLocaleString("en-US")} hunks, +${digest.omittedAdded.toLocaleString("en-US")}`,
    );
    expect(digest.omittedHunks).toBeGreaterThan(0);
    expect(text).toMatch(/cut this diff at 2,000,000 chars before it reached you/);
    for (const f of files) expect(text).toContain(`diff --git a/${f} b/${f}`);
    expect(text.match(/\[loom: left out of /g)?.length).toBeGreaterThanOrEqual(files.length - 1);
  });
});

describe("digestDiff", () => {
  it("keeps the largest hunks, accounts for every hunk and leaves a small diff whole", async () => {
    const text = readRepoFile(DECLS);
    const lines = text.split("\n");
    // One big change and several small ones.
    const changed = lines
      .map((l, i) => (i >= 40 && i < 70 ? `${l} // big` : i % 25 === 0 ? `${l} // small` : l))
      .join("\n");
    const { diff } = await generationDiff({ [DECLS]: text }, { [DECLS]: changed }, PROGRAM);
    const files = parseUnifiedDiff(diff);
    const hunks = files.flatMap((f) => f.hunks);
    expect(files.map((f) => f.path)).toEqual(["program.md", DECLS]);
    expect(hunks.reduce((n, h) => n + h.added, 0)).toBe(files.reduce((n, f) => n + f.added, 0));
    const biggest = [...hunks].sort((a, b) => b.text.length - a.text.length)[0]!;

    const whole = digestDiff(diff, diff.length);
    expect(whole.complete).toBe(true);
    expect(whole.text).toBe(diff);

    const budget = biggest.text.length + 1_500;
    const d = digestDiff(diff, budget);
    expect(d.complete).toBe(false);
    expect(d.text.length).toBeLessThanOrEqual(budget);
    expect(d.text).toContain(biggest.text);
    expect(d.keptHunks + d.omittedHunks).toBe(hunks.length);
    const keptChars = hunks.filter((h) => d.text.includes(h.text)).reduce((n, h) => n + h.text.length, 0);
    expect(keptChars + d.omittedChars).toBe(hunks.reduce((n, h) => n + h.text.length, 0));
  });

  it("lists files alone when even their headers do not fit, and says how many were not listed", async () => {
    const after: Record<string, string> = {};
    for (let i = 0; i < 300; i++) after[`src/gen/file-${i}.ts`] = `export const value${i} = ${i};\n`;
    const { diff } = await generationDiff({}, after, PROGRAM);
    const d = digestDiff(diff, 4_000);
    expect(d.text.length).toBeLessThanOrEqual(4_000);
    expect(d.keptHunks).toBe(0);
    expect(d.omittedHunks).toBe(301);
    expect(d.filesWithoutHunks).toBe(301);
    expect(d.text).toContain("src/gen/file-0.ts  +1 -0 (1 hunks, not shown)");
    const listed = d.text.match(/not shown\)/g)!.length;
    expect(d.text).toContain(`[loom: ${301 - listed} more files not listed, +${301 - listed} -0 lines]`);
  });
});

describe("renderDeclarations", () => {
  it("lists removals and changes first, at most 120 lines, and counts what it did not list", () => {
    const files = [
      "src/agent/ts/syntax/symbol-path.ts",
      "src/agent/model-client.ts",
      "src/agent/loop.ts",
      "src/shared/scripted-model/script.ts",
      "src/shared/scripted-model/server.ts",
      "src/analyze/report-schema.ts",
    ];
    const decls = readRepoFile(DECLS);
    const summary = summarizeDeclarations(
      new Map([[DECLS, decls]]),
      new Map([
        [DECLS, decls.replace("export function describeDecl(", "export function describeDeclaration(")],
        ...files.map((f) => [f, readRepoFile(f)] as [string, string]),
      ]),
    );
    const added = summary.changes.filter((c) => c.change === "added").length;
    expect(added).toBeGreaterThan(120);
    const text = renderDeclarations(summary);
    const lines = text.split("\n");
    expect(lines[0]).toBe(`- removed function ${DECLS}#describeDecl (4 lines)`);
    expect(lines.filter((l) => /^- (added|changed|removed) /.test(l))).toHaveLength(120);
    expect(text).toContain(
      `- [loom: ${added + 1 - 120} more declaration changes not listed: ${added + 1 - 120} added, 0 changed, 0 removed]`,
    );
    expect(text).toContain(`TypeScript files added: ${[...files].sort().join(", ")}`);
  });
});
