import { currency } from '../db/schema.js';
import type { Currency } from '../db/schema.js';
import { formatMinor, MINOR_DIGITS } from '../ledger/money.js';
import { builder } from './builder.js';

export interface MoneyShape {
  readonly minor: bigint;
  readonly currency: Currency;
}

export const CurrencyEnum = builder.enumType('Currency', {
  description: 'An ISO 4217 currency Tally holds accounts in.',
  values: Object.fromEntries(
    currency.enumValues.map((code) => [code, { description: `${code}, ${MINOR_DIGITS[code]} decimal places.` }]),
  ) as Record<Currency, { description: string }>,
});

export const Money = builder.objectRef<MoneyShape>('Money').implement({
  description: 'An exact amount of money: never a float.',
  fields: (t) => ({
    amount: t.string({
      description: 'The amount as a decimal string with the currency\'s decimal places, such as "12.34" or "-5.00".',
      resolve: (money) => formatMinor(money.minor, money.currency),
    }),
    currency: t.field({ type: CurrencyEnum, description: 'The currency of the amount.', resolve: (money) => money.currency }),
  }),
});
