/**
 * Money is an integer of minor units (bigint) plus a currency. This module is the one place that turns minor
 * units into the decimal strings clients see, with string arithmetic only: no float on the way.
 */
import type { Currency } from '../db/schema.js';

/** ISO 4217 minor-unit exponents of the currencies Tally holds. */
export const MINOR_DIGITS: Record<Currency, number> = { USD: 2, EUR: 2, GBP: 2, JPY: 0 };

export function formatMinor(minor: bigint, currency: Currency): string {
  const digits = MINOR_DIGITS[currency];
  const negative = minor < 0n;
  const abs = (negative ? -minor : minor).toString();
  if (digits === 0) return (negative ? '-' : '') + abs;
  const padded = abs.padStart(digits + 1, '0');
  return `${negative ? '-' : ''}${padded.slice(0, -digits)}.${padded.slice(-digits)}`;
}

/**
 * A positive decimal amount, as a client writes it ("12.34", "5", "0.5"), in minor units of `currency`; or why
 * it is not one. Digits only, at most the currency's decimal places, no sign, exponent or grouping: the string is
 * read digit by digit into a bigint, so no float is ever involved.
 */
export function parseAmount(text: string, currency: Currency, maxMinor: bigint): { minor: bigint } | { problem: string } {
  const digits = MINOR_DIGITS[currency];
  const match = /^(\d{1,18})(?:\.(\d+))?$/.exec(text);
  if (!match) return { problem: `"${text.slice(0, 40)}" is not a decimal amount such as "12.34".` };
  const [, whole = '', fraction = ''] = match;
  if (fraction.length > digits) {
    return { problem: digits === 0 ? `${currency} has no decimal places.` : `${currency} has at most ${digits} decimal places.` };
  }
  const minor = BigInt(whole + fraction.padEnd(digits, '0'));
  if (minor <= 0n) return { problem: 'The amount must be greater than zero.' };
  if (minor > maxMinor) return { problem: `The amount is above the maximum of ${formatMinor(maxMinor, currency)} ${currency}.` };
  return { minor };
}

/** A whole number of major units ("1000000") in minor units of `currency`: per-currency limits from one setting. */
export const majorToMinor = (major: bigint, currency: Currency): bigint => major * 10n ** BigInt(MINOR_DIGITS[currency]);
