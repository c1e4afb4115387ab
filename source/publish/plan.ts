// Pure: the files a products file publishes, and which of them a bucket must be sent. The bucket's
// copy is known by the size it lists and the sha256 written into its metadata at upload; an object
// without that metadata is sent again rather than trusted.
import type {ProductsFile} from '../streams/model.js';

export type PublishedFile = {path: string; size: number; sha256: string};

export type RemoteObject = {size: number; sha256?: string};

/** Every file the items of `products` name, once each, in the order they appear. */
export function publishedFiles(products: ProductsFile): PublishedFile[] {
	const files = new Map<string, PublishedFile>();
	for (const product of Object.values(products.products)) {
		for (const version of Object.values(product.versions)) {
			for (const {path, size, sha256} of Object.values(version.items)) {
				if (sha256 !== undefined && !files.has(path)) {
					files.set(path, {path, size, sha256});
				}
			}
		}
	}

	return [...files.values()];
}

export type UploadReason = 'missing' | 'different';

/** Why `file` must go up, or undefined when the bucket holds it already. */
export function uploadReason(file: PublishedFile, remote: RemoteObject | undefined): UploadReason | undefined {
	if (!remote) {
		return 'missing';
	}

	return remote.size === file.size && remote.sha256 === file.sha256 ? undefined : 'different';
}
