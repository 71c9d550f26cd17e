import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { DeclarationSummary } from "../../schemas/generation-diff.ts";
import { summarizeDeclarations } from "../../src/analyze/declaration-diff.ts";

const repoRoot = path.resolve(fileURLToPath(new URL(".", import.meta.url)), "../..");
const read = (rel: string): string => readFileSync(path.join(repoRoot, rel), "utf8");

const DECLS = "src/agent/ts/syntax/declarations.ts";
const READ_FILE = "src/agent/tools/read-file.ts";
/** The template literal (with a substitution) in read-file.ts, as source text. */
const TEMPLATE = ["`Maximum number of lines to return (default $", "{DEFAULT_READ_LIMIT})`"].join("");

/** Replaces exactly one occurrence, so a test cannot silently edit nothing. */
function edit(text: string, from: string, to: string): string {
  const at = text.indexOf(from);
  if (at < 0 || text.indexOf(from, at + 1) >= 0) throw new Error(`expected exactly one "${from}"`);
  return text.slice(0, at) + to + text.slice(at + from.length);
}

function diff(rel: string, before: string, after: string) {
  const s = summarizeDeclarations(new Map([[rel, before]]), new Map([[rel, after]]));
  expect(DeclarationSummary.parse(s)).toEqual(s);
  return s;
}

