import { execa } from "execa";
import { DEFAULT_LAB_IMAGE } from "../../src/supervisor/lifecycle/lab-spec.ts";

/**
 * Why the Lab image cannot be used here, or undefined when it can (`npm run image` builds it). Suites
 * that need it skip with this reason printed; under LOOM_REQUIRE_ENGINES=1 (CI) its absence throws.
 */
export async function labImageMissing(what: string): Promise<string | undefined> {
  const r = await execa("docker", ["image", "inspect", DEFAULT_LAB_IMAGE], {
    reject: false,
    stdin: "ignore",
  }).catch((err: Error) => ({ exitCode: 1, stderr: err.message }));
  if (r.exitCode === 0) return undefined;
  const missing = `docker image ${DEFAULT_LAB_IMAGE} is not available (build it with npm run image)`;
  if (process.env.LOOM_REQUIRE_ENGINES === "1") throw new Error(`LOOM_REQUIRE_ENGINES=1 but ${missing}`);
  console.warn(`skipping ${what}: ${missing}`);
  return missing;
}
