import { type SourceFile, ts } from "ts-morph";

/**
 * Text-level splices on a source file. The structure is found by name through the syntax tree; the
 * change itself is spliced as text, so the result is exactly what the model wrote (re-indented to
 * fit), and the syntax check afterwards judges it.
 */

export interface Splice {
  readonly start: number;
  readonly end: number;
  readonly text: string;
}

/** Applies non-overlapping splices in one re-parse. */
export function spliceFile(sf: SourceFile, splices: readonly Splice[]): void {
  let text = sf.getFullText();
  for (const s of [...splices].sort((a, b) => b.start - a.start)) {
    text = text.slice(0, s.start) + s.text + text.slice(s.end);
  }
  setFileText(sf, text);
}

/**
 * Replaces a file's whole text, keeping the SourceFile object. Overwriting through the project is
 * several times faster than replaceWithText (which re-matches every old node), and nodes are
 * re-found by name afterwards anyway.
 */
export function setFileText(sf: SourceFile, text: string): void {
  sf.getProject().createSourceFile(sf.getFilePath(), text, { overwrite: true });
}

/** Leading whitespace of the line containing `pos`. */
export function indentAt(text: string, pos: number): string {
  const lineStart = text.lastIndexOf("\n", pos - 1) + 1;
  return /^[ \t]*/.exec(text.slice(lineStart))![0];
}

export function lineStartOf(text: string, pos: number): number {
  return text.lastIndexOf("\n", pos - 1) + 1;
}

/** The file's indentation unit (first indented line), two spaces by default. */
export function indentUnit(text: string): string {
  const m = /\n(\t+|[ ]{2,8})\S/.exec(text);
  if (!m) return "  ";
  return m[1]!.startsWith("\t") ? "\t" : m[1]!.length >= 4 && m[1]!.length % 4 === 0 ? "    " : "  ";
}

/** [start, end) offsets of template literals in a snippet: their lines are string content, not code. */
function templateRanges(snippet: string): Array<[number, number]> {
  if (!snippet.includes("`")) return [];
  // Members parse inside a class, statements inside a function; either way the scanner finds the templates.
  const prefix = "class __X {\n";
  const wrapped = ts.createSourceFile("snippet.ts", `${prefix}${snippet}\n}`, ts.ScriptTarget.Latest, true);
  const out: Array<[number, number]> = [];
  const visit = (n: ts.Node): void => {
    if (ts.isTemplateExpression(n) || ts.isNoSubstitutionTemplateLiteral(n)) {
      out.push([n.getStart(wrapped) - prefix.length, n.end - prefix.length]);
      return;
    }
    n.forEachChild(visit);
  };
  visit(wrapped);
  return out;
}

/**
 * Re-indents a snippet to `indent`: common leading whitespace removed, `indent` prefixed to each
 * non-empty line. Lines inside template literals are string content and stay exactly as written.
 */
export function reindent(snippet: string, indent: string): string {
  const trimmed = snippet.replace(/^\s*\n/, "").replace(/\s+$/, "");
  const templates = templateRanges(trimmed);
  const lines = trimmed.split("\n");
  const starts: number[] = [];
  let offset = 0;
  for (const l of lines) {
    starts.push(offset);
    offset += l.length + 1;
  }
  const inTemplate = (i: number): boolean => templates.some(([a, b]) => starts[i]! > a && starts[i]! < b);
  const width = (l: string): number => /^[ \t]*/.exec(l)![0].length;
  const code = lines.map((l, i) => ({ l, i })).filter(({ l, i }) => l.trim() !== "" && !inTemplate(i));
  const rest = code.filter(({ i }) => i > 0).map(({ l }) => l);
  // The first line often arrives without its indentation ("foo() {\n    body\n  }"): judge by the rest.
  const firstBare = width(lines[0]!) === 0 && rest.length > 0;
  const cut = firstBare ? dedentWidth(rest) : Math.min(...code.map(({ l }) => width(l)));
  return lines
    .map((l, i) => {
      if (inTemplate(i)) return l;
      if (l.trim() === "") return "";
      return indent + (i === 0 && firstBare ? l : l.slice(Math.min(cut, width(l))));
    })
    .join("\n");
}

/** Lines after an unindented first line: a closing bracket's indentation wins, else the smallest. */
function dedentWidth(rest: string[]): number {
  const width = (l: string): number => /^[ \t]*/.exec(l)![0].length;
  const last = rest[rest.length - 1]!;
  if (/^\s*[}\])]/.test(last)) return width(last);
  return Math.min(...rest.map(width));
}
