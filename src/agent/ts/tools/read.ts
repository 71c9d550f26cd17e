import { readdirSync, statSync } from "node:fs";
import path from "node:path";
import { defineTool, ToolError } from "../../tool.ts";
import { openWorkspaceProject, type WorkspaceProject } from "../project/project-cache.ts";
import { collectDeclarations, type Decl } from "../syntax/declarations.ts";
import { signatureOf } from "../syntax/signature.ts";
import {
  nearest,
  parseSymbolPath,
  relPath,
  requireSourceFile,
  resolveSymbol,
} from "../syntax/symbol-path.ts";
import { tsOutlineSpec, tsReadSpec } from "./tool-specs.ts";

export interface OutlineEntry {
  kind: string;
  path: string;
  signature: string;
  exported: boolean;
  startLine: number;
  endLine: number;
}

const SOURCE = /\.(ts|tsx|mts|cts)$/;

function filesUnder(dir: string): string[] {
  const out: string[] = [];
  const stack = [dir];
  while (stack.length > 0 && out.length < 5000) {
    const d = stack.pop()!;
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) {
        if (e.name !== "node_modules" && !e.name.startsWith(".")) stack.push(path.join(d, e.name));
      } else if (e.isFile() && SOURCE.test(e.name) && !e.name.endsWith(".d.ts"))
        out.push(path.join(d, e.name));
    }
  }
  return out.sort();
}

/** Lines as `wc -l` and editors count them: a final newline ends the last line, it does not start one. */
export function lineCount(text: string): number {
  if (text === "") return 0;
  let n = 0;
  for (let i = text.indexOf("\n"); i >= 0; i = text.indexOf("\n", i + 1)) n++;
  return text.endsWith("\n") ? n : n + 1;
}

function lineSpan(d: Decl): { startLine: number; endLine: number } {
  return { startLine: d.node.getStartLineNumber(true), endLine: d.node.getEndLineNumber() };
}

function outlineFile(
  wp: WorkspaceProject,
  file: string,
  symbol: string | undefined,
): { text: string; entries: OutlineEntry[] } {
  const rel = relPath(wp, file);
  const sf = requireSourceFile(wp, { file, rel, symbol });
  let decls = collectDeclarations(sf);
  if (symbol !== undefined) {
    const matched = decls.filter((d) => d.path === symbol || d.path.startsWith(`${symbol}.`));
    if (matched.length === 0) {
      const near = nearest(
        symbol,
        decls.map((d) => d.path),
      );
      throw new ToolError(
        "TS_NO_SYMBOL",
        `no declaration \`${symbol}\` in ${rel}.${near.length ? ` Nearest names: ${near.map((n) => `#${n}`).join(", ")}` : ""}`,
      );
    }
    decls = matched;
  }
  // Overload signatures are shown once, through the implementation (or the first signature).
  const seen = new Set<string>();
  const entries: OutlineEntry[] = [];
  const lines = [`${rel} (${lineCount(sf.getFullText())} lines)`];
  const minDepth = Math.min(...decls.map((d) => d.depth));
  for (const d of decls) {
    const key = `${d.kind}:${d.path}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const entry: OutlineEntry = {
      kind: d.kind,
      path: d.path,
      signature: signatureOf(d),
      exported: d.exported,
      ...lineSpan(d),
    };
    entries.push(entry);
    const pad = "  ".repeat(d.depth - minDepth + 1);
    lines.push(`${pad}#${d.path} ${d.kind} L${entry.startLine}-${entry.endLine}: ${entry.signature}`);
  }
  if (entries.length === 0) lines.push("  (no declarations)");
  return { text: lines.join("\n"), entries };
}

export const tsOutline = defineTool({
  ...tsOutlineSpec,
  async run(input, ctx) {
    const wp = await openWorkspaceProject(ctx.workspace);
    const parsed = parseSymbolPath(wp.root, input.path);
    let stat: import("node:fs").Stats | undefined;
    try {
      stat = statSync(parsed.file);
    } catch {}
    if (stat?.isDirectory()) {
      if (parsed.symbol !== undefined) {
        throw new ToolError("TS_BAD_PATH", `"${input.path}" is a folder: a "#symbol" needs a file path`);
      }
      const files = filesUnder(parsed.file);
      if (files.length === 0) {
        return { content: `${parsed.rel}/ has no .ts/.tsx files`, details: { files: [] } };
      }
      const parts = files.map((f) => ({ file: relPath(wp, f), ...outlineFile(wp, f, undefined) }));
      return {
        content: parts.map((p) => p.text).join("\n"),
        details: { files: parts.map((p) => ({ file: p.file, declarations: p.entries })) },
      };
    }
    const part = outlineFile(wp, parsed.file, parsed.symbol);
    return { content: part.text, details: { files: [{ file: parsed.rel, declarations: part.entries }] } };
  },
});

export const tsRead = defineTool({
  ...tsReadSpec,
  async run(input, ctx) {
    const wp = await openWorkspaceProject(ctx.workspace);
    const { sf, all, parsed } = resolveSymbol(wp, input.path);
    const text = sf.getFullText();
    const start = Math.min(...all.map((d) => d.node.getStart(true)));
    const end = Math.max(...all.map((d) => d.node.getEnd()));
    // Start at the line's beginning when only indentation precedes, so members read as written.
    const lineStart = text.lastIndexOf("\n", start - 1) + 1;
    const from = /^[ \t]*$/.test(text.slice(lineStart, start)) ? lineStart : start;
    const startLine = sf.getLineAndColumnAtPos(start).line;
    const endLine = sf.getLineAndColumnAtPos(end).line;
    const decl = all[0]!;
    return {
      content: `${parsed.rel}#${decl.path} (${decl.kind}, lines ${startLine}-${endLine})\n${text.slice(from, end)}`,
      details: {
        file: parsed.rel,
        path: decl.path,
        kind: decl.kind,
        startLine,
        endLine,
        exported: decl.exported,
      },
    };
  },
});
