import { ts } from "ts-morph";
import type { ExportEntry, ExportKind } from "./report-schema.ts";

const MAX_SIGNATURE = 200;

/** The file's exported API, read syntactically (no type checker: it must stay fast on big projects). */
export function collectExports(sf: ts.SourceFile): ExportEntry[] {
  const out: ExportEntry[] = [];
  const locals = new Map<string, Local>();
  const seen = new Map<string, ExportEntry>();
  const add = (name: string, kind: ExportKind, node: ts.Node, signature: string): void => {
    const first = seen.get(name);
    if (first) {
      // Overload signatures are the public API (the implementation's is hidden); merged declarations count once.
      const overload = ts.isFunctionDeclaration(node) && !node.body;
      if (overload && first.kind === "function")
        first.signature = bound(`${first.signature} ${bound(signature)}`);
      return;
    }
    const entry = { name, kind, line: lineOf(sf, node.getStart(sf)), signature: bound(signature) };
    seen.set(name, entry);
    out.push(entry);
  };

  for (const stmt of sf.statements) {
    for (const local of describeStatement(stmt, sf)) {
      locals.set(local.name, local);
      if (hasModifier(stmt, ts.SyntaxKind.ExportKeyword)) {
        const isDefault = hasModifier(stmt, ts.SyntaxKind.DefaultKeyword);
        add(isDefault ? "default" : local.name, local.kind, local.node, local.signature);
      }
    }
  }

  for (const stmt of sf.statements) {
    if (ts.isExportAssignment(stmt)) {
      const text = stmt.isExportEquals ? "export =" : "export default";
      add(
        stmt.isExportEquals ? "=" : "default",
        "variable",
        stmt,
        `${text} ${collapse(stmt.expression.getText(sf))}`,
      );
    } else if (ts.isExportDeclaration(stmt)) {
      const from = stmt.moduleSpecifier ? ` from ${stmt.moduleSpecifier.getText(sf)}` : "";
      const clause = stmt.exportClause;
      if (!clause) {
        add("*", "re-export", stmt, `export *${from}`);
      } else if (ts.isNamespaceExport(clause)) {
        add(clause.name.text, "re-export", stmt, `export * as ${clause.name.text}${from}`);
      } else {
        for (const el of clause.elements) {
          const local = (el.propertyName ?? el.name).getText(sf);
          const decl = stmt.moduleSpecifier ? undefined : locals.get(local);
          if (decl) add(el.name.text, decl.kind, decl.node, decl.signature);
          else add(el.name.text, "re-export", el, `export { ${collapse(el.getText(sf))} }${from}`);
        }
      }
    }
  }
  return out;
}

interface Local {
  name: string;
  kind: ExportKind;
  node: ts.Node;
  signature: string;
}

function describeStatement(stmt: ts.Statement, sf: ts.SourceFile): Local[] {
  if (ts.isFunctionDeclaration(stmt)) {
    const head = stmt.body ? textBetween(sf, stmt, stmt.body.getStart(sf)) : stmt.getText(sf);
    return [{ name: stmt.name?.text ?? "default", kind: "function", node: stmt, signature: head }];
  }
  if (ts.isClassDeclaration(stmt)) {
    return [
      { name: stmt.name?.text ?? "default", kind: "class", node: stmt, signature: classSignature(stmt, sf) },
    ];
  }
  if (ts.isInterfaceDeclaration(stmt)) {
    return [{ name: stmt.name.text, kind: "interface", node: stmt, signature: printed(stmt, sf) }];
  }
  if (ts.isTypeAliasDeclaration(stmt)) {
    return [{ name: stmt.name.text, kind: "type", node: stmt, signature: printed(stmt, sf) }];
  }
  if (ts.isEnumDeclaration(stmt)) {
    return [{ name: stmt.name.text, kind: "enum", node: stmt, signature: printed(stmt, sf) }];
  }
  if (ts.isModuleDeclaration(stmt)) {
    return [
      {
        name: stmt.name.getText(sf),
        kind: "namespace",
        node: stmt,
        signature: `namespace ${stmt.name.getText(sf)}`,
      },
    ];
  }
  if (ts.isVariableStatement(stmt)) {
    const keyword = stmt.declarationList.flags & ts.NodeFlags.Const ? "const" : "let";
    return stmt.declarationList.declarations
      .filter((d) => ts.isIdentifier(d.name))
      .map((d) => ({
        name: (d.name as ts.Identifier).text,
        kind: "variable" as const,
        node: d,
        signature: `${keyword} ${variableSignature(d, sf)}`,
      }));
  }
  return [];
}

function variableSignature(d: ts.VariableDeclaration, sf: ts.SourceFile): string {
  const name = d.name.getText(sf);
  const init = d.initializer;
  if (init && (ts.isArrowFunction(init) || ts.isFunctionExpression(init))) {
    // Parameters and return type are the API; the body is not.
    const bodyStart = init.body.getStart(sf);
    return `${name} = ${sf.text.slice(init.getStart(sf), bodyStart)}`;
  }
  if (d.type) return `${name}: ${printed(d.type, sf)}`;
  return init ? `${name} = ${printed(init, sf)}` : name;
}

/** `class X extends Y { constructor(a: A); run(x: X): R; … }`: public members without bodies. */
function classSignature(cls: ts.ClassDeclaration, sf: ts.SourceFile): string {
  const head = textBetween(sf, cls, cls.members.pos - 1);
  const members: string[] = [];
  for (const m of cls.members) {
    if (isHidden(m)) continue;
    const body = ts.isFunctionLike(m) && "body" in m && m.body ? (m.body as ts.Node) : undefined;
    const init = ts.isPropertyDeclaration(m) ? m.initializer : undefined;
    const end = body ? body.getStart(sf) : init ? init.getStart(sf) - 1 : m.getEnd();
    members.push(textBetween(sf, m, end).replace(/[=;\s]+$/, ""));
  }
  return members.length ? `${head} { ${members.join("; ")} }` : `${head} {}`;
}

function isHidden(m: ts.ClassElement): boolean {
  if (m.name && ts.isPrivateIdentifier(m.name)) return true;
  return hasModifier(m, ts.SyntaxKind.PrivateKeyword) || hasModifier(m, ts.SyntaxKind.ProtectedKeyword);
}

function hasModifier(node: ts.Node, kind: ts.SyntaxKind): boolean {
  const mods = ts.canHaveModifiers(node) ? ts.getModifiers(node) : undefined;
  return mods?.some((m) => m.kind === kind) ?? false;
}

// Printing drops comments, which would otherwise crowd JSDoc-heavy interfaces out of the bound.
const printer = ts.createPrinter({ removeComments: true, newLine: ts.NewLineKind.LineFeed });

function printed(node: ts.Node, sf: ts.SourceFile): string {
  return printer.printNode(ts.EmitHint.Unspecified, node, sf);
}

function textBetween(sf: ts.SourceFile, node: ts.Node, end: number): string {
  return sf.text.slice(node.getStart(sf), end);
}

function collapse(text: string): string {
  return text.replace(/\s+/g, " ").trim();
}

function bound(signature: string): string {
  const text = collapse(signature)
    .replace(/^export\s+/, "")
    .replace(/^default\s+/, "")
    .replace(/^declare\s+/, "");
  return text.length > MAX_SIGNATURE ? `${text.slice(0, MAX_SIGNATURE - 1)}…` : text;
}

function lineOf(sf: ts.SourceFile, pos: number): number {
  return sf.getLineAndCharacterOfPosition(pos).line + 1;
}
