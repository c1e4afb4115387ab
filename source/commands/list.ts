// `simplestreams list [rootdir]`: the images the published streams offer, as lxc and incus derive
// them (list/published.ts), as a table, JSON or CSV.
import {list} from '../index.js';
import {rootOperand, type Command} from './command.js';

export const listCommand: Command = {
	name: 'list',
	flags: ['format', 'help', 'version'],
	help: `
	  list             The images the streams publish, as lxc and incus see them
	      --format F   table (default), json or csv`,
	async run({flags, operands}) {
		const images = await list({root: rootOperand(operands)});
		const {formatList} = await import('../list/format.js');
		process.stdout.write(formatList(images, flags.format ?? 'table'));
		return 0;
	},
};
