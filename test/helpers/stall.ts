// A network that stalls mid-upload: a TCP relay in front of a real server that passes everything
// until one connection has sent `after` bytes towards the server, then stops reading that
// connection and holds it open whatever the server does, as a link that has gone quiet does.
// Connections opened later pass freely (the clean-up a stopped run sends). A test interrupts a run
// at a moment it knows, whatever the machine's speed.
import net from 'node:net';
import type {ExecutionContext} from 'ava';

type StallingRelay = {
	/** The relay's port on 127.0.0.1 (TLS passes through: the server's certificate still matches). */
	port: number;
	/** Settles when the first connection stalls: a request body is then part-way up. */
	stalled: Promise<void>;
	close(): Promise<void>;
};

async function stallingRelay(target: {host: string; port: number}, after: number): Promise<StallingRelay> {
	const sockets = new Set<net.Socket>();
	let stalledNow: () => void = () => undefined;
	const stalled = new Promise<void>(resolve => {
		stalledNow = resolve;
	});
	let stalling = false;
	const server = net.createServer(client => {
		const upstream = net.connect(target);
		for (const socket of [client, upstream]) {
			sockets.add(socket);
			socket.on('close', () => sockets.delete(socket));
			socket.on('error', () => undefined);
		}

		// Connections open at the first stall stay open at their stall, those opened after pass.
		const stalls = !stalling;
		let sent = 0;
		let held = false;
		client.on('close', () => upstream.destroy());
		// A quiet link says nothing, not even that the server gave up on the request.
		upstream.on('close', () => held || client.destroy());
		upstream.pipe(client, {end: false});
		client.on('data', (chunk: Buffer) => {
			const room = stalls ? after - sent : chunk.length;
			sent += chunk.length;
			upstream.write(room >= chunk.length ? chunk : chunk.subarray(0, Math.max(room, 0)));
			if (room < chunk.length) {
				client.pause();
				held = true;
				stalling = true;
				stalledNow();
			}
		});
	});
	await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
	return {
		port: (server.address() as net.AddressInfo).port,
		stalled,
		async close() {
			for (const socket of sockets) {
				socket.destroy();
			}

			await new Promise(resolve => server.close(resolve));
		},
	};
}

/**
 * The server at `url` behind a relay that stalls once a connection has sent 4 MiB, a part of an
 * upload half sent; closed when the test ends. `url`: the same scheme and host on the relay's port.
 */
export async function stallingEndpoint(t: ExecutionContext, url: string): Promise<{url: string; stalled: Promise<void>}> {
	const target = new URL(url);
	const relay = await stallingRelay({host: target.hostname, port: Number(target.port)}, 4 << 20);
	t.teardown(async () => relay.close());
	return {url: `${target.protocol}//${target.hostname}:${relay.port}`, stalled: relay.stalled};
}
