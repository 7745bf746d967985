/**
 * One error tree, one exit code per class (DESIGN.md "Results, reports and exit codes").
 * Messages are plain lowercase words; the CLI prints `message` and exits with `exitCode`.
 */
export const ExitCode = {
  ok: 0,
  sloMissed: 1,
  invalidInput: 2,
  aborted: 3,
  revertFailed: 4,
  internal: 5,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

export class ChaosError extends Error {
  readonly exitCode: ExitCode = ExitCode.internal;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Bad usage or a bad scenario, environment or SLO file. Raised before anything runs. */
export class InputError extends ChaosError {
  override readonly exitCode = ExitCode.invalidInput;
}

/** The run was stopped on purpose: a signal, a stop condition or an emergency stop. */
export class AbortedError extends ChaosError {
  override readonly exitCode = ExitCode.aborted;
}

/** A fault could not be reverted; the message says what to run by hand. */
export class RevertError extends ChaosError {
  override readonly exitCode = ExitCode.revertFailed;
}

export class InternalError extends ChaosError {
  override readonly exitCode = ExitCode.internal;
}

export function exitCodeOf(err: unknown): ExitCode {
  return err instanceof ChaosError ? err.exitCode : ExitCode.internal;
}
