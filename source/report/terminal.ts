// The one decision of what a terminal is, for every command: the live screens, the import wizard
// and the hang-up handling all ask here.

/** CI as Ink itself (is-in-ci) tells it: there Ink would draw nothing until the end. */
const inCi = (env: NodeJS.ProcessEnv) => env['CI'] !== '0' && env['CI'] !== 'false'
	&& ('CI' in env || 'CONTINUOUS_INTEGRATION' in env || Object.keys(env).some(key => key.startsWith('CI_')));

/** An operator watches: stderr (where every screen draws) is a terminal, outside CI. */
const watched = () => Boolean(process.stderr.isTTY) && !inCi(process.env);

/** The live screens: a watched terminal, unless --plain asks for lines. */
export const liveTerminal = (plain?: boolean) => watched() && !plain;

/** The terminal to read keys from, if stdin is one and an operator watches (raw mode needs a TTY). */
export const keyboard = () => (watched() && process.stdin.isTTY ? process.stdin : undefined);

/** Whether a terminal is attached at all, CI or not: then a hang-up means it went away. */
export const attached = () => [process.stdin, process.stdout, process.stderr].some(stream => stream.isTTY);

/**
 * The width of stdout when it is a terminal, CI or not (a person reads a report there: list's table
 * and verify's lines fit it, a dry run's JSON is not poured into it); undefined for a pipe or a file.
 */
export const reportWidth = () => (process.stdout.isTTY ? process.stdout.columns || 80 : undefined);
