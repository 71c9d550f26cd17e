import { ts } from "ts-morph";
import type { DeclarationKind, DeclarationMetric } from "./report-schema.ts";

/**
 * Per-declaration size and cyclomatic complexity, from the raw compiler AST (wrapping every node in
 * ts-morph objects costs more than the parse itself on a 1000-file project).
 *
 * Complexity = 1 + one per if / else-if / case / for / for-in / for-of / while / do / catch / ?: /
 * && / || / ?? (and their assignment forms). Optional chaining is not counted. Anonymous callbacks
 * belong to the declaration that contains them; at module level they become their own entry.
 */
export function collectDeclarations(sf: ts.SourceFile, file: string): DeclarationMetric[] {
  const out: DeclarationMetric[] = [];
  const members = new Map<DeclarationMetric, DeclarationMetric[]>();

  const visit = (node: ts.Node, scope: DeclarationMetric | null): void => {
    let inner = scope;
    const kind = declarationKind(node, scope);
    if (kind) {
      inner = {
        file,
        name: nameOf(node, sf),
        kind,
        line: lineOf(sf, node.getStart(sf)),
        lines: lineOf(sf, node.getEnd()) - lineOf(sf, node.getStart(sf)) + 1,
        complexity: kind === "class" ? 0 : 1,
      };
      out.push(inner);
      if (kind === "class") members.set(inner, []);
      if (scope) members.get(scope)?.push(inner);
    } else if (scope && isDecision(node)) {
      scope.complexity++;
    }
    ts.forEachChild(node, (child) => visit(child, inner));
  };
  ts.forEachChild(sf, (child) => visit(child, null));

  // A class weighs the sum of its members plus decisions in its own initializers, at least 1.
  // Innermost classes first, so a class expression inside a member is weighed before its owner.
  for (const [cls, list] of [...members].reverse()) {
    const memberSum = list.reduce((sum, d) => sum + d.complexity, 0);
    cls.complexity = Math.max(1, cls.complexity + memberSum);
  }
  return out;
}

function declarationKind(node: ts.Node, scope: DeclarationMetric | null): DeclarationKind | null {
  // Overload signatures, abstract and ambient declarations have no code to measure.
  if (ts.isFunctionLike(node) && "body" in node && !node.body) return null;
  switch (node.kind) {
    case ts.SyntaxKind.FunctionDeclaration:
      return "function";
    case ts.SyntaxKind.MethodDeclaration:
      return "method";
    case ts.SyntaxKind.Constructor:
      return "constructor";
    case ts.SyntaxKind.GetAccessor:
    case ts.SyntaxKind.SetAccessor:
      return "accessor";
    case ts.SyntaxKind.ClassDeclaration:
    case ts.SyntaxKind.ClassExpression:
      return "class";
    case ts.SyntaxKind.ArrowFunction:
    case ts.SyntaxKind.FunctionExpression: {
      const named = bindingName(node.parent) !== null || ts.isExportAssignment(node.parent);
      if (!named && scope) return null;
      return ts.isArrowFunction(node) ? "arrow" : "function";
    }
    default:
      return null;
  }
}

function isDecision(node: ts.Node): boolean {
  switch (node.kind) {
    case ts.SyntaxKind.IfStatement:
    case ts.SyntaxKind.CaseClause:
    case ts.SyntaxKind.ForStatement:
    case ts.SyntaxKind.ForInStatement:
    case ts.SyntaxKind.ForOfStatement:
    case ts.SyntaxKind.WhileStatement:
    case ts.SyntaxKind.DoStatement:
    case ts.SyntaxKind.CatchClause:
    case ts.SyntaxKind.ConditionalExpression:
      return true;
    case ts.SyntaxKind.BinaryExpression:
      return LOGICAL_OPERATORS.has((node as ts.BinaryExpression).operatorToken.kind);
    default:
      return false;
  }
}

const LOGICAL_OPERATORS = new Set<ts.SyntaxKind>([
  ts.SyntaxKind.AmpersandAmpersandToken,
  ts.SyntaxKind.BarBarToken,
  ts.SyntaxKind.QuestionQuestionToken,
  ts.SyntaxKind.AmpersandAmpersandEqualsToken,
  ts.SyntaxKind.BarBarEqualsToken,
  ts.SyntaxKind.QuestionQuestionEqualsToken,
]);

/** The name a node itself introduces, if any (variable, property, method, class, function…). */
function bindingName(node: ts.Node): string | null {
  if (
    ts.isVariableDeclaration(node) ||
    ts.isPropertyAssignment(node) ||
    ts.isPropertyDeclaration(node) ||
    ts.isMethodDeclaration(node) ||
    ts.isGetAccessorDeclaration(node) ||
    ts.isSetAccessorDeclaration(node) ||
    ts.isFunctionDeclaration(node) ||
    ts.isClassDeclaration(node) ||
    ts.isClassExpression(node) ||
    ts.isModuleDeclaration(node)
  ) {
    const name = node.name;
    if (!name) return null;
    return ts.isIdentifier(name) || ts.isPrivateIdentifier(name) || ts.isStringLiteral(name)
      ? name.text
      : null;
  }
  if (ts.isConstructorDeclaration(node)) return "constructor";
  return null;
}

/** Dotted path of enclosing names, so `const tool = defineTool({ run() {} })` yields `tool.run`. */
function nameOf(node: ts.Node, sf: ts.SourceFile): string {
  const parts: string[] = [];
  let own = bindingName(node) ?? bindingName(node.parent);
  if (own === null && ts.isExportAssignment(node.parent)) own = "default";
  if (own === null) own = anonymousName(node);
  parts.push(own);
  const start = bindingName(node) !== null ? node.parent : node.parent?.parent;
  for (let cur: ts.Node | undefined = start; cur && cur !== sf; cur = cur.parent) {
    const name = bindingName(cur);
    if (name !== null) parts.push(name);
  }
  return parts.reverse().join(".");
}

/** `describe("x", () => …)` becomes `<describe callback>`: enough to find it again. */
function anonymousName(node: ts.Node): string {
  const call = node.parent;
  if (call && ts.isCallExpression(call)) {
    const callee = call.expression;
    const text = ts.isIdentifier(callee)
      ? callee.text
      : ts.isPropertyAccessExpression(callee)
        ? callee.name.text
        : "call";
    return `<${text} callback>`;
  }
  return "<anonymous>";
}

function lineOf(sf: ts.SourceFile, pos: number): number {
  return sf.getLineAndCharacterOfPosition(pos).line + 1;
}
