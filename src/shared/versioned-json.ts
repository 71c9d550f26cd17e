import { readFile } from "node:fs/promises";
import type { z } from "zod";
import { formatIssues } from "./zod-issues.ts";

export interface VersionedJson<T> {
  /** What the file holds, for messages: "generation record", "autonomous state". */
  readonly what: string;
  readonly schema: z.ZodType<T>;
  /**
   * Brings a parsed value from the version it was written at to the one the schema reads, step by
   * step; throws, naming the version, for one this Loom cannot read.
   */
  readonly upgrade: (raw: unknown) => unknown;
  /** The caller's error for a damaged file, from what is wrong with it ("not valid JSON (…)"). */
  readonly invalid: (why: string) => Error;
}

/** Parses, upgrades and validates one versioned JSON document: records, journals and state files. */
export function parseVersionedJson<T>(text: string, spec: VersionedJson<T>): T {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw spec.invalid(`not valid JSON (${(err as Error).message})`);
  }
  const parsed = spec.schema.safeParse(spec.upgrade(raw));
  if (!parsed.success) throw spec.invalid(`not a valid ${spec.what}: ${formatIssues(parsed.error)}`);
  return parsed.data;
}

/** The same for a file; undefined only when the file does not exist. */
export async function readVersionedJson<T>(file: string, spec: VersionedJson<T>): Promise<T | undefined> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
  return parseVersionedJson(text, spec);
}

/** An `upgrade` for a format with one version so far: anything else is refused through `invalid`. */
export function onlyVersion(version: number, invalid: (why: string) => Error): (raw: unknown) => unknown {
  return (raw) => {
    const found = (raw as { version?: unknown } | null)?.version;
    if (found !== version) {
      throw invalid(
        `version ${JSON.stringify(found)} is not one this Loom reads (it reads version ${version})`,
      );
    }
    return raw;
  };
}
