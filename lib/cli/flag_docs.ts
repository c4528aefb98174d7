/**
 * What a command's spec says to people: the `--help` text, and the Markdown
 * flag table of the docs. Both come from the same fields, so docs/operating.md says
 * what `--help` says.
 *
 * @module
 */
import type { CommandSpec, Flag, Flags } from "./flags.ts";

/** The help's width, in columns. */
const HELP_WIDTH = 100;

/**
 * A value as Markdown code, as the help and the docs show defaults.
 *
 * @param value The value, or `undefined` for none.
 * @returns The value between backticks, or `undefined`.
 *
 * @example
 * ```ts
 * import { codeSpan } from "./flag_docs.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(codeSpan(8080), "`8080`");
 * assert.equal(codeSpan(undefined), undefined);
 * ```
 */
export function codeSpan(value: string | number | undefined): string | undefined {
  return value === undefined ? undefined : `\`${value}\``;
}

/**
 * The `--help` text of a command: its usage line, what it says about itself,
 * and a line or more for each flag, with its range and default. Code spans
 * are shown without their backticks.
 *
 * @param command The spec.
 * @returns The text, with no newline at the end.
 *
 * @example
 * ```ts
 * import { helpText } from "./flag_docs.ts";
 * import { booleanFlag } from "./flags.ts";
 * import assert from "node:assert/strict";
 *
 * const text = helpText({
 *   name: "bench",
 *   usage: "deno task bench [flags]",
 *   flags: { quick: booleanFlag("a shorter run, as `--only` does") },
 * });
 * assert.match(text, /^Usage: deno task bench \[flags\]\n/);
 * assert.match(text, /\n {2}--quick +a shorter run, as --only does\n/);
 * ```
 */
export function helpText<F extends Flags>(command: CommandSpec<F>): string {
  const rows: [string, string][] = Object.entries(command.flags).map(([name, flag]) => {
    const notes = [...ranges(flag), flag.defaultText && `default ${flag.defaultText}`];
    return [flagWithValue(name, flag), plain(described(flag, notes))];
  });
  rows.push(["-h, --help", "show this text"]);
  const column = Math.max(...rows.map(([left]) => left.length)) + 4;
  const lines = [`Usage: ${command.usage}`, ""];
  if (command.about !== undefined) lines.push(command.about, "");
  for (const [left, description] of rows) {
    const wrapped = wrap(description, HELP_WIDTH - column);
    lines.push(`  ${left.padEnd(column - 2)}${wrapped[0]}`);
    for (const line of wrapped.slice(1)) lines.push(" ".repeat(column) + line);
  }
  if (command.epilogue !== undefined) lines.push("", command.epilogue);
  return lines.join("\n");
}

/**
 * The docs' table of a command's flags, in Markdown: a row for each flag, in
 * the spec's order, with its default and what it does (and accepts), laid out
 * as `deno fmt` lays out a table, so that a formatted page can hold it as is.
 * `--help` goes without saying.
 *
 * @param command The spec.
 * @returns The table's lines, with no newline at the end.
 *
 * @example
 * ```ts
 * import { formatFlagTable } from "./flag_docs.ts";
 * import { booleanFlag } from "./flags.ts";
 * import { integerFlag } from "./number_flags.ts";
 * import assert from "node:assert/strict";
 *
 * const flags = {
 *   workers: integerFlag({ description: "Worker threads", default: 2, min: 1, max: 64 }),
 *   quiet: booleanFlag("log less"),
 * };
 * assert.equal(
 *   formatFlagTable({ name: "demo", usage: "demo", flags }),
 *   [
 *     "| flag          | default | meaning                  |",
 *     "| ------------- | ------- | ------------------------ |",
 *     "| `--workers N` | `2`     | Worker threads (1 to 64) |",
 *     "| `--quiet`     | off     | log less                 |",
 *   ].join("\n"),
 * );
 * ```
 */
export function formatFlagTable<F extends Flags>(command: CommandSpec<F>): string {
  const rows = Object.entries(command.flags).map(([name, flag]) =>
    [
      codeSpan(flagWithValue(name, flag))!,
      flag.defaultText ?? (flag.value === undefined ? "off" : "none"),
      described(flag, ranges(flag)),
    ].map((cell) => cell.replace(/\s+/g, " ").replaceAll("|", "\\|"))
  );
  const table = [["flag", "default", "meaning"], ...rows];
  const widths = table[0].map((_, i) => Math.max(3, ...table.map((row) => row[i].length)));
  const line = (cells: string[]) =>
    `| ${cells.map((cell, i) => cell.padEnd(widths[i])).join(" | ")} |`;
  return [line(table[0]), line(widths.map((width) => "-".repeat(width))), ...rows.map(line)]
    .join("\n");
}

/** `--name`, `--name VALUE`, or `--name [VALUE]` for a value that may be left out. */
function flagWithValue(name: string, flag: Flag<unknown>): string {
  if (flag.value === undefined) return `--${name}`;
  return flag.bare === undefined ? `--${name} ${flag.value}` : `--${name} [${flag.value}]`;
}

/** What a flag accepts, and what it reads when its value is left out. */
function ranges(flag: Flag<unknown>): (string | undefined)[] {
  return [flag.accepts, flag.bare && `${codeSpan(flag.bare)} without ${flag.value}`];
}

/** The description, and the notes that apply in brackets after it. */
function described(flag: Flag<unknown>, notes: (string | undefined)[]): string {
  const said = notes.filter((note) => note);
  return said.length === 0 ? flag.description : `${flag.description} (${said.join("; ")})`;
}

/** Markdown's code spans as plain text: the backticks go. */
function plain(markdown: string): string {
  return markdown.replace(/`([^`]*)`/g, "$1");
}

/** Splits text into lines of at most `width` columns, at spaces (a longer word stays whole). */
function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(/\s+/)) {
    if (line !== "" && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line === "" ? word : `${line} ${word}`;
    }
  }
  lines.push(line);
  return lines;
}
