import { type Expression, Node, type SourceFile } from "ts-morph";

/**
 * The addressable declarations of a file, each with its symbol path (`Class.member`, `config.load`,
 * `Namespace.fn`, `default`). Tools re-collect these on every call instead of holding nodes, because
 * ts-morph forgets nodes after text-level edits.
 */

export type DeclKind =
  | "function"
  | "class"
  | "interface"
  | "type"
  | "enum"
  | "namespace"
  | "variable"
  | "method"
  | "property"
  | "getter"
  | "setter"
  | "constructor"
  | "enum-member"
  | "default";

export interface Decl {
  /** Symbol path inside the file, without the leading `#`. */
  readonly path: string;
  readonly kind: DeclKind;
  /** The whole declaration (statement for a single-declarator variable), the unit read/replaced/removed. */
  readonly node: Node;
  /** The identifier to rename, when the declaration has one. */
  readonly nameNode: Node | undefined;
  /** Function-like node whose body `ts_replace_body` replaces. */
  readonly callable: Node | undefined;
  /** Class, interface, type literal or object literal that `ts_insert_member` inserts into. */
  readonly container: Node | undefined;
  readonly exported: boolean;
  readonly depth: number;
}

export function isFunctionLike(node: Node): boolean {
  return (
    Node.isFunctionDeclaration(node) ||
    Node.isMethodDeclaration(node) ||
    Node.isConstructorDeclaration(node) ||
    Node.isGetAccessorDeclaration(node) ||
    Node.isSetAccessorDeclaration(node) ||
    Node.isArrowFunction(node) ||
    Node.isFunctionExpression(node)
  );
}

/** Sees through `as const`, `satisfies T`, parentheses and `defineX({...})` wrappers. */
function unwrap(expr: Expression | undefined): Node | undefined {
  let e: Node | undefined = expr;
  for (let i = 0; i < 8 && e; i++) {
    if (Node.isAsExpression(e) || Node.isSatisfiesExpression(e) || Node.isParenthesizedExpression(e)) {
      e = e.getExpression();
    } else if (Node.isCallExpression(e)) {
      const obj = e.getArguments().find((a) => Node.isObjectLiteralExpression(a) || isFunctionLike(a));
      return obj ?? e;
    } else {
      return e;
    }
  }
  return e;
}

function memberName(nameNode: Node | undefined): string | undefined {
  if (!nameNode) return undefined;
  if (Node.isStringLiteral(nameNode) || Node.isNoSubstitutionTemplateLiteral(nameNode)) {
    return nameNode.getLiteralText();
  }
  return nameNode.getText();
}

type Extra = Partial<Pick<Decl, "callable" | "container" | "exported">>;

class Collector {
  readonly out: Decl[] = [];
  private readonly exportedNames = new Set<string>();

  constructor(sf: SourceFile) {
    // `export { a, b as c }` without a module specifier exports local declarations.
    for (const ed of sf.getExportDeclarations()) {
      if (ed.getModuleSpecifier()) continue;
      for (const spec of ed.getNamedExports()) this.exportedNames.add(spec.getName());
    }
  }

  /** Records a declaration; returns its index so values found later can fill in callable/container. */
  private add(
    path: string,
    kind: DeclKind,
    node: Node,
    nameNode: Node | undefined,
    depth: number,
    extra: Extra = {},
  ): number {
    this.out.push({
      path,
      kind,
      node,
      nameNode,
      callable: undefined,
      container: undefined,
      exported: false,
      depth,
      ...extra,
    });
    return this.out.length - 1;
  }

  private isExported(node: Node, name: string | undefined, depth: number): boolean {
    if (Node.isExportable(node) && (node.hasExportKeyword() || node.hasDefaultKeyword())) return true;
    return depth === 0 && name !== undefined && this.exportedNames.has(name);
  }

