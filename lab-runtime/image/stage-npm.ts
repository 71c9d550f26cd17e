import { promises as fs } from "node:fs";
import path from "node:path";
import { LoomError } from "../../src/shared/errors.ts";
import type { StageFile } from "./stage-files.ts";

/** Where npm's package lands below the stage (and, copied as its own layer, at /opt/npm in the image). */
export const NPM_STAGE_PREFIX = "npm/";

async function isNpmPackage(dir: string): Promise<boolean> {
  const text = await fs.readFile(path.join(dir, "package.json"), "utf8").catch(() => undefined);
  if (text === undefined) return false;
  try {
    return (JSON.parse(text) as { name?: unknown }).name === "npm";
  } catch {
    return false;
  }
}

/** The folder of the npm package that runs `npm-cli.js` (or contains `start`), walking up at most 3 levels. */
async function packageAbove(start: string): Promise<string | undefined> {
  let dir = path.dirname(await fs.realpath(start).catch(() => start));
  for (let i = 0; i < 3; i++) {
    if (await isNpmPackage(dir)) return dir;
    dir = path.dirname(dir);
  }
  return undefined;
}

/**
 * The host's npm package folder: the one running this build (`npm run image` sets npm_execpath),
 * else the `npm` on PATH, else the one installed beside node. Verification runs `npm run`/`npm test`
 * inside the Lab image, and the Debian-package base has node but no npm; copying the host's keeps the
 * build registry-free.
 */
export async function findHostNpm(env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const candidates: string[] = [];
  if (env.npm_execpath) candidates.push(env.npm_execpath);
  for (const dir of (env.PATH ?? "").split(path.delimiter).filter(Boolean)) {
    candidates.push(path.join(dir, "npm"));
  }
  const prefix = path.dirname(path.dirname(process.execPath));
  candidates.push(path.join(prefix, "lib", "node_modules", "npm", "bin", "npm-cli.js"));
  for (const c of candidates) {
    const st = await fs.stat(c).catch(() => undefined);
    if (!st?.isFile()) continue;
    const found = await packageAbove(c);
    if (found) return found;
  }
  throw new LoomError(
    "NPM_MISSING",
    "no npm found on this host (npm_execpath, PATH, or beside node): the Lab image carries the host's npm so verification can run package.json scripts — install npm or pass --npm <its package folder>",
  );
}

/** Every file of the npm package, staged below `npm/`; symlinks kept as they are. */
export async function planNpm(npmRoot: string): Promise<StageFile[]> {
  const root = path.resolve(npmRoot);
  if (!(await isNpmPackage(root))) {
    throw new LoomError("NPM_MISSING", `${root} is not the npm package (no package.json named "npm")`);
  }
  const out: StageFile[] = [];
  const walk = async (rel: string): Promise<void> => {
    const entries = await fs.readdir(path.join(root, rel), { withFileTypes: true });
    for (const entry of entries) {
      const child = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isDirectory()) await walk(child);
      else if (entry.isFile() || entry.isSymbolicLink())
        out.push({ from: path.join(root, child), to: `${NPM_STAGE_PREFIX}${child}` });
    }
  };
  await walk("");
  return out;
}
