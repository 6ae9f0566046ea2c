import pino from "pino";
import { describe, expect, it } from "vitest";
import { LocalAdmitter, type Admission } from "./admission";
import { Directory } from "./directory";
import { GatewayError } from "./errors";
import { RateLimiter } from "./limits";
import { SpendAccount } from "./spend";

/**
 * The budget half of admission in one process: worst-case reservations, and a nearly spent
 * budget's last request, with spend bounded by the budget plus one request's cost however many
 * requests are in flight.
 */

const worst = 77_000; // what a request may cost at most (prompt bound + max_tokens)
const actual = 50_000; // what it does cost

function setup(budgetNanos: number) {
  // The directory is only asked to mark accounts dirty here; it never reaches the database.
  const directory = new Directory(null as never, pino({ level: "silent" }));
  const admitter = new LocalAdmitter(directory, new RateLimiter());
  const account = new SpendAccount("key", "k", 0);
  account.setBudget(budgetNanos / 1e9, null, null);
  const admit = () => {
    try {
      return admitter.admit({ budgets: [{ account, name: "Key=k" }], worstCaseNanos: worst, subjects: [], now: new Date() });
    } catch (err) {
      if (err instanceof GatewayError && err.status === 402) return null;
      throw err;
    }
  };
  const settle = (admission: Admission) => admitter.settle(admission, { costNanos: actual, tokens: 30, accounts: [account] });
  return { account, admit, settle };
}

describe("budget admission in one process", () => {
  it("spend stays within the budget plus one request's cost while requests keep settling and arriving", () => {
    const budget = 1_000_000;
    const { account, admit, settle } = setup(budget);
    const inFlight: Admission[] = [];
    let admitted = 0;
    // Requests arrive faster than they finish: after each settlement, several more arrive.
    for (let step = 0; step < 200; step += 1) {
      for (let arrival = 0; arrival < 5; arrival += 1) {
        const admission = admit();
        if (admission) {
          inFlight.push(admission);
          admitted += 1;
        }
      }
      const done = inFlight.shift();
      if (done) settle(done);
    }
    for (const admission of inFlight.splice(0)) settle(admission);
    expect(account.spentNanos).toBe(admitted * actual);
    expect(account.spentNanos).toBeLessThanOrEqual(budget + actual);
    expect(account.reservedNanos).toBe(0);
  });

  it("a nearly spent budget still admits its last request when nothing else is in flight", () => {
    const { account, admit, settle } = setup(1_000_000);
    for (let request = 0; request < 19; request += 1) settle(admit() as Admission);
    expect(account.spentNanos).toBe(950_000);
    // 50,000 left, less than the worst case: admitted, reserving what is left.
    const last = admit();
    expect(last?.reservations[0]?.nanos).toBe(50_000);
    expect(admit()).toBeNull();
    settle(last as Admission);
    expect(admit()).toBeNull();
  });
});
