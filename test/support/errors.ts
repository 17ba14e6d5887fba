// Test helper: run a function that must fail with one catalogue error and return that diagnostic.
import { DomxmlError, type Diagnostic } from '../../src/errors.js';

export function diagnosticOf(f: () => unknown): Diagnostic {
  try {
    f();
  } catch (err) {
    if (err instanceof DomxmlError) return err.diagnostic;
    throw err;
  }
  throw new Error('expected a DomxmlError, but the call succeeded');
}
