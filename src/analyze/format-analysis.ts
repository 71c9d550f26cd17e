import type { AnalysisReport, DeclarationMetric } from "./report-schema.ts";

export interface FormatOptions {
  /** Most entries shown in any one list before "… N more". */
  maxItems?: number;
  /** Most exported-API lines (the largest section on big repos). */
  maxApiLines?: number;
}

/**
 * The report as concise sectioned text for a model's reflect step: every list is bounded and says
 * how much was left out, so the size stays roughly constant however big the repo is.
 */
export function formatAnalysis(report: AnalysisReport, opts: FormatOptions = {}): string {
  const max = opts.maxItems ?? 15;
  const maxApi = opts.maxApiLines ?? 80;
  const s = report.summary;
  const out: string[] = [
    `Analysis of ${report.root} (${report.tsconfig ? `files from ${report.tsconfig}` : "files found by walking the tree"}, ${report.durationMs} ms)`,
    `${s.files} files (${s.testFiles} tests, ${s.testSupportFiles} test fixtures/helpers), ${s.lines} lines, ` +
      `${s.declarations} declarations, ${s.exports} exports, ${s.importEdges} import edges, ` +
      `${s.cycles} import cycles (+${s.typeOnlyCycles} through type-only imports), ${s.unusedExports} unused exports`,
  ];

  section(out, `Largest declarations (lines, non-test)`, report.largest.map(decl), max);
  section(out, `Most complex declarations (cyclomatic, non-test)`, report.mostComplex.map(decl), max);
  section(
    out,
    `Import cycles (${report.cycles.length})`,
    report.cycles.map(
      (c) =>
        `${c.path.join(" → ")}${c.files.length > c.path.length - 1 ? `  (${c.files.length} files in the component)` : ""}`,
    ),
    max,
  );
  if (report.typeOnlyCycles.length > 0) {
    section(
      out,
      `Cycles through type-only imports (${report.typeOnlyCycles.length}; erased at compile time, no runtime cycle)`,
      report.typeOnlyCycles.map((c) => c.path.join(" → ")),
      max,
    );
  }
  section(
    out,
    `Unused exports (${report.unusedExports.length}; exported but imported by no other file — entry points may be intended)`,
    report.unusedExports.map((u) => `${u.file}:${u.line}  ${u.name} (${u.kind})`),
    max,
  );
  const broken = report.files.flatMap((f) =>
    f.imports.filter((i) => i.target === null).map((i) => `${f.path}: "${i.specifier}"`),
  );
  if (broken.length > 0) section(out, `Unresolved relative imports (${broken.length})`, broken, max);

  const fanIn = new Map<string, number>();
  for (const f of report.files)
    for (const i of f.imports) if (i.target) fanIn.set(i.target, (fanIn.get(i.target) ?? 0) + 1);
  const hubs = [...fanIn].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  section(
    out,
    `Most imported files`,
    hubs.map(([file, n]) => `fan-in ${String(n).padStart(3)}  ${file}`),
    Math.min(max, 10),
  );

  section(
    out,
    `Tests → sources (${report.tests.length} test files)`,
    report.tests.map(
      (t) =>
        `${t.test}: ${list(t.direct, 4)}${t.transitive.length ? ` (+${t.transitive.length} transitively)` : ""}`,
    ),
    max,
  );
  section(out, `Sources no test reaches (${report.untested.length})`, report.untested, max);

  const api: string[] = [];
  for (const f of report.files) {
    if (f.isTest || f.exports.length === 0) continue;
    api.push(`${f.path}`);
    for (const e of f.exports) api.push(`  ${e.name === "default" ? "default: " : ""}${e.signature}`);
  }
  section(out, `Exported API (non-test files)`, api, maxApi);
  return `${out.join("\n")}\n`;
}

function decl(d: DeclarationMetric): string {
  return `${String(d.lines).padStart(5)} lines  cx ${String(d.complexity).padStart(3)}  ${d.kind} ${d.name}  ${d.file}:${d.line}`;
}

function list(items: string[], n: number): string {
  if (items.length === 0) return "(no direct source imports)";
  const shown = items.slice(0, n).join(", ");
  return items.length > n ? `${shown}, … ${items.length - n} more` : shown;
}

function section(out: string[], title: string, lines: string[], max: number): void {
  out.push("", `## ${title}`);
  if (lines.length === 0) {
    out.push("  (none)");
    return;
  }
  for (const line of lines.slice(0, max)) out.push(`  ${line}`);
  if (lines.length > max) out.push(`  … ${lines.length - max} more (see --json)`);
}
