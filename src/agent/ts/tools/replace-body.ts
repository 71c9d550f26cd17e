import { Node } from "ts-morph";
import { defineTool, ToolError } from "../../tool.ts";
import { checkedEdit } from "../check/checked-edit.ts";
import { openWorkspaceProject } from "../project/project-cache.ts";
import { collectDeclarations, describeDecl } from "../syntax/declarations.ts";
import { assertNotSchema, resolveSymbol } from "../syntax/symbol-path.ts";
import { indentAt, indentUnit, reindent, type Splice, spliceFile } from "../syntax/text-edit.ts";
import { tsReplaceBodySpec } from "./tool-specs.ts";

/**
 * Whether a new body leaves every declaration (.d.ts) as it was: true when the return type is written
 * out (or there is none to infer), so no other file can see the change.
 */
function bodyCannotShowOutside(callable: Node): boolean {
  if (Node.isConstructorDeclaration(callable) || Node.isSetAccessorDeclaration(callable)) return true;
  const typed = callable as Node & { getReturnTypeNode?: () => Node | undefined };
  return typed.getReturnTypeNode?.() !== undefined;
}

export const tsReplaceBody = defineTool({
  ...tsReplaceBodySpec,
  async run(input, ctx) {
    const wp = await openWorkspaceProject(ctx.workspace);
    const { sf, decl, parsed } = resolveSymbol(wp, input.path, (d) => {
      const c = d.callable as (Node & { getBody?: () => Node | undefined }) | undefined;
      return c?.getBody?.() !== undefined;
    });
    assertNotSchema(wp, sf.getFilePath());
    const callable = decl.callable as (Node & { getBody?: () => Node | undefined }) | undefined;
    if (!callable) {
      throw new ToolError(
        "TS_NOT_FUNCTION",
        `${parsed.rel}#${decl.path} is a ${decl.kind}, not a function: ts_replace_body replaces bodies of functions, ` +
          "methods, constructors, accessors and arrow functions. Use ts_replace_declaration to replace it whole.",
      );
    }
    const body = callable.getBody?.();
    if (!body) {
      throw new ToolError(
        "TS_NO_BODY",
        `${parsed.rel}#${decl.path} has no body (an overload signature, abstract or declared member): ` +
          "use ts_replace_declaration to change it.",
      );
    }
    const text = sf.getFullText();
    const base = indentAt(text, body.getStart());
    const inner = base + indentUnit(text);
    const statements = input.body.trim() === "" ? "" : `\n${reindent(input.body, inner)}\n${base}`;
    const isBlock = Node.isBlock(body);
    const splice: Splice = isBlock
      ? { start: body.getStart() + 1, end: body.getEnd() - 1, text: statements }
      : { start: body.getStart(), end: body.getEnd(), text: `{${statements}}` };
    return checkedEdit(wp, {
      signal: ctx.signal,
      planned: [sf],
      shapeKept: bodyCannotShowOutside(callable),
      apply: () => spliceFile(sf, [splice]),
      verify: () => {
        // The new body must be exactly what was inserted: a stray "}" in it would close the function early
        // and still parse, silently moving code out of it.
        const bodyStart = isBlock ? splice.start - 1 : splice.start;
        const bodyEnd = splice.start + splice.text.length + (isBlock ? 1 : 0);
        const newBody = collectDeclarations(sf)
          .filter((d) => d.path === decl.path && d.kind === decl.kind)
          .map((d) => (d.callable as (Node & { getBody?: () => Node | undefined }) | undefined)?.getBody?.())
          .find((b) => b !== undefined);
        if (!newBody || newBody.getStart() !== bodyStart || newBody.getEnd() !== bodyEnd) {
          throw new ToolError(
            "TS_BODY_ESCAPES",
            `edit refused, no file was changed: the new body does not stay inside ${describeDecl(decl)} ` +
              "(unbalanced braces?). Send only the statements, without the function's own { }.",
          );
        }
      },
      summary: `replaced the body of ${describeDecl(decl)} in ${parsed.rel}`,
    });
  },
});
