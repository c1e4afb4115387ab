import test from 'ava';
import {formatAliases, parseAliases} from '../source/domain/aliases.js';

test('parseAliases keeps each alias once, where it first appears, and names each bad line', t => {
	const text = '# extra names\nacme/stable\n\nacme/lts # long term\nacme/stable\nbad alias\nacme//x\nacme/lts\nacme/edge\n';
	t.deepEqual(parseAliases(text), {
		aliases: ['acme/stable', 'acme/lts', 'acme/edge'],
		problems: [
			'line 6: alias "bad alias" may only use A-Z a-z 0-9 . _ : + - /; ignored',
			'line 7: alias "acme//x" has an empty part between slashes; ignored',
		],
	});
});

test('parseAliases reads a list at the size limit whole, repeats and all, and formatAliases writes it back', t => {
	const unique = Array.from({length: 40_000}, (_, index) => `acme/build-${index}`);
	const repeated = [...unique, ...unique.slice(0, 20_000).reverse()];
	const {aliases, problems} = parseAliases(repeated.join('\n'));
	t.deepEqual(aliases, unique);
	t.deepEqual(problems, []);
	t.deepEqual(parseAliases(formatAliases(aliases)).aliases, unique);
});
