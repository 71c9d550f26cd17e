import { autonomousEngine } from "./autonomous-engine.ts";
import { reflectAndPropose } from "./reflect/index.ts";
import { reviewGeneration } from "./review/index.ts";
import type { PrimeThinking } from "./start-prime.ts";

/** The real thinking functions Prime runs with: the LLM review, the reflection, the autonomous loop. */
export const primeThinking: PrimeThinking = {
  review: (args) => reviewGeneration(args),
  reflect: (args) => reflectAndPropose(args),
  autonomous: autonomousEngine,
};
