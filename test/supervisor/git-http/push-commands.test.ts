import { describe, expect, it } from "vitest";
import { basicToken } from "../../../src/supervisor/git-http/grants.ts";
import { pktLine, readPktLine } from "../../../src/supervisor/git-http/pkt-line.ts";
import { readCommandSection, refusePush } from "../../../src/supervisor/git-http/push-commands.ts";
import { refusalReport } from "../../../src/supervisor/git-http/push-report.ts";

const A = "a".repeat(40);
const B = "b".repeat(40);
const Z = "0".repeat(40);
const flush = Buffer.from("0000");

describe("the command list of a push", () => {
  it("reads shallow lines, commands and the first command's capabilities", () => {
    const body = Buffer.concat([
      pktLine(`shallow ${A}`),
      pktLine(`${A} ${B} refs/heads/lab/gen-3\0report-status side-band-64k agent=git/2.39\n`),
      pktLine(`${Z} ${B} refs/tags/v1\n`),
      flush,
      Buffer.from("PACK…"),
    ]);
    expect(readCommandSection(body)).toEqual({
      kind: "complete",
      commands: [
        { oldId: A, newId: B, ref: "refs/heads/lab/gen-3" },
        { oldId: Z, newId: B, ref: "refs/tags/v1" },
      ],
      capabilities: ["report-status", "side-band-64k", "agent=git/2.39"],
    });
    // Every prefix short of the flush is incomplete, never a verdict.
    for (let end = 0; end < body.indexOf(flush); end++) {
      expect(readCommandSection(body.subarray(0, end)).kind).toBe("incomplete");
    }
  });

  it("refuses what is not a ref update", () => {
    const invalid = (...lines: Buffer[]) => readCommandSection(Buffer.concat([...lines, flush]));
    expect(invalid(pktLine(`push-cert\0report-status`))).toMatchObject({ kind: "invalid" });
    expect(invalid(pktLine(`${A} ${B} HEAD`))).toMatchObject({ kind: "invalid" });
    expect(
      invalid(pktLine(`${A} ${B} refs/heads/x`), pktLine(`${A} ${B} refs/heads/y\0report-status`)),
    ).toEqual({
      kind: "invalid",
      why: "capabilities after the first command",
    });
    expect(invalid(pktLine(`${A} ${B} refs/heads/x`), pktLine(`shallow ${A}`))).toMatchObject({
      kind: "invalid",
    });
    expect(readCommandSection(Buffer.from("0002"))).toMatchObject({ kind: "invalid" });
    expect(readPktLine(Buffer.from("zzzz"), 0)).toEqual({
      kind: "invalid",
      why: 'bad pkt-line length "zzzz"',
    });
  });

  it("lets through only updates of the allowed ref", () => {
    const own = "refs/heads/lab/gen-3";
    expect(refusePush([{ oldId: A, newId: B, ref: own }], own)).toEqual([]);
    expect(refusePush([{ oldId: Z, newId: B, ref: own }], own)).toEqual([]);
    expect(refusePush([], own)).toEqual([]);
    expect(refusePush([{ oldId: A, newId: Z, ref: own }], own)).toEqual([
      { ref: own, reason: `deleting ${own} is refused; this token may only update ${own}` },
    ]);
    expect(
      refusePush(
        [
          { oldId: A, newId: B, ref: own },
          { oldId: A, newId: B, ref: "refs/heads/lab/gen-30" },
        ],
        own,
      ),
    ).toEqual([
      {
        ref: own,
        reason: `not updated: the push was refused (this token may push only ${own}, not refs/heads/lab/gen-30)`,
      },
      { ref: "refs/heads/lab/gen-30", reason: `this token may push only ${own}, not refs/heads/lab/gen-30` },
    ]);
  });
});

describe("the refusal report", () => {
  it("is report-status, inside side-band 1 when asked, with the reason on band 2", () => {
    const refused = [{ ref: "refs/heads/main", reason: "no\nnewlines" }];
    const plain = refusalReport(["report-status"], refused);
    expect(plain.toString()).toBe(`000eunpack ok\n0023ng refs/heads/main no newlines\n0000`);
    const banded = refusalReport(["report-status", "side-band-64k"], refused);
    const first = readPktLine(banded, 0);
    if (first.kind !== "line") throw new Error("no first line");
    expect(first.payload[0]).toBe(2);
    expect(first.payload.subarray(1).toString()).toBe("refused: no newlines\n");
    const second = readPktLine(banded, first.next);
    if (second.kind !== "line") throw new Error("no second line");
    expect(second.payload[0]).toBe(1);
    expect(second.payload.subarray(1)).toEqual(plain);
    expect(readPktLine(banded, second.next)).toMatchObject({ kind: "flush" });
  });
});

describe("HTTP Basic credentials", () => {
  it("takes the password of user loom, and says what is wrong otherwise", () => {
    const b = (s: string) => `Basic ${Buffer.from(s).toString("base64")}`;
    expect(basicToken(b("loom:t0k:en"))).toEqual({ token: "t0k:en" });
    expect(basicToken(undefined)).toEqual({ why: "no credentials were sent" });
    expect(basicToken(b("loom"))).toEqual({ why: "the Basic credentials have no password" });
    expect(basicToken(b("admin:x"))).toEqual({ why: 'the user is "admin", not "loom"' });
    expect(basicToken("Digest x")).toEqual({ why: "the Authorization header is not HTTP Basic" });
  });
});
