import { LoomError } from "../shared/errors.ts";
import { reflectAndPropose } from "./reflect/index.ts";
import { reviewGeneration } from "./review/index.ts";
import type { PrimeThinking } from "./start-prime.ts";

/** The real thinking functions Prime runs with: the LLM review, the reflection, the autonomous loop. */
export const primeThinking: PrimeThinking = {
  review: (args) => reviewGeneration(args),
  reflect: (args) => reflectAndPropose(args),
  autonomous: () => ({
    run: async () => {
      throw new LoomError("AUTONOMOUS_UNAVAILABLE", "the autonomous loop is not wired into this build yet");
    },
    readState: async () => ({ active: false, state: null }),
  }),
};
