"use client";

import { useSyncExternalStore } from "react";
import { formatRelative } from "./format";

/**
 * "13s ago" computed where it is shown. The server and the browser each know only their own
 * clock, and the page hydrates a moment (or a clock skew) after the server rendered it, so the
 * text the browser would compute while hydrating is not the server's: React then reports a
 * hydration error and re-renders the tree. Here the server's text is kept through hydration, and
 * right after it the browser's clock takes over, advancing every ten seconds while the page is
 * open instead of staying at whatever the text said when the page loaded.
 */

const tickMs = 10_000;
// What hydration renders with on the browser: not a time, so that the snapshot after hydration
// always differs from it and React renders again, whatever the clock did in between.
const hydrating = -1;
// The time the browser renders with, refreshed every tickMs while anything shows a time.
let now = Date.now();
const listeners = new Set<() => void>();
let timer: ReturnType<typeof setInterval> | undefined;

function subscribe(listener: () => void): () => void {
  listeners.add(listener);
  if (timer === undefined) {
    now = Date.now();
    timer = setInterval(() => {
      now = Date.now();
      for (const notify of listeners) notify();
    }, tickMs);
  }
  return () => {
    listeners.delete(listener);
    if (listeners.size === 0) {
      clearInterval(timer);
      timer = undefined;
    }
  };
}

function browserTime(): number {
  // While nothing ticks, a time rendered later (a row added after the page loaded) must not use
  // a clock left from long ago; the same value is returned within a second, as React requires.
  if (timer === undefined && Date.now() - now >= 1_000) now = Date.now();
  return now;
}

function serverTime(): number {
  return typeof window === "undefined" ? Date.now() : hydrating;
}

export function RelativeTime({ iso, className }: { iso: string; className?: string }) {
  const time = useSyncExternalStore(subscribe, browserTime, serverTime);
  return (
    // The one place a server/browser difference is expected. Hydration keeps the server's text
    // while React records "" for it, so the render right after hydration always differs from
    // what React thinks is shown and writes the browser's text.
    <time dateTime={iso} title={iso} className={className} suppressHydrationWarning>
      {time === hydrating ? "" : formatRelative(iso, time)}
    </time>
  );
}
