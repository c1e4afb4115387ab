// The same final truth as daemon.test.ts with the other daemon: Debian 12's LXD 5.0.2 downloads the
// tree from the README's nginx through its lxd.tar.xz items, checks both digests and launches it.
// It runs beside the Incus daemon of the other tests on the one subuid/subgid range for root that
// scripts/system-deps.sh leaves (the README's testing section says why).
import test from 'ava';
import {lxd, startDaemon, type Daemon} from './helpers/daemon.js';
import {copiesVm, launchesContainer} from './helpers/daemon-tree.js';

let daemon: Daemon;

test.before(async () => {
	daemon = await startDaemon(lxd);
});

test.after.always(async () => {
	await daemon?.stop();
});

test.serial(launchesContainer, () => daemon, 'squashfs');
test.serial(launchesContainer, () => daemon, 'root.tar.xz');
test.serial(copiesVm, () => daemon);
