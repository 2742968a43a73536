#!/usr/bin/env node
import { main } from '../dist/src/cli/passwd.js';

main(process.argv.slice(2));
