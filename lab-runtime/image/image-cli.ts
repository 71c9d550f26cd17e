import { fileURLToPath } from "node:url";
import { Command, CommanderError, InvalidArgumentError } from "commander";
import { parsePositiveInt } from "../../src/cli/options.ts";
import { formatConfigError } from "../../src/shared/config.ts";
import { LoomError } from "../../src/shared/errors.ts";
import { pushLabImage } from "../../src/supervisor/registry/push-lab-image.ts";
import { buildLabImage } from "./build-lab-image.ts";
import { type PushPlan, parsePushFlag, planPush } from "./push-flag.ts";
import type { EntryMode } from "./stage-files.ts";

const REPO_ROOT = fileURLToPath(new URL("../..", import.meta.url));
const ENTRY_MODES: readonly EntryMode[] = ["auto", "bundle", "source"];

interface ImageFlags {
  tag: string;
  base?: string;
  registryBase: string;
  debianTag: string;
  suite: string;
  packages: string[];
  entry: EntryMode;
  uid: number;
  docker: string;
  debootstrap: string;
  pullTimeout: number;
  force?: boolean;
  push?: string | true;
}

function parseEntry(value: string): EntryMode {
  if (!(ENTRY_MODES as readonly string[]).includes(value)) {
    throw new InvalidArgumentError(`--entry must be one of ${ENTRY_MODES.join(", ")} (got "${value}").`);
  }
  return value as EntryMode;
}

function parsePackages(value: string): string[] {
  const names = value.split(",").map((p) => p.trim());
  // Debian package names: lowercase letters, digits, + - . (policy 5.6.1).
  const bad = names.filter((n) => !/^[a-z0-9][a-z0-9+.-]+$/.test(n));
  if (bad.length > 0 || names.length === 0) {
    throw new InvalidArgumentError(
      `--packages must be comma-separated Debian package names (bad: "${bad.join('", "')}").`,
    );
  }
  return names;
}

function parseName(flag: string): (value: string) => string {
  return (value) => {
    if (!value.trim() || /\s/.test(value))
      throw new InvalidArgumentError(`${flag} must be a non-empty name without spaces (got "${value}").`);
    return value;
  };
}

/** `npm run image`: builds loom-lab:latest; returns the exit code (0 built or up to date, 1 failed, 2 usage). */
export async function imageMain(argv: readonly string[]): Promise<number> {
  const program = new Command("image")
    .description(
      "Build the Lab container image from lab-runtime/Containerfile. Uses node:20-slim when it is here or can be pulled, else makes a base from Debian packages (debootstrap, cached under .loom/cache) plus this host's node.",
    )
    .option("--tag <image>", "image to build", parseName("--tag"), "loom-lab:latest")
    .option(
      "--base <image>",
      "base image to use as is (skips the node:20-slim / Debian choice)",
      parseName("--base"),
    )
    .option(
      "--registry-base <image>",
      "base to use when present or pullable",
      parseName("--registry-base"),
      "node:20-slim",
    )
    .option(
      "--debian-tag <image>",
      "tag of the base made from Debian packages",
      parseName("--debian-tag"),
      "loom-base:bookworm",
    )
    .option("--suite <name>", "Debian suite for that base", parseName("--suite"), "bookworm")
    .option("--packages <list>", "packages in that base (comma-separated)", parsePackages, [
      "git",
      "ca-certificates",
      "libstdc++6",
    ])
    .option(
      "--entry <mode>",
      `what the image runs: ${ENTRY_MODES.join(" | ")} (auto: dist/lab.mjs if built, else sources via tsx)`,
      parseEntry,
      "auto",
    )
    .option(
      "--uid <n>",
      "uid of the image's non-root user",
      parsePositiveInt("--uid", 1, 2_147_483_646),
      10001,
    )
    .option("--docker <path>", "docker CLI", parseName("--docker"), "docker")
    .option("--debootstrap <path>", "debootstrap program", parseName("--debootstrap"), "debootstrap")
    .option(
      "--pull-timeout <s>",
      "seconds to try pulling the base before falling back",
      parsePositiveInt("--pull-timeout", 1, 3600),
      20,
    )
    .option("--force", "rebuild even when the image is up to date")
    .option(
      "--push [registry]",
      "after building, push to REGISTRY (HOST:PORT; else LOOM_REGISTRY; else Loom's own docker-registry under <state>/registry on 127.0.0.1:LOOM_REGISTRY_PORT, left running) and record the digest reference in <state>/image/pushed.json",
      parsePushFlag,
    )
    .showHelpAfterError("(run with --help for usage)")
    .configureOutput({ outputError: (str, write) => write(str) })
    .exitOverride();
  try {
    program.parse(argv as string[], { from: "user" });
  } catch (err) {
    if (err instanceof CommanderError)
      return ["commander.helpDisplayed", "commander.help"].includes(err.code) ? 0 : 2;
    throw err;
  }
  const flags = program.opts<ImageFlags>();
  let pushPlan: PushPlan | undefined;
  try {
    if (flags.push !== undefined) pushPlan = planPush(flags.push, REPO_ROOT);
  } catch (err) {
    const text = formatConfigError(err);
    if (text === undefined) throw err;
    process.stderr.write(`image: --push: ${text}\n`);
    return 2;
  }
  const log = (line: string) => process.stderr.write(`image: ${line}\n`);
  try {
    const result = await buildLabImage({
      repoRoot: REPO_ROOT,
      tag: flags.tag,
      base: flags.base,
      registryBase: flags.registryBase,
      debianTag: flags.debianTag,
      suite: flags.suite,
      packages: flags.packages,
      entry: flags.entry,
      uid: flags.uid,
      docker: flags.docker,
      debootstrap: flags.debootstrap,
      nodeBinary: process.execPath,
      pullTimeoutMs: flags.pullTimeout * 1000,
      force: flags.force === true,
      log,
    });
    const total = result.phases.reduce((sum, p) => sum + p.ms, 0);
    process.stdout.write(
      `${result.tag} ${result.id} ${result.upToDate ? "image up to date" : "built"} in ${(total / 1000).toFixed(1)}s\n`,
    );
    if (pushPlan) {
      const pushed = await pushLabImage({
        image: result.tag,
        contentHash: result.contentHash,
        stateDir: pushPlan.stateDir,
        registry: pushPlan.registry,
        port: pushPlan.port,
        docker: flags.docker,
        log,
      });
      process.stdout.write(`${pushed.reference}\n`);
    }
    return 0;
  } catch (err) {
    if (err instanceof LoomError) {
      process.stderr.write(`image: ${err.message}\n`);
      return 1;
    }
    process.stderr.write(
      `image: unexpected error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    return 1;
  }
}
