/**
 * Numbers as the dashboard shows them: a counter may have thousands of digits.
 *
 * @module
 */
import { DASHBOARD_DIGITS_SHOWN } from "../../defaults/defaults.ts";

/**
 * A number as the dashboard shows it: whole when short, else its first and
 * last digits and how many there are.
 *
 * @param value The number.
 * @param maxChars Longest text shown whole; defaults to {@linkcode DASHBOARD_DIGITS_SHOWN}.
 * @returns The text.
 *
 * @example
 * ```ts
 * import { shortNumber } from "./short_number.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(shortNumber(12n), "12");
 * assert.equal(shortNumber(10n ** 40n, 10), "10000…00000 (41 digits)");
 * ```
 */
export function shortNumber(value: bigint, maxChars = DASHBOARD_DIGITS_SHOWN): string {
  const text = value.toString();
  if (text.length <= maxChars) return text;
  const digits = text.length - (value < 0n ? 1 : 0);
  const half = Math.max(1, Math.floor(maxChars / 2));
  return `${text.slice(0, half)}…${text.slice(-half)} (${digits} digits)`;
}