  /** A value (variable initializer, property, default export) at index `at`: callable or container. */
  private value(at: number, init: Node | undefined, prefix: string, depth: number): void {
    const d = this.out[at]!;
    if (!init) return;
    if (isFunctionLike(init)) {
      this.out[at] = { ...d, callable: init, kind: d.kind === "variable" ? "function" : d.kind };
    } else if (Node.isObjectLiteralExpression(init)) {
      this.out[at] = { ...d, container: init };
      this.objectLiteral(init, prefix, depth + 1);
    } else if (Node.isClassExpression(init)) {
      this.out[at] = { ...d, container: init };
      this.classMembers(init, prefix, depth + 1);
    }
  }

  statements(statements: Node[], prefix: string, depth: number): void {
    for (const st of statements) this.statement(st, prefix, depth);
  }

  private statement(st: Node, prefix: string, depth: number): void {
    if (Node.isFunctionDeclaration(st) || Node.isClassDeclaration(st)) {
      const name = st.getName() ?? (st.hasDefaultKeyword() ? "default" : undefined);
      if (!name) return;
      const exported = this.isExported(st, name, depth);
      if (Node.isFunctionDeclaration(st)) {
        this.add(prefix + name, "function", st, st.getNameNode(), depth, { callable: st, exported });
      } else {
        this.add(prefix + name, "class", st, st.getNameNode(), depth, { container: st, exported });
        this.classMembers(st, `${prefix}${name}.`, depth + 1);
      }
    } else if (Node.isInterfaceDeclaration(st)) {
      const name = st.getName();
      this.add(prefix + name, "interface", st, st.getNameNode(), depth, {
        container: st,
        exported: this.isExported(st, name, depth),
      });
      this.typeElements(st.getMembers(), `${prefix}${name}.`, depth + 1);
    } else if (Node.isTypeAliasDeclaration(st)) {
      const name = st.getName();
      const t = st.getTypeNode();
      const literal = t && Node.isTypeLiteral(t) ? t : undefined;
      this.add(prefix + name, "type", st, st.getNameNode(), depth, {
        container: literal,
        exported: this.isExported(st, name, depth),
      });
      if (literal) this.typeElements(literal.getMembers(), `${prefix}${name}.`, depth + 1);
    } else if (Node.isEnumDeclaration(st)) {
      const name = st.getName();
      this.add(prefix + name, "enum", st, st.getNameNode(), depth, {
        exported: this.isExported(st, name, depth),
      });
      for (const m of st.getMembers()) {
        this.add(
          `${prefix}${name}.${memberName(m.getNameNode())}`,
          "enum-member",
          m,
          m.getNameNode(),
          depth + 1,
        );
      }
    } else if (Node.isModuleDeclaration(st)) {
      const name = st.getName();
      const nameNodes = st.getNameNodes();
      this.add(prefix + name, "namespace", st, Array.isArray(nameNodes) ? nameNodes[0] : nameNodes, depth, {
        exported: this.isExported(st, name, depth),
      });
      this.statements(st.getStatements(), `${prefix}${name}.`, depth + 1);
    } else if (Node.isVariableStatement(st)) {
      const decls = st.getDeclarations();
      for (const vd of decls) {
        const nameNode = vd.getNameNode();
        if (!Node.isIdentifier(nameNode)) continue;
        const name = nameNode.getText();
        // A single-declarator statement is the unit (so `export const` and JSDoc come along).
        const at = this.add(prefix + name, "variable", decls.length === 1 ? st : vd, nameNode, depth, {
          exported: this.isExported(st, name, depth),
        });
        this.value(at, unwrap(vd.getInitializer()), `${prefix}${name}.`, depth);
      }
    } else if (Node.isExportAssignment(st) && !st.isExportEquals()) {
      const at = this.add(`${prefix}default`, "default", st, undefined, depth, { exported: true });
      this.value(at, unwrap(st.getExpression()), `${prefix}default.`, depth);
    }
  }

  private classMembers(cls: Node, prefix: string, depth: number): void {
    if (!Node.isClassDeclaration(cls) && !Node.isClassExpression(cls)) return;
    for (const m of cls.getMembers()) {
      // ts-morph lists an overloaded method or constructor once, as its implementation; its overload
      // signatures belong to the same path (as a top-level function's do), so they are read and replaced with it.
      if ((Node.isMethodDeclaration(m) || Node.isConstructorDeclaration(m)) && m.isImplementation()) {
        for (const o of m.getOverloads()) this.member(o, prefix, depth);
      }
      this.member(m, prefix, depth);
    }
  }

