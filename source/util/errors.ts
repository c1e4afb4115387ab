/** An error the operator can fix: printed as one line, without a stack, exit code 1. */
export class UsageError extends Error {}

/** The code of a failed system call (ENOENT, ENOSPC), or else the error's message. */
export const errorCode = (error: unknown) => (error as NodeJS.ErrnoException).code ?? (error as Error).message;

/** Why a system call failed, in words an operator acts on. */
export function systemReason(error: unknown): string {
	const code = errorCode(error);
	return `${code}${code === 'ENOSPC' ? ': no space left on the device' : code === 'EACCES' || code === 'EPERM' ? ': permission denied' : ''}`;
}
