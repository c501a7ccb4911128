#!/usr/bin/env node
import { onProductRuntime } from './runtime.js';

if (onProductRuntime('platformd')) await import('../dist/platformd.js');
