/** Runs {@link explain} and prints its summary as one line of JSON (read by test/packInstall.test.ts). */
import { explain } from './explain.js';

console.log(JSON.stringify(await explain()));
