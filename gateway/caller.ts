import type { ServerResponse } from "node:http";
import type { Cancel } from "./providers/types";

/**
 * Cancellation on the request path without AbortController: a plain listener list, with an
 * AbortSignal made only for code that asks for one. An AbortController per request and per
 * upstream attempt (with its EventTarget listeners) was a measurable part of the gateway's CPU
 * time; the OpenAI-compatible provider listens here directly, the others take `signal`.
 */
export class Cancellation implements Cancel {
  aborted = false;
  private listeners: (() => void)[] | null = null;
  private controller: AbortController | null = null;

  /** A cancellation that aborts itself after `ms` (the timer does not keep the process alive). */
  static after(ms: number): Cancellation {
    const cancellation = new Cancellation();
    setTimeout(() => cancellation.abort(), ms).unref();
    return cancellation;
  }

  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.aborted) this.controller.abort();
    }
    return this.controller.signal;
  }

  onAbort(listener: () => void): () => void {
    if (this.aborted) {
      listener();
      return nothing;
    }
    (this.listeners ??= []).push(listener);
    return () => {
      const index = this.listeners?.indexOf(listener) ?? -1;
      if (index >= 0) this.listeners?.splice(index, 1);
    };
  }

  abort(): void {
    if (this.aborted) return;
    this.aborted = true;
    const listeners = this.listeners;
    this.listeners = null;
    if (listeners) for (const listener of listeners) listener();
    this.controller?.abort();
  }

  /** Drops the listeners without aborting (the work they guard is over). */
  forget(): void {
    this.listeners = null;
  }
}

const nothing = () => {};

/**
 * Whether the caller of a request is still there, and a way to hear when it leaves: what the
 * router and the stream pipe need from the caller's side.
 */
export interface CallerLink {
  /** True once the caller closed the connection before the answer was complete. */
  readonly gone: boolean;
  /** Calls `listener` once when the caller leaves (at once if it has); returns how to stop listening. */
  onGone(listener: () => void): () => void;
}

/** The caller behind a response: gone when the connection closes before the response finished. */
export class ResponseCaller implements CallerLink {
  private readonly left = new Cancellation();
  private readonly onClose = () => {
    if (!this.res.writableFinished) this.left.abort();
  };

  constructor(private readonly res: ServerResponse) {
    res.once("close", this.onClose);
  }

  get gone(): boolean {
    return this.left.aborted;
  }

  onGone(listener: () => void): () => void {
    return this.left.onAbort(listener);
  }

  /** Stops watching the response (the request is over). */
  release(): void {
    this.res.removeListener("close", this.onClose);
    this.left.forget();
  }
}

/** A caller that never leaves, for calls with nobody behind them (the router's tests). */
export const stayingCaller: CallerLink = { gone: false, onGone: () => nothing };
