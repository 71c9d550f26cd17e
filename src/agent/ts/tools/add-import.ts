import { type ImportDeclaration, type SourceFile, ts } from "ts-morph";
import { defineTool, ToolError } from "../../tool.ts";
import { checkedEdit } from "../check/checked-edit.ts";
import { openWorkspaceProject, type WorkspaceProject } from "../project/project-cache.ts";
import { assertNotSchema, parseSymbolPath, requireSourceFile } from "../syntax/symbol-path.ts";
import { indentAt, type Splice, spliceFile } from "../syntax/text-edit.ts";
import { tsAddImportSpec } from "./tool-specs.ts";

const NAMED = /^(type\s+)?([A-Za-z_$][\w$]*)(?:\s+as\s+([A-Za-z_$][\w$]*))?$/;

interface NamedSpec {
  readonly name: string;
  readonly alias: string | undefined;
  readonly isTypeOnly: boolean;
  readonly local: string;
}

function parseNamed(raw: string): NamedSpec {
  const m = NAMED.exec(raw.trim());
  if (!m) {
    throw new ToolError(
      "TS_BAD_IMPORT",
      `named import "${raw}" is not valid: expected "name", "name as alias" or "type Name"`,
    );
  }
  return { name: m[2]!, alias: m[3], isTypeOnly: m[1] !== undefined, local: m[3] ?? m[2]! };
}

/** Whether `local` already names something at the file's top level (an import or a declaration). */
function declaredInFile(wp: WorkspaceProject, sf: SourceFile, local: string): boolean {
  const checker = wp.project.getTypeChecker().compilerObject;
  const meaning =
    ts.SymbolFlags.Value | ts.SymbolFlags.Type | ts.SymbolFlags.Namespace | ts.SymbolFlags.Alias;
  const anchor = sf.compilerNode.statements[0] ?? sf.compilerNode;
  return checker.resolveName(local, anchor, meaning, true) !== undefined;
}

/** How the file writes its imports, so an added one reads as if the file's author wrote it. */
interface ImportStyle {
  readonly quote: string;
  readonly semi: string;
}

function styleOf(sf: SourceFile): ImportStyle {
  const specifier = [...sf.getImportDeclarations(), ...sf.getExportDeclarations()]
    .map((d) => d.getModuleSpecifier())
    .find((m) => m !== undefined);
  const literal = specifier ?? sf.getFirstDescendantByKind(ts.SyntaxKind.StringLiteral);
  const quote = literal?.getText().startsWith("'") ? "'" : '"';
  const statements = sf.getImportDeclarations().length ? sf.getImportDeclarations() : sf.getStatements();
  const sample = statements.find((st) => !/[}]$/.test(st.getText())) ?? statements[0];
  const semi = sample && !sample.getText().endsWith(";") ? "" : ";";
  return { quote, semi };
}

const specText = (n: NamedSpec, dropType = false): string =>
  `${n.isTypeOnly && !dropType ? "type " : ""}${n.name}${n.alias ? ` as ${n.alias}` : ""}`;

/**
 * Splices that add names to an existing import clause, in its own layout: after the last name, on a
 * line of its own (at the same indent) when the list is one name per line.
 */
