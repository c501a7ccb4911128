// Types of image.mjs (plain JavaScript so that bench/ shares it).

export interface BaseDisk {
  path: string;
  built: boolean;
  /** Seconds the build took (0 when taken from the cache). */
  seconds: number;
}

export interface BuiltImage {
  image: string;
  sha256File: string;
  manifestFile: string;
  manifest: { product: { name: string; version: string }; node: string; kernel: string | null; debian: string; builtAt: string; packages: Record<string, string> };
  baseDisk: BaseDisk;
  built: boolean;
  packerSeconds: number;
}

export const ROOT: string;
export const CACHE_DIR: string;
export const ACCELERATOR: string;
export function ensureBaseDisk(options?: { log?: (line: string) => void }): Promise<BaseDisk>;
export function productRootTarball(dir: string, tarball?: string): Promise<string>;
export function ensureImage(options?: { log?: (line: string) => void }): Promise<BuiltImage>;
