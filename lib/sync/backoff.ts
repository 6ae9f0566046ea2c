export interface BackoffOptions {
  baseMs: number;
  capMs: number;
}

export const syncBackoff: BackoffOptions = { baseMs: 1_000, capMs: 5 * 60_000 };

/**
 * Exponential backoff with full jitter: a uniformly random wait between 0 and
 * min(cap, base × 2^attempts). The randomness spreads retries of many rows that failed together
 * (the gateway went down) so they do not return in one burst.
 */
export function backoffDelayMs(attempts: number, options: BackoffOptions = syncBackoff, random: () => number = Math.random): number {
  const ceiling = Math.min(options.capMs, options.baseMs * 2 ** Math.max(0, attempts));
  return Math.floor(random() * ceiling);
}
