/**
 * Shared constants of the threadcount server and client, named as in the
 * original Python project's `constCS.py`: every default and bound, from
 * `lib/defaults/defaults.ts`, where each says which flag changes it (see
 * `deno task server --help`), if any; those with none are bounds fixed there.
 *
 * @module
 */
export * from "./lib/defaults/defaults.ts";