describe("summarizeDeclarations on this repo's code", () => {
  const decls = read(DECLS);

  it("reports nothing for a whitespace-only reformat", () => {
    const reformatted = decls.replace(/\n {2}/g, "\n    ").replace(/ = /g, "   =\n  ");
    expect(reformatted).not.toBe(decls);
    expect(diff(DECLS, decls, reformatted).changes).toEqual([]);
    // Reformatted throughout and one real edit: only the edited declaration is reported.
    const alsoEdited = edit(
      reformatted,
      "return decls.filter((d) => d.path === symbolPath);",
      "return decls.filter((d) => symbolPath === d.path);",
    );
    expect(diff(DECLS, decls, alsoEdited).changes.map((c) => `${c.change} ${c.path}`)).toEqual([
      `changed ${DECLS}#findDeclarations`,
    ]);
  });

  it("names a changed method by its symbol path and does not report its class again", () => {
    const after = edit(
      decls,
      "for (const st of statements) this.statement(st, prefix, depth);",
      "statements.forEach((st) => this.statement(st, prefix, depth));",
    );
    const s = diff(DECLS, decls, after);
    expect(s.changes).toEqual([
      {
        path: `${DECLS}#Collector.statements`,
        kind: "method",
        change: "changed",
        linesBefore: 3,
        linesAfter: 3,
      },
    ]);
    expect(s.filesAdded).toEqual([]);
    expect(s.otherFiles).toEqual([]);
  });

  it("reports added and removed declarations with their line counts", () => {
    // describeDecl is the file's last declaration: cut it with its JSDoc.
    const cut = decls.indexOf('/** "function `parse`"');
    expect(cut).toBeGreaterThan(0);
    const removed = decls.slice(0, cut);
    const added = edit(
      removed,
      "  statements(statements: Node[], prefix: string, depth: number): void {",
      "  count(): number {\n    return this.out.length;\n  }\n\n  statements(statements: Node[], prefix: string, depth: number): void {",
    );
    const s = diff(DECLS, decls, added);
    expect(s.changes).toContainEqual({
      path: `${DECLS}#Collector.count`,
      kind: "method",
      change: "added",
      linesBefore: 0,
      linesAfter: 3,
    });
    // JSDoc belongs to the declaration: 1 comment line + 3 code lines.
    expect(s.changes).toContainEqual({
      path: `${DECLS}#describeDecl`,
      kind: "function",
      change: "removed",
      linesBefore: 4,
      linesAfter: 0,
    });
    expect(s.changes).toHaveLength(2);
  });

  it("counts an edit inside a string literal or a comment, not only code", () => {
    const literal = edit(decls, '? "default" : undefined', '? "default " : undefined');
    expect(diff(DECLS, decls, literal).changes.map((c) => c.path)).toContain(`${DECLS}#Collector.statement`);
    const comment = edit(
      decls,
      "/** Declarations at a symbol path; several for overloads and get/set pairs. */",
      "/** Declarations at a symbol path (several for overloads). */",
    );
    expect(diff(DECLS, decls, comment).changes.map((c) => c.path)).toEqual([`${DECLS}#findDeclarations`]);
  });

  it("sees into values held by variables: defineTool({...}) members and their run functions", () => {
    const text = read(READ_FILE);
    const after = edit(text, 'name: "read_file",', 'name: "read_file_v2",');
    expect(diff(READ_FILE, text, after).changes).toEqual([
      expect.objectContaining({
        path: `${READ_FILE}#readFileTool.name`,
        kind: "property",
        change: "changed",
      }),
    ]);
    // A reformatted template literal with substitutions is not a change; its content is.
    const tpl = edit(text, TEMPLATE, TEMPLATE.replace("{DEFAULT_READ_LIMIT}", "{  DEFAULT_READ_LIMIT  }"));
    expect(diff(READ_FILE, text, tpl).changes).toEqual([]);
    const tpl2 = edit(text, TEMPLATE, TEMPLATE.replace("return (", "return  ("));
    expect(diff(READ_FILE, text, tpl2).changes.map((c) => c.path)).toEqual([
      `${READ_FILE}#ReadFileInput.limit`,
    ]);
  });

  it("names default exports #default and distinguishes a setter from its getter", () => {
    const before =
      "export default {\n  load() {\n    return 1;\n  },\n};\nclass Box {\n  get size() {\n    return 1;\n  }\n  set size(v: number) {}\n}\n";
    const after =
      "export default {\n  load() {\n    return 2;\n  },\n};\nclass Box {\n  get size() {\n    return 1;\n  }\n  set size(v: number) {\n    void v;\n  }\n}\n";
    expect(diff("src/x.ts", before, after).changes).toEqual([
      { path: "src/x.ts#default.load", kind: "method", change: "changed", linesBefore: 3, linesAfter: 3 },
      { path: "src/x.ts#Box.size:set", kind: "setter", change: "changed", linesBefore: 1, linesAfter: 3 },
    ]);
  });

  it("lists whole added and removed files with every declaration, and non-TS files apart", () => {
    const atomic = read("src/shared/atomic-write.ts");
    const s = summarizeDeclarations(
      new Map([
        ["src/shared/atomic-write.ts", atomic],
        ["README.md", "old"],
      ]),
      new Map([
        [DECLS, decls],
        ["README.md", "new"],
        ["package.json", "{}"],
        ["types/env.d.ts", "declare function loomEnv(name: string): string;\n"],
      ]),
    );
    expect(s.filesAdded).toEqual([DECLS, "types/env.d.ts"]);
    expect(s.changes).toContainEqual({
      path: "types/env.d.ts#loomEnv",
      kind: "function",
      change: "added",
      linesBefore: 0,
      linesAfter: 1,
    });
    expect(s.filesRemoved).toEqual(["src/shared/atomic-write.ts"]);
    expect(s.otherFiles).toEqual(["README.md", "package.json"]);
    const added = s.changes.filter((c) => c.change === "added").map((c) => c.path);
    expect(added).toContain(`${DECLS}#collectDeclarations`);
    expect(added).toContain(`${DECLS}#Collector.objectLiteral`);
    expect(s.changes.filter((c) => c.change === "removed").map((c) => c.path)).toContain(
      "src/shared/atomic-write.ts#atomicWriteFile",
    );
    expect(s.changes.every((c) => (c.change === "added" ? c.linesBefore === 0 : c.linesAfter === 0))).toBe(
      true,
    );
  });

  it("summarises a hundred real files (50 changed pairs) without pathological slowness", () => {
    const files = [
      DECLS,
      READ_FILE,
      "src/agent/ts/syntax/symbol-path.ts",
      "src/agent/loop.ts",
      "src/agent/model-client.ts",
      "src/analyze/declarations.ts",
      "src/shared/program.ts",
      "src/shared/events.ts",
    ];
    const before = new Map<string, string>();
    const after = new Map<string, string>();
    for (let i = 0; i < 50; i++) {
      const rel = files[i % files.length]!;
      const text = read(rel);
      before.set(`copy${i}/${rel}`, text);
      after.set(`copy${i}/${rel}`, `${text}\nexport const added${i} = ${i};\n`);
    }
    const t0 = performance.now();
    const s = summarizeDeclarations(before, after);
    const ms = performance.now() - t0;
    expect(s.changes).toHaveLength(50);
    expect(s.changes.every((c) => c.change === "added" && c.kind === "variable")).toBe(true);
    // Loose on purpose (the machine is shared): catches quadratic blow-ups, not tuning regressions.
    expect(ms).toBeLessThan(20_000);
  });
});
