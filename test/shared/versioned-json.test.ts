import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { onlyVersion, readVersionedJson } from "../../src/shared/versioned-json.ts";

const State = z.strictObject({ version: z.literal(2), count: z.number().int() });
const invalid = (why: string) => new Error(`state: ${why}`);
// Version 1 called the field `n`.
const spec = {
  what: "state",
  schema: State,
  invalid,
  upgrade: (raw: unknown) => {
    const r = raw as { version?: unknown; n?: unknown };
    return r.version === 1 ? { version: 2, count: r.n } : raw;
  },
};

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "loom-versioned-json-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function fileWith(name: string, text: string): Promise<string> {
  const file = path.join(dir, name);
  await writeFile(file, text);
  return file;
}

describe("readVersionedJson", () => {
  it("answers undefined only for a missing file", async () => {
    expect(await readVersionedJson(path.join(dir, "none.json"), spec)).toBeUndefined();
    await expect(readVersionedJson(dir, spec)).rejects.toMatchObject({ code: "EISDIR" });
  });

  it("reads the current version and upgrades an older one", async () => {
    expect(await readVersionedJson(await fileWith("v2.json", '{"version":2,"count":3}'), spec)).toEqual({
      version: 2,
      count: 3,
    });
    expect(await readVersionedJson(await fileWith("v1.json", '{"version":1,"n":4}'), spec)).toEqual({
      version: 2,
      count: 4,
    });
  });

  it("says what is wrong through the caller's error", async () => {
    await expect(readVersionedJson(await fileWith("torn.json", '{"version":'), spec)).rejects.toThrow(
      /^state: not valid JSON \(/,
    );
    await expect(
      readVersionedJson(await fileWith("bad.json", '{"version":2,"count":"x"}'), spec),
    ).rejects.toThrow("state: not a valid state: count: expected number, received string");
  });

  it("refuses a version a one-version format does not read", async () => {
    const one = { ...spec, upgrade: onlyVersion(2, invalid) };
    await expect(
      readVersionedJson(await fileWith("v3.json", '{"version":3,"count":1}'), one),
    ).rejects.toThrow("state: version 3 is not one this Loom reads (it reads version 2)");
  });
});
