// The engine contract run against the WASM engine, debug build (asserts on, selfCheck after each test).
import { engineContract } from '../engine/contract.ts';

engineContract('wasm', { wasm_build: 'debug' }).run();
