// The engine contract run against the TypeScript engine.
import { engineContract } from '../engine/contract.ts';

engineContract('ts').run();