  private member(m: Node, prefix: string, depth: number): void {
    if (Node.isConstructorDeclaration(m)) {
      this.add(`${prefix}constructor`, "constructor", m, undefined, depth, { callable: m });
    } else if (Node.isPropertyDeclaration(m)) {
      const name = memberName(m.getNameNode())!;
      const at = this.add(prefix + name, "property", m, m.getNameNode(), depth);
      this.value(at, unwrap(m.getInitializer()), `${prefix}${name}.`, depth);
    } else {
      this.accessorOrMethod(m, prefix, depth);
    }
  }

  /** Methods and accessors, in classes, object literals and (as signatures) interfaces. */
  private accessorOrMethod(m: Node, prefix: string, depth: number): void {
    const kind: DeclKind | undefined =
      Node.isMethodDeclaration(m) || Node.isMethodSignature(m)
        ? "method"
        : Node.isGetAccessorDeclaration(m)
          ? "getter"
          : Node.isSetAccessorDeclaration(m)
            ? "setter"
            : undefined;
    if (!kind) return;
    const nameNode = (m as Node & { getNameNode(): Node }).getNameNode();
    this.add(prefix + memberName(nameNode), kind, m, nameNode, depth, {
      callable: Node.isMethodSignature(m) ? undefined : m,
    });
  }

  private typeElements(members: Node[], prefix: string, depth: number): void {
    for (const m of members) {
      if (Node.isPropertySignature(m)) {
        const name = memberName(m.getNameNode())!;
        const t = m.getTypeNode();
        const literal = t && Node.isTypeLiteral(t) ? t : undefined;
        this.add(prefix + name, "property", m, m.getNameNode(), depth, { container: literal });
        if (literal) this.typeElements(literal.getMembers(), `${prefix}${name}.`, depth + 1);
      } else {
        this.accessorOrMethod(m, prefix, depth);
      }
    }
  }

  objectLiteral(obj: Node, prefix: string, depth: number): void {
    if (!Node.isObjectLiteralExpression(obj)) return;
    for (const m of obj.getProperties()) {
      if (Node.isPropertyAssignment(m)) {
        const name = memberName(m.getNameNode())!;
        const at = this.add(prefix + name, "property", m, m.getNameNode(), depth);
        this.value(at, unwrap(m.getInitializer()), `${prefix}${name}.`, depth);
        if (this.out[at]!.callable) this.out[at] = { ...this.out[at]!, kind: "method" };
      } else if (Node.isShorthandPropertyAssignment(m)) {
        this.add(prefix + m.getName(), "property", m, m.getNameNode(), depth);
      } else {
        this.accessorOrMethod(m, prefix, depth);
      }
    }
  }
}

/** Every addressable declaration of the file, parents before children, in source order. */
export function collectDeclarations(sf: SourceFile): Decl[] {
  const c = new Collector(sf);
  c.statements(sf.getStatements(), "", 0);
  return c.out;
}

/** Declarations at a symbol path; several for overloads and get/set pairs. */
export function findDeclarations(decls: readonly Decl[], symbolPath: string): Decl[] {
  return decls.filter((d) => d.path === symbolPath);
}

/** The innermost declaration containing a position, for reporting errors in words, not line numbers. */
export function enclosingDeclaration(decls: readonly Decl[], pos: number): Decl | undefined {
  let best: Decl | undefined;
  for (const d of decls) {
    if (d.node.getStart(true) <= pos && pos <= d.node.getEnd()) {
      if (!best || d.node.getEnd() - d.node.getStart(true) <= best.node.getEnd() - best.node.getStart(true))
        best = d;
    }
  }
  return best;
}

/** "function `parse`", "method `Foo.bar`": how a declaration is named in messages. */
export function describeDecl(d: Decl): string {
  return `${d.kind} \`${d.path}\``;
}
