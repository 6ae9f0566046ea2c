import { BrokenCircuitError, circuitBreaker, CircuitState, ConsecutiveBreaker, handleWhen } from "cockatiel";
import { GatewayError } from "../litellm/client";

export type BreakerState = "closed" | "open" | "half-open";

export interface BreakerOptions {
  /** Consecutive retryable failures that open the circuit. */
  failuresToOpen: number;
  /** How long it stays open before one probe call is let through. */
  halfOpenAfterMs: number;
}

export const defaultBreakerOptions: BreakerOptions = { failuresToOpen: 5, halfOpenAfterMs: 10_000 };

/**
 * A circuit breaker around the gateway (cockatiel). Only failures that say the gateway is
 * unwell count (network, timeouts, 5xx, 429); a 400 about one key's values does not. While open,
 * calls fail at once with a retryable GatewayError, so the worker backs off instead of waiting
 * on timeouts; after `halfOpenAfterMs` one probe decides whether it closes again.
 */
export function createGatewayBreaker(options: BreakerOptions = defaultBreakerOptions) {
  const policy = circuitBreaker(
    handleWhen((err) => err instanceof GatewayError && err.retryable),
    { halfOpenAfter: options.halfOpenAfterMs, breaker: new ConsecutiveBreaker(options.failuresToOpen) },
  );
  return {
    async execute<T>(work: () => Promise<T>): Promise<T> {
      try {
        return await policy.execute(work);
      } catch (err) {
        if (err instanceof BrokenCircuitError) {
          throw new GatewayError("the gateway is unavailable (circuit open); the change will be pushed when it recovers", true);
        }
        throw err;
      }
    },
    state(): BreakerState {
      if (policy.state === CircuitState.Closed) return "closed";
      if (policy.state === CircuitState.HalfOpen) return "half-open";
      return "open";
    },
  };
}

export type GatewayBreaker = ReturnType<typeof createGatewayBreaker>;
