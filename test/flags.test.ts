import test from 'ava';
import {CommandLineError, parse, type FlagName} from '../source/commands/flags.js';

const generate = {name: '-N and dry runs', flags: ['write', 'jobs', 'cache', 'deltaRatio', 'deltas', 'help', 'version'] as FlagName[]};
const importing = {name: '-i', flags: ['import', 'write', 'alias', 'requirement', 'version', 'yes'] as FlagName[]};
const commands = [generate, importing];

function read(argv: string[]) {
	const {command, flags, operands} = parse(argv, commands, given => ({command: given.flags.import === undefined ? generate : importing, operands: given.operands}));
	return {command: command.name, flags, operands};
}

test('flags are read as getopt_long reads them: joined short letters, a value in the same word or the next, -- ending them', t => {
	t.deepEqual(read(['-Nj4', 'root']), {command: generate.name, flags: {write: true, jobs: 4}, operands: ['root']});
	t.deepEqual(read(['-N', '-j', '2', '--cache=/tmp/c.json', 'root']).flags, {write: true, jobs: 2, cache: '/tmp/c.json'});
	t.deepEqual(read(['--jobs', '3', '--delta-ratio', '.5', '--deltas']).flags, {jobs: 3, deltaRatio: 0.5, deltas: true});
	t.deepEqual(read(['-isrc', '--alias', 'a', '--alias=b', '--requirement', 'secureboot=false', 'root']), {command: importing.name, flags: {import: 'src', alias: ['a', 'b'], requirement: ['secureboot=false']}, operands: ['root']});
	t.deepEqual(read(['-N', '--', '-j', '--cache']).operands, ['-j', '--cache']);
	t.deepEqual(read(['--no-write', '-', 'true']), {command: generate.name, flags: {write: false}, operands: ['-', 'true']});
	t.deepEqual(read(['--version']).flags, {version: ''});
	t.deepEqual(read(['-i', 'src', '--version', '1.0']).flags, {import: 'src', version: '1.0'});
});

test('what cannot be read is refused with one line naming the flag', t => {
	const cases: Array<[string[], string]> = [
		[['--cache', '-N', 'root'], '--cache needs a value'],
		[['root', '--cache'], '--cache needs a value'],
		[['-j', '-1'], '--jobs must be a whole number of at least 1, got "-1"'],
		[['-j', '1', '--jobs=2'], '--jobs is given more than once'],
		[['--wirte'], 'unknown flag --wirte; did you mean --write?'],
		[['-Nx'], 'unknown flag -x'],
		[['--no-cache'], 'unknown flag --no-cache'],
		[['--write=yes'], '--write takes no value, got "yes"'],
		[['--alias', 'a'], '--alias does not apply to -N and dry runs; it is for -i'],
	];
	for (const [argv, message] of cases) {
		t.throws(() => read(argv), {instanceOf: CommandLineError, message}, argv.join(' '));
	}
});
