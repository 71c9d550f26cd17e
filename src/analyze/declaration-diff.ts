import { type Node, Project, ts } from "ts-morph";
import type { DeclarationChange, DeclarationSummary } from "../../schemas/generation-diff.ts";
import { collectDeclarations, type Decl } from "../agent/ts/syntax/declarations.ts";

/**
 * The AST-level view of a diff: which declarations a change added, changed or removed, named by the
 * symbol paths ts_outline uses (`src/x.ts#Class.member`). Syntax only, in memory, no type checking,
 * so it stays fast on any diff a generation can produce.
 */

const TS_FILE = /\.(ts|tsx|mts|cts)$/;

interface Unit {
  kind: string;
  /** Token-normalised text of the declaration minus its child declarations. */
  own: string;
  lines: number;
}

export function summarizeDeclarations(
  before: ReadonlyMap<string, string>,
  after: ReadonlyMap<string, string>,
): DeclarationSummary {
  const project = new Project({
    useInMemoryFileSystem: true,
    skipLoadingLibFiles: true,
    skipFileDependencyResolution: true,
    compilerOptions: { allowJs: false, noLib: true },
  });
  const summary: DeclarationSummary = { changes: [], filesAdded: [], filesRemoved: [], otherFiles: [] };
  const paths = [...new Set([...before.keys(), ...after.keys()])].sort();
  for (const rel of paths) {
    if (!TS_FILE.test(rel)) {
      summary.otherFiles.push(rel);
      continue;
    }
    const a = before.get(rel);
    const b = after.get(rel);
    if (a === undefined) summary.filesAdded.push(rel);
    if (b === undefined) summary.filesRemoved.push(rel);
    // A reformatted file has the same tokens: no declaration changed, and scanning is far cheaper than parsing.
    if (
      a !== undefined &&
      b !== undefined &&
      (a === b || normalize(a, variantOf(rel)) === normalize(b, variantOf(rel)))
    ) {
      continue;
    }
    const unitsA = a === undefined ? new Map<string, Unit>() : units(project, `/before/${rel}`, a);
    const unitsB = b === undefined ? new Map<string, Unit>() : units(project, `/after/${rel}`, b);
    for (const [key, u] of unitsB) {
      const old = unitsA.get(key);
      if (!old) summary.changes.push(change(rel, key, u.kind, "added", 0, u.lines));
      else if (old.own !== u.own || old.kind !== u.kind) {
        summary.changes.push(change(rel, key, u.kind, "changed", old.lines, u.lines));
      }
    }
    for (const [key, u] of unitsA) {
      if (!unitsB.has(key)) summary.changes.push(change(rel, key, u.kind, "removed", u.lines, 0));
    }
  }
  return summary;
}

function change(
  rel: string,
  key: string,
  kind: string,
  what: DeclarationChange["change"],
  linesBefore: number,
  linesAfter: number,
): DeclarationChange {
  return { path: `${rel}#${key}`, kind, change: what, linesBefore, linesAfter };
}

/** Declarations of one file by symbol path; overloads share a unit, a setter beside its getter is `:set`. */
function units(project: Project, virtualPath: string, text: string): Map<string, Unit> {
  const sf = project.createSourceFile(virtualPath, text, { overwrite: true });
  const decls = collectDeclarations(sf);
  const getters = new Set(decls.filter((d) => d.kind === "getter").map((d) => d.path));
  const variant = variantOf(virtualPath);
  const out = new Map<string, Unit>();
  for (const d of decls) {
    const key = d.kind === "setter" && getters.has(d.path) ? `${d.path}:set` : d.path;
    const own = normalize(ownText(d, decls), variant);
    const lines = d.node.getText(true).split("\n").length;
    const prev = out.get(key);
    if (prev) out.set(key, { kind: prev.kind, own: `${prev.own}\u0000${own}`, lines: prev.lines + lines });
    else out.set(key, { kind: d.kind, own, lines });
  }
  project.removeSourceFile(sf);
  return out;
}

