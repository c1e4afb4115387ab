// The mirror's errors, apart from its HTTP client: the library's entry re-exports them, and every
// command would otherwise load undici at start-up to have the class at hand.

/** Upstream cannot be read as it must be: nothing of the mirror is changed. */
export class UpstreamError extends Error {}

/** A file upstream that did not arrive as its item says (size, status): named, the rest goes on. */
export class FetchError extends Error {}
