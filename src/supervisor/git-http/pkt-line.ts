/**
 * git's pkt-line framing: four hex digits giving the length of the line including themselves, then
 * the payload; `0000` is a flush. Only what the push rules need: reading lines from the front of a
 * request body, and writing the lines of a refusal.
 */

export type PktRead =
  | { readonly kind: "line"; readonly payload: Buffer; readonly next: number }
  | { readonly kind: "flush"; readonly next: number }
  /** The buffer ends before the line does: wait for more of the body. */
  | { readonly kind: "incomplete" }
  | { readonly kind: "invalid"; readonly why: string };

/** Reads the pkt-line starting at `offset` of `buf`. */
export function readPktLine(buf: Buffer, offset: number): PktRead {
  if (buf.length - offset < 4) return { kind: "incomplete" };
  const head = buf.toString("latin1", offset, offset + 4);
  if (!/^[0-9a-f]{4}$/.test(head)) return { kind: "invalid", why: `bad pkt-line length "${head}"` };
  const length = Number.parseInt(head, 16);
  if (length === 0) return { kind: "flush", next: offset + 4 };
  // 0001–0003 are protocol v2's delimiters; receive-pack speaks v0/v1, where they never appear.
  if (length < 4) return { kind: "invalid", why: `unexpected special pkt-line ${head}` };
  if (buf.length - offset < length) return { kind: "incomplete" };
  return { kind: "line", payload: buf.subarray(offset + 4, offset + length), next: offset + length };
}

/** One pkt-line carrying `payload`. */
export function pktLine(payload: Buffer | string): Buffer {
  const body = typeof payload === "string" ? Buffer.from(payload, "utf8") : payload;
  const length = body.length + 4;
  if (length > 0xffff) throw new RangeError(`a pkt-line holds at most 65531 bytes, not ${body.length}`);
  return Buffer.concat([Buffer.from(length.toString(16).padStart(4, "0"), "latin1"), body]);
}

export const FLUSH_PKT = Buffer.from("0000", "latin1");
