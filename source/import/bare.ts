// A bare rootfs or disk (SRC holds no metadata at all, as `incus-simplestreams generate-metadata`
// takes it) gets a metadata tarball written for it. What the image itself says (the architecture
// of a container's binaries) is proposed; the os, release and variant are asked for or given as
// flags. The tarball is written once the fields are settled, with the import's creation date and,
// for containers, the /etc/hostname and /etc/hosts templates the daemons apply at launch.
import {mkdir, rm, stat, writeFile} from 'node:fs/promises';
import {join} from 'node:path';
import {execa} from 'execa';
import {stringify} from 'yaml';
import {canonicalArchitecture} from '../domain/architectures.js';
import {madeMetadataName} from '../domain/ftypes.js';
import {rootFtypes} from '../streams/ftypes.js';
import type {Found, SourceRoot} from './found.js';
import type {Metadata} from './metadata.js';
import type {Fields} from './propose.js';

const name = madeMetadataName;

const templates = {
	'hostname.tpl': '{{ container.name }}\n',
	'hosts.tpl': '127.0.0.1\tlocalhost\n127.0.1.1\t{{ container.name }}\n::1\tlocalhost ip6-localhost ip6-loopback\n',
};

/** What a bare image's metadata holds before the fields are settled: the architecture its binaries show. */
function bareMetadata(roots: readonly SourceRoot[], now = Date.now()): Metadata {
	const arches = roots.find(root => root.arch?.arches.length === 1)?.arch?.arches;
	return {...(arches ? {architecture: arches[0]!} : {}), creationDate: Math.floor(now / 1000), properties: {}};
}

/** The metadata file of a bare image, to be written in `scratch` (its size is known once it is written). */
export function bareMetaFile(scratch: string, roots: readonly SourceRoot[], dev: number): Found['meta'] {
	const origin = `written for ${roots.map(r => r.name).join(' and ')} (no metadata in SRC)`;
	return {name, path: join(scratch, name), size: 0, dev, content: 'xz', origin, metadata: bareMetadata(roots), written: true};
}

/** metadata.yaml for the settled fields, as distrobuilder writes it. */
function metadataText(fields: Fields, metadata: Metadata, container: boolean): string {
	const description = `${fields.os} ${fields.release} ${fields.arch} (${fields.variant}) (${fields.version})`;
	const template = (file: string) => ({when: ['create', 'copy'], create_only: false, template: file, properties: {}});
	return stringify({
		architecture: canonicalArchitecture(fields.arch) ?? fields.arch,
		creation_date: metadata.creationDate,
		properties: {os: fields.os, release: fields.release, variant: fields.variant, architecture: fields.arch, description, serial: fields.version},
		...(container ? {templates: {'/etc/hostname': template('hostname.tpl'), '/etc/hosts': template('hosts.tpl')}} : {}),
	});
}

/**
 * The found image with its metadata tarball written for `fields`, when it is a bare one (anything
 * else is returned as it is). Written again for every change of the fields: it is a few hundred bytes.
 */
export async function settleMetadata(found: Found, fields: Fields): Promise<Found> {
	const {meta} = found;
	if (!meta.written) {
		return found;
	}

	const container = found.roots.some(root => rootFtypes[root.ftype].type === 'container');
	const tree = join(meta.path, '..', 'metadata');
	await rm(tree, {recursive: true, force: true});
	await mkdir(join(tree, 'templates'), {recursive: true});
	await writeFile(join(tree, 'metadata.yaml'), metadataText(fields, meta.metadata, container));
	for (const [file, text] of container ? Object.entries(templates) : []) {
		await writeFile(join(tree, 'templates', file), text);
	}

	await rm(meta.path, {force: true});
	await execa('tar', ['-C', tree, '-cJf', meta.path, '--numeric-owner', '--owner=0', '--group=0', 'metadata.yaml', ...(container ? ['templates'] : [])]);
	return {...found, meta: {...meta, size: (await stat(meta.path)).size}};
}
