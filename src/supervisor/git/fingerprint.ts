import { createHash } from "node:crypto";
import { lstat, readdir, readFile, readlink } from "node:fs/promises";
import path from "node:path";
import { GATE_PATHS } from "../../../schemas/gate.ts";
import { LoomError } from "../../shared/errors.ts";
import { GitCommandError, runGit } from "../../shared/git/run-git.ts";

/** One file as both sources see it: repo-relative posix path and its bytes (a symlink's bytes are its target). */
interface Entry {
  path: string;
  bytes: Uint8Array;
}

const DEFAULT_DIRS = ["schemas"] as const;

/** Accepts repo-relative dirs like "schemas" or "schemas/"; refuses anything that escapes the repo. */
function normalizeDirs(dirs: readonly string[]): string[] {
  if (dirs.length === 0)
    throw new LoomError("FINGERPRINT_INVALID", "dirs is empty; pass at least one repo-relative directory");
  return dirs.map((d) => {
    // Stryker disable next-line Regex: path.posix.normalize already collapsed repeated slashes
    const norm = path.posix.normalize(d.replaceAll("\\", "/")).replace(/\/+$/, "");
    if (
      d.trim() === "" ||
      path.posix.isAbsolute(norm) ||
      norm === "." ||
      norm === ".." ||
      norm.startsWith("../")
    ) {
      throw new LoomError(
        "FINGERPRINT_INVALID",
        `dir ${JSON.stringify(d)} is not accepted; pass a relative path inside the repository, e.g. "schemas"`,
      );
    }
    return norm;
  });
}

/** Length-prefixed so no two different file sets can produce the same byte stream. */
function digest(entries: readonly Entry[]): string {
  const unique = new Map(entries.map((e) => [e.path, e.bytes]));
  const hash = createHash("sha256");
  // The default sort: UTF-16 code-unit order, the same on every machine and locale.
  for (const p of [...unique.keys()].sort()) {
    const bytes = unique.get(p) as Uint8Array;
    // Stryker disable next-line StringLiteral: Buffer.from defaults to utf8
    const name = Buffer.from(p, "utf8");
    hash.update(`${name.byteLength}:`).update(name).update(`${bytes.byteLength}:`).update(bytes);
  }
  return hash.digest("hex");
}

async function walk(root: string, rel: string, out: Entry[]): Promise<void> {
  const abs = path.join(root, ...rel.split("/"));
  let st: Awaited<ReturnType<typeof lstat>>;
  try {
    st = await lstat(abs);
  } catch (err) {
    // A missing dir (or one under a file) contributes nothing, just as `git ls-tree` lists nothing for it.
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return;
    throw err;
  }
  // Stryker disable next-line StringLiteral: Buffer.from defaults to utf8
  if (st.isSymbolicLink()) out.push({ path: rel, bytes: Buffer.from(await readlink(abs), "utf8") });
  else if (st.isFile()) out.push({ path: rel, bytes: await readFile(abs) });
  else if (st.isDirectory()) {
    for (const name of await readdir(abs)) await walk(root, `${rel}/${name}`, out);
  }
}

/**
 * sha256 over the sorted repo-relative paths and bytes of every file under `dirs` in the working
 * tree. Independent of mtimes and readdir order; any rename, addition, removal or edit changes it.
 */
export async function schemaFingerprint(
  repoRoot: string,
  dirs: readonly string[] = DEFAULT_DIRS,
): Promise<string> {
  const wanted = normalizeDirs(dirs);
  const root = path.resolve(repoRoot);
  const st = await lstat(root).catch(() => undefined);
  if (!st?.isDirectory()) {
    throw new LoomError("FINGERPRINT_INVALID", `repoRoot ${JSON.stringify(repoRoot)} is not a directory`);
  }
  const entries: Entry[] = [];
  for (const d of wanted) await walk(root, d, entries);
  return digest(entries);
}

async function resolveCommit(repoRoot: string, ref: string): Promise<string> {
  try {
    return await runGit(repoRoot, ["rev-parse", "--verify", "--quiet", `${ref}^{commit}`]);
  } catch (err) {
    // --quiet keeps stderr empty for a merely unknown ref; anything else (not a repo...) is reported as is.
    if (err instanceof GitCommandError && err.stderr === "") {
      throw new LoomError(
        "REF_NOT_FOUND",
        `ref ${JSON.stringify(ref)} does not name a commit in ${repoRoot}`,
      );
    }
    throw err;
  }
}

/** Reads `git cat-file --batch` output: "<sha> <type> <size>\n<bytes>\n" per object. */
function parseBatch(repoRoot: string, out: Buffer, count: number): Buffer[] {
  const blobs: Buffer[] = [];
  let at = 0;
  for (let i = 0; i < count; i++) {
    const nl = out.indexOf(0x0a, at);
    const header = out.subarray(at, nl).toString("utf8").split(" ");
    // "<sha> missing" for an object the store lacks (a damaged repository); a blob's size is always there.
    if (header[1] !== "blob") {
      throw new LoomError("GIT_FAILED", `git cat-file in ${repoRoot}: ${header.join(" ")}`);
    }
    const size = Number(header[2]);
    blobs.push(out.subarray(nl + 1, nl + 1 + size));
    at = nl + 1 + size + 1;
  }
  return blobs;
}

/**
 * The same fingerprint as schemaFingerprint, computed from a git ref (branch, tag, sha) without a
 * checkout, so the Supervisor can compare main with `lab/gen-N` directly.
 */
export async function schemaFingerprintAtRef(
  repoRoot: string,
  ref: string,
  dirs: readonly string[] = DEFAULT_DIRS,
): Promise<string> {
  const wanted = normalizeDirs(dirs);
  if (ref.trim() === "" || ref.startsWith("-")) {
    throw new LoomError(
      "FINGERPRINT_INVALID",
      `ref ${JSON.stringify(ref)} is not accepted; pass a branch, tag or commit`,
    );
  }
  const commit = await resolveCommit(repoRoot, ref);
  // ls-tree matches each folder as written and only at a path boundary (no glob, "schemas2" is not
  // under "schemas"), just as the working-tree walk does.
  const listing = await runGit(repoRoot, ["ls-tree", "-r", "-z", "--full-tree", commit, "--", ...wanted]);
  const files: { path: string; sha: string }[] = [];
  for (const line of listing.split("\0")) {
    // Stryker disable next-line Regex: each -z record is one whole entry, so the anchors change nothing
    const m = line.match(/^(\d+) (\w+) ([0-9a-f]+)\t(.*)$/s);
    // Submodules ("commit" entries) have no bytes here; the working tree walk would see their files.
    if (m?.[2] !== "blob") continue;
    files.push({ path: m[4] as string, sha: m[3] as string });
  }
  const batch = await runGit(repoRoot, ["cat-file", "--batch"], {
    input: files.map((f) => `${f.sha}\n`).join(""),
    encoding: "buffer",
  });
  const blobs = parseBatch(repoRoot, batch, files.length);
  return digest(files.map((f, i) => ({ path: f.path, bytes: blobs[i] as Buffer })));
}

/**
 * The gate's fingerprint at a ref: the same digest over the gate's paths (schemas/gate.ts) instead of
 * schemas/, so the gate is a fixed point compared like the schemas.
 */
export function gateFingerprintAtRef(repoRoot: string, ref: string): Promise<string> {
  return schemaFingerprintAtRef(repoRoot, ref, GATE_PATHS);
}
