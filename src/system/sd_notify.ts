/**
 * systemd notifications (sd_notify protocol): a datagram to $NOTIFY_SOCKET per state change.
 * Without NOTIFY_SOCKET every call is a no-op, so the daemon runs the same outside systemd.
 * @module
 */
import { readEnv } from "../util/env.ts";
import { monotonicMicros, sendDatagram } from "./libc.ts";

const seen = new Map<string, string | undefined>();

/**
 * The variable's value, read once and remembered: the daemon reads them all through
 * {@link captureNotifyEnv} before it revokes its env permission.
 */
function env(name: string): string | undefined {
  if (!seen.has(name)) seen.set(name, readEnv(name));
  return seen.get(name);
}

/** Reads NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID now, for use after env is revoked. */
export function captureNotifyEnv(): void {
  for (const name of ["NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"]) env(name);
}

/** Sends `state` (e.g. "READY=1") to the service manager; false when not under systemd. */
export function notify(state: string): boolean {
  const socket = env("NOTIFY_SOCKET");
  if (!socket) return false;
  return sendDatagram(socket, new TextEncoder().encode(state));
}

/** READY=1 with a status line. */
export function notifyReady(status: string): boolean {
  return notify(`READY=1\nSTATUS=${status.replace(/\n/g, " ")}`);
}

/** RELOADING=1 with MONOTONIC_USEC, as Type=notify-reload and Type=notify expect. */
export function notifyReloading(): boolean {
  return notify(`RELOADING=1\nMONOTONIC_USEC=${monotonicMicros()}`);
}

/** STOPPING=1. */
export function notifyStopping(): boolean {
  return notify("STOPPING=1");
}

/**
 * The watchdog ping interval in ms (half of WatchdogSec), or undefined when the watchdog is off
 * or meant for another process (WATCHDOG_PID).
 */
export function watchdogIntervalMs(): number | undefined {
  const usec = Number(env("WATCHDOG_USEC"));
  const pid = env("WATCHDOG_PID");
  if (!Number.isFinite(usec) || usec <= 0) return undefined;
  if (pid && Number(pid) !== Deno.pid) return undefined;
  return Math.max(1, Math.floor(usec / 2000));
}

/** Starts WATCHDOG=1 pings when systemd asked for them; returns a function that stops them. */
export function startWatchdog(): () => void {
  const ms = watchdogIntervalMs();
  if (ms === undefined) return () => {};
  notify("WATCHDOG=1");
  const timer = setInterval(() => notify("WATCHDOG=1"), ms);
  Deno.unrefTimer(timer);
  return () => clearInterval(timer);
}
