#!/usr/bin/env node
// The ops CLI runs from source: tsx compiles src/cli on the fly, so there is no build step to forget.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
