/**
 * The balance card's figures. `balance` is the ledger's sum: everything received, minus refunds
 * and corrections; `spent` is what the user's keys have used on the gateway, which draws on it.
 * Used and available are shown as parts of that one total, so they add up to it (unless the keys
 * overspent it by a request, when nothing is available and the bar is full).
 */
export function creditUse(balance: number, spent: number): { total: number; used: number; available: number; share: number; low: boolean } {
  const total = Math.max(0, balance);
  const used = Math.max(0, spent);
  const available = Math.max(0, total - used);
  const share = total > 0 ? Math.min(1, used / total) : 0;
  return { total, used, available, share, low: available < 100 || available / Math.max(total, 1) < 0.1 };
}
