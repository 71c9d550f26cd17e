import { mkdir } from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import { atomicWriteFile } from "../../shared/atomic-write.ts";
import { onlyVersion, readVersionedJson } from "../../shared/versioned-json.ts";
import { RegistryError } from "./errors.ts";
import { parseDigestReference } from "./reference.ts";

/**
 * `<state>/image/pushed.json`: the Lab image `npm run image -- --push` last pushed, pinned by digest.
 * The swarm runtime gives services `reference`, so every node runs the same image.
 */
const pushedImageRecord = z.object({
  version: z.literal(1),
  /** The local image that was pushed, e.g. loom-lab:latest. */
  image: z.string(),
  registry: z.string(),
  reference: z.string().refine((r) => parseDigestReference(r) !== undefined, {
    message: "expected NAME@sha256:<64 hex digits>",
  }),
  digest: z.string().regex(/^sha256:[0-9a-f]{64}$/),
  contentHash: z.string().optional(),
  pushedAt: z.string(),
});
export type PushedImageRecord = z.infer<typeof pushedImageRecord>;

export const pushedImagePath = (stateDir: string): string => path.join(stateDir, "image", "pushed.json");

export async function writePushedImage(
  stateDir: string,
  record: Omit<PushedImageRecord, "version">,
): Promise<string> {
  const file = pushedImagePath(stateDir);
  await mkdir(path.dirname(file), { recursive: true });
  await atomicWriteFile(
    file,
    `${JSON.stringify(pushedImageRecord.parse({ version: 1, ...record }), null, 2)}\n`,
  );
  return file;
}

/** The last push, or undefined when nothing was pushed; a damaged file is PUSHED_IMAGE_INVALID. */
export async function readPushedImage(stateDir: string): Promise<PushedImageRecord | undefined> {
  const file = pushedImagePath(stateDir);
  const invalid = (why: string) =>
    new RegistryError(
      "PUSHED_IMAGE_INVALID",
      `${file} is ${why}; push the Lab image again with \`npm run image -- --push\``,
    );
  return readVersionedJson(file, {
    what: "pushed image record",
    schema: pushedImageRecord,
    upgrade: onlyVersion(1, invalid),
    invalid,
  });
}
