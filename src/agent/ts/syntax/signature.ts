import { Node, SyntaxKind } from "ts-morph";
import { type Decl, isFunctionLike } from "./declarations.ts";

/** Where a declaration's members block or body starts, so outlines can show its head without a body. */
function headEnd(d: Decl): number | undefined {
  const n = d.node;
  const target = d.callable ?? d.container;
  if (target && target !== n) {
    if (d.callable) {
      const body = (d.callable as Node & { getBody?: () => Node | undefined }).getBody?.();
      return body && Node.isBlock(body) ? body.getStart() : undefined;
    }
    return target.getStart();
  }
  if (Node.isClassDeclaration(n) || Node.isInterfaceDeclaration(n) || Node.isEnumDeclaration(n)) {
    return n.getFirstChildByKind(SyntaxKind.OpenBraceToken)?.getStart();
  }
  if (Node.isModuleDeclaration(n)) return n.getBody()?.getStart();
  if (isFunctionLike(n)) {
    const body = (n as Node & { getBody?: () => Node | undefined }).getBody?.();
    return body?.getStart();
  }
  return undefined;
}

/** One line, no bodies: what the model needs to call or extend the declaration. */
export function signatureOf(d: Decl, max = 200): string {
  const start = d.node.getStart();
  const cut = headEnd(d);
  let text = d.node
    .getSourceFile()
    .getFullText()
    .slice(start, cut ?? d.node.getEnd());
  text = text.replace(/\s+/g, " ").trim();
  if (cut !== undefined) text += " {…}";
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
