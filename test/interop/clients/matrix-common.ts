// What the Node client-matrix scripts share: the environment the driver sets
// (test/interop/client-matrix.test.ts), the transcript line, and how values and errors are printed.
import { createHash } from 'node:crypto';

function required(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === '') throw new Error(`${name} is not set`);
  return value;
}

/** `127.0.0.1:PORT`, or a unix socket's absolute path. */
export const server = required('MC_SERVER');
export const isUnixSocket = server.startsWith('/');
export const itemMax = Number(required('MC_ITEM_MAX'));
export const username = process.env.MC_USERNAME;
export const password = process.env.MC_PASSWORD;

/** One transcript line: `["step", value]`. */
export function emit(step: string, value: unknown): void {
  process.stdout.write(`${JSON.stringify([step, value])}\n`);
}

/** A value as latin1 text (binary-safe: one character per byte). */
export function latin1(value: Buffer | string | null | undefined): string | null {
  if (value === null || value === undefined) return null;
  return Buffer.isBuffer(value) ? value.toString('latin1') : value;
}

/** A large value as its length and SHA-1. */
export function digest(value: Buffer | string | null | undefined): { length: number; sha1: string } | null {
  if (value === null || value === undefined) return null;
  const bytes = Buffer.isBuffer(value) ? value : Buffer.from(value, 'latin1');
  return { length: bytes.length, sha1: createHash('sha1').update(bytes).digest('hex') };
}

/** `length` deterministic ASCII bytes. */
export function filler(length: number): Buffer {
  const unit = Buffer.from('abcdefghijklmnopqrstuvwxyz0123456789');
  return Buffer.alloc(length, unit);
}

export type Failure = { error: string } & Record<string, unknown>;

/** An error as its class name (never its message, which may carry addresses or server text). */
export function errorName(error: unknown): Failure {
  return { error: error instanceof Error ? error.constructor.name : typeof error };
}

/** The result of `run`, or how it failed (as `describe` puts it). */
export async function attempt<T>(run: () => Promise<T>, describe = errorName): Promise<T | Failure> {
  try {
    return await run();
  } catch (error) {
    return describe(error);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export const unixNow = (): number => Math.floor(Date.now() / 1000);
