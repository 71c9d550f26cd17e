import { type ConfigSpec, configSpecs } from "./specs.ts";

/** Variables a new user must fill in: left uncommented (and empty) in env-template. */
const UNCOMMENTED: ReadonlySet<string> = new Set(["ANTHROPIC_API_KEY"]);

const HEADER = [
  "# Loom configuration. Copy to .env (gitignored) and set what you need; the environment overrides .env.",
  "# An empty value counts as unset. Each variable shows its default; uncomment a line to change it.",
];

const VAR_LINE = /^(#\s*)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$/;

/** env-template's text as configSpecs defines it. */
export function renderEnvTemplate(specs: readonly ConfigSpec[] = configSpecs): string {
  const blocks = specs.map((s) => {
    const line = `${s.name}=${s.default ?? ""}`;
    return `# ${s.purpose}\n${UNCOMMENTED.has(s.name) ? line : `# ${line}`}`;
  });
  return `${[HEADER.join("\n"), ...blocks].join("\n\n")}\n`;
}

interface TemplateEntry {
  readonly name: string;
  readonly value: string;
  readonly commented: boolean;
  readonly purpose: string | undefined;
  readonly line: number;
}

function parseTemplate(text: string): TemplateEntry[] {
  const lines = text.split(/\r?\n/);
  const entries: TemplateEntry[] = [];
  lines.forEach((line, i) => {
    const m = VAR_LINE.exec(line.trim());
    if (!m) return;
    const above = lines[i - 1]?.trim();
    const purpose = above?.startsWith("#") && !VAR_LINE.test(above) ? above.replace(/^#\s*/, "") : undefined;
    entries.push({ name: m[2]!, value: m[3]!.trim(), commented: m[1] !== undefined, purpose, line: i + 1 });
  });
  return entries;
}

/** Every way `text` (env-template) disagrees with the specs, one line each; empty when in step. */
export function diffEnvTemplate(text: string, specs: readonly ConfigSpec[] = configSpecs): string[] {
  const problems: string[] = [];
  const entries = parseTemplate(text);
  const byName = new Map<string, TemplateEntry>();
  for (const e of entries) {
    if (byName.has(e.name)) problems.push(`line ${e.line}: ${e.name} appears more than once`);
    else byName.set(e.name, e);
  }
  for (const e of byName.values()) {
    if (!specs.some((s) => s.name === e.name)) {
      problems.push(`line ${e.line}: ${e.name} is not in configSpecs; remove it or add a spec`);
    }
  }
  for (const s of specs) {
    const e = byName.get(s.name);
    if (!e) {
      problems.push(`${s.name} is missing; add "# ${s.purpose}" and "# ${s.name}=${s.default ?? ""}"`);
      continue;
    }
    const expected = s.default ?? "";
    if (e.value !== expected) {
      problems.push(
        `line ${e.line}: ${s.name} shows ${JSON.stringify(e.value)} but its default is ${JSON.stringify(expected)}`,
      );
    }
    if (e.commented === UNCOMMENTED.has(s.name)) {
      problems.push(`line ${e.line}: ${s.name} should be ${e.commented ? "uncommented" : "commented out"}`);
    }
    if (e.purpose !== s.purpose) {
      problems.push(
        `line ${e.line}: the comment above ${s.name} should read ${JSON.stringify(`# ${s.purpose}`)}, found ${JSON.stringify(e.purpose ?? "(none)")}`,
      );
    }
  }
  return problems;
}
