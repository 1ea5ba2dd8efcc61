// Small shared pieces: error and empty states, a stale-data marker, a number formatter.

import type { ComponentChildren } from 'preact';
import { ApiError, errorText } from './api.js';

/** `stale`: older data is still shown below, and the box says so. */
export function ErrorBox({ error, what, stale = false }: { error: unknown; what: string; stale?: boolean }) {
  if (error === undefined) return null;
  const down = error instanceof ApiError && error.code === 'BROKER_UNREACHABLE';
  // 403: the signed-in principal's ACLs do not allow it (the API's *_AUTHORIZATION_FAILED follows).
  const denied = error instanceof ApiError && error.status === 403;
  return (
    <div class="error" role="alert">
      <strong>{down ? 'Broker unreachable' : denied ? `Not allowed to ${what}` : `Could not ${what}`}</strong>
      <div class="error-text">{errorText(error)}</div>
      {stale ? <div class="muted">Showing what was last seen; retrying.</div> : null}
    </div>
  );
}

export function Empty({ children }: { children: ComponentChildren }) {
  return <p class="empty">{children}</p>;
}

export function Loading() {
  return <p class="muted" aria-busy="true">Loading…</p>;
}

export function Stat({ label, value, warn }: { label: string; value: ComponentChildren; warn?: boolean }) {
  return (
    <div class={`stat${warn ? ' warn' : ''}`}>
      <div class="stat-value">{value}</div>
      <div class="stat-label">{label}</div>
    </div>
  );
}

export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(1)} ${units[i]}`;
}
