import { FLUSH_PKT, pktLine } from "./pkt-line.ts";

export const RECEIVE_PACK_RESULT = "application/x-git-receive-pack-result";

/**
 * A receive-pack answer that refuses a push in git's own terms, so `git push` prints each ref as
 * `! [remote rejected] main -> main (<reason>)` and a `remote:` line, and exits non-zero. Only for a
 * client that asked for report-status; `unpack` says why the pack was not taken when it was not read.
 */
export function refusalReport(
  capabilities: readonly string[],
  refused: readonly { readonly ref: string; readonly reason: string }[],
  unpack = "ok",
): Buffer {
  const report = Buffer.concat([
    pktLine(`unpack ${oneLine(unpack)}\n`),
    ...refused.map((r) => pktLine(`ng ${r.ref} ${oneLine(r.reason)}\n`)),
    FLUSH_PKT,
  ]);
  const band = capabilities.includes("side-band-64k") ? 65515 : capabilities.includes("side-band") ? 995 : 0;
  if (band === 0) return report;
  const say = refused[0] ? `refused: ${refused[0].reason}\n` : `refused: ${unpack}\n`;
  const chunks: Buffer[] = [pktLine(Buffer.concat([Buffer.from([2]), Buffer.from(oneLine(say, true))]))];
  for (let at = 0; at < report.length; at += band) {
    chunks.push(pktLine(Buffer.concat([Buffer.from([1]), report.subarray(at, at + band)])));
  }
  chunks.push(FLUSH_PKT);
  return Buffer.concat(chunks);
}

/** Whether the client can read a report at all (every git since 1.6 asks for one). */
export const wantsReport = (capabilities: readonly string[]): boolean =>
  capabilities.includes("report-status") || capabilities.includes("report-status-v2");

function oneLine(text: string, keepFinalNewline = false): string {
  const flat = text
    .replace(/\n$/, "")
    .replace(/[\r\n\0]+/g, " ")
    .slice(0, 900);
  return keepFinalNewline ? `${flat}\n` : flat;
}
