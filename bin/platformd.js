#!/usr/bin/env node
import '../dist/platformd.js';
