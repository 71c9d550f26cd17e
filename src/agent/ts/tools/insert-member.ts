import { Node, type SourceFile, SyntaxKind, ts } from "ts-morph";
import { defineTool, ToolError } from "../../tool.ts";
import { checkedEdit } from "../check/checked-edit.ts";
import { openWorkspaceProject } from "../project/project-cache.ts";
import { collectDeclarations, describeDecl } from "../syntax/declarations.ts";
import { assertNotSchema, nearest, resolveSymbol } from "../syntax/symbol-path.ts";
import { indentAt, indentUnit, lineStartOf, reindent, type Splice, spliceFile } from "../syntax/text-edit.ts";
import { type MemberPosition, tsInsertMemberSpec } from "./tool-specs.ts";

/** Where the member goes: "first", "last" (default), or next to a named sibling member. */

interface MemberSpan {
  readonly name: string;
  readonly start: number;
  readonly end: number;
}

/** The container's member list as raw spans (parameter properties and overloads included as written). */
function membersOf(container: Node): { list: MemberSpan[]; open: number; close: number; isObject: boolean } {
  const sf = container.getSourceFile().compilerNode;
  const raw = container.compilerNode as ts.Node & {
    members?: ts.NodeArray<ts.Node & { name?: ts.Node }>;
    properties?: ts.NodeArray<ts.Node & { name?: ts.Node }>;
  };
  const nodes = raw.members ?? raw.properties ?? [];
  const open =
    Node.isObjectLiteralExpression(container) || Node.isTypeLiteral(container)
      ? container.getStart()
      : container.getFirstChildByKindOrThrow(SyntaxKind.OpenBraceToken).getStart();
  const list = nodes.map((m) => ({
    name:
      m.kind === ts.SyntaxKind.Constructor
        ? "constructor"
        : (m.name?.getText(sf).replace(/^["']|["']$/g, "") ?? ""),
    start: (m as ts.Node).getStart(sf, true),
    end: m.end,
  }));
  return { list, open, close: container.getEnd() - 1, isObject: Node.isObjectLiteralExpression(container) };
}

function memberCount(container: Node | undefined): number {
  return container ? membersOf(container).list.length : -1;
}

function withSeparator(member: string, kind: "class" | "type" | "object"): string {
  const t = member.trim();
  if (kind === "object") return t.replace(/[,;]\s*$/, "");
  return /[;,}]$/.test(t) ? t : `${t};`;
}

function planInsert(sf: SourceFile, container: Node, member: string, position: MemberPosition): Splice[] {
  const text = sf.getFullText();
  const { list, open, close, isObject } = membersOf(container);
  const kind = isObject
    ? "object"
    : Node.isClassDeclaration(container) || Node.isClassExpression(container)
      ? "class"
      : "type";
  const body = withSeparator(member, kind);
  const unit = indentUnit(text);
  if (list.length === 0) {
    const base = indentAt(text, open);
    const inside = text.slice(open + 1, close);
    const block = `\n${reindent(body, base + unit)}${isObject ? "," : ""}\n${base}`;
    if (inside.trim() === "") return [{ start: open + 1, end: close, text: block }];
    const at = open + 1 + inside.trimEnd().length;
    return [{ start: at, end: at, text: `\n${reindent(body, base + unit)}${isObject ? "," : ""}` }];
  }
  const find = (name: string): number => {
    const short = name.slice(name.lastIndexOf(".") + 1);
    const i = list.findIndex((m) => m.name === short);
    if (i < 0) {
      const near = nearest(
        short,
        list.map((m) => m.name),
      );
      throw new ToolError(
        "TS_NO_MEMBER",
        `no member \`${short}\` to insert next to. Members: ${near.join(", ")}${list.length > near.length ? ", …" : ""}`,
      );
    }
    return i;
  };
  let index: number;
  let after: boolean;
  if (position === "first") [index, after] = [0, false];
  else if (position === "last") [index, after] = [list.length - 1, true];
  else if ("before" in position) [index, after] = [find(position.before), false];
  else [index, after] = [find(position.after), true];
  const anchor = list[index]!;
  // Follow the container's spacing: members separated by blank lines get one too.
  const spaced = list.slice(1).some((m, i) => /\n[ \t]*\n/.test(text.slice(list[i]!.end, m.start)));
  const gap = spaced ? "\n" : "";
  const indent = indentAt(text, anchor.start);
  const ownLine = lineStartOf(text, anchor.start) + indent.length === anchor.start;
  if (!after) {
    const sep = isObject ? "," : "";
    if (!ownLine) return [{ start: anchor.start, end: anchor.start, text: `${body}${sep} ` }];
    return [
      {
        start: lineStartOf(text, anchor.start),
        end: lineStartOf(text, anchor.start),
        text: `${reindent(body, indent)}${sep}\n${gap}`,
      },
    ];
  }
  // After the anchor: past its separator, and past a trailing line comment when it ends its line.
  let end = anchor.end;
  const sepMatch = /^[ \t]*[,;]/.exec(text.slice(end));
  const hadComma = sepMatch !== null && sepMatch[0].trim() === ",";
  if (sepMatch) end += sepMatch[0].length;
  const isLast = index === list.length - 1;
  const splices: Splice[] = [];
  if (isObject && !hadComma) splices.push({ start: anchor.end, end: anchor.end, text: "," });
  const trailing = isObject && (!isLast || hadComma) ? "," : "";
  const restOfLine = /^[^\n]*/.exec(text.slice(end))![0];
  if (ownLine && /^\s*(\/\/.*)?$/.test(restOfLine)) {
    const eol = end + restOfLine.length;
    splices.push({ start: eol, end: eol, text: `\n${gap}${reindent(body, indent)}${trailing}` });
  } else {
    splices.push({ start: end, end, text: ` ${body}${trailing}` });
  }
  return splices;
}

export const tsInsertMember = defineTool({
  ...tsInsertMemberSpec,
  async run(input, ctx) {
    const wp = await openWorkspaceProject(ctx.workspace);
    const { sf, decl, parsed } = resolveSymbol(wp, input.path, (d) => d.container !== undefined);
    assertNotSchema(wp, sf.getFilePath());
    const container = decl.container;
    if (!container) {
      throw new ToolError(
        "TS_NOT_CONTAINER",
        `${parsed.rel}#${decl.path} is a ${decl.kind}: ts_insert_member inserts into a class, interface, type ` +
          "literal or object literal (name the container, not a member)",
      );
    }
    const before = memberCount(container);
    const splices = planInsert(sf, container, input.member, input.position ?? "last");
    return checkedEdit(wp, {
      signal: ctx.signal,
      planned: [sf],
      // A new member shows in the container's declaration: skip emitting .d.ts text to learn that.
      shapeMoves: true,
      apply: () => spliceFile(sf, splices),
      verify: () => {
        const again = collectDeclarations(sf).find((d) => d.path === decl.path && d.container);
        if (memberCount(again?.container) <= before) {
          throw new ToolError(
            "TS_NOT_A_MEMBER",
            `edit refused, no file was changed: the text did not become a member of ${describeDecl(decl)}`,
          );
        }
      },
      summary: `inserted a member into ${describeDecl(decl)} in ${parsed.rel}`,
    });
  },
});