function variantOf(file: string): ts.LanguageVariant {
  return file.endsWith(".tsx") ? ts.LanguageVariant.JSX : ts.LanguageVariant.Standard;
}

/**
 * The declaration's text with its direct child declarations cut out, so a changed or added method is
 * reported once, as the method, not also as a change of its class.
 */
function ownText(d: Decl, all: readonly Decl[]): string {
  const node: Node = d.node;
  const start = node.getStart(true);
  const end = node.getEnd();
  const full = node.getSourceFile().getFullText();
  const children = all
    .filter((c) => c.depth === d.depth + 1 && c.path.startsWith(`${d.path}.`))
    .map((c) => [c.node.getStart(true), c.node.getEnd()] as const)
    .filter(([s, e]) => s >= start && e <= end)
    .sort((x, y) => x[0] - y[0]);
  let text = "";
  let at = start;
  for (const [s, e] of children) {
    if (s < at) continue;
    text += `${full.slice(at, s)} `;
    at = e;
  }
  return text + full.slice(at, end);
}

/**
 * Tokens joined by a separator, whitespace dropped and comments whitespace-collapsed: a reformat is not
 * a change, but an edited string literal or comment is.
 */
function normalize(text: string, variant: ts.LanguageVariant): string {
  const scanner = ts.createScanner(ts.ScriptTarget.Latest, false, variant, text);
  const tokens: string[] = [];
  // Template literals need the scanner told when a `}` closes a substitution.
  const braces: ("brace" | "template")[] = [];
  let prev: ts.SyntaxKind | undefined;
  for (let kind = scanner.scan(); kind !== ts.SyntaxKind.EndOfFileToken; kind = scanner.scan()) {
    if (kind === ts.SyntaxKind.WhitespaceTrivia || kind === ts.SyntaxKind.NewLineTrivia) continue;
    if (
      (kind === ts.SyntaxKind.SlashToken || kind === ts.SyntaxKind.SlashEqualsToken) &&
      !endsOperand(prev)
    ) {
      kind = scanner.reScanSlashToken();
    }
    if (kind === ts.SyntaxKind.OpenBraceToken) braces.push("brace");
    else if (kind === ts.SyntaxKind.TemplateHead) braces.push("template");
    else if (kind === ts.SyntaxKind.CloseBraceToken) {
      if (braces.pop() === "template") {
        kind = scanner.reScanTemplateToken(false);
        if (kind === ts.SyntaxKind.TemplateMiddle) braces.push("template");
      }
    }
    const t = scanner.getTokenText();
    const isComment =
      kind === ts.SyntaxKind.SingleLineCommentTrivia || kind === ts.SyntaxKind.MultiLineCommentTrivia;
    tokens.push(isComment ? t.replace(/\s+/g, " ").trim() : t);
    if (!isComment) prev = kind;
  }
  return tokens.join("\u0001");
}

/** After these a `/` divides; anywhere else it starts a regular expression. */
function endsOperand(kind: ts.SyntaxKind | undefined): boolean {
  return (
    kind === ts.SyntaxKind.Identifier ||
    kind === ts.SyntaxKind.NumericLiteral ||
    kind === ts.SyntaxKind.BigIntLiteral ||
    kind === ts.SyntaxKind.StringLiteral ||
    kind === ts.SyntaxKind.RegularExpressionLiteral ||
    kind === ts.SyntaxKind.NoSubstitutionTemplateLiteral ||
    kind === ts.SyntaxKind.TemplateTail ||
    kind === ts.SyntaxKind.CloseParenToken ||
    kind === ts.SyntaxKind.CloseBracketToken ||
    kind === ts.SyntaxKind.CloseBraceToken ||
    kind === ts.SyntaxKind.ThisKeyword ||
    kind === ts.SyntaxKind.SuperKeyword
  );
}
