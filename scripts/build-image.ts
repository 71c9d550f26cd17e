// `npm run image`: builds the Lab container image (see lab-runtime/image/image-cli.ts for the flags).
import { imageMain } from "../lab-runtime/image/image-cli.ts";

process.exitCode = await imageMain(process.argv.slice(2));
