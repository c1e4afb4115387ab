// `simplestreams list [rootdir] [TERM...]`: the images the published streams offer, as lxc and incus derive
// them (list/published.ts), as a table, JSON or CSV.
import {list} from '../index.js';
import {reportWidth} from '../report/terminal.js';
import {rootOperand, type Command} from './command.js';

export const listCommand: Command = {
	name: 'list',
	flags: ['format', 'help', 'version'],
	help: `
	  list [rootdir] [TERM...]  The images the streams publish, as lxc and incus see them; each TERM
	                   (debian, a fingerprint prefix, arch=amd64, type=vm) must match
	      --format F   table (default, fitted to a terminal's width), json or csv`,
	async run({flags, operands}) {
		const [root, ...terms] = operands;
		const images = await list({root: rootOperand(root === undefined ? [] : [root])});
		const [{filterImages}, {formatList}] = await Promise.all([import('../list/listed.js'), import('../report/list.js')]);
		// A terminal gets what fits it; a pipe or a file, every column whole.
		const width = reportWidth();
		const shown = filterImages(images, terms);
		const format = flags.format ?? 'table';
		process.stdout.write(shown.length === 0 && images.length > 0 && format === 'table'
			? `no image matches ${terms.join(' ')} (of ${images.length} listed)\n`
			: formatList(shown, format, width));
		return 0;
	},
};
