// Runs around every test file: what the file made in /tmp goes when it ends.

import { afterAll } from 'vitest';
import { removeTempHomes } from './daemon.js';

afterAll(() => removeTempHomes());
