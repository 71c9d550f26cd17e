import { promises as fs } from "node:fs";
import path from "node:path";

/**
 * The Debian mirror this host's apt already uses for `suite`, read from `<aptDir>/sources.list` and
 * `<aptDir>/sources.list.d/*.{list,sources}` (one-line and deb822 formats). Returns undefined when the
 * host names no mirror for that suite (e.g. an Ubuntu host), so debootstrap falls back to its default.
 */
export async function readHostMirror(suite: string, aptDir = "/etc/apt"): Promise<string | undefined> {
  for (const file of await sourceFiles(aptDir)) {
    const text = await fs.readFile(file, "utf8").catch(() => "");
    const found = file.endsWith(".sources") ? fromDeb822(text, suite) : fromOneLine(text, suite);
    if (found) return found;
  }
  return undefined;
}

async function sourceFiles(aptDir: string): Promise<string[]> {
  const dir = path.join(aptDir, "sources.list.d");
  // apt itself reads only these two extensions; "*.disabled" and backups are ignored the same way.
  const names = await fs.readdir(dir).catch(() => [] as string[]);
  const extra = names
    .filter((n) => n.endsWith(".list") || n.endsWith(".sources"))
    .sort()
    .map((n) => path.join(dir, n));
  return [path.join(aptDir, "sources.list"), ...extra];
}

// `deb [options] uri suite components...`
function fromOneLine(text: string, suite: string): string | undefined {
  for (const raw of text.split("\n")) {
    const line = raw
      .replace(/#.*/, "")
      .replace(/\[[^\]]*\]/, " ")
      .trim();
    const [type, uri, lineSuite] = line.split(/\s+/);
    if (type === "deb" && uri && lineSuite === suite && isHttp(uri)) return uri;
  }
  return undefined;
}

// Paragraphs of `Key: value` fields separated by blank lines.
function fromDeb822(text: string, suite: string): string | undefined {
  const paragraphs = text
    .split("\n")
    .filter((l) => !l.startsWith("#"))
    .join("\n")
    .split(/\n\s*\n/);
  for (const para of paragraphs) {
    const fields = new Map<string, string>();
    for (const line of para.split("\n")) {
      const m = /^([A-Za-z-]+):\s*(.*)$/.exec(line);
      if (m?.[1] && m[2] !== undefined) fields.set(m[1].toLowerCase(), m[2].trim());
    }
    if (fields.get("enabled")?.toLowerCase() === "no") continue;
    if (!(fields.get("types") ?? "").split(/\s+/).includes("deb")) continue;
    if (!(fields.get("suites") ?? "").split(/\s+/).includes(suite)) continue;
    const uri = (fields.get("uris") ?? "").split(/\s+/).find(isHttp);
    if (uri) return uri;
  }
  return undefined;
}

function isHttp(uri: string): boolean {
  return /^https?:\/\//.test(uri);
}
