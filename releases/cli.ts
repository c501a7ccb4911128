// platform-release: the release tool that runs beside platformd, never inside it.
//   platform-release install FILE [--product-root DIR] [--key FILE]   install a release file and point current at it (image builds)
//   platform-release run --product-root DIR                         the upgrade runner (platformd starts it)
//   platform-release recover --product-root DIR                     the boot path: undoes an upgrade a power cut interrupted
//   platform-release verify [VERSION] --product-root DIR            checks an installed release against its signed manifest (every file hashed)

import { readFileSync } from 'node:fs';
import { addTrustedKey, trustedKeys } from './keys.js';
import { installRelease, verifyInstalled } from './install.js';
import { APPLIANCE_PRODUCT_ROOT, linkedVersion, productRoot, switchLink } from './layout.js';
import { recoverInterrupted, runUpgrade } from './runner.js';

const USAGE = 'usage: platform-release install FILE [--key PUBLIC-KEY-FILE] | run | recover | verify [VERSION]   [--product-root DIR]';

async function main(): Promise<number> {
  const flags = { values: {} as Record<string, string>, rest: [] as string[] };
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i++) {
    const option = /^--(product-root|key)$/.exec(argv[i]!);
    if (option && argv[i + 1] !== undefined) flags.values[option[1]!] = argv[++i]!;
    else flags.rest.push(argv[i]!);
  }
  const [verb, arg] = flags.rest;
  const product = productRoot(flags.values['product-root'] ?? process.env.PLATFORM_PRODUCT_ROOT ?? APPLIANCE_PRODUCT_ROOT);
  switch (verb) {
    case 'install': {
      if (!arg) break;
      if (flags.values.key) addTrustedKey(product, readFileSync(flags.values.key, 'utf8'));
      const manifest = await installRelease(product, arg, { trusted: trustedKeys(product) });
      switchLink(product, product.current, manifest.version);
      console.log(`installed ${manifest.version} in ${product.root} (current)`);
      return 0;
    }
    case 'run':
      await runUpgrade(product);
      return 0;
    case 'recover': {
      const what = recoverInterrupted(product);
      if (what) console.error(`platform-release: ${what}`);
      return 0;
    }
    case 'verify': {
      const version = arg ?? linkedVersion(product.current);
      if (!version) break;
      const { manifest } = await verifyInstalled(product, version, trustedKeys(product), { full: true });
      console.log(`release ${version}: ${manifest.files.length} files match the signed manifest`);
      return 0;
    }
  }
  console.error(USAGE);
  return 2;
}

main().then(
  (code) => process.exit(code),
  (error: Error) => {
    console.error(`platform-release: ${error.message}`);
    process.exit(1);
  },
);
