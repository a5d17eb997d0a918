/**
 * Typed errors. Every error thrown by ablation-path packages is an {@link AblationPathError} with a
 * stable `code`, so callers can branch on the kind of problem without parsing messages.
 */

/** The kinds of problem the library reports. */
export type AblationPathErrorCode =
  | 'SHAPE_MISMATCH'
  | 'INVALID_VALUE'
  | 'INVALID_OPTION'
  | 'TARGET_OUT_OF_RANGE'
  | 'EMPTY_DOMAIN'
  | 'MISSING_CAPABILITY'
  | 'UNSUPPORTED_OP'
  | 'INVALID_MODEL'
  | 'MISSING_FILE'
  | 'INVALID_FILE'
  | 'ABORTED';

/** Base class of all errors thrown by ablation-path. */
export class AblationPathError extends Error {
  readonly code: AblationPathErrorCode;
  constructor(code: AblationPathErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AblationPathError';
    this.code = code;
  }
}

/** Arrays or images whose shapes do not fit together. */
export class ShapeError extends AblationPathError {
  constructor(message: string) {
    super('SHAPE_MISMATCH', message);
    this.name = 'ShapeError';
  }
}

/** NaN, ±Infinity or otherwise impossible numbers in data. */
export class InvalidValueError extends AblationPathError {
  constructor(message: string) {
    super('INVALID_VALUE', message);
    this.name = 'InvalidValueError';
  }
}

/** An option outside its documented range (steps < 1, σ < 0, …). */
export class OptionError extends AblationPathError {
  constructor(message: string) {
    super('INVALID_OPTION', message);
    this.name = 'OptionError';
  }
}

/** A class index outside `[0, classes)`. */
export class TargetError extends AblationPathError {
  constructor(message: string) {
    super('TARGET_OUT_OF_RANGE', message);
    this.name = 'TargetError';
  }
}

/** A domain with no points. */
export class EmptyDomainError extends AblationPathError {
  constructor(message: string) {
    super('EMPTY_DOMAIN', message);
    this.name = 'EmptyDomainError';
  }
}

/** A classifier lacks a capability the algorithm needs (e.g. `gradient`). */
export class CapabilityError extends AblationPathError {
  constructor(message: string) {
    super('MISSING_CAPABILITY', message);
    this.name = 'CapabilityError';
  }
}

/** A computation was stopped through its `AbortSignal`. */
export class AbortError extends AblationPathError {
  constructor(message = 'the operation was aborted') {
    super('ABORTED', message);
    this.name = 'AbortError';
  }
}

/** A file (saved path, model, image) that is truncated, corrupt or not of the expected format. */
export class FileFormatError extends AblationPathError {
  constructor(message: string) {
    super('INVALID_FILE', message);
    this.name = 'FileFormatError';
  }
}

/**
 * A model uses operators an adapter cannot handle (e.g. no gradient rule). `ops` lists every
 * offending node, so one error reports all of them.
 */
export class UnsupportedOpError extends AblationPathError {
  readonly ops: readonly { readonly opType: string; readonly node: string; readonly reason: string }[];
  constructor(
    message: string,
    ops: readonly { readonly opType: string; readonly node: string; readonly reason: string }[] = [],
  ) {
    super('UNSUPPORTED_OP', message);
    this.name = 'UnsupportedOpError';
    this.ops = ops;
  }
}

/** Model bytes that do not decode as a model of the expected format, or an inconsistent model. */
export class InvalidModelError extends AblationPathError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('INVALID_MODEL', message, options);
    this.name = 'InvalidModelError';
  }
}

/** A file that should exist (model, image) does not. */
export class MissingFileError extends AblationPathError {
  constructor(message: string) {
    super('MISSING_FILE', message);
    this.name = 'MissingFileError';
  }
}
