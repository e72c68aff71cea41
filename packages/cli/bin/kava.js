#!/usr/bin/env node
// A plain-JS launcher kept in git (not built), so that it exists when npm links the `kava`
// command during `npm install`, before the root `prepare` script builds dist/.
import { main } from '../dist/main.js';

process.exitCode = await main(process.argv.slice(2));
