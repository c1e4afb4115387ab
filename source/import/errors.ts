import {UsageError} from '../util/errors.js';

/** Bad input to an import (a file in SRC, a field, the destination): one line naming it, exit 1. */
export class ImportError extends UsageError {}
