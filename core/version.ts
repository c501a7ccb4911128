// The product's version (package.json, put in by the build). Its own small
// module, in the lowest floor: the console's `--version` and the cluster
// agent (which tells every peer what it runs) both read it.

declare const __PLATFORM_VERSION__: string | undefined;
export const PLATFORM_VERSION = typeof __PLATFORM_VERSION__ === 'string' ? __PLATFORM_VERSION__ : 'development';

/** What a product version may look like when another node names it (cluster agent, store): bounded, no control characters. */
export const PRODUCT_VERSION_SHAPE = /^[0-9A-Za-z][0-9A-Za-z.+~-]{0,63}$/;
