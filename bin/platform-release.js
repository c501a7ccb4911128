#!/usr/bin/env node
import { enableCompileCache } from './compile-cache.js';
import { inCheckout, onProductRuntime, root } from './runtime.js';

if (onProductRuntime('platform-release')) {
  enableCompileCache(root, inCheckout);
  await import('../dist/platform-release.js');
}
