import type { ServerResponse } from "node:http";

/**
 * Whether the caller of a request is still there, and a way to hear when it leaves: what the
 * router and the stream pipe need from the caller's side. A plain listener list over the
 * response's `close` event, because an AbortController per request (with its EventTarget
 * listeners) was a measurable part of the gateway's CPU time; providers still get an
 * AbortSignal per upstream attempt.
 */
export interface CallerLink {
  /** True once the caller closed the connection before the answer was complete. */
  readonly gone: boolean;
  /** Calls `listener` once when the caller leaves (at once if it has); returns how to stop listening. */
  onGone(listener: () => void): () => void;
}

const nothing = () => {};

export class ResponseCaller implements CallerLink {
  gone = false;
  private listeners: (() => void)[] | null = null;
  private readonly onClose = () => {
    if (this.res.writableFinished) return;
    this.gone = true;
    const listeners = this.listeners;
    this.listeners = null;
    if (listeners) for (const listener of listeners) listener();
  };

  constructor(private readonly res: ServerResponse) {
    res.once("close", this.onClose);
  }

  onGone(listener: () => void): () => void {
    if (this.gone) {
      listener();
      return nothing;
    }
    (this.listeners ??= []).push(listener);
    return () => {
      const index = this.listeners?.indexOf(listener) ?? -1;
      if (index >= 0) this.listeners?.splice(index, 1);
    };
  }

  /** Stops watching the response (the request is over). */
  release(): void {
    this.res.removeListener("close", this.onClose);
    this.listeners = null;
  }
}

/** A caller that never leaves, for calls with nobody behind them (the router's tests). */
export const stayingCaller: CallerLink = { gone: false, onGone: () => nothing };
