import { readPktLine } from "./pkt-line.ts";

/** One ref update a push asks for (`old new ref`); an id of zeros means "none" (create / delete). */
export interface PushCommand {
  readonly oldId: string;
  readonly newId: string;
  readonly ref: string;
}

export type CommandSection =
  | {
      readonly kind: "complete";
      readonly commands: readonly PushCommand[];
      /** What the client asked for on its first command (report-status, side-band-64k, …). */
      readonly capabilities: readonly string[];
    }
  | { readonly kind: "incomplete" }
  | { readonly kind: "invalid"; readonly why: string };

const OID = "(?:[0-9a-f]{40}|[0-9a-f]{64})";
const COMMAND = new RegExp(`^(${OID}) (${OID}) (refs/[^\\0\\s]+)$`);
const SHALLOW = new RegExp(`^shallow ${OID}$`);

export const isZeroId = (id: string): boolean => /^0+$/.test(id);

/**
 * Reads the command list at the front of a receive-pack request body: optional `shallow <id>` lines,
 * then `old new ref` lines (the first carries the capabilities after a NUL), then a flush; the pack
 * follows. Anything else (a push certificate, which is never advertised) is invalid, so no update can
 * reach receive-pack without having been read here.
 */
export function readCommandSection(body: Buffer): CommandSection {
  const commands: PushCommand[] = [];
  let capabilities: string[] = [];
  let offset = 0;
  for (;;) {
    const pkt = readPktLine(body, offset);
    if (pkt.kind === "incomplete" || pkt.kind === "invalid") return pkt;
    if (pkt.kind === "flush") return { kind: "complete", commands, capabilities };
    offset = pkt.next;
    let text = pkt.payload.toString("latin1").replace(/\n$/, "");
    if (commands.length === 0 && SHALLOW.test(text)) continue;
    const nul = text.indexOf("\0");
    if (nul >= 0) {
      if (commands.length > 0) return { kind: "invalid", why: "capabilities after the first command" };
      capabilities = text
        .slice(nul + 1)
        .split(" ")
        .filter((c) => c !== "");
      text = text.slice(0, nul);
    }
    const m = COMMAND.exec(text);
    if (!m) return { kind: "invalid", why: `not a ref update: ${JSON.stringify(text.slice(0, 120))}` };
    commands.push({ oldId: m[1] as string, newId: m[2] as string, ref: m[3] as string });
  }
}

/** Why each command is refused, in order; empty when every command may go through. */
export function refusePush(
  commands: readonly PushCommand[],
  allowedRef: string,
): readonly { readonly ref: string; readonly reason: string }[] {
  const own = commands.map((c) =>
    c.ref !== allowedRef
      ? `this token may push only ${allowedRef}, not ${c.ref}`
      : isZeroId(c.newId)
        ? `deleting ${c.ref} is refused; this token may only update ${allowedRef}`
        : undefined,
  );
  if (own.every((r) => r === undefined)) return [];
  const first = own.find((r) => r !== undefined) as string;
  // One refused command refuses the whole push, so nothing lands half-way.
  return commands.map((c, i) => ({
    ref: c.ref,
    reason: own[i] ?? `not updated: the push was refused (${first})`,
  }));
}
