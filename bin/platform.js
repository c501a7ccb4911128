#!/usr/bin/env node
import { onProductRuntime } from './runtime.js';

if (onProductRuntime('platform')) await import('../dist/platform.js');
