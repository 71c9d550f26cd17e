export { type Launch, type LaunchContext, launchPrime, type RunningPrime } from "./launch-prime.ts";
export { type HealthResult, waitForPrimeHealth } from "./prime-health.ts";
export { type PrimeHooks, PrimeKeeper, type PrimeKeeperPorts } from "./prime-keeper.ts";
export {
  checkoutOf,
  choosePrimeSource,
  notLoomAt,
  type PrimeSource,
  prepareCheckout,
  pruneCheckouts,
} from "./prime-source.ts";
export { PRIME_LIMITS, PRIME_ROLE, primeEnv, primeLabels, primeSpec } from "./prime-spec.ts";
