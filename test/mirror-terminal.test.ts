// `simplestreams mirror -N` in a real terminal (tmux) against nginx slowed down with limit_rate: the
// downloads move on the live screen, then the publishing's tree stays with their summary.
import {mkdir} from 'node:fs/promises';
import path from 'node:path';
import test from 'ava';
import {tempDir} from './helpers/fixtures.js';
import {serve} from './helpers/server.js';
import {terminal} from './helpers/terminal.js';
import {handMadeUpstream} from './helpers/upstream.js';

test('the downloads show their bytes, rate and time left as they come, then the publishing', async t => {
	const dir = await tempDir(t, 'ss-mirror-live');
	const upstreamRoot = path.join(dir, 'upstream');
	await handMadeUpstream(upstreamRoot, 4 * 1024 * 1024);
	const server = await serve(upstreamRoot, {rate: '1m'});
	t.teardown(async () => server.stop());
	const mirrorRoot = path.join(dir, 'mirror');
	await mkdir(mirrorRoot);

	const term = terminal(t, dir, ['mirror', '-N', '--filter', 'os=other', '--ca', server.caFile, server.url, mirrorRoot], '', {width: 120, height: 32});
	const moving = await term.until('a download under way', screen => /root\.tar\.xz .*\d+% {2}[\d.]+ (KiB|MiB) of [\d.]+ MiB {2}.*\/s {2}.* left/.test(screen), 120_000);
	t.regex(moving, /mirror of https:\/\/127\.0\.0\.1:\d+\//);
	t.regex(moving, /total [\d.]+ (B|KiB|MiB) of [\d.]+ MiB · /);
	t.is(await term.exitCode(180_000), 0, term.capture());
	const last = term.capture();
	t.regex(last, /↓ https:\/\/127\.0\.0\.1:\d+\/: 2 files fetched \([\d.]+ MiB\), 1 versions placed/);
	t.regex(last, /other/, 'the publishing\'s tree');
});
