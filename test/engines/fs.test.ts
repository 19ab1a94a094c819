// The engine contract run against the fs engine with sync=none (resident items answer
// synchronously), each engine in a fresh temporary directory.
import { engineContract } from '../engine/contract.ts';

engineContract('fs', { sync: 'none' }).run();
