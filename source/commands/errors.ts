/** An error the operator can fix: printed as one line, without a stack, exit code 1. */
export class UsageError extends Error {}