function mergeSplices(
  sf: SourceFile,
  existing: ImportDeclaration,
  named: readonly NamedSpec[],
  defaultName: string | undefined,
): Splice[] {
  const text = sf.getFullText();
  const splices: Splice[] = [];
  const dropType = existing.isTypeOnly();
  const specs = named.map((n) => specText(n, dropType));
  const elements = existing.getNamedImports();
  const defaultNode = existing.getDefaultImport();
  if (specs.length > 0 && elements.length > 0) {
    const last = elements.at(-1)!;
    let at = last.getEnd();
    const trailingComma = /^\s*,/.exec(text.slice(at));
    const multiline =
      text.slice(elements[0]!.getStart(), last.getEnd()).includes("\n") ||
      /\{\s*\n/.test(text.slice(existing.getStart(), elements[0]!.getStart()));
    if (multiline) {
      const indent = indentAt(text, last.getStart());
      const items = specs.map((t) => `\n${indent}${t}`);
      if (trailingComma) {
        at += trailingComma[0].length;
        splices.push({ start: at, end: at, text: items.map((i) => `${i},`).join("") });
      } else splices.push({ start: at, end: at, text: items.map((i) => `,${i}`).join("") });
    } else if (trailingComma) {
      at += trailingComma[0].length;
      splices.push({ start: at, end: at, text: specs.map((t) => ` ${t},`).join("") });
    } else splices.push({ start: at, end: at, text: specs.map((t) => `, ${t}`).join("") });
  } else if (specs.length > 0 && defaultNode) {
    const at = defaultNode.getEnd();
    splices.push({ start: at, end: at, text: `, { ${specs.join(", ")} }` });
  }
  if (defaultName) {
    // `import { a } from "m"` becomes `import name, { a } from "m"`.
    const clause = existing.getImportClause()!;
    const at = clause.getStart() + (dropType ? "type ".length : 0);
    splices.push({ start: at, end: at, text: `${defaultName}, ` });
  }
  return splices;
}

/** Where a new import goes: after the last import, or after the file's header comment (and shebang). */
function newImportSplice(sf: SourceFile, line: string): Splice {
  const imports = sf.getImportDeclarations();
  const text = sf.getFullText();
  if (imports.length > 0) {
    let at = imports.at(-1)!.getEnd();
    // A comment after the last import on its line stays with it.
    const eol = text.indexOf("\n", at);
    const rest = text.slice(at, eol < 0 ? text.length : eol);
    if (/^\s*(\/\/.*|\/\*.*\*\/\s*)$/.test(rest)) at += rest.trimEnd().length;
    return { start: at, end: at, text: `\n${line}` };
  }
  let at = text.startsWith("#!") ? text.indexOf("\n") + 1 || text.length : 0;
  for (const c of ts.getLeadingCommentRanges(text, at) ?? []) {
    // A comment followed by a blank line is the file's header (a license, a description): keep it on top.
    if (/^[ \t]*\r?\n[ \t]*\r?\n/.test(text.slice(c.end))) at = text.indexOf("\n", c.end) + 1;
  }
  return { start: at, end: at, text: `${line}\n` };
}

export const tsAddImport = defineTool({
  ...tsAddImportSpec,
  async run(input, ctx) {
    const wp = await openWorkspaceProject(ctx.workspace);
    const parsed = parseSymbolPath(wp.root, input.path);
    if (parsed.symbol !== undefined) {
      throw new ToolError(
        "TS_BAD_PATH",
        `ts_add_import takes a file path without "#symbol", got "${input.path}"`,
      );
    }
    const sf = requireSourceFile(wp, parsed);
    assertNotSchema(wp, sf.getFilePath());
    const named = (input.named ?? []).map(parseNamed);
    if (input.default !== undefined && !/^[A-Za-z_$][\w$]*$/.test(input.default)) {
      throw new ToolError("TS_BAD_IMPORT", `default "${input.default}" is not an identifier`);
    }
    const sameModule = sf
      .getImportDeclarations()
      .filter((d) => d.getModuleSpecifierValue() === input.module && !d.getNamespaceImport());
    const existing: ImportDeclaration | undefined = sameModule.find((d) => !d.isTypeOnly()) ?? sameModule[0];
    const already = new Set(
      sameModule.flatMap((d) => [
        ...d.getNamedImports().map((n) => n.getAliasNode()?.getText() ?? n.getName()),
        ...(d.getDefaultImport() ? [d.getDefaultImport()!.getText()] : []),
      ]),
    );
    const toAdd = named.filter((n) => !already.has(n.local));
    const addDefault = input.default !== undefined && !already.has(input.default) ? input.default : undefined;
    for (const local of [...toAdd.map((n) => n.local), ...(addDefault ? [addDefault] : [])]) {
      if (declaredInFile(wp, sf, local)) {
        throw new ToolError(
          "TS_NAME_COLLISION",
          `\`${local}\` is already declared or imported in ${parsed.rel}: import it under another name ("${local} as other")`,
        );
      }
    }
    if (addDefault && existing?.getDefaultImport()) {
      throw new ToolError(
        "TS_NAME_COLLISION",
        `${parsed.rel} already imports the default of "${input.module}" as \`${existing.getDefaultImport()!.getText()}\``,
      );
    }
    const sideEffectOnly = named.length === 0 && input.default === undefined;
    const style = styleOf(sf);
    const splices: Splice[] = [];
    const mergeable = sameModule.filter((d) => d.getImportClause() !== undefined);
    const target =
      mergeable.find((d) => !d.isTypeOnly()) ??
      // Types alone may join an `import type { ... }` (which cannot take a default).
      (toAdd.every((n) => n.isTypeOnly) && !addDefault ? mergeable[0] : undefined);
    if (target && (toAdd.length > 0 || addDefault)) {
      splices.push(...mergeSplices(sf, target, toAdd, addDefault));
    } else if (toAdd.length || addDefault || (sideEffectOnly && sameModule.length === 0)) {
      const q = style.quote;
      const from = `${q}${input.module.replaceAll("\\", "\\\\").replaceAll(q, `\\${q}`)}${q}`;
      const names = toAdd.length ? `{ ${toAdd.map((n) => specText(n)).join(", ")} }` : "";
      const bindings = [addDefault, names].filter(Boolean).join(", ");
      const line = bindings ? `import ${bindings} from ${from}${style.semi}` : `import ${from}${style.semi}`;
      splices.push(newImportSplice(sf, line));
    }
    return checkedEdit(wp, {
      signal: ctx.signal,
      planned: [sf],
      apply: () => {
        if (splices.length > 0) spliceFile(sf, splices);
      },
      summary: `added an import from "${input.module}" to ${parsed.rel}`,
    });
  },
});
