/**
 * Money as MySQL returns DECIMAL(…,2): a string. Sums are made in whole cents, never in floats.
 */
export const toCents = (amount: string): number => Math.round(Number(amount) * 100);
export const fromCents = (cents: number): string => (cents / 100).toFixed(2);
